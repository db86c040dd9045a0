"""The retrieval benchmark's first-stage reach (tests.bench.bench_sec_retrieval.first_stage_reach)
on a real library: the depth at which each candidate list first holds an evidence page."""
from __future__ import annotations

from pathlib import Path

from tests.bench.bench_sec_retrieval import Question, Reach, first_stage_reach
from tests.docs_factory import make_pdf

FILLER = {
    1: "The harbour tides rose twice a day and the fishing fleet left at dawn with the ebb. ",
    2: "The lighthouse keeper recorded 4,218 ships in the logbook that winter, by lamp light. ",
    3: "The village bakery sold rye loaves and honey cakes from its oven on the square. ",
}


def test_reach_is_the_depth_each_list_first_holds_an_evidence_page(library, tmp_path: Path):
    folder = tmp_path / "docs"
    folder.mkdir()
    make_pdf(folder / "almanac.pdf", [FILLER[p] * 12 for p in (1, 2, 3)])
    library.indexer.index_paths([folder])
    r = library.retriever("hybrid")
    chunks = r.hydrate(library.keyword.all_ids())
    assert len(chunks) >= 3 and all(c.page_start == c.page_end for c in chunks.values()), \
        "precondition: every chunk lies on one page"

    right = Question("How many ships did the lighthouse keeper record?", "almanac.pdf", "single", "4,218")
    # The same need, scored against a page that holds none of its words: the keyword
    # list never reaches it, the dense list (every chunk of a small library) only deep.
    wrong = Question("How many ships did the keeper of the lighthouse log?", "almanac.pdf", "single", "4,218")
    spanning = Question("How did the tides change over time?", "*.pdf", "multi", "")
    unmeasured = Question("What did the bakery sell?", "almanac.pdf", "single", "")
    evidence = {right.text: {("almanac.pdf", 2)}, wrong.text: {("almanac.pdf", 3)}}

    reach = first_stage_reach(r, [right, wrong, spanning, unmeasured], evidence, depths=(1, 50))

    assert reach == [Reach(1, dense=0.5, keyword=0.5, either=0.5, fused=0.5),
                     Reach(50, dense=1.0, keyword=0.5, either=1.0, fused=1.0)]
