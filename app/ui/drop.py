"""What was dropped on the window: folders to ask about, files to index, items refused and why.

Checked on the GUI thread with cheap stat calls only; the core does the real work.
"""
from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QUrl

from ingest.errors import MESSAGES, FileErrorKind
from ingest.loaders import SUPPORTED_SUFFIXES


class DropChoice(enum.Enum):
    WATCH = "watch"  # keep the folder in sync
    INDEX_ONCE = "once"  # index what is there now
    CANCEL = "cancel"


@dataclass(frozen=True)
class Refused:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{os.path.basename(self.path) or self.path}: {self.reason}"


@dataclass
class DropPlan:
    files: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.files and not self.folders


NOT_LOCAL = "Only files on this computer can be added."
NOT_FOUND = "It does not exist (moved or deleted?)."


def classify(urls: list[QUrl]) -> DropPlan:
    plan = DropPlan()
    for url in urls:
        if not url.isLocalFile():
            plan.refused.append(Refused(url.toString(), NOT_LOCAL))
            continue
        path = Path(url.toLocalFile())
        classify_path(path, plan)
    return plan


def classify_path(path: Path, plan: DropPlan) -> None:
    try:
        is_dir = path.is_dir()
        exists = is_dir or path.exists()
    except OSError:
        exists, is_dir = False, False
    if not exists:
        plan.refused.append(Refused(str(path), NOT_FOUND))
    elif is_dir:
        if os.access(path, os.R_OK | os.X_OK):
            plan.folders.append(path)
        else:
            plan.refused.append(Refused(str(path), MESSAGES[FileErrorKind.UNREADABLE]))
    elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
        kind = path.suffix or "no extension"
        plan.refused.append(Refused(str(path), f"{MESSAGES[FileErrorKind.UNSUPPORTED]} ({kind}; "
                                    f"Docent reads {supported_list()})"))
    elif not os.access(path, os.R_OK):
        plan.refused.append(Refused(str(path), MESSAGES[FileErrorKind.UNREADABLE]))
    else:
        plan.files.append(path)


def supported_list() -> str:
    return "PDF, text, Markdown, HTML, Word (.docx) and image (PNG, JPEG, TIFF, WebP) files"
