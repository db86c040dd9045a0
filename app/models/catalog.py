"""The catalog of downloadable models (resources/models.json).

The file is looked up lazily: from a PyInstaller bundle (`sys._MEIPASS`) or,
from source, at the repository root. Bundles must ship it as
`resources/models.json` (PyInstaller `datas=[("resources/models.json", "resources")]`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from pathlib import Path

CATALOG_NAME = "models.json"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REPO = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class CatalogError(ValueError):
    """resources/models.json is missing or malformed (a packaging bug, not a user error)."""


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    name: str
    repo: str
    filename: str
    revision: str
    size_bytes: int
    sha256: str | None
    licence_name: str
    licence_url: str
    family: str
    min_ram_gb: float
    context_length: int
    default: bool = False

    @property
    def revision_is_pinned(self) -> bool:
        """True when revision is a full commit hash (a branch like 'main' can move)."""
        return bool(re.fullmatch(r"[0-9a-f]{40}", self.revision))


def default_catalog_path() -> Path:
    from app.resources import resource_dir

    return resource_dir() / CATALOG_NAME


def _entry(raw: dict, where: str) -> CatalogEntry:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: not an object")
    names = {f.name for f in fields(CatalogEntry)}
    missing = names - {"default"} - raw.keys()
    if missing:
        raise CatalogError(f"{where}: missing {sorted(missing)}")
    entry = CatalogEntry(**{k: v for k, v in raw.items() if k in names})
    # Checks that protect the downloader: the filename becomes a path on disk and
    # the repo/revision become a URL, so they must be plain names.
    if Path(entry.filename).name != entry.filename or entry.filename in ("", ".", ".."):
        raise CatalogError(f"{where}: filename must be a bare file name")
    if not entry.filename.endswith(".gguf"):
        raise CatalogError(f"{where}: filename must end with .gguf")
    if not _REPO.match(entry.repo):
        raise CatalogError(f"{where}: bad repo {entry.repo!r}")
    if not entry.revision or "/" in entry.revision:
        raise CatalogError(f"{where}: bad revision {entry.revision!r}")
    if entry.sha256 is not None and not _SHA256.match(entry.sha256):
        raise CatalogError(f"{where}: sha256 must be 64 lowercase hex digits or null")
    if not isinstance(entry.size_bytes, int) or entry.size_bytes <= 0:
        raise CatalogError(f"{where}: size_bytes must be a positive integer")
    if not isinstance(entry.context_length, int) or entry.context_length <= 0:
        raise CatalogError(f"{where}: context_length must be a positive integer")
    return entry


def load_catalog(path: Path | None = None) -> list[CatalogEntry]:
    """Read and validate the catalog; the default entry comes first."""
    path = path or default_catalog_path()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CatalogError(f"cannot read model catalog {path}: {e}") from e
    raw_models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(raw_models, list) or not raw_models:
        raise CatalogError(f"{path}: no 'models' list")
    entries = [_entry(m, f"{path} models[{i}]") for i, m in enumerate(raw_models)]
    ids = [e.id for e in entries]
    if len(set(ids)) != len(ids):
        raise CatalogError(f"{path}: duplicate model ids")
    if sum(e.default for e in entries) > 1:
        raise CatalogError(f"{path}: more than one default model")
    return sorted(entries, key=lambda e: not e.default)  # stable: keeps file order otherwise


def default_entry(entries: list[CatalogEntry]) -> CatalogEntry:
    """The entry marked default, else the first one."""
    return next((e for e in entries if e.default), entries[0])


def find_entry(entries: list[CatalogEntry], model_id: str) -> CatalogEntry | None:
    return next((e for e in entries if e.id == model_id), None)
