"""What this machine can run: threads, GPU offload, context size that fits in RAM.

llama.cpp mmaps the weights, so a model that does not fit in RAM does not crash:
it pages and becomes unusably slow. We therefore pick a context whose KV cache
fits next to the weights, and warn before loading when even the smallest will not.
"""
from __future__ import annotations

import os
import platform

GB = 1_000_000_000  # decimal, like the sizes the hub and file managers show
MiB = 1024 * 1024
MIN_CONTEXT = 2048
# llama.cpp compute buffers, the Python app, the embedder and the vector store.
RUNTIME_OVERHEAD = 1024 * MiB
# Fallback KV-cache cost per token when the model's shape is unknown: file size /
# 16000 is ~126 KB/token for a 2 GB file, at or above real 3B models (Llama 3.2
# 3B: 112 KiB, Qwen2.5 3B: 36 KiB, f16 cache), so the guess errs on the safe side.
_KV_DIVISOR = 16_000
_KV_FLOOR = 16 * 1024


def is_apple_silicon() -> bool:
    return platform.system() == "Darwin" and platform.machine() in ("arm64", "aarch64")


def available_ram_bytes() -> int:
    """RAM available to new allocations now, or 0 if it cannot be determined."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:
        pass
    try:  # POSIX fallback: free pages only (ignores reclaimable cache), so conservative
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 0


def default_gpu_layers() -> int:
    """-1 (offload every layer) with Metal on Apple Silicon; CPU-only (0) elsewhere."""
    return -1 if is_apple_silicon() else 0


def estimate_kv_bytes_per_token(model_file_size: int) -> int:
    return max(_KV_FLOOR, model_file_size // _KV_DIVISOR)


def choose_context(
    model_trained_ctx: int,
    model_file_size: int,
    available_ram: int,
    preferred: int = 8192,
    *,
    kv_bytes_per_token: int | None = None,
) -> int:
    """Largest context <= preferred and <= the trained one whose KV cache fits in RAM.

    Never below MIN_CONTEXT (2048) -- or the trained context if that is smaller --
    since RAG prompts need room for passages; fit_warning() covers the case where
    even that will not fit. Pass `kv_bytes_per_token` (GGUFInfo.kv_bytes_per_token())
    when known; otherwise a conservative estimate from the file size is used.
    """
    per_token = kv_bytes_per_token or estimate_kv_bytes_per_token(model_file_size)
    limit = preferred if model_trained_ctx <= 0 else min(preferred, model_trained_ctx)
    budget = available_ram - model_file_size - RUNTIME_OVERHEAD
    fits = budget // per_token if budget > 0 else 0
    ctx = min(limit, fits) // 256 * 256  # multiples of 256 keep llama.cpp's batching happy
    floor = MIN_CONTEXT if model_trained_ctx <= 0 else min(MIN_CONTEXT, model_trained_ctx)
    return max(floor, ctx)


def memory_needed(model_file_size: int, context: int = MIN_CONTEXT, kv_bytes_per_token: int | None = None) -> int:
    per_token = kv_bytes_per_token or estimate_kv_bytes_per_token(model_file_size)
    return model_file_size + RUNTIME_OVERHEAD + context * per_token


def fit_warning(model_file_size: int, available_ram: int) -> str | None:
    """A user-facing warning when the model likely will not fit in free RAM, else None.

    available_ram <= 0 means "unknown" and gives no warning rather than a false alarm.
    """
    if available_ram <= 0:
        return None
    need = memory_needed(model_file_size)
    if available_ram >= need:
        return None
    return (
        f"This model needs about {need / GB:.1f} GB of free memory, but only "
        f"{available_ram / GB:.1f} GB is available. It may answer very slowly or fail to load. "
        "Close other programs, or choose a smaller model."
    )
