"""Pick the llama.cpp build this CPU can run, before `llama_cpp` is first imported.

An installer ships more than one build of llama.cpp's shared libraries: the AVX2 one
(fast; what `make setup` builds, at `llama_cpp/lib`) and a baseline x86-64 one (SSE2
only, at `llama_cpp/lib-baseline`) for older CPUs that would otherwise die with
"illegal instruction" on the first matrix product. On macOS arm64 there is one build
(Metal). llama-cpp-python loads its library from `LLAMA_CPP_LIB_PATH` when set, so
choosing means setting that variable; it must happen before `import llama_cpp`, which
loads the library at import time.

Reading the CPU is separated from deciding (`choose()` is pure) so the decision is
unit-tested on recorded /proc/cpuinfo texts.
"""
from __future__ import annotations

import enum
import logging
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, MutableMapping

log = logging.getLogger(__name__)

LIB_PATH_ENV = "LLAMA_CPP_LIB_PATH"  # read by llama_cpp/llama_cpp.py at import
FORCE_ENV = "DOCENT_LLAMA_VARIANT"  # "avx2" | "baseline": override the detection (support, tests)
CHOSEN_ENV = "DOCENT_LLAMA_CHOSEN"  # "variant|reason" of our own choice, so a later call reports it

# What the AVX2 build was compiled with (Makefile LLAMA_CMAKE): every one must be present.
AVX2_FLAGS = frozenset({"avx", "avx2", "fma", "f16c", "bmi2"})


class Variant(enum.Enum):
    AVX2 = "avx2"
    BASELINE = "baseline"
    METAL = "metal"  # macOS arm64: the one build there


# Folder of each variant under the llama_cpp package.
VARIANT_DIRS = {Variant.AVX2: "lib", Variant.BASELINE: "lib-baseline", Variant.METAL: "lib"}


@dataclass(frozen=True)
class CpuInfo:
    system: str  # platform.system(): Linux, Darwin, Windows
    machine: str  # platform.machine(), lower case: x86_64, amd64, arm64, aarch64
    flags: frozenset[str]


@dataclass(frozen=True)
class Choice:
    variant: Variant | None  # None: no shipped build fits (or llama_cpp is not installed)
    lib_dir: Path | None  # what LLAMA_CPP_LIB_PATH is (or would be) set to
    reason: str
    preset: bool = False  # LLAMA_CPP_LIB_PATH was already set by the user: left alone


def parse_cpuinfo_flags(text: str) -> frozenset[str]:
    """Flags from Linux /proc/cpuinfo ("flags" on x86, "Features" on ARM); first CPU only."""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in ("flags", "features"):
            return frozenset(value.split())
    return frozenset()


def parse_sysctl_features(text: str) -> frozenset[str]:
    """Flags from macOS `sysctl -n machdep.cpu.features machdep.cpu.leaf7_features` (Intel Macs)."""
    names = {"AVX1.0": "avx", "AVX2": "avx2", "FMA": "fma", "F16C": "f16c", "BMI2": "bmi2"}
    return frozenset(names.get(word, word.lower()) for word in text.split())


def _windows_flags() -> frozenset[str]:
    import ctypes

    present = ctypes.windll.kernel32.IsProcessorFeaturePresent  # type: ignore[attr-defined]  # Windows only
    # PF_AVX_INSTRUCTIONS_AVAILABLE = 39, PF_AVX2_INSTRUCTIONS_AVAILABLE = 40. Windows has no
    # feature bit for FMA/F16C/BMI2, but every CPU with AVX2 also has them (Haswell, Zen).
    if present(40) and present(39):
        return AVX2_FLAGS
    return frozenset({"avx"}) if present(39) else frozenset()


def read_cpu(read_text: Callable[[str], str] | None = None) -> CpuInfo:
    """This machine's CPU; `read_text(path)` is injectable for tests."""
    system, machine = platform.system(), platform.machine().lower()
    flags: frozenset[str] = frozenset()
    try:
        if system == "Linux":
            reader = read_text or (lambda p: Path(p).read_text(encoding="utf-8", errors="replace"))
            flags = parse_cpuinfo_flags(reader("/proc/cpuinfo"))
        elif system == "Darwin" and machine in ("x86_64", "amd64"):
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.features", "machdep.cpu.leaf7_features"],
                                 capture_output=True, text=True, timeout=5).stdout
            flags = parse_sysctl_features(out)
        elif system == "Windows":
            flags = _windows_flags()
    except (OSError, subprocess.SubprocessError, AttributeError) as e:
        log.warning("could not read the CPU's features (%s); assuming the baseline", e)
    return CpuInfo(system, machine, flags)


