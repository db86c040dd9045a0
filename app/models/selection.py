"""Which model is selected: `selected_model.json` in the data dir the caller passes.

Only a file that passed GGUF validation is ever recorded, and the record is
written atomically, so a crash mid-write cannot leave a half-written selection.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from app.models.gguf import GGUFInfo, read_gguf_info

SELECTION_FILE = "selected_model.json"


def _selection_path(data_dir: Path) -> Path:
    return Path(data_dir) / SELECTION_FILE


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def select_model(data_dir: Path, path: Path, sha256: str | None = None) -> GGUFInfo:
    """Validate `path` as a GGUF (raises ModelFileError) and record it as the selected model."""
    path = Path(path).resolve()
    info = read_gguf_info(path)
    record = {
        "path": str(path),
        "architecture": info.architecture,
        "name": info.name,
        "file_size": info.file_size,
        "sha256": sha256,
        "selected_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _write_atomic(_selection_path(data_dir), json.dumps(record, indent=2))
    return info


def selected_model(data_dir: Path) -> Path | None:
    """The selected model's path, or None if nothing is selected or the file is gone.

    Full validation happens when the model is loaded (read_gguf_info is cheap).
    """
    try:
        record = json.loads(_selection_path(data_dir).read_text(encoding="utf-8"))
        path = Path(record["path"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return path if path.is_file() else None


def clear_selection(data_dir: Path) -> None:
    _selection_path(data_dir).unlink(missing_ok=True)
