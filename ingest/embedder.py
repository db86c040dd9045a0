"""Sentence-transformers encoder, loaded from a local folder only."""
from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class EmbedderInfo:
    path: Path
    name: str
    dimension: int
    max_tokens: int
    fingerprint: str  # changes when the weights change: a new collection, never mixed vectors


class Embedder:
    """Wraps SentenceTransformer; heavy imports happen on first use."""

    def __init__(self, model_path: Path, batch_size: int = 64, device: str = "cpu") -> None:
        self.model_path = Path(model_path)
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._lock = threading.Lock()
        self.calls = 0  # encode() calls that embedded at least one text
        self.texts_embedded = 0

    @property
    def model(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._model is None:
                if not (self.model_path / "config.json").is_file() and not (
                    self.model_path / "modules.json"
                ).is_file():
                    raise FileNotFoundError(f"No sentence-transformers model in {self.model_path}")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                # The chunker measures over-long blocks on purpose before splitting them.
                hf_logging.set_verbosity_error()

                self._model = SentenceTransformer(str(self.model_path), device=self.device,
                                                  local_files_only=True)
            return self._model

    @property
    def tokenizer(self):  # type: ignore[no-untyped-def]
        return self.model.tokenizer

    def info(self) -> EmbedderInfo:
        m = self.model
        get_dim = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        dim = int(get_dim() or 0)
        return EmbedderInfo(self.model_path, self.model_path.name, dim, int(m.max_seq_length),
                            _fingerprint(self.model_path, dim))

    def encode(self, texts: Sequence[str]) -> "np.ndarray":
        """L2-normalised float32 vectors, one row per text."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.info().dimension), dtype=np.float32)
        self.calls += 1
        self.texts_embedded += len(texts)
        vecs = self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)
        return vecs.astype(np.float32, copy=False)

    def encode_query(self, text: str) -> "np.ndarray":
        return self.encode([text])[0]


def _fingerprint(path: Path, dim: int) -> str:
    """Identity of the weights (name + size + config), cheap to compute."""
    h = hashlib.sha256()
    for name in ("config.json", "modules.json", "sentence_bert_config.json"):
        f = path / name
        if f.is_file():
            h.update(f.read_bytes())
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        h.update(f"{weights.name}:{weights.stat().st_size}".encode())
    h.update(json.dumps({"dim": dim}).encode())
    return h.hexdigest()[:12]
