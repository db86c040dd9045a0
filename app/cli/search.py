"""`docent search` (find passages without the model) and `docent eval` (BEIR scores)."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("search", help="ranked passages for a query, without the language model")
    s.add_argument("query")
    s.add_argument("--k", type=int, default=10, help="sources to return (default 10)")
    s.add_argument("--json", action="store_true", help="print JSON for scripts")
    s.add_argument("--mode", choices=("hybrid", "dense", "keyword"),
                   help="retrieval mode (default: the retrieval_mode setting)")
    s.add_argument("--folder", action="append", default=[], help="only files under this folder")
    s.add_argument("--file", action="append", default=[], help="only this file")

    e = sub.add_parser("eval", help="score retrieval on a BEIR-format dataset (nDCG@10, recall@10, MRR@10)")
    e.add_argument("dataset", type=Path, help="folder with corpus.jsonl, queries.jsonl, qrels/")
    e.add_argument("--split", default="test", help="qrels/<split>.tsv (default test)")
    e.add_argument("--keep", type=Path, help="keep the evaluation index here (re-runs are incremental)")
    e.add_argument("--json", action="store_true")


def where_for(folders: list[str], files: list[str]) -> dict | None:
    """The scope named on the command line (paths resolved from the shell's folder)."""
    from app.engine.scope import where_of

    return where_of([str(Path(f).expanduser().resolve()) for f in folders],
                    [str(Path(f).expanduser().resolve()) for f in files])


def cmd_search(lib, args) -> int:
    from app.core.client import with_owner
    from app.engine.search_service import SearchRequest, search_here

    req = SearchRequest(args.query, max(1, args.k), args.mode, where_for(args.folder, args.file))
    # A running owner (`docent serve`, the window) has everything loaded: ask it first.
    reply = with_owner(lib.settings.index_dir, lambda o: o.search(req)) or search_here(lib, req)
    if args.json:
        print(json.dumps(asdict(reply), indent=2, ensure_ascii=False))
        return 0
    if not reply.results:
        print("No passages found.")
        return 1
    for r in reply.results:
        where = r.file + (f", {r.pages}" if r.pages else "")
        print(f"{r.rank:>2}. [{r.score:.3f}] {where}\n    {r.snippet}")
    via = f", served by pid {reply.served_by}" if reply.served_by else ""
    print(f"({len(reply.results)} in {reply.seconds * 1000:.0f} ms, {reply.mode}{via})", file=sys.stderr)
    return 0


def cmd_eval(lib, args) -> int:
    import tempfile

    from app.engine.evaluation import evaluate, load_beir
    from app.engine.library import Library
    from app.settings import Settings

    data = load_beir(args.dataset, args.split)
    with tempfile.TemporaryDirectory(prefix="docent-eval-") as tmp:
        home = args.keep or Path(tmp)
        # A separate data folder: the user's own library is never touched by an evaluation.
        settings = Settings(**{**asdict(lib.settings), "home": home, "chroma_url": ""})
        with Library(settings, embedder=lib.embedder) as ev:
            report = evaluate(ev, data, home / "corpus", args.dataset.name,
                              log=lambda m: print(m, file=sys.stderr))
    if args.json:
        print(json.dumps(asdict(report), indent=2))
        return 0
    print(f"{report.dataset}: {report.queries} queries, {report.corpus_docs} documents, "
          f"{report.chunks} chunks")
    print(f"{'mode':8} {'nDCG@10':>8} {'R@10':>6} {'MRR@10':>7}")
    for mode, m in report.modes.items():
        print(f"{mode:8} {m.ndcg_at_10:8.4f} {m.recall_at_10:6.4f} {m.mrr_at_10:7.4f}")
    return 0


COMMANDS = {"search": cmd_search, "eval": cmd_eval}
