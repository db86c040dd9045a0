"""Which paths inside a watched folder are never documents.

Two layers: the built-in names (hidden, temp, lock and editor files, shared
with `discover`) and a user-editable list in gitignore syntax, matched on the
path relative to its watched folder.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ingest.discover import is_ignored
from ingest.loaders import SUPPORTED_SUFFIXES

# Editor and OS droppings that `discover` does not already know by name.
BUILTIN_PATTERNS: tuple[str, ...] = (
    "*.bak", "*.orig", "*.crswap", "#*#", ".#*", "4913", "Thumbs.db", "desktop.ini",
    "__pycache__/", "node_modules/", ".git/",
)


class IgnoreRules:
    def __init__(self, patterns: Iterable[str] = ()) -> None:
        import pathspec

        lines = [*BUILTIN_PATTERNS, *(p for p in patterns if p.strip())]
        self.patterns = lines
        self._spec = pathspec.GitIgnoreSpec.from_lines(lines)

    def ignored(self, path: Path, root: Path) -> bool:
        """True for paths (files or folders) the index must never hold."""
        try:
            rel = path.relative_to(root)
        except ValueError:
            return True  # outside the folder: not ours
        if any(is_ignored(part) for part in rel.parts):
            return True
        return bool(rel.parts) and self._spec.match_file(rel.as_posix())

    def indexable(self, path: Path, root: Path) -> bool:
        """A file the indexer should hold: supported type and not ignored."""
        return path.suffix.lower() in SUPPORTED_SUFFIXES and not self.ignored(path, root)
