"""The library's Folder column: short and readable, never a truncated absolute path."""
from __future__ import annotations

import os

from app.core.events import FileInfo, FileState
from app.ui.library_model import folder_label


def test_folder_label_names_the_watched_folder_and_sub_folder() -> None:
    top = FileInfo("/tmp/docent-shots-x1/samples/a.md", FileState.INDEXED, "/tmp/docent-shots-x1/samples")
    deep = FileInfo("/srv/share/samples/2023/q3/b.pdf", FileState.INDEXED, "/srv/share/samples/")
    assert folder_label(top) == "samples"
    assert folder_label(deep) == os.path.join("samples", "2023", "q3")


def test_folder_label_of_a_dropped_file_is_home_relative() -> None:
    home = os.path.expanduser("~")
    inside = FileInfo(os.path.join(home, "Documents", "notes.txt"), FileState.QUEUED)
    outside = FileInfo("/mnt/usb/notes.txt", FileState.QUEUED)
    assert folder_label(inside) == "~" + os.sep + "Documents"
    assert folder_label(outside) == "/mnt/usb"
