"""Optional cross-encoder reranker, loaded from a user-provided folder only.

No cross-encoder ships as an offline PyPI wheel today (the rerank packages
download models at run time), so this is off unless `reranker_path` is set.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from app.errors import RerankerError


class CrossEncoderReranker:
    """Scores are relevance probabilities in (0, 1). Many cross-encoders (the MS MARCO
    ones, bge-reranker) return raw logits, often all below zero, and the passage
    selection compares each score with the best as a share of it: a sigmoid keeps
    their order and makes that share mean something."""

    def __init__(self, path: Path, batch_size: int = 16) -> None:
        self.path = Path(path)
        self.batch_size = batch_size
        self._model = None

    @property
    def model(self) -> Any:  # a sentence_transformers CrossEncoder
        if self._model is None:
            if not (self.path / "config.json").is_file():
                raise RerankerError(str(self.path), "it holds no model (no config.json)")
            import torch
            from sentence_transformers import CrossEncoder

            try:
                model = CrossEncoder(str(self.path), device="cpu", local_files_only=True,
                                     activation_fn=torch.nn.Sigmoid())
            except Exception as e:  # a user's folder: bad JSON, truncated weights, wrong shapes...
                raise RerankerError(str(self.path), _first_line(e)) from e
            labels = model.config.num_labels
            if labels != 1:
                raise RerankerError(str(self.path), f"it is a classifier with {labels} labels, "
                                                    "not a relevance cross-encoder (one score per pair)")
            self._model = model
        return self._model

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        out = self.model.predict([(query, t) for t in texts], batch_size=self.batch_size,
                                 show_progress_bar=False)
        return [float(x) for x in out]


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__
