"""Why a file could not be indexed. The user-facing wording lives here, once."""
from __future__ import annotations

from enum import Enum


class FileErrorKind(str, Enum):
    ENCRYPTED = "encrypted"
    CORRUPT = "corrupt"
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    UNSUPPORTED = "unsupported"
    UNREADABLE = "unreadable"  # permission denied, I/O error
    BINARY = "binary"  # a text extension on a file that is not text
    VANISHED = "vanished"  # listed, then gone before it could be read
    TIMEOUT = "timeout"  # parser took longer than the limit
    OUT_OF_MEMORY = "out_of_memory"  # parser exceeded the memory cap
    NO_TEXT = "no_text"  # parsed, but no text: no text layer and none read by OCR (or OCR off)
    INTERNAL = "internal"  # a bug in Docent: reported, never silent

    @property
    def retried_when_unchanged(self) -> bool:
        """Worth another try although the file did not change: the cause lay outside its bytes
        (permissions, a file that vanished mid-read, a bug in Docent). Anything else would only
        fail the same way again, a file that timed out or blew the memory cap included (each
        try costs the whole limit, at every start); Re-index tries one anyway."""
        return self in _RETRIED_WHEN_UNCHANGED


_RETRIED_WHEN_UNCHANGED = frozenset({FileErrorKind.UNREADABLE, FileErrorKind.VANISHED,
                                     FileErrorKind.INTERNAL})


MESSAGES: dict[FileErrorKind, str] = {
    FileErrorKind.ENCRYPTED: "The file is password-protected; remove the password to index it.",
    FileErrorKind.CORRUPT: "The file is damaged and could not be parsed.",
    FileErrorKind.EMPTY: "The file is empty.",
    FileErrorKind.TOO_LARGE: "The file is larger than the size limit.",
    FileErrorKind.UNSUPPORTED: "This file type is not supported.",
    FileErrorKind.UNREADABLE: "The file could not be read (permission denied or I/O error).",
    FileErrorKind.BINARY: "The file looks like binary data, not text.",
    FileErrorKind.VANISHED: "The file disappeared before it could be read.",
    FileErrorKind.TIMEOUT: "Parsing took too long and was stopped.",
    FileErrorKind.OUT_OF_MEMORY: "Parsing needed more memory than allowed and was stopped.",
    FileErrorKind.NO_TEXT: "No text was found: the file has no text layer, and OCR read none from it.",
    FileErrorKind.INTERNAL: "Docent failed on this file; please report it.",
}


class LoadError(Exception):
    """Raised by loaders; carries a kind for the UI and a detail for the log."""

    def __init__(self, kind: FileErrorKind, detail: str = "") -> None:
        self.kind = FileErrorKind(kind)
        self.detail = detail
        super().__init__(self.message)

    @property
    def message(self) -> str:
        base = MESSAGES[self.kind]
        return f"{base} ({self.detail})" if self.detail else base
