"""Which part of the library a question may draw on (per-chat scope in the GUI).

Retrievers take Chroma-style `where` dicts; Docent's keys are `path`, `folder`
and `file_id`, each a string, a list, or {"$in": [...]} / {"$eq": ...}.
Folder scopes can't be expressed as a Chroma metadata filter (no prefix match),
so a scope is resolved to file ids through the SQLite chunk table instead.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from ingest.keyword import KeywordIndex
    from ingest.keyword_rank import ScopeSet

_KEYS = ("path", "folder", "file_id")


@dataclass(frozen=True)
class Scope:
    paths: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    file_ids: tuple[str, ...] = ()

    @classmethod
    def of(cls, folders: Iterable[str] = (), files: Iterable[str] = ()) -> "Scope | None":
        """A question limited to these folders and files; None when there are none (all documents)."""
        scope = cls(tuple(files), tuple(folders))
        return scope if scope.paths or scope.folders else None

    @classmethod
    def from_where(cls, where: dict[str, Any] | None) -> "Scope | None":
        if not where:
            return None
        clauses = where.get("$or") if set(where) == {"$or"} else [where]
        found: dict[str, list[str]] = {k: [] for k in _KEYS}
        for clause in clauses or []:
            for key, value in clause.items():
                if key not in _KEYS:
                    raise ValueError(f"unsupported scope key {key!r}; use one of {_KEYS}")
                found[key] += _values(value)
        norm = [os.path.abspath(os.path.expanduser(p)) for p in found["path"]]
        folders = [os.path.abspath(os.path.expanduser(p)) for p in found["folder"]]
        return cls(tuple(norm), tuple(folders), tuple(found["file_id"]))

    def where(self) -> dict[str, Any]:
        """Back to a where dict (e.g. to hand a scope through the Retriever protocol)."""
        clauses = [{k: {"$in": list(v)}} for k, v in
                   (("path", self.paths), ("folder", self.folders), ("file_id", self.file_ids)) if v]
        return clauses[0] if len(clauses) == 1 else {"$or": clauses}


def where_of(folders: Iterable[str] = (), files: Iterable[str] = ()) -> dict[str, Any] | None:
    """The retrievers' `where` filter for a question limited to these folders and files
    (None: the whole library)."""
    scope = Scope.of(folders, files)
    return None if scope is None else scope.where()


def files_in(keyword: "KeywordIndex", where: dict[str, Any] | None) -> "ScopeSet | None":
    """The files a `where` filter lets a question draw on, resolved through the keyword index's
    chunk table (folder scopes are no Chroma filter); None when it sets no limit."""
    scope = Scope.from_where(where)
    return None if scope is None else keyword.scope(scope.paths, scope.folders, scope.file_ids)


def _values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        if set(value) == {"$in"}:
            return [str(v) for v in value["$in"]]
        if set(value) == {"$eq"}:
            return [str(value["$eq"])]
        raise ValueError(f"unsupported scope operator in {value!r}")
    return [str(v) for v in value]
