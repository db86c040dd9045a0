"""Load packaging/docent_bundle.py by path: `import packaging` is the PyPI library."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
DIST = REPO / "dist" / "docent"


def load_rules():  # type: ignore[no-untyped-def]
    if "docent_bundle" in sys.modules:
        return sys.modules["docent_bundle"]
    spec = importlib.util.spec_from_file_location("docent_bundle", PACKAGING / "docent_bundle.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["docent_bundle"] = module
    spec.loader.exec_module(module)
    return module


def site_packages() -> Path:
    import chromadb

    return Path(chromadb.__file__).resolve().parents[1]
