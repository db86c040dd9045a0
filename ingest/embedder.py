"""Sentence-transformers encoder, loaded from a local folder only.

On a CPU the encoder runs data-parallel: one single-threaded torch worker per
physical core, each taking whole batches (ingest/embed_workers.py). It shares
the cores well with the PDF parser process: torch's own threads wait for each
other at every operator, so one of them pre-empted by the parser stalls both.
"""
from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ingest.cpu import physical_cores

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from ingest.embed_workers import BatchWorkers


@dataclass(frozen=True)
class EmbedderInfo:
    path: Path
    name: str
    dimension: int
    max_tokens: int
    fingerprint: str  # changes when the weights change: a new collection, never mixed vectors


class Embedder:
    """Wraps SentenceTransformer; heavy imports happen on first use."""

    def __init__(self, model_path: Path, batch_size: int = 16, device: str = "cpu", workers: int = 0) -> None:
        self.model_path = Path(model_path)
        self.batch_size = batch_size
        self.device = device
        # Data-parallel CPU workers; 0 = one per physical core. GPUs and Metal use one.
        self.workers = 1 if device != "cpu" else (workers or physical_cores())
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._preprocess_lock = threading.Lock()
        self._batch_workers: BatchWorkers | None = None
        self.calls = 0  # encode() calls that embedded at least one text
        self.texts_embedded = 0

    @property
    def model(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                if not (self.model_path / "config.json").is_file() and not (
                    self.model_path / "modules.json"
                ).is_file():
                    raise FileNotFoundError(f"No sentence-transformers model in {self.model_path}")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                # The chunker measures over-long blocks on purpose before splitting them.
                hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # transformers leaves it unannotated

                model = SentenceTransformer(str(self.model_path), device=self.device, local_files_only=True)
                if self.workers > 1:
                    import sys

                    import torch

                    # Process-wide: torch is only used by this encoder in Docent.
                    torch.set_num_threads(1)
                    # The workers take the GIL back between torch operators; at the default
                    # 5 ms switch interval a busy Python thread (chunking, writing) stalls
                    # them (measured: 16.0 s vs 14.6 s for the same work beside a busy thread).
                    sys.setswitchinterval(min(sys.getswitchinterval(), 0.0005))
                    # The fast tokenizer's Rust object cannot be entered from two threads
                    # at once ("Already borrowed"); the forward passes run in parallel.
                    model.preprocess = _locked(model.preprocess, self._preprocess_lock)  # type: ignore[method-assign]  # serialises the tokenizer (see above)
                self._model = model
            return self._model

    @property
    def tokenizer(self) -> Any:  # a transformers tokenizer
        return self.model.tokenizer

    def info(self) -> EmbedderInfo:
        m = self.model
        get_dim = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        dim = int(get_dim() or 0)
        max_len = int(m.max_seq_length)  # type: ignore[arg-type]  # set by every model's config
        return EmbedderInfo(self.model_path, self.model_path.name, dim, max_len, _fingerprint(self.model_path, dim))

    def encode(self, texts: Sequence[str]) -> "np.ndarray":
        """L2-normalised float32 vectors, one row per text."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.info().dimension), dtype=np.float32)
        if self.workers > 1 and len(texts) > self.batch_size:
            return self.submit(texts).result()
        self.calls += 1
        self.texts_embedded += len(texts)
        return self._encode_batch(list(texts))  # a query, or one worker: on this thread

    def submit(self, texts: Sequence[str], tokens: Sequence[int] | None = None) -> "Future[np.ndarray]":
        """Encode on the worker threads; the caller can write the previous file meanwhile.

        `tokens`: each text's token count if known (the chunker's); batches of similar
        counts waste little on padding."""
        if tokens is not None and len(tokens) != len(texts):
            raise ValueError(f"{len(tokens)} token counts for {len(texts)} texts")
        from ingest.embed_workers import BatchWorkers

        if not texts:
            done: Future[np.ndarray] = Future()
            done.set_result(self.encode(texts))
            return done
        self.calls += 1
        self.texts_embedded += len(texts)
        _ = self.model  # load it (and set torch up) before any worker thread runs
        if self._batch_workers is None:
            self._batch_workers = BatchWorkers(self._encode_batch, self.workers)
        return self._batch_workers.submit(list(texts), self.batch_size,
                                          list(tokens) if tokens is not None else None)

    def _encode_batch(self, texts: list[str]) -> "np.ndarray":
        import numpy as np

        vecs = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)
        out: "np.ndarray" = vecs.astype(np.float32, copy=False)
        return out

    def encode_query(self, text: str) -> "np.ndarray":
        vec: "np.ndarray" = self.encode([text])[0]
        return vec

    def close(self) -> None:
        """Stop the worker threads (they start again on the next use)."""
        if self._batch_workers is not None:
            self._batch_workers.close()


def _locked(fn: Callable[..., Any], lock: threading.Lock) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return fn(*args, **kwargs)

    return call


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
