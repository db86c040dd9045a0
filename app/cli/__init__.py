"""`docent`: the command line. This module parses and dispatches; each command lives in
the module named for it (index, ask, chat, search, models, sync, selftest), which adds
its subparser (`add_parser(sub)`) and maps command names to functions (`COMMANDS`);
output.py shows reports, answers and status.

While another process owns the index (`docent serve`, the window), `index`, `ask`,
`status`, `forget` and `search` are answered by it over its local service
(app/core/service.py); otherwise they run in this process.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, Callable

from app.errors import DocentError, IndexBusyError, command_waits_message

log = logging.getLogger("docent.cli")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3
# Commands an owning process answers. When another Docent process holds the index they
# wait (up to this long) for it to answer them (an owner still starting: its service comes
# up once its parts are built) or to let go of the index (another short command).
_SERVED = {"index", "ask", "status", "forget", "search"}
_HANDOVER_S = 120.0


# The command modules, in the order `docent --help` lists them; `gui` is main()'s own.
_MODULES = ("index", "ask", "chat", "search", "models", "sync", "selftest")
Command = Callable[[Any, argparse.Namespace], int]  # (the Library, the parsed arguments) -> exit code


def _parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    """The parser, and each command name's function."""
    import importlib

    p = argparse.ArgumentParser(prog="docent", description="Answers questions about your documents, offline.")
    p.add_argument("-v", "--verbose", action="store_true", help="more detail in the log")
    sub = p.add_subparsers(dest="command", required=True)
    commands: dict[str, Command] = {}
    for name in _MODULES:
        module = importlib.import_module(f"app.cli.{name}")
        module.add_parser(sub)
        commands.update(module.COMMANDS)

    s = sub.add_parser("gui", help="open the desktop window (also: docent-app)")
    s.add_argument("--theme", choices=("system", "light", "dark"), default="system")
    return p, commands


def main(argv: list[str] | None = None) -> int:
    parser, commands = _parser()
    args = parser.parse_args(argv)
    if args.command == "gui":  # the window's core owns the index: no Library here
        from app.ui.app import run as run_window  # exits the process when the window closes

        run_window(["docent-app", "--theme", args.theme] + (["-v"] if args.verbose else []))
    from app.logs import setup_logging
    from app.settings import Settings

    settings = Settings.load()
    settings.ensure_dirs()
    setup_logging(settings.log_dir, args.verbose)
    try:
        return _run_handed_over(settings, args, commands[args.command])
    except DocentError as e:
        log.error("%s", e)
        print(f"docent: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("docent: interrupted", file=sys.stderr)
        return 130


def _run_handed_over(settings, args, command: Command) -> int:
    """_run, again each time the index was handed over: to an owner whose service now
    answers, or back to nobody (this command then opens it itself)."""
    import time

    from app.core.client import wait_for_handover

    deadline, told = time.monotonic() + _HANDOVER_S, False
    while True:
        try:
            return _run(settings, args, command)
        except IndexBusyError as e:
            if args.command not in _SERVED:
                raise
            if not told:
                print(f"docent: {command_waits_message(e.holder)}", file=sys.stderr)
                told = True
            if not wait_for_handover(settings.index_dir, deadline):
                raise


def _run(settings, args, command: Command) -> int:
    from app.engine.library import Library

    with Library(settings, command=f"docent {args.command}") as lib:
        return command(lib, args)