def choose(cpu: CpuInfo, available: Mapping[Variant, Path]) -> Choice:
    """The fastest shipped variant this CPU can run; pure."""
    if cpu.system == "Darwin" and cpu.machine in ("arm64", "aarch64"):
        reasons = {Variant.METAL: "Apple silicon"}
    elif cpu.machine in ("x86_64", "amd64", "x64"):
        missing = sorted(AVX2_FLAGS - cpu.flags)
        if missing:
            reasons = {Variant.BASELINE: f"CPU lacks {'/'.join(missing)}: the AVX2 build would crash"}
        else:
            reasons = {Variant.AVX2: f"CPU has {'/'.join(sorted(AVX2_FLAGS))}",
                       Variant.BASELINE: "CPU has AVX2 but only the baseline build is shipped"}
    else:  # other architectures (Linux/Windows arm64) ship one build: llama_cpp's default
        return Choice(None, None, f"{cpu.machine}: the one build llama_cpp loads by default")
    for variant, why in reasons.items():  # fastest first
        if variant in available:
            return Choice(variant, available[variant], why)
    wanted = next(iter(reasons)).value
    return Choice(None, None, f"no shipped llama.cpp build runs on this CPU (it needs the {wanted} build)")


def llama_package_dir() -> Path | None:
    """The `llama_cpp` package folder, found without importing it (importing loads the library)."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen and (Path(frozen) / "llama_cpp").is_dir():
        return Path(frozen) / "llama_cpp"
    import importlib.util

    try:
        spec = importlib.util.find_spec("llama_cpp")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def platform_variants(cpu: CpuInfo) -> tuple[Variant, ...]:
    """The variants an installer for this platform can hold."""
    if cpu.system == "Darwin" and cpu.machine in ("arm64", "aarch64"):
        return (Variant.METAL,)
    return (Variant.AVX2, Variant.BASELINE)


def available_variants(package_dir: Path | None, cpu: CpuInfo) -> dict[Variant, Path]:
    """The variants shipped under `package_dir` (a folder holding a libllama counts)."""
    if package_dir is None:
        return {}
    found = {}
    for variant in platform_variants(cpu):
        folder = package_dir / VARIANT_DIRS[variant]
        if any(folder.glob("*llama.*")):
            found[variant] = folder
    return found


def _variant_named(folder: str, cpu: CpuInfo) -> Variant | None:
    """Which variant a folder name stands for on this platform (`lib` is AVX2, or Metal)."""
    return next((v for v in platform_variants(cpu) if VARIANT_DIRS[v] == folder), None)


def select_llama_library(environ: MutableMapping[str, str] | None = None,
                         cpu: CpuInfo | None = None, package_dir: Path | None = None) -> Choice:
    """Set LLAMA_CPP_LIB_PATH for this CPU unless the user already set it; idempotent.

    Must run before anything imports llama_cpp (the frozen entry point calls it first).
    """
    env = os.environ if environ is None else environ
    if env.get(LIB_PATH_ENV):
        path = Path(env[LIB_PATH_ENV])
        variant, _, reason = env.get(CHOSEN_ENV, "").partition("|")
        if variant and reason:  # set by an earlier call (the entry point), not by the user
            return Choice(Variant(variant), path, reason)
        return Choice(_variant_named(path.name, cpu or read_cpu()), path, f"{LIB_PATH_ENV} was set",
                      preset=True)
    cpu = cpu or read_cpu()
    available = available_variants(package_dir or llama_package_dir(), cpu)
    forced = env.get(FORCE_ENV, "").strip().lower()
    if forced:
        by_name = {v.value: v for v in available}
        if forced not in by_name:
            choice = Choice(None, None, f"{FORCE_ENV}={forced} but this install has "
                                        f"{', '.join(sorted(by_name)) or 'no llama.cpp build'}")
        else:
            choice = Choice(by_name[forced], available[by_name[forced]], f"{FORCE_ENV}={forced}")
    else:
        choice = choose(cpu, available)
    if choice.lib_dir is not None and choice.variant is not None:
        env[LIB_PATH_ENV] = str(choice.lib_dir)
        env[CHOSEN_ENV] = f"{choice.variant.value}|{choice.reason}"
        log.info("llama.cpp build: %s (%s) from %s", choice.variant.value if choice.variant else "?",
                 choice.reason, choice.lib_dir)
    else:
        log.warning("llama.cpp build: %s", choice.reason)
    return choice
