"""The optional cross-encoder (`reranker_path`) through the real retriever: a real
sentence-transformers CrossEncoder built from the bundled MiniLM weights (its scoring
head is untrained, so these tests check the plumbing, not the ranking's quality)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.engine.rerank import CrossEncoderReranker
from app.engine.selection import Budget, select_passages
from app.errors import RerankerError

TOPICS = ["harbour tides", "lighthouse logbook", "village bakery", "orchard frost", "railway signals",
          "copper mine", "river ferry", "clock tower", "salt marsh", "glass furnace"]


def _cross_encoder(dest: Path, labels: int = 1) -> Path:
    """A cross-encoder folder saved as the MS MARCO ones are: raw logits out (identity
    activation), here all well below zero (the head's bias is set to -6)."""
    import torch
    from sentence_transformers import CrossEncoder

    from app.resources import bundled_embedder

    torch.manual_seed(0)
    ce = CrossEncoder(str(bundled_embedder()), num_labels=labels, activation_fn=torch.nn.Identity(),
                      local_files_only=True)
    with torch.no_grad():
        ce.model.classifier.bias.fill_(-6.0)
    ce.save(str(dest))
    return dest


def _records(folder: Path, n: int = 450) -> None:
    """One text file of n short records (enough for more chunks than the reranker reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"Record {i}: the {TOPICS[i % len(TOPICS)]} log for week {i // len(TOPICS) + 1} notes "
             f"{i * 7 % 97} visitors, {i * 13 % 89} repairs and a survey of the {TOPICS[(i * 3) % len(TOPICS)]}."
             for i in range(n)]
    (folder / "records.txt").write_text("\n\n".join(lines), encoding="utf-8")


@pytest.fixture
def reranked(library, tmp_path):
    """The library's hybrid retriever with a real cross-encoder, its calls recorded."""
    from dataclasses import replace

    _records(tmp_path / "docs")
    library.indexer.index_paths([tmp_path / "docs"])
    library.settings = replace(library.settings, reranker_path=str(_cross_encoder(tmp_path / "ce")))
    r = library.retriever("hybrid")
    assert isinstance(r.reranker, CrossEncoderReranker)
    calls: list[tuple[list[str], list[float]]] = []
    score = r.reranker.scores

    def recorded(query, texts):  # type: ignore[no-untyped-def]
        out = score(query, texts)
        calls.append((list(texts), out))
        return out

    r.reranker.scores = recorded
    return r, calls


def test_the_reranker_reads_every_candidate_and_its_order_is_kept(reranked, library):
    r, calls = reranked
    assert library.keyword.count() > r.config.rerank_candidates, "precondition: more chunks than it reads"
    passages = r.search("How many repairs did the lighthouse logbook note?", 6)
    (texts, scores), = calls
    # Every fused candidate it is configured for, not only the few hydrated for display.
    assert len(texts) == r.config.rerank_candidates
    assert passages and all(0.0 < p.score < 1.0 for p in passages)
    # Sources follow the reranker's scores: the first is its best candidate's.
    assert passages[0].score == pytest.approx(max(scores))
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_raw_logits_below_zero_still_leave_sources_for_the_prompt(reranked, tmp_path):
    """The saved model's own output is negative for every pair; past its first few, the
    selection keeps a source only when its score is a share of the best, which a
    negative best breaks (every further source was cut)."""
    from sentence_transformers import CrossEncoder

    r, _ = reranked
    raw = CrossEncoder(str(tmp_path / "ce"), local_files_only=True).predict(
        [("lighthouse repairs", "Record 1: the lighthouse logbook notes 13 repairs.")])
    assert float(raw[0]) < 0
    passages = r.search("How many repairs did the lighthouse logbook note?", 6)
    budget = Budget(tokens=1200)
    chosen = select_passages(passages, lambda text: len(text.split()), budget)
    assert len(passages) == 6 and len(chosen) > budget.min_passages
    assert chosen[0].chunk_id == passages[0].chunk_id


def test_a_folder_without_a_model_is_a_clear_error(tmp_path):
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    with pytest.raises(RerankerError, match="not-a-model.*no config.json.*Reranker path"):
        CrossEncoderReranker(empty).scores("q", ["a passage"])


def test_a_damaged_model_is_a_clear_error(tmp_path):
    folder = _cross_encoder(tmp_path / "damaged")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:4096])  # a download cut short
    with pytest.raises(RerankerError, match="damaged.*cannot be used"):
        CrossEncoderReranker(folder).scores("q", ["a passage"])


def test_a_classifier_with_several_labels_is_refused(tmp_path):
    folder = _cross_encoder(tmp_path / "nli", labels=3)
    with pytest.raises(RerankerError, match="3 labels"):
        CrossEncoderReranker(folder).scores("q", ["a passage"])


def test_docent_search_with_a_broken_reranker_says_so_and_exits(home, tmp_path, capsys):
    _records(tmp_path / "docs", n=20)
    assert main(["index", str(tmp_path / "docs"), "--quiet"]) == 0
    home.joinpath("settings.json").write_text(json.dumps({"reranker_path": str(tmp_path / "gone")}),
                                              encoding="utf-8")
    capsys.readouterr()
    assert main(["search", "lighthouse repairs"]) != 0
    err = capsys.readouterr().err
    assert "The reranker at" in err and "gone" in err and "Traceback" not in err
