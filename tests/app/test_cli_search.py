"""`docent search` and `docent eval` through the real command line entry point."""
from __future__ import annotations

import json
import time

from app.cli import main
from tests.docs_factory import make_mixed_folder


def test_search_json_and_scope(home, tmp_path, capsys):
    docs = tmp_path / "docs"
    files = make_mixed_folder(docs)
    other = tmp_path / "other"
    other.mkdir()
    (other / "spares.txt").write_text("Spare parts: the Zephyr filter cartridge is sold in packs of two.\n")
    assert main(["index", str(docs), str(other), "--quiet"]) == 0
    capsys.readouterr()
    t0 = time.perf_counter()
    assert main(["search", "Zephyr filter cartridge", "--json", "--k", "3", "--folder", str(docs)]) == 0
    wall = time.perf_counter() - t0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == "hybrid" and 0 < len(out["results"]) <= 3
    top = out["results"][0]
    # The filter sentence is on page 2; adjacent chunks may merge into one pp. 1-2 source.
    assert top["name"] == "manual.pdf" and top["page_start"] <= 2 <= top["page_end"]
    assert "Zephyr" in top["snippet"]
    assert top["score"] >= out["results"][-1]["score"]
    assert {r["file"] for r in out["results"]} <= {str(p) for p in files.values()}  # --folder: docs only
    # The JSON reports the search's own time: measured, and within the command's. How fast
    # retrieval is belongs to tests/bench (bench_latency's p50/p95), not to this machine.
    assert isinstance(out["seconds"], float) and 0 < out["seconds"] <= wall
    assert main(["search", "Zephyr filter cartridge", "--json", "--folder", str(other)]) == 0
    assert {r["file"] for r in json.loads(capsys.readouterr().out)["results"]} == {str(other / "spares.txt")}
    assert main(["search", "Zephyr", "--json", "--file", str(files["md"])]) == 0
    scoped = json.loads(capsys.readouterr().out)["results"]
    assert scoped and {r["file"] for r in scoped} == {str(files["md"])}
    assert main(["search", "lighthouse ships", "--mode", "keyword"]) == 0
    assert "lighthouse.txt" in capsys.readouterr().out.splitlines()[0]


def test_eval_on_a_tiny_beir_dataset(home, tmp_path, capsys):
    ds = tmp_path / "tiny"
    (ds / "qrels").mkdir(parents=True)
    docs = {"d1": ("Volcanoes", "Basalt lava flows from shield volcanoes in Hawaii."),
            "d2": ("Bees", "Honey bees dance to tell hive mates where flowers are."),
            "d3": ("Tides", "The moon's gravity raises ocean tides twice a day."),
            "d4": ("Chess", "A knight moves in an L shape on the chessboard.")}
    (ds / "corpus.jsonl").write_text("\n".join(
        json.dumps({"_id": k, "title": t, "text": x}) for k, (t, x) in docs.items()), encoding="utf-8")
    qs = {"q1": "How do bees communicate the location of food?", "q2": "What causes tides?",
          "q3": "unjudged query"}
    (ds / "queries.jsonl").write_text("\n".join(json.dumps({"_id": k, "text": v}) for k, v in qs.items()),
                                      encoding="utf-8")
    (ds / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\nq2\td3\t1\n",
                                           encoding="utf-8")
    assert main(["eval", str(ds), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["queries"] == 2 and report["corpus_docs"] == 4
    for mode in ("dense", "keyword", "hybrid"):
        m = report["modes"][mode]
        assert m["ndcg_at_10"] == 1.0 and m["mrr_at_10"] == 1.0, mode
    # Evaluation uses its own data folder: the user's library stays untouched.
    assert not (home / "index" / "manifest.sqlite3").exists()
