"""Choosing the llama.cpp build for the CPU (app/models/cpu_variant.py), on recorded CPU texts."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from app.models.cpu_variant import (
    AVX2_FLAGS,
    FORCE_ENV,
    LIB_PATH_ENV,
    CpuInfo,
    Variant,
    available_variants,
    choose,
    parse_cpuinfo_flags,
    parse_sysctl_features,
    read_cpu,
    select_llama_library,
)

# First-CPU excerpts of real /proc/cpuinfo files (other lines trimmed).
HASWELL = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon pebs bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm cpuid_fault epb invpcid_single pti ssbd ibrs ibpb stibp tpr_shadow vnmi flexpriority ept vpid ept_ad fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid xsaveopt dtherm ida arat pln pts md_clear flush_l1d

processor\t: 1
flags\t\t: fpu sse sse2
"""
SANDY_BRIDGE = """processor\t: 0
model name\t: Intel(R) Core(TM) i7-2600 CPU @ 3.40GHz
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx rdtscp lm constant_tsc pni pclmulqdq ssse3 cx16 sse4_1 sse4_2 x2apic popcnt tsc_deadline_timer aes xsave avx lahf_lm
"""
GOLDMONT_ATOM = """processor\t: 0
model name\t: Intel(R) Celeron(R) N4000 CPU @ 1.10GHz
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx rdtscp lm constant_tsc pni pclmulqdq ssse3 cx16 sse4_1 sse4_2 movbe popcnt aes xsave rdrand lahf_lm sha_ni
"""
CORE2 = """processor\t: 0
model name\t: Intel(R) Core(TM)2 Duo CPU     E8400  @ 3.00GHz
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx lm constant_tsc pni ssse3 cx16 sse4_1 lahf_lm
"""
RASPBERRY_PI = """processor\t: 0
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41
"""

BOTH = {Variant.AVX2: Path("/b/lib"), Variant.BASELINE: Path("/b/lib-baseline")}


def x86(text: str) -> CpuInfo:
    return CpuInfo("Linux", "x86_64", parse_cpuinfo_flags(text))


def test_flags_come_from_the_first_cpu_only():
    assert AVX2_FLAGS <= parse_cpuinfo_flags(HASWELL)
    assert "avx2" not in parse_cpuinfo_flags(SANDY_BRIDGE) and "avx" in parse_cpuinfo_flags(SANDY_BRIDGE)
    assert parse_cpuinfo_flags(RASPBERRY_PI) == {"fp", "asimd", "evtstrm", "crc32", "cpuid"}
    assert parse_cpuinfo_flags("") == frozenset()


@pytest.mark.parametrize("text,expected", [
    (HASWELL, Variant.AVX2),
    (SANDY_BRIDGE, Variant.BASELINE),  # AVX but no AVX2/FMA: the AVX2 build would crash
    (GOLDMONT_ATOM, Variant.BASELINE),  # SSE4.2, no AVX at all (current low-end laptops)
    (CORE2, Variant.BASELINE),
])
def test_x86_cpus_get_the_fastest_build_they_can_run(text, expected):
    choice = choose(x86(text), BOTH)
    assert choice.variant is expected
    assert choice.lib_dir == BOTH[expected]


def test_a_missing_flag_names_itself_in_the_reason():
    choice = choose(x86(SANDY_BRIDGE), BOTH)
    assert "avx2" in choice.reason and "fma" in choice.reason


def test_avx2_cpu_falls_back_to_baseline_when_only_that_is_shipped():
    choice = choose(x86(HASWELL), {Variant.BASELINE: BOTH[Variant.BASELINE]})
    assert choice.variant is Variant.BASELINE and "only the baseline" in choice.reason


def test_old_cpu_without_a_baseline_build_gets_no_library_and_a_reason():
    choice = choose(x86(CORE2), {Variant.AVX2: BOTH[Variant.AVX2]})
    assert choice.variant is None and choice.lib_dir is None
    assert "baseline" in choice.reason


def test_apple_silicon_takes_the_metal_build_and_arm_linux_the_default():
    mac = CpuInfo("Darwin", "arm64", frozenset())
    assert choose(mac, {Variant.METAL: Path("/m/lib")}).variant is Variant.METAL
    assert choose(CpuInfo("Linux", "aarch64", parse_cpuinfo_flags(RASPBERRY_PI)), BOTH).lib_dir is None


def test_intel_mac_sysctl_features_map_to_linux_flag_names():
    flags = parse_sysctl_features("FPU VME SSE SSE2 SSE4.2 AVX1.0 F16C FMA\nBMI1 AVX2 BMI2")
    assert AVX2_FLAGS <= flags
    assert choose(CpuInfo("Darwin", "x86_64", flags), BOTH).variant is Variant.AVX2


