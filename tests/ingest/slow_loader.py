"""Hostile `load_fn`s for ParserPool tests. Must stay importable in a spawned
worker without pytest (module-level functions, no heavy imports).

`hostile_load` picks its misbehaviour from the file name, so one pool can get
a hostile file and then a good one."""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from ingest.document import Block, Document
from ingest.loaders import LoadLimits, load_document


def hostile_load(path: Path, limits: LoadLimits) -> Document:
    name = path.name
    if name.startswith("sleep"):
        # Leave a trace so a test can check the worker was really killed.
        path.with_suffix(".pid").write_text(str(os.getpid()))
        time.sleep(3600)
    if name.startswith("pair"):  # returns once every pair* file of its folder is being parsed
        path.with_suffix(".started").write_text(str(os.getpid()))
        deadline = time.monotonic() + 60  # then a lone one ends anyway (its pool's limit is longer)
        while len(list(path.parent.glob("pair*.started"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        together = len(list(path.parent.glob("pair*.started"))) >= 2
        return Document(path=path, kind="text", blocks=[Block("together" if together else "alone")],
                        title=str(os.getpid()))
    if name.startswith("scan"):  # a scan of 3 pages, 1.5 s each to "read": longer than a 1 s limit
        from ingest import progress

        for page in range(3):
            progress.report(page, 3)
            time.sleep(1.5)
        progress.report(3, 3)
        return Document(path=path, kind="image", blocks=[Block("scanned")], page_count=3)
    if name.startswith("hog"):  # grows until the address-space cap stops it
        hoard = []
        while True:
            hoard.append(bytearray(16 * 1024 * 1024))
    if name.startswith("crash"):
        os.kill(os.getpid(), signal.SIGSEGV)
    if name.startswith("exit"):
        os._exit(3)
    if name.startswith("bug"):
        raise ValueError("a bug in the loader")
    if name.startswith("modules"):  # what the worker has imported, and its limits
        import resource

        heavy = sorted(m for m in ("torch", "chromadb", "sentence_transformers", "pytest") if m in sys.modules)
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        return Document(path=path, kind="text", blocks=[Block(" ".join(heavy) or "none")],
                        title=f"{os.getpid()} {soft}")
    return load_document(path, limits)
