"""Path questions asked across Docent, answered once."""
from __future__ import annotations

import os


def inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """`path` is `folder` or lies below it: a string compare on a path boundary (no disk
    access, no symlinks followed), so /a/bc is not inside /a/b. Both absolute, as stored."""
    p, f = os.fspath(path), os.fspath(folder)
    return p == f or p.startswith(f.rstrip(os.sep) + os.sep)


def below_range(folder: str) -> tuple[str, str]:
    """`lo <= path < hi` holds for the stored paths below `folder` (not the folder itself):
    `inside` as an SQL range compare, which uses the path index and needs no LIKE escaping
    and no GLOB case rules. Stored paths separate with '/' here, as the tables hold them."""
    prefix = folder.rstrip("/\\") + "/"
    return prefix, prefix[:-1] + chr(ord("/") + 1)
