"""ingest.paths.inside: the one 'is this path inside that folder' of Docent."""
from __future__ import annotations

import os
from pathlib import Path

from ingest.paths import below_range, inside

S = os.sep


def test_inside_is_a_path_boundary_compare() -> None:
    root = f"{S}docs{S}b"
    assert inside(root, root)
    assert inside(f"{root}{S}c.txt", root) and inside(f"{root}{S}c.txt", root + S)
    assert inside(Path(root) / "sub" / "d.pdf", Path(root))
    assert not inside(f"{S}docs{S}bc.txt", root)  # a sibling whose name starts the same
    assert not inside(f"{S}docs", root)
    assert inside(f"{S}anything", S)  # the file-system root holds everything


def test_below_range_holds_what_is_below_and_nothing_else() -> None:
    lo, hi = below_range("/docs/b/")
    assert below_range("/docs/b") == (lo, hi)
    for path in ("/docs/b/c.txt", "/docs/b/sub/d.pdf", "/docs/b/~z", "/docs/b/\U0001f600.md"):
        assert lo <= path < hi, path
    for path in ("/docs/b", "/docs/bc.txt", "/docs/b0/x", "/docs/a/x", "/docs/b.txt"):
        assert not lo <= path < hi, path