def _fake_llama(root: Path, *folders: str) -> Path:
    for folder in folders:
        (root / folder).mkdir(parents=True)
        (root / folder / "libllama.so").write_bytes(b"\x7fELF")
    return root


def test_select_sets_the_library_path_once_and_respects_a_preset(tmp_path):
    pkg = _fake_llama(tmp_path / "llama_cpp", "lib", "lib-baseline")
    env: dict[str, str] = {}
    choice = select_llama_library(env, x86(SANDY_BRIDGE), pkg)
    assert env[LIB_PATH_ENV] == str(pkg / "lib-baseline") and choice.variant is Variant.BASELINE
    again = select_llama_library(env, x86(HASWELL), pkg)  # already chosen: reported, left alone
    assert env[LIB_PATH_ENV] == str(pkg / "lib-baseline")
    assert again.variant is Variant.BASELINE and again.reason == choice.reason and not again.preset
    users = {LIB_PATH_ENV: str(pkg / "lib")}  # the user's own choice wins
    mine = select_llama_library(users, x86(SANDY_BRIDGE), pkg)
    assert mine.preset and users[LIB_PATH_ENV] == str(pkg / "lib") and mine.variant is Variant.AVX2


def test_force_variable_overrides_detection_and_reports_what_exists(tmp_path):
    pkg = _fake_llama(tmp_path / "llama_cpp", "lib", "lib-baseline")
    env = {FORCE_ENV: "baseline"}
    assert select_llama_library(env, x86(HASWELL), pkg).variant is Variant.BASELINE
    only_avx2 = _fake_llama(tmp_path / "other", "lib")
    env = {FORCE_ENV: "baseline"}
    choice = select_llama_library(env, x86(HASWELL), only_avx2)
    assert choice.variant is None and LIB_PATH_ENV not in env and "avx2" in choice.reason


def test_a_folder_without_libllama_is_not_a_variant(tmp_path):
    (tmp_path / "lib-baseline").mkdir()
    pkg = _fake_llama(tmp_path, "lib")
    assert set(available_variants(pkg, x86(HASWELL))) == {Variant.AVX2}


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/cpuinfo")
def test_read_cpu_uses_proc_cpuinfo_through_the_reader():
    seen = []
    cpu = read_cpu(lambda p: seen.append(p) or SANDY_BRIDGE)
    assert seen == ["/proc/cpuinfo"] and "avx" in cpu.flags and "avx2" not in cpu.flags
    assert read_cpu().flags  # the real one


def test_the_installed_llama_cpp_is_found_without_importing_it():
    code = ("import sys; from app.models.cpu_variant import select_llama_library as s; "
            "c = s({}); print(c.variant.value if c.variant else None, 'llama_cpp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    variant, imported = out.stdout.split()
    assert imported == "False"
    if sys.platform == "linux" and AVX2_FLAGS <= read_cpu().flags:
        assert variant == "avx2"


BASELINE_WHEELS = Path.home() / ".cache" / "docent" / "wheels" / "llama-baseline-v1"

GENERATE = r"""
import sys
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=256, n_threads=2, verbose=False)
out = llm.create_completion("The capital of France is", max_tokens=8, temperature=0.0)
maps = open("/proc/self/maps").read()
print("LOADED", sorted({l.split()[-1] for l in maps.splitlines() if "libggml-cpu" in l}))
print("TEXT", repr(out["choices"][0]["text"]), out["usage"]["completion_tokens"])
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="the baseline build is a Linux x86-64 wheel here")
def test_baseline_build_generates_with_smollm(tmp_path, smollm_path):
    wheels = sorted(BASELINE_WHEELS.glob("llama_cpp_python-*.whl"))
    if not wheels:
        pytest.skip(f"no baseline wheel in {BASELINE_WHEELS} (make package builds it)")
    with zipfile.ZipFile(wheels[-1]) as whl:
        for name in whl.namelist():
            if name.startswith("llama_cpp/lib/"):
                whl.extract(name, tmp_path)
    lib = tmp_path / "llama_cpp" / "lib"
    env = dict(os.environ, **{LIB_PATH_ENV: str(lib)})
    run = subprocess.run([sys.executable, "-c", GENERATE, str(smollm_path)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = next(line for line in run.stdout.splitlines() if line.startswith("LOADED"))
    assert str(lib) in loaded, loaded  # the baseline's ggml-cpu, not the .venv's AVX2 one
    text = next(line for line in run.stdout.splitlines() if line.startswith("TEXT"))
    assert int(text.split()[-1]) > 0
