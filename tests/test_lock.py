"""The lock file is what the suite runs on, and its pypdf is one the drop-ins were verified on."""
from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from tests.conftest import REPO

LOCK = REPO / "packaging" / "requirements.lock"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.M)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    return {_norm(n): v for n, v in _PIN.findall(path.read_text(encoding="utf-8"))}


def test_every_pin_carries_a_hash() -> None:
    text = LOCK.read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    pinned = [b for b in blocks if _PIN.match(b)]
    assert len(pinned) > 50
    assert all("--hash=sha256:" in b for b in pinned), [b.split()[0] for b in pinned if "--hash" not in b]


def test_no_cuda_in_the_lock() -> None:
    """The CPU torch needs none of these; the CUDA build's would add gigabytes."""
    cuda = [n for n in pins(LOCK) if n.startswith(("nvidia-", "cuda-", "triton"))]
    assert not cuda


def test_locked_pypdf_is_a_verified_version() -> None:
    from ingest.loaders import pdf_fastparse, pdf_fasttext

    locked = pins(LOCK)["pypdf"]
    assert locked in pdf_fastparse.VERIFIED_VERSIONS, f"pypdf {locked}: the fast tokenizer would be off"
    assert locked in pdf_fasttext.VERIFIED_VERSIONS, f"pypdf {locked}: fast text extraction would be off"


def test_suite_runs_on_the_locked_versions() -> None:
    """`make setup` installs the lock exactly; a different version here means the figures
    and the equality tests were not measured on what users get."""
    wrong = {}
    for name, version in pins(LOCK).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "missing"
        if installed != version:
            wrong[name] = (version, installed)
    assert not wrong, f"locked vs installed: {wrong}"


def test_side_locks_match_the_makefile() -> None:
    make = (REPO / "Makefile").read_text(encoding="utf-8")
    llama = pins(REPO / "packaging" / "lock" / "llama.lock")["llama-cpp-python"]
    assert f"LLAMA_VERSION := {llama}" in make
    assert metadata.version("llama-cpp-python") == llama
    assert metadata.version("torch").split("+")[0] == re.search(r"TORCH_VERSION := (\S+)", make).group(1)
    models = pins(REPO / "packaging" / "lock" / "models.lock")
    assert {metadata.version(n) for n in models} and all(metadata.version(n) == v for n, v in models.items())
