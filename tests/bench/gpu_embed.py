"""Bench-only: run MiniLM's arithmetic on a lent GPU machine, keep everything else local.

The shared dev CPU embeds ~3-10 chunks/s when other work is running, which makes
a 13k-chunk corpus take over an hour. Here chunk texts are made by Docent's own
loaders and chunker, tokenized locally by MiniLM's tokenizer, and only the
transformer forward (a plain-torch BERT, `device_forward.py`) runs remotely.
The vectors come back into a CachedEmbedder, so the real Indexer then writes
Chroma + FTS5 as usual. `check()` compares against the local Embedder.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable, Sequence

from ingest.embedder import Embedder


def chunk_texts(files: Iterable[Path], chunker) -> list[str]:  # type: ignore[no-untyped-def]
    from ingest.loaders import load_document

    out: list[str] = []
    for f in files:
        try:
            doc = load_document(f)
        except Exception:  # the Indexer reports these; nothing to embed
            continue
        out += [c.text for c in chunker.chunk(doc)]
    return list(dict.fromkeys(out))


def export(texts: Sequence[str], emb: Embedder, out_dir: Path) -> None:
    """Token ids (as sentence-transformers would feed them) + fp16 weights for the device."""
    import torch
    from safetensors.torch import load_file

    out_dir.mkdir(parents=True, exist_ok=True)
    enc = emb.tokenizer(list(texts), truncation=True, max_length=emb.info().max_tokens)
    (out_dir / "ids.json").write_text(json.dumps(enc["input_ids"]), encoding="utf-8")
    sd = load_file(str(emb.model_path / "model.safetensors"))
    torch.save({k: v.half() for k, v in sd.items()}, out_dir / "weights.pt")
    (out_dir / "config.json").write_text((emb.model_path / "config.json").read_text())


class CachedEmbedder(Embedder):
    """Serves precomputed vectors by text; anything missing is embedded locally."""

    def __init__(self, model_path: Path, texts: Sequence[str], vectors, batch_size: int = 64) -> None:  # type: ignore[no-untyped-def]
        super().__init__(model_path, batch_size)
        self.cache = {_key(t): vectors[i] for i, t in enumerate(texts)}
        self.misses = 0

    def encode(self, texts: Sequence[str]):  # type: ignore[no-untyped-def]
        import numpy as np

        if texts and all(_key(t) in self.cache for t in texts):
            self.calls += 1
            self.texts_embedded += len(texts)
            return np.stack([self.cache[_key(t)] for t in texts]).astype(np.float32)
        self.misses += len(texts)
        return super().encode(texts)

    def submit(self, texts: Sequence[str], tokens: Sequence[int] | None = None):  # type: ignore[no-untyped-def]
        from concurrent.futures import Future

        done: Future = Future()
        done.set_result(self.encode(texts))
        return done


def load_vectors(path: Path):  # type: ignore[no-untyped-def]
    import torch

    return torch.load(path).float().numpy()


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def prepare(out_dir: Path) -> int:
    """Chunk texts of SciFact (as bench_retrieval_hybrid writes it) and the sec-10-q PDFs."""
    from app.engine.evaluation import load_beir, write_corpus
    from app.resources import bundled_embedder
    from app.settings import Settings
    from ingest.chunker import Chunker
    from tests.bench.bench_retrieval_hybrid import CACHE_HOME as SCI_HOME
    from tests.bench.common import SCIFACT, SEC_DOCS, log

    emb = Embedder(bundled_embedder())
    s = Settings(home=SCI_HOME)
    chunker = Chunker(emb.tokenizer, s.chunk_tokens, s.chunk_overlap, emb.info().max_tokens)
    paths = write_corpus(load_beir(SCIFACT), SCI_HOME / "corpus")
    texts = chunk_texts(sorted(Path(p) for p in paths), chunker)
    log(f"scifact: {len(texts)} chunk texts")
    texts += chunk_texts(sorted(SEC_DOCS.glob("*.pdf")), chunker)
    texts = list(dict.fromkeys(texts))
    log(f"total: {len(texts)} chunk texts")
    export(texts, emb, out_dir)
    (out_dir / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    return len(texts)


def check(vec_dir: Path, n: int = 64) -> float:
    """Lowest cosine between device vectors and the local Embedder on a sample."""
    import numpy as np

    from app.resources import bundled_embedder

    texts = json.loads((vec_dir / "texts.json").read_text(encoding="utf-8"))
    vecs = load_vectors(vec_dir / "vectors.pt")
    step = max(1, len(texts) // n)
    sample = list(range(0, len(texts), step))[:n]
    local = Embedder(bundled_embedder()).encode([texts[i] for i in sample])
    return float(np.min(np.sum(local * vecs[sample], axis=1)))


if __name__ == "__main__":
    import sys

    from tests.bench.common import quiet_env

    quiet_env()
    if sys.argv[1] == "prepare":
        prepare(Path(sys.argv[2]))
    else:
        print("min cosine vs local:", check(Path(sys.argv[2])))
