"""Path questions asked across Docent, answered once."""
from __future__ import annotations

import os


def inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """`path` is `folder` or lies below it: a string compare on a path boundary (no disk
    access, no symlinks followed), so /a/bc is not inside /a/b. Both absolute, as stored."""
    p, f = os.fspath(path), os.fspath(folder)
    return p == f or p.startswith(f.rstrip(os.sep) + os.sep)
