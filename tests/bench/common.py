"""Shared helpers for the benchmarks: paths, peak memory, JSON output, timing."""
from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SHARED_EVAL = REPO.parent / "shared" / "eval"
SEC_DOCS = SHARED_EVAL / "sec-10-q" / "docs"
SCIFACT = SHARED_EVAL / "scifact"
BENCH_OUT = REPO / ".bench"
MODELS_DIR = REPO / ".models"
BENCH_LLM = MODELS_DIR / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


def peak_rss_mb() -> dict[str, float]:
    """Peak resident memory of this process and of its reaped children, in MiB.

    ru_maxrss is KiB on Linux, bytes on macOS. RUSAGE_CHILDREN is the largest
    single child (not a sum), which is what matters for the parser worker.
    """
    scale = 1 / (1024 * 1024) if sys.platform == "darwin" else 1 / 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return {"self_mb": round(own, 1), "children_max_mb": round(kids, 1)}


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float):
        return round(value, 6)
    return value


def emit(name: str, result: Any) -> dict[str, Any]:
    """Print one JSON object (one line) to stdout and write .bench/<name>.json."""
    data = {"benchmark": name, **_plain(result)}
    BENCH_OUT.mkdir(parents=True, exist_ok=True)
    (BENCH_OUT / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(data), flush=True)
    return data


def log(msg: str) -> None:
    """Progress goes to stderr so stdout stays pure JSON."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def quiet_env() -> None:
    """Offline, no telemetry, no tokenizer-thread warnings; before heavy imports."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from app.offline import enforce_offline

    enforce_offline()


def cpu_seconds() -> dict[str, float]:
    """User+system CPU seconds of this process and of its reaped children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"self": me.ru_utime + me.ru_stime, "children": kids.ru_utime + kids.ru_stime}


def load_average() -> float:
    """1-minute load average (0 where the platform has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return 0.0


def contended(load: float) -> bool:
    """More runnable work than cores: wall-clock timings are inflated by other processes."""
    return load > (os.cpu_count() or 1) + 0.5


def cpu_info() -> dict[str, Any]:
    import platform

    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "loadavg_1m_at_end": load_average()}
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    # Whether the pypdf drop-ins run (only on verified pypdf versions): every PDF figure
    # depends on it, and a lock bump can turn them off.
    from dataclasses import asdict

    from ingest.loaders import pdf_speedups

    info["pdf_fast_paths"] = asdict(pdf_speedups.install())
    return info


class MemorySampler:
    """Polls RSS of this process + its live children (parser workers) in a thread.

    ru_maxrss cannot see children that are still running, and the sum of
    parent + workers is what the user's machine has to hold at once.
    """

    def __init__(self, interval_s: float = 0.25) -> None:
        import threading

        self.interval_s = interval_s
        self.peak_total_mb = 0.0
        self.peak_children_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mem-sampler", daemon=True)

    def _run(self) -> None:
        try:
            import psutil
        except ImportError:
            return
        me = psutil.Process()
        while not self._stop.is_set():
            try:
                own = me.memory_info().rss
            except psutil.Error:
                own = 0
            kids = 0
            for child in me.children(recursive=True):
                try:
                    kids += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_total_mb = max(self.peak_total_mb, (own + kids) / 2**20)
            self.peak_children_mb = max(self.peak_children_mb, kids / 2**20)
            self._stop.wait(self.interval_s)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)

    def summary(self) -> dict[str, float]:
        return {"sampled_peak_total_mb": round(self.peak_total_mb, 1),
                "sampled_peak_children_mb": round(self.peak_children_mb, 1)}


class CpuWatch:
    """CPU seconds spent during a block: by this process tree and by everything else.

    `others_cpu_s` > 0 means other processes competed for the cores, so wall
    times in the block are inflated; benchmarks report it next to the numbers.
    """

    def __init__(self) -> None:
        self.wall_s = self.own_cpu_s = self.system_busy_s = 0.0
        self.load_start = self.load_end = 0.0

    @staticmethod
    def _busy() -> float:
        import psutil

        t = psutil.cpu_times()
        return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))

    @staticmethod
    def _own() -> float:
        import psutil

        me = psutil.Process()
        total = sum(me.cpu_times()[:4])  # user, system, children_user, children_system
        for child in me.children(recursive=True):
            try:
                total += sum(child.cpu_times()[:2])
            except psutil.Error:
                pass
        return float(total)

    def __enter__(self) -> "CpuWatch":
        self.load_start = load_average()
        self._t0, self._busy0, self._own0 = time.perf_counter(), self._busy(), self._own()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self._t0
        self.system_busy_s = self._busy() - self._busy0
        self.own_cpu_s = self._own() - self._own0
        self.load_end = load_average()

    def summary(self) -> dict[str, float]:
        cores = os.cpu_count() or 1
        others = max(0.0, self.system_busy_s - self.own_cpu_s)
        return {"wall_s": round(self.wall_s, 3), "own_cpu_s": round(self.own_cpu_s, 2),
                "others_cpu_s": round(others, 2),
                "others_share_of_machine": round(others / (self.wall_s * cores), 3) if self.wall_s else 0.0,
                "loadavg_start": self.load_start, "loadavg_end": self.load_end}


def wait_for_quiet(max_wait_s: float = 120.0, threshold: float = 0.15, window_s: float = 5.0) -> dict[str, float]:
    """Wait (at most max_wait_s) until other processes use < threshold of the machine's CPU
    over a window_s sample. The machine is shared; this lowers, not removes, the noise.
    Returns how long it waited and the last share seen (reported in the JSON)."""
    t0 = time.perf_counter()
    share = 1.0
    while True:
        with CpuWatch() as cw:
            time.sleep(window_s)
        share = cw.summary()["others_share_of_machine"]
        waited = time.perf_counter() - t0
        if share < threshold or waited >= max_wait_s:
            return {"waited_s": round(waited, 1), "others_share_before": share}


def add_embedder_args(ap: Any) -> None:
    """--vectors / --threads, shared by the benchmarks that index a corpus."""
    ap.add_argument("--vectors", type=Path, help="precomputed chunk vectors (tests/bench/gpu_embed.py)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")


def bench_embedder(vectors: Path | None, threads: int = 0):  # type: ignore[no-untyped-def]
    """None: Docent's own Embedder. A folder: vectors computed off-machine (gpu_embed.py).
    threads: on a shared, busy CPU one torch thread embeds faster than two fighting."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    if vectors is None:
        return None
    from app.resources import bundled_embedder
    from tests.bench.gpu_embed import CachedEmbedder, load_vectors

    texts = json.loads((vectors / "texts.json").read_text(encoding="utf-8"))
    return CachedEmbedder(bundled_embedder(), texts, load_vectors(vectors / "vectors.pt"))
