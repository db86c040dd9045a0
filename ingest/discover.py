"""Find indexable files under the paths a user gives."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# Editor/OS droppings that are never documents.
_IGNORED_PREFIXES = (".", "~$", ".~lock.")
_IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", ".swp", ".swx", "~")


@dataclass
class Discovery:
    files: list[Path] = field(default_factory=list)  # absolute, supported, de-duplicated
    roots: list[Path] = field(default_factory=list)  # folders walked (for removal detection)
    unsupported: list[Path] = field(default_factory=list)  # named explicitly but not indexable
    missing: list[Path] = field(default_factory=list)  # named explicitly but not there


def is_ignored(name: str) -> bool:
    return name.startswith(_IGNORED_PREFIXES) or name.endswith(_IGNORED_SUFFIXES)


def discover(paths: list[Path], suffixes: frozenset[str]) -> Discovery:
    out = Discovery()
    seen: set[Path] = set()

    def add(p: Path) -> None:
        if p not in seen:
            seen.add(p)
            out.files.append(p)

    for raw in paths:
        p = Path(os.path.abspath(os.path.expanduser(str(raw))))
        if p.is_dir():
            out.roots.append(p)
            for f in _walk(p):
                if f.suffix.lower() in suffixes:
                    add(f)
        elif p.exists() or p.is_symlink():
            if p.suffix.lower() in suffixes:
                add(p)
            else:
                out.unsupported.append(p)
        else:
            out.missing.append(p)
    return out


def _walk(root: Path) -> list[Path]:
    """Sorted recursive listing; hidden folders skipped; symlinked dirs not followed (no loops)."""
    found: list[Path] = []

    def onerror(err: OSError) -> None:  # an unreadable sub-folder must not stop the walk
        return None

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not is_ignored(d))
        for name in sorted(filenames):
            if not is_ignored(name):
                found.append(Path(dirpath) / name)
    return found
