"""Helpers for the sync tests: poll with a deadline, check index == folder truth."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

from ingest.manifest import FileStatus


def wait_until(pred: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Poll until pred() is truthy; fail with the last value after the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout:g} s (last: {last!r})")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def note(i: int, topic: str = "harbour") -> str:
    """A small, distinct text that chunks to exactly one chunk."""
    return f"Note {i}: the {topic} log for day {i} records {i * 7 % 97} boats and calm water.\n"


def index_state(lib) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """path -> chunks, as Chroma holds them (by file_id, mapped through the manifest)."""
    per_file = lib.store.file_ids()
    rows = {r.file_id: r for r in lib.manifest.all()}
    return {rows[fid].path if fid in rows else f"<orphan {fid}>": n for fid, n in per_file.items()}


def converged(lib, expected: dict[str, int]) -> bool:  # type: ignore[no-untyped-def]
    """Index holds exactly `expected` (path -> chunks), every row indexed, nothing else."""
    rows = lib.manifest.all()
    if {r.path: r.chunk_count for r in rows if r.status == FileStatus.INDEXED} != expected:
        return False
    if any(r.status != FileStatus.INDEXED for r in rows):
        return False
    return index_state(lib) == expected


def check_consistent(lib, folders: list[Path]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The crash-safety invariants; returns status counts."""
    ids = lib.store.all_ids()
    assert len(ids) == len(set(ids)), "duplicate chunk ids"
    rows = {r.file_id: r for r in lib.manifest.all()}
    per_file = lib.store.file_ids()
    orphans = set(per_file) - set(rows)
    assert not orphans, f"chunks without a manifest row: {orphans}"
    for fid, rec in rows.items():
        want = rec.chunk_count if rec.status == FileStatus.INDEXED else 0
        assert per_file.get(fid, 0) == want, f"{rec.path}: {rec.status} {want} vs chroma {per_file.get(fid, 0)}"
    by_path = {r.path: r for r in rows.values()}
    on_disk = {os.path.join(d, n) for f in folders for d, _, names in os.walk(f) for n in names}
    for p in on_disk:
        rec = by_path.get(p)
        assert rec is not None and rec.status in (FileStatus.INDEXED, FileStatus.ERROR), f"{p}: {rec}"
    stale = set(by_path) - on_disk
    assert not stale, f"rows for files no longer on disk: {stale}"
    counts: dict[str, int] = {}
    for r in rows.values():
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    return counts


def process_running(pid: int) -> bool:
    """Alive and not a zombie (exited, waiting to be reaped)."""
    import os

    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False
