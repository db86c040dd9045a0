"""Start-up work: repair what a crash left, then find what changed while closed.

Both compare cheap things first: the consistency check reads Chroma's
per-file chunk counts only after an unclean shutdown, and the folder scan
hashes nothing (size + mtime against the manifest; hashing happens later,
only for files that differ, and for move detection).
"""
from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from ingest.discover import discover
from ingest.ignore import IgnoreRules
from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.manifest import FileRecord, FileStatus, Manifest

if TYPE_CHECKING:
    from ingest.pipeline import Indexer

CLEAN_SHUTDOWN_KEY = "sync_clean_shutdown"


@dataclass
class ConsistencyReport:
    repaired: int = 0  # rows left INDEXING by a kill: chunks dropped, re-queued
    orphan_files: int = 0  # file_ids in Chroma with no manifest row: chunks deleted
    orphan_chunks: int = 0
    requeued: int = 0  # rows whose chunk count disagreed with Chroma (lost writes)
    full_check: bool = False
    seconds: float = 0.0


@dataclass
class Drift:
    """What differs between the folders and the manifest."""

    changed: list[Path] = field(default_factory=list)  # new, edited, or not yet indexed
    gone: list[FileRecord] = field(default_factory=list)  # rows whose file is no longer there
    unavailable: list[Path] = field(default_factory=list)  # watched roots that are not there
    unchanged: int = 0
    seconds: float = 0.0


def check_consistency(indexer: "Indexer", full: bool) -> ConsistencyReport:
    """Make Chroma agree with the manifest. `full` after an unclean shutdown."""
    t0 = time.perf_counter()
    report = ConsistencyReport(full_check=full)
    report.repaired = indexer.repair()
    if full:
        rows = {r.file_id: r for r in indexer.manifest.all()}
        in_chroma = indexer.store.file_ids()
        for fid in in_chroma:
            if fid not in rows:  # chunks no row vouches for
                for index in indexer.secondary:
                    index.delete_file(fid)
                report.orphan_chunks += indexer.store.delete_file(fid)
                report.orphan_files += 1
        for rec in rows.values():
            expected = rec.chunk_count if rec.status in (FileStatus.INDEXED, FileStatus.REMOVED) else 0
            if in_chroma.get(rec.file_id, 0) != expected:
                rec.status = FileStatus.INDEXING  # repair() drops its chunks and re-queues it
                indexer.manifest.put(rec)
                report.requeued += 1
        if report.requeued:
            indexer.repair()
    report.seconds = time.perf_counter() - t0
    return report


def scan(manifest: Manifest, roots: Iterable[Path], rules: IgnoreRules, version: str) -> Drift:
    """Walk the roots and list what the manifest does not match. Hashes nothing."""
    t0 = time.perf_counter()
    drift = Drift()
    for root in roots:
        if not root.is_dir():
            drift.unavailable.append(root)  # unmounted or deleted: keep its rows and chunks
            continue
        rows = {r.path: r for r in manifest.under(str(root))}
        present: set[str] = set()
        for path in discover([root], SUPPORTED_SUFFIXES).files:
            if rules.ignored(path, root):
                continue
            key = str(path)
            present.add(key)
            rec = rows.get(key)
            if rec is None or not unchanged(rec, path, version):
                drift.changed.append(path)
            else:
                drift.unchanged += 1
        drift.gone += [r for p, r in rows.items() if p not in present]
    drift.seconds = time.perf_counter() - t0
    return drift


def unchanged(rec: FileRecord, path: Path, version: str) -> bool:
    """Nothing to do for this file (FileRecord.unchanged, on the file as it is now)."""
    try:
        st = path.stat()
    except OSError:
        return False
    return rec.unchanged(st.st_size, st.st_mtime_ns, version)


@dataclass(frozen=True)
class Move:
    old_path: str
    new_path: str
    chunks: int


def match_moves(indexer: "Indexer", files: list[Path], gone: list[FileRecord],
                claimable: Callable[[str], bool]) -> tuple[list[Path], list[Move]]:
    """Rename rows whose bytes reappeared at a new path; return the files left to index.

    Sources: rows known gone in this batch (an edited file is hashed only if its
    size matches one), and, for files new to the manifest, any row with the same
    hash whose file is missing: the create of a move can arrive before its delete.
    `claimable(path)` says whether a missing file is really gone (not unmounted).
    """
    from ingest.pipeline import sha256_file

    manifest = indexer.manifest

    def usable(rec: FileRecord) -> bool:
        return (rec.chunk_count > 0 and bool(rec.sha256) and rec.index_version == indexer.version
                and rec.status in (FileStatus.INDEXED, FileStatus.REMOVED))

    by_size: dict[int, list[FileRecord]] = defaultdict(list)
    for rec in gone:
        if usable(rec):
            by_size[rec.size].append(rec)
    left: list[Path] = []
    moves: list[Move] = []
    claimed: set[str] = set()
    for f in files:
        own = manifest.get(str(f))
        is_new = own is None or own.status != FileStatus.INDEXED
        try:
            size = f.stat().st_size
            sha = sha256_file(f) if (is_new or by_size.get(size)) else ""
        except OSError:
            left.append(f)
            continue
        pool = [r for r in by_size.get(size, ()) if r.sha256 == sha]
        if is_new and sha:
            pool += [r for r in manifest.by_sha(sha) if usable(r) and r.path != str(f)
                     and claimable(r.path)]
        match = next((r for r in pool if r.file_id not in claimed and not os.path.exists(r.path)), None)
        if match is None or (own is not None and own.sha256 == sha and not is_new):
            left.append(f)
            continue
        claimed.add(match.file_id)
        old = match.path
        indexer.rename(match, f)
        moves.append(Move(old, str(f), match.chunk_count))
    return left, moves


def queue_new(manifest: Manifest, files: Iterable[Path]) -> int:
    """Persist 'queued' rows for files the manifest has never seen (one transaction).

    They hold no chunks, so a kill leaves nothing to repair; they give the GUI a
    state to show and survive restarts."""
    from ingest.pipeline import file_id_for

    new = [str(f) for f in files if manifest.get(str(f)) is None]
    if not new:
        return 0
    manifest.db.execute("BEGIN IMMEDIATE")
    try:
        for key in new:
            manifest.put(FileRecord(file_id_for(key), key, 0, 0, "", FileStatus.QUEUED))
        manifest.db.execute("COMMIT")
    except BaseException:
        manifest.db.execute("ROLLBACK")
        raise
    return len(new)


def mark_removed(manifest: Manifest, recs: Iterable[FileRecord]) -> None:
    """A deletion seen but not yet applied (a move may still claim the row)."""
    for rec in recs:
        if rec.status != FileStatus.REMOVED:
            rec.status = FileStatus.REMOVED
            manifest.put(rec)
