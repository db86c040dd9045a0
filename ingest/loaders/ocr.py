"""Documents read by OCR: image files (PNG, JPEG, TIFF with its pages, WebP), and the
pages of a PDF that have no usable text layer (ingest/loaders/pdf_scan.py picks them).

Each recognised line becomes a Block on its page, with its box (kept at indexing for the
viewer: ingest/scan_lines.py). Pages are read one at a time, each
reported through ingest.progress (the parser worker turns that into "page 12 of 40"
and a longer deadline); a page that cannot be decoded or read is skipped with a
warning, so the rest of the file still indexes. The engine is loaded only when a page
needs it, once per process.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest import progress
from ingest.document import Block, Document
from ingest.errors import FileErrorKind, LoadError
from ingest.scan_lines import fraction_box

IMAGE_SUFFIXES: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"})
OCR_OFF = "OCR is turned off in Settings"
# Pages are read at most this long on their longest side: enough for body text of a
# poster-sized scan, and it bounds the memory and time one page can take.
_MAX_SIDE = 8000

PageImage = Callable[[], Any]  # returns a PIL image; may raise for a damaged page


@dataclass
class OcrOutcome:
    blocks: list[Block]
    pages_read: int
    warnings: list[str]


def read_pages(pages: Iterable[tuple[int, PageImage]], total: int, languages: str) -> OcrOutcome:
    """OCR `pages` ((1-based page number, image thunk), `total` of them) into Blocks."""
    from ingest.loaders.ocr_engine import OcrEngine, OcrUnavailable

    engine = OcrEngine.shared(languages)
    blocks: list[Block] = []
    failed: list[int] = []
    first_error = ""
    done = 0
    progress.report(done, total)  # before the renderer or the models load: the time limit grows now
    for page_no, image in pages:
        if done:
            progress.report(done, total)
        try:
            page = engine.read(_grey(image()))
        except MemoryError:
            raise
        except OcrUnavailable as exc:
            raise LoadError(FileErrorKind.INTERNAL, f"cannot read scans: {exc}") from exc
        except LoadError:
            raise
        except Exception as exc:  # one damaged page must not lose the others
            failed.append(page_no)
            first_error = first_error or f"{type(exc).__name__}: {exc}"[:200]
        else:
            blocks.extend(Block(line.text, page=page_no, box=fraction_box(line.box.x0, line.box.y0, line.box.x1,
                                                                          line.box.y1, page.width, page.height))
                          for line in page.lines)
        done += 1
    progress.report(done, total)
    warnings = []
    if failed:
        shown = ", ".join(map(str, failed[:20])) + (" …" if len(failed) > 20 else "")
        warnings.append(f"OCR could not read {len(failed)} page(s): {shown} ({first_error})")
    return OcrOutcome(blocks, done - len(failed), warnings)


def load_image(path: Path, limits: Any) -> Document:
    """An image file as a document: one page per frame (a multi-page TIFF has several)."""
    from PIL import Image, UnidentifiedImageError

    if not limits.ocr:
        raise LoadError(FileErrorKind.NO_TEXT, OCR_OFF)
    try:
        image = Image.open(path)
    except UnidentifiedImageError as exc:
        raise LoadError(FileErrorKind.CORRUPT, "not an image that can be decoded") from exc
    except Image.DecompressionBombError as exc:  # Pillow's own cap, above ours: same wording
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        shown = f"{int(pixels.group(1)) / 1e6:,.0f} megapixels" if pixels else "too many pixels"
        raise LoadError(FileErrorKind.TOO_LARGE, f"{shown} > {limits.max_image_pixels / 1e6:.0f} megapixels") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # what Pillow raises on a damaged header
        raise LoadError(FileErrorKind.CORRUPT, f"not a readable image ({type(exc).__name__}: {exc})"[:200]) from exc
    with image:
        frames = int(getattr(image, "n_frames", 1) or 0)
        if frames < 1:
            raise LoadError(FileErrorKind.CORRUPT, "the image has no frames")
        if frames > limits.max_pages:
            raise LoadError(FileErrorKind.TOO_LARGE, f"{frames} pages > {limits.max_pages}")
        _check_pixels(image.size, limits)  # the first frame before any decoding
        outcome = read_pages(((i + 1, _frame(image, i, limits)) for i in range(frames)), frames,
                             limits.ocr_languages)
    warnings = outcome.warnings
    if not outcome.pages_read:
        raise LoadError(FileErrorKind.CORRUPT, "; ".join(warnings)[:300])
    if not outcome.blocks:
        warnings = [f"no text was found in the image ({frames} page(s) read by OCR)"]
    return Document(path=path, kind="image", blocks=outcome.blocks, page_count=frames, warnings=warnings)


def _frame(image: Any, index: int, limits: Any) -> PageImage:
    def load() -> Any:
        image.seek(index)
        _check_pixels(image.size, limits)
        frame = image.copy()
        frame.load()
        return frame
    return load


def _check_pixels(size: tuple[int, int], limits: Any) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise LoadError(FileErrorKind.CORRUPT, f"the image is {width} × {height} pixels")
    if width * height > limits.max_image_pixels:
        raise LoadError(FileErrorKind.TOO_LARGE, f"{width:,} × {height:,} pixels ({width * height / 1e6:,.0f} "
                                                 f"megapixels) > {limits.max_image_pixels / 1e6:.0f} megapixels")


def _grey(image: Any) -> Any:
    """Upright, white under any transparency, one grey channel, at most _MAX_SIDE px."""
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(image)  # phone photos are stored sideways
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit and float scans: stretch to 8 bits
        import numpy as np

        values = np.asarray(image.convert("F"), dtype=np.float32)
        low, high = float(values.min()), float(values.max())
        image = Image.fromarray(((values - low) * (255.0 / max(high - low, 1e-6))).astype(np.uint8))
    grey = image.convert("L")
    if max(grey.size) > _MAX_SIDE:
        grey.thumbnail((_MAX_SIDE, _MAX_SIDE), Image.Resampling.BILINEAR)
    return grey
