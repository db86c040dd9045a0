"""Hybrid retrieval with the real embedder, real Chroma (embedded and `chroma run`) and FTS5."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.hybrid import join_overlapping, merge_adjacent, rrf
from app.engine.selection import Budget, select_passages
from ingest.passage import Found, Passage
from tests.app.chroma_server import chroma_server

THINGS = ["impeller", "valve seat", "drive belt", "fan blade", "float switch", "thermostat",
          "pressure hose", "filter housing", "seal kit", "bearing", "hinge", "fuse"]
SIGNERS = ["Maria Lopez", "John Smith", "Akira Tanaka", "Fatima Khan", "Peter Novak", "Laura Rossi"]
TARGET_PART = "QX-7731-B"
TARGET_NAME = "Ingrid Okonkwo-Thornbury"


def write_corpus(root: Path) -> dict[str, Path]:
    a, b = root / "plant", root / "office"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    for i, thing in enumerate(THINGS):  # near-identical sentences: meaning can't tell them apart
        (a / f"bin{i:02d}.txt").write_text(
            f"Bin {i + 20} holds the spare {thing}, part number QX-77{i + 40}-B, for the boiler.\n",
            encoding="utf-8")
    (a / "bin99.txt").write_text(
        f"Bin 99 holds the spare gasket, part number {TARGET_PART}, for the boiler.\n", encoding="utf-8")
    for i, name in enumerate(SIGNERS):
        (b / f"audit{i}.txt").write_text(
            f"The {2010 + i} audit of the accounts was signed by {name}, the external auditor.\n",
            encoding="utf-8")
    (b / "audit9.txt").write_text(
        f"The 2019 audit of the accounts was signed by {TARGET_NAME}, the external auditor.\n",
        encoding="utf-8")
    (b / "lighthouse.txt").write_text(
        "The Skerry lighthouse keeper logged 212 ships passing in October.\n", encoding="utf-8")
    (b / "gasket-note.txt").write_text("The office ordered a spare gasket for the coffee machine.\n",
                                       encoding="utf-8")
    return {"plant": a, "office": b}


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    with chroma_server(tmp_path_factory.mktemp("chroma-server") / "data") as url:
        yield url


@pytest.fixture(scope="module", params=["embedded", "server"])
def indexed(request, tmp_path_factory, embedder):
    """(library, folders): the same corpus indexed once per backend."""
    from app.engine.library import Library
    from app.settings import Settings

    root = tmp_path_factory.mktemp(f"hybrid-{request.param}")
    url = request.getfixturevalue("server_url") if request.param == "server" else ""
    lib = Library(Settings(home=root / "home", chroma_url=url), embedder=embedder)
    folders = write_corpus(root / "docs")
    report = lib.indexer.index_paths([root / "docs"])
    assert report.failures == [] and report.indexed == len(THINGS) + len(SIGNERS) + 4
    yield lib, folders
    if url:
        lib.store.client.delete_collection(lib.store.name)
    lib.close()


def _names(passages: list[Passage]) -> list[str]:
    return [p.name for p in passages]


def test_backends_hold_the_same_chunks_in_both_indexes(indexed):
    lib, _ = indexed
    assert set(lib.store.all_ids()) == set(lib.keyword.all_ids())
    assert lib.store.count() == len(THINGS) + len(SIGNERS) + 4


def test_exact_part_number_found_by_hybrid_though_dense_misses(indexed):
    lib, _ = indexed
    query = f"Which bin has part {TARGET_PART}?"
    assert "bin99.txt" not in _names(lib.retriever("dense").search(query, 3))
    assert _names(lib.retriever("hybrid").search(query, 3))[0] == "bin99.txt"
    assert _names(lib.retriever("keyword").search(query, 1)) == ["bin99.txt"]
    # each passage says how it was found
    for mode, found in (("dense", Found.DENSE), ("keyword", Found.KEYWORD), ("hybrid", Found.HYBRID)):
        assert {p.found for p in lib.retriever(mode).search(query, 3)} == {found}


def test_rare_name_found_by_hybrid(indexed):
    lib, _ = indexed
    query = f"Who signed off on {TARGET_NAME.split()[1]}?"  # surname only, in a question
    assert _names(lib.retriever("keyword").search(query, 3))[0] == "audit9.txt"
    assert _names(lib.retriever("hybrid").search(query, 3))[0] == "audit9.txt"


def test_paraphrase_found_by_dense_is_kept_by_hybrid(indexed):
    lib, _ = indexed
    query = "How many vessels went by the beacon tower during autumn?"
    assert "lighthouse.txt" not in _names(lib.retriever("keyword").search(query, 3))
    assert _names(lib.retriever("dense").search(query, 1)) == ["lighthouse.txt"]
    assert _names(lib.retriever("hybrid").search(query, 3))[0] == "lighthouse.txt"


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_scope_by_folder_and_file_applies_to_every_index(indexed, mode):
    lib, folders = indexed
    r = lib.retriever(mode)
    unscoped = r.search("spare gasket", 10)
    assert {Path(p.path).parent for p in unscoped} == set(folders.values())
    office = r.search("spare gasket", 10, {"folder": str(folders["office"])})
    assert office and all(Path(p.path).parent == folders["office"] for p in office)
    one = str(folders["plant"] / "bin99.txt")
    assert [p.path for p in r.search("spare gasket", 10, {"path": one})] == [one]
    assert r.search("spare gasket", 10, {"folder": str(folders["plant"] / "nothing-here")}) == []


def test_scope_strategies_agree(indexed):
    """numpy over the scope's vectors, Chroma restricted to its ids, and the large-scope
    over-fetch-then-filter path all give the same answer."""
    from dataclasses import replace

    lib, folders = indexed
    r = lib.retriever("dense")
    where = {"folder": str(folders["plant"])}
    q = "spare gasket for the boiler"
    in_numpy = [(p.chunk_id, round(p.score, 4)) for p in r.search(q, 5, where)]
    assert in_numpy
    r.config = replace(r.config, numpy_scope_chunks=0)  # Chroma query restricted to ids
    assert [(p.chunk_id, round(p.score, 4)) for p in r.search(q, 5, where)] == in_numpy
    r.config = replace(r.config, exact_scope_chunks=0)  # unfiltered over-fetch, then filter
    assert [(p.chunk_id, round(p.score, 4)) for p in r.search(q, 5, where)] == in_numpy


# --- pure functions ------------------------------------------------------------------
def _chunk(fid: str, i: int, text: str, page: int | None = None) -> Passage:
    return Passage(f"{fid}:{i:05d}", f"/d/{fid}.pdf", page, page, text)


def test_rrf_rewards_agreement():
    fused = dict(rrf([([("a", .9), ("b", .8)], 1.0), ([("b", 12.0), ("c", 3.0)], 1.0)], 60))
    assert fused["b"] > fused["a"] > fused["c"]
    assert max(fused.values()) <= 1.0


def test_adjacent_chunks_merge_into_one_source_without_repeating_the_overlap():
    a = _chunk("f", 3, "Pumps need care. The seal must stay wet at all times", 4)
    b = _chunk("f", 4, "The seal must stay wet at all times or it cracks within a week.", 5)
    other = _chunk("g", 0, "Unrelated text.", 1)
    passages = merge_adjacent([(b, 0.9), (other, 0.8), (a, 0.7)], k=2)
    assert [p.path for p in passages] == ["/d/f.pdf", "/d/g.pdf"]
    merged = passages[0]
    assert merged.text == "Pumps need care. The seal must stay wet at all times or it cracks within a week."
    assert (merged.page_start, merged.page_end, merged.score) == (4, 5, 0.9)
    assert merged.chunk_id == "f:00003"
    # A chunk ranked below the k-th source opens nothing and merges nothing.
    assert len(merge_adjacent([(other, .9), (b, .8), (a, .1)], k=1)) == 1
    # A neighbour scoring far below its source is a different passage: not merged.
    assert len(merge_adjacent([(b, 0.9), (a, 0.2)], k=2, min_relative=0.5)) == 2
    assert join_overlapping("abc", "xyz") == "abc\nxyz"


def test_budget_selection_by_tokens_and_score_gap():
    def p(score: float, words: int) -> Passage:
        return Passage(f"c{score}", "/d/x.txt", None, None, "w " * words, score)

    count = lambda text: len(text.split())  # noqa: E731
    ps = [p(1.0, 100), p(0.9, 100), p(0.8, 100), p(0.3, 10)]
    assert len(select_passages(ps, count, Budget(tokens=1000, min_relative=0.5))) == 3  # gap cut
    assert len(select_passages(ps, count, Budget(tokens=230, min_relative=0.1))) == 2  # budget cut
    # The best passage always goes in, even if it alone is over budget.
    assert len(select_passages([p(1.0, 5000)], count, Budget(tokens=100))) == 1
    assert select_passages([], count) == []
