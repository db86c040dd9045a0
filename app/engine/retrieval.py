"""Find the passages a question needs."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from ingest.embedder import Embedder
from ingest.passage import Found, Passage
from ingest.store import ChromaStore


def snippet(text: str, limit: int = 240) -> str:
    """Whitespace-collapsed text cut at a word boundary: what a citation or result shows."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


class DenseRetriever:
    def __init__(self, embedder: Embedder, store: ChromaStore) -> None:
        self.embedder = embedder
        self.store = store

    def search(self, query: str, k: int, where: dict[str, Any] | None = None) -> list[Passage]:
        vec = self.embedder.encode_query(query)
        return [replace(p, found=Found.DENSE) for p in self.store.query(vec, k, where)]
