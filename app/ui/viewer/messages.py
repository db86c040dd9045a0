"""What the viewer tells people. Wording lives here, once."""
from __future__ import annotations

from app.ui.viewer.source import SourceState

STATE_MESSAGES: dict[SourceState, str] = {
    SourceState.CHANGED: ("This file changed since it was indexed, so the cited passage may have moved: "
                          "it is not highlighted. Re-index the file to update its passages."),
    SourceState.MISSING: "File missing: it was moved, renamed or deleted since it was indexed.",
}
STATE_SHORT: dict[SourceState, str] = {
    SourceState.CHANGED: "changed since indexed",
    SourceState.MISSING: "file missing",
}
NOT_FOUND = "The passage's words were not found in this file's text; showing its page."
NO_TEXT_LAYER = ("This page has no text layer, and the index holds no lines read from it by OCR: showing the "
                 "page without a highlight. (A scan indexed before Docent kept its lines lights up once re-indexed.)")
SCAN_NOT_STORED = ("the lines read from this image are not in the index (indexed before Docent kept them): "
                   "re-index the file")
CANNOT_OPEN = "Could not open this file: {reason}"
NO_SOURCES = ("No sources to show yet. Ask a question; then Ctrl+2, or Enter on a [1] marker in "
              "the answer, opens its sources here.")
FIND_NONE = "Not found: {text}"
REINDEX = "Re-index"
OPEN_SYSTEM = "Open in system app"
