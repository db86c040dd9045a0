"""The answer benchmark's committed question lists (tests/bench/data/answer_*.txt) name real
sec-10-q questions: an A/B on a list with a stale line would stop minutes into its run."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.bench_answers import list_lines, listed, load_sec

LISTS = sorted((Path(__file__).parents[1] / "bench" / "data").glob("answer_*.txt"))


@pytest.mark.parametrize("path", LISTS, ids=[p.name for p in LISTS])
def test_every_line_is_one_sec_question(path: Path, sec_docs: Path):
    lines = list_lines(path)
    chosen = listed(load_sec(sec_docs.parent), path)
    assert [q.text.strip() for q in chosen] == lines and len(set(lines)) == len(lines)
    assert all(q.glob and q.answer for q in chosen)


def test_a_line_that_is_no_question_stops_the_run_naming_it(tmp_path: Path, sec_docs: Path):
    bad = tmp_path / "list.txt"
    bad.write_text("# a comment\nWhat was Skerry's revenue in 2031?\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="Skerry"):
        listed(load_sec(sec_docs.parent), bad)


def test_there_are_lists_to_check():
    assert {"answer_flips.txt", "answer_fresh90.txt"} <= {p.name for p in LISTS}
