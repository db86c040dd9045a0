"""BM25 plans: pruning and rowid-range scoping must return what the plain query returns."""
from __future__ import annotations

import random

import pytest

from ingest.keyword import KeywordIndex
from ingest.keyword_rank import Bm25Ranker, RankConfig, ScopeSet, any_of, query_terms
from ingest.manifest import Manifest
from ingest.passage import Passage

COMMON = ["revenue", "quarter", "company", "results"]


def _library(kw: KeywordIndex, files: int = 60, per_file: int = 8, seed: int = 7) -> None:
    """Common words in most chunks, a few rare ones scattered: a query mixes both kinds."""
    rng = random.Random(seed)
    rare = [f"rare{i}" for i in range(40)]
    for f in range(files):
        texts = []
        for _ in range(per_file):
            words = rng.sample(COMMON, rng.randint(1, 3)) * rng.randint(1, 3)
            words += rng.sample(rare, 1) if rng.random() < 0.3 else []
            words += ["filler"] * rng.randint(3, 30)  # varied lengths: BM25 normalises by them
            rng.shuffle(words)
            texts.append(" ".join(words))
        fid = f"f{f:03d}"
        kw.replace_file(fid, [Passage(f"{fid}:{i:05d}", f"/lib/d{f % 3}/{fid}.txt", None, None, t)
                              for i, t in enumerate(texts)])


@pytest.fixture
def kw(tmp_path):
    m = Manifest(tmp_path / "manifest.sqlite3")
    index = KeywordIndex(m.db)
    _library(index)
    yield index
    m.close()


def _full(kw: KeywordIndex, query: str, n: int) -> list[tuple[int, float]]:
    return kw.ranker._run(any_of(query_terms(query)), n, None)


def test_pruned_plan_scores_exactly_what_the_full_query_scores(kw):
    forced = Bm25Ranker(kw.db, RankConfig(prune_min_chunks=0, common_df=0.05))
    used_pruning = 0
    for rare in range(0, 40, 3):
        query = f"revenue quarter rare{rare} rare{rare + 1} results"
        terms = query_terms(query)
        n = 5
        pruned = forced._pruned(terms, n, None)
        full = _full(kw, query, n)
        if pruned is not None:
            used_pruning += 1
            assert [r for r, _ in pruned] == [r for r, _ in full]
            assert [s for _, s in pruned] == pytest.approx([s for _, s in full])
        top = forced.top(terms, n)  # whichever plan it picks
        assert [r for r, _ in top] == [r for r, _ in full]
        assert [s for _, s in top] == pytest.approx([s for _, s in full])
    assert used_pruning >= 5  # the plan was really exercised, not always skipped


def test_pruning_falls_back_when_rare_rows_cannot_fill_n(kw):
    forced = Bm25Ranker(kw.db, RankConfig(prune_min_chunks=0))
    terms = query_terms("revenue rare3")
    assert forced._pruned(terms, 200, None) is None  # rare3 sits in far fewer than 200 chunks
    assert [r for r, _ in forced.top(terms, 200)] == [r for r, _ in _full(kw, "revenue rare3", 200)]


def test_small_library_never_prunes(kw):
    assert kw.ranker.config.prune_min_chunks > kw.count()
    assert kw.ranker._pruned(query_terms("revenue rare3"), 5, None) is None


def test_scope_ranges_match_the_join_filter(kw, monkeypatch):
    scope = kw.scope(folders=["/lib/d1"])
    assert scope.ranges is not None and len(scope.ranges) == 20  # every 3rd file: not adjacent
    kw.ranker.config = RankConfig(max_ranges=20)
    calls = []
    real = kw.ranker._in_ranges
    monkeypatch.setattr(kw.ranker, "_in_ranges", lambda *a: calls.append(1) or real(*a))
    joined = ScopeSet(scope.counts, None)  # forces the file-id join plan
    for query in ("revenue rare5", "quarter results", "rare11"):
        by_range = kw.search(query, 10, scope)
        by_join = kw.search(query, 10, joined)
        assert [h.chunk_id for h in by_range] == [h.chunk_id for h in by_join]
        assert all(h.chunk_id.split(":")[0] in scope.counts for h in by_range)
    assert len(calls) == 3  # the range plan answered every ranged query
    one = kw.scope(paths=["/lib/d0/f003.txt"])
    assert one.ranges is not None and len(one.ranges) == 1 and one.chunks == 8
    assert {h.chunk_id.split(":")[0] for h in kw.search("revenue quarter", 50, one)} == {"f003"}


def test_scope_set_merges_adjacent_files_and_detects_gaps():
    s = ScopeSet.from_rows([("b", 3, 4, 6), ("a", 3, 1, 3), ("c", 2, 10, 11)])
    assert s.ranges == ((1, 6), (10, 11)) and s.chunks == 8
    assert ScopeSet.from_rows([("a", 2, 1, 5)]).ranges is None  # a file's rows not consecutive


def test_document_frequencies_refresh_after_writes(kw):
    ranker = Bm25Ranker(kw.db, RankConfig(prune_min_chunks=0))
    ranker._refresh()
    assert ranker._doc_freq('"zebra"') == 0
    kw.replace_file("z", [Passage("z:00000", "/lib/z.txt", None, None, "zebra crossing")])
    ranker._refresh()
    assert ranker._doc_freq('"zebra"') == 1 and ranker._rows == kw.count()
