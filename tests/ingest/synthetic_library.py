"""A large library built in seconds: real files on disk, synthetic chunks, random vectors.

Written straight into the manifest, the Chroma store and the keyword index, as
the indexer would leave them (rows INDEXED, counts matching), so start-up
reconciliation sees every file unchanged. Encoding 100k chunks with MiniLM
would take hours on two cores; the scale paths under test never look at what
the vectors mean.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

_WORDS = ("harbour ledger quay tide invoice clause tenant audit revenue margin filing quarter "
          "pension lease vessel cargo charter warrant dividend segment").split()


@dataclass(frozen=True)
class SyntheticLibrary:
    folder: Path
    files: list[Path]
    chunks_per_file: int
    seconds: float

    @property
    def chunks(self) -> int:
        return len(self.files) * self.chunks_per_file


def build_library(lib, folder: Path, files: int, chunks_per_file: int,  # type: ignore[no-untyped-def]
                  seed: int = 0) -> SyntheticLibrary:
    """`files` real .txt files under `folder`, each vouched for by `chunks_per_file` chunks."""
    import numpy as np

    from ingest.manifest import FileRecord, FileStatus
    from ingest.passage import Passage
    from ingest.pipeline import file_id_for
    from ingest.store import PAGE, chunk_id

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    manifest, store, keyword, version = lib.manifest, lib.store, lib.keyword, lib.index_version
    dim = lib.embedder.info().dimension
    paths: list[Path] = []
    pending: list[Passage] = []

    def flush() -> None:
        vecs = rng.standard_normal((len(pending), dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        store.upsert(pending, vecs, "")
        with keyword._tx():  # one transaction per batch: autocommits would dominate
            keyword.add(pending)
        pending.clear()

    manifest.db.execute("BEGIN IMMEDIATE")
    for i in range(files):
        path = folder / f"part{i // 200:03d}" / f"doc{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = f"Synthetic document {i}.\n".encode()
        path.write_bytes(data)
        st = path.stat()
        fid = file_id_for(str(path))
        manifest.put(FileRecord(fid, str(path), st.st_size, st.st_mtime_ns,
                                hashlib.sha256(data).hexdigest(), FileStatus.INDEXED,
                                chunk_count=chunks_per_file, index_version=version))
        paths.append(path)
        for j in range(chunks_per_file):
            words = " ".join(_WORDS[(i * 7 + j * 3 + k) % len(_WORDS)] for k in range(24))
            pending.append(Passage(chunk_id(fid, j), str(path), None, None, f"Document {i} part {j}: {words}."))
        if len(pending) >= PAGE:
            flush()
    manifest.db.execute("COMMIT")
    if pending:
        flush()
    return SyntheticLibrary(folder, paths, chunks_per_file, time.perf_counter() - t0)
