"""Optional cross-encoder reranker, loaded from a user-provided folder only.

No cross-encoder ships as an offline PyPI wheel today (the rerank packages
download models at run time), so this is off unless `reranker_path` is set.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence


class CrossEncoderReranker:
    def __init__(self, path: Path, batch_size: int = 16) -> None:
        self.path = Path(path)
        self.batch_size = batch_size
        self._model = None

    @property
    def model(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            if not (self.path / "config.json").is_file():
                raise FileNotFoundError(f"No cross-encoder model in {self.path}")
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(str(self.path), device="cpu", local_files_only=True)
        return self._model

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        out = self.model.predict([(query, t) for t in texts], batch_size=self.batch_size,
                                 show_progress_bar=False)
        return [float(x) for x in out]
