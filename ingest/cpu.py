"""CPU facts shared by the encoder (ingest) and llama.cpp (app)."""
from __future__ import annotations

import os


def physical_cores() -> int:
    """Physical cores: torch and llama.cpp both run slower on hyper-threads than on cores."""
    try:
        import psutil

        n = psutil.cpu_count(logical=False)
        if n:
            return int(n)
    except Exception:  # psutil missing or unsupported platform (e.g. some containers)
        pass
    logical = os.cpu_count() or 2
    return max(1, logical // 2)  # assume 2-way SMT when we cannot know
