"""Context sizing and fit warnings: pure arithmetic on injected numbers."""
from __future__ import annotations

import pytest

from app.models import hardware
from app.models.hardware import (
    GB,
    MIN_CONTEXT,
    RUNTIME_OVERHEAD,
    choose_context,
    estimate_kv_bytes_per_token,
    fit_warning,
)

MODEL_3B = 1_929_937_120  # Qwen2.5-3B Q4_K_M
QWEN_KV = 36 * 2 * (128 + 128) * 2  # 36 layers, 2 kv heads, head dim 128, f16


def test_plenty_of_ram_gives_preferred_capped_by_training() -> None:
    assert choose_context(32768, MODEL_3B, 64 * GB) == 8192
    assert choose_context(32768, MODEL_3B, 64 * GB, preferred=16384) == 16384
    assert choose_context(4096, MODEL_3B, 64 * GB) == 4096  # never beyond what the model was trained on


def test_unknown_trained_context_uses_preferred() -> None:
    assert choose_context(0, MODEL_3B, 64 * GB) == 8192


def test_exact_kv_size_sets_the_fitting_context() -> None:
    avail = MODEL_3B + RUNTIME_OVERHEAD + 5000 * QWEN_KV
    assert choose_context(32768, MODEL_3B, avail, kv_bytes_per_token=QWEN_KV) == 4864  # 5000 -> multiple of 256


def test_tight_ram_shrinks_context_but_not_below_minimum() -> None:
    per_token = estimate_kv_bytes_per_token(MODEL_3B)
    tight = MODEL_3B + RUNTIME_OVERHEAD + 3000 * per_token
    ctx = choose_context(32768, MODEL_3B, tight)
    assert MIN_CONTEXT <= ctx < 8192 and ctx % 256 == 0
    assert ctx * per_token <= tight - MODEL_3B - RUNTIME_OVERHEAD
    assert choose_context(32768, MODEL_3B, 1 * GB) == MIN_CONTEXT  # far too little: the floor
    assert choose_context(32768, MODEL_3B, 0) == MIN_CONTEXT


def test_model_trained_below_minimum_keeps_its_own_context() -> None:
    assert choose_context(1024, 100_000_000, 0) == 1024


@pytest.mark.parametrize("avail", [2 * GB, 3 * GB, 4 * GB, 6 * GB, 16 * GB])
def test_context_never_decreases_with_more_ram(avail: int) -> None:
    assert choose_context(32768, MODEL_3B, avail) <= choose_context(32768, MODEL_3B, avail + GB)


def test_kv_estimate_is_conservative_for_3b_models() -> None:
    llama32_3b_kv = 28 * 8 * (128 + 128) * 2
    est = estimate_kv_bytes_per_token(2_019_377_696)
    assert est >= llama32_3b_kv and est >= QWEN_KV


def test_fit_warning() -> None:
    assert fit_warning(MODEL_3B, 16 * GB) is None
    msg = fit_warning(MODEL_3B, 2 * GB)
    assert msg is not None and "GB" in msg and "2.0 GB is available" in msg
    assert fit_warning(MODEL_3B, 0) is None  # unknown RAM: no false alarm
    # The boundary: exactly what the minimum context needs fits.
    assert fit_warning(MODEL_3B, hardware.memory_needed(MODEL_3B)) is None
    assert fit_warning(MODEL_3B, hardware.memory_needed(MODEL_3B) - 1) is not None


@pytest.mark.parametrize(
    ("system", "machine", "layers"),
    [("Darwin", "arm64", -1), ("Darwin", "x86_64", 0), ("Linux", "x86_64", 0), ("Windows", "AMD64", 0)],
)
def test_default_gpu_layers(monkeypatch: pytest.MonkeyPatch, system: str, machine: str, layers: int) -> None:
    monkeypatch.setattr(hardware.platform, "system", lambda: system)
    monkeypatch.setattr(hardware.platform, "machine", lambda: machine)
    assert hardware.is_apple_silicon() is (layers == -1)
    assert hardware.default_gpu_layers() == layers


def test_physical_cores_and_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    import psutil

    from ingest import cpu

    assert cpu.physical_cores() >= 1
    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: None)
    monkeypatch.setattr(cpu.os, "cpu_count", lambda: 8)
    assert cpu.physical_cores() == 4


def test_available_ram_is_positive() -> None:
    assert hardware.available_ram_bytes() > 0
