"""The data-parallel encoder: same vectors as sentence-transformers, no barrier between files."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from ingest.embed_workers import BatchWorkers

WORDS = "revenue margin cash flow segment guidance quarter dividend liquidity inventory".split()


def texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(1, 120)))) for _ in range(n)]


def test_parallel_encode_matches_plain_sentence_transformers(embedder):
    batch = texts(150)
    assert embedder.workers >= 1 and len(batch) > 2 * embedder.batch_size
    ours = embedder.encode(batch)
    plain = embedder.model.encode(batch, batch_size=embedder.batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False)
    assert ours.dtype == np.float32 and ours.shape == plain.shape
    np.testing.assert_allclose(ours, plain, atol=1e-5)  # row i is text i: order restored


def test_files_in_flight_each_get_their_own_vectors(embedder):
    files = [texts(n, seed) for seed, n in enumerate((40, 3, 75, 1))]
    futures = [embedder.submit(f) for f in files]  # all queued before any is read
    for f, fut in zip(files, futures, strict=True):
        vecs = fut.result(timeout=120)
        assert vecs.shape == (len(f), 384)
        np.testing.assert_allclose(vecs, embedder.encode(f), atol=1e-5)


def test_workers_start_on_the_next_file_without_waiting_for_the_slowest():
    """Worker 1 holds file A's first batch until file B's batch has started. With a
    barrier per file (each file split between the workers and joined), B could not start
    before A finished, and A's batch would time out."""
    b_started = threading.Event()

    def encode(batch: list[str]) -> np.ndarray:
        if batch == ["a1"]:
            if not b_started.wait(10):
                raise TimeoutError("file B never started while file A was still encoding")
        if batch == ["b1"]:
            b_started.set()
        return np.full((len(batch), 2), float(len(batch[0])), dtype=np.float32)

    workers = BatchWorkers(encode, workers=2)
    try:
        a = workers.submit(["a1", "a22"], batch_size=1)
        b = workers.submit(["b1"], batch_size=1)
        assert b.result(timeout=10).shape == (1, 2)
        np.testing.assert_array_equal(a.result(timeout=10)[:, 0], [2.0, 3.0])  # in input order
    finally:
        workers.close()


def test_a_failing_batch_fails_its_file_only():
    def encode(batch: list[str]) -> np.ndarray:
        if "bad" in batch:
            raise MemoryError("out of memory in the encoder")
        return np.ones((len(batch), 2), dtype=np.float32)

    workers = BatchWorkers(encode, workers=2)
    try:
        bad = workers.submit(["ok", "bad", "ok2"], batch_size=1)
        good = workers.submit(["fine", "also fine"], batch_size=1)
        with pytest.raises(MemoryError, match="out of memory"):
            bad.result(timeout=10)
        assert good.result(timeout=10).shape == (2, 2)
    finally:
        workers.close()


def test_close_stops_threads_and_the_next_submit_restarts_them():
    names: set[str] = set()

    def encode(batch: list[str]) -> np.ndarray:
        names.add(threading.current_thread().name)
        return np.zeros((len(batch), 1), dtype=np.float32)

    workers = BatchWorkers(encode, workers=2, name="test-embed")
    workers.submit(["x"] * 8, batch_size=1).result(timeout=10)
    workers.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("test-embed")]
    assert workers.submit(["y"], batch_size=1).result(timeout=10).shape == (1, 1)
    workers.close()
    assert names and all(n.startswith("test-embed") for n in names)


def test_a_query_is_encoded_on_the_calling_thread(embedder):
    from ingest.embedder import Embedder

    fresh = Embedder(embedder.model_path, batch_size=16, workers=2)
    vec = fresh.encode_query("what was the operating margin")
    assert vec.shape == (384,) and abs(float(np.linalg.norm(vec)) - 1.0) < 1e-4
    assert fresh._batch_workers is None  # no worker thread for a single text
    fresh.close()


def test_a_text_repeated_in_a_file_is_encoded_once_and_every_row_gets_its_vector():
    seen: list[str] = []
    lock = threading.Lock()

    def vectors(batch: list[str]) -> np.ndarray:
        return np.array([[float(len(t)), float(t.count("a"))] for t in batch], dtype=np.float32)

    def encode(batch: list[str]) -> np.ndarray:
        with lock:
            seen.extend(batch)
        return vectors(batch)

    workers = BatchWorkers(encode, workers=2)
    try:
        file = ["a", "bb", "a", "ccc", "bb", "a", "dddd"]
        vecs = workers.submit(file, batch_size=2).result(timeout=10)
        assert sorted(seen) == ["a", "bb", "ccc", "dddd"]
        assert workers.repeats_skipped == 3
        np.testing.assert_array_equal(vecs, vectors(file))  # row i is text i
        assert workers.submit(["a"], batch_size=2).result(timeout=10).shape == (1, 2)  # per file
        assert seen.count("a") == 2
    finally:
        workers.close()


def test_batches_follow_token_counts_when_given():
    """Characters are a poor proxy for tokens (digits and tables take more per character):
    with counts given, a batch holds texts of similar token counts."""
    batches: list[list[str]] = []

    def encode(batch: list[str]) -> np.ndarray:
        batches.append(batch)
        return np.zeros((len(batch), 1), dtype=np.float32)

    workers = BatchWorkers(encode, workers=1)
    try:
        file = ["aaaa", "b", "cc", "ddd"]
        workers.submit(file, batch_size=2).result(timeout=10)
        assert batches == [["b", "cc"], ["ddd", "aaaa"]]  # by characters
        batches.clear()
        workers.submit(file, batch_size=2, tokens=[1, 9, 8, 2]).result(timeout=10)
        assert batches == [["aaaa", "ddd"], ["cc", "b"]]  # by the given token counts
    finally:
        workers.close()


def test_embedder_rejects_token_counts_that_do_not_match(embedder):
    with pytest.raises(ValueError, match="2 token counts for 3 texts"):
        embedder.submit(["a", "b", "c"], [1, 2])
