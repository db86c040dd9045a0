"""`docent chat`: a conversation in the terminal. Follow-ups reuse the model's cache;
Ctrl-C stops the current answer, Ctrl-D (or an empty line) ends the chat."""
from __future__ import annotations

import argparse
import signal
import sys
import threading


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("chat", help="ask several questions in one conversation")
    p.add_argument("--model", help="GGUF file to answer with (default: the selected model)")


def run(lib, args) -> int:  # type: ignore[no-untyped-def]
    from app.cli_output import consume_answer
    from app.errors import EmptyIndexError

    if lib.store.count() == 0:
        raise EmptyIndexError()
    answerer = lib.answerer(args.model)
    for warning in answerer.load():
        print(f"docent: warning: {warning}", file=sys.stderr)
    chat = answerer.chat()
    try:
        while True:
            try:
                question = input("\n> ").strip()
            except EOFError:
                break
            if not question:
                break
            cancel = threading.Event()
            previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
            try:
                answer = consume_answer(chat.ask(question, cancel=cancel), as_json=False)
            finally:
                signal.signal(signal.SIGINT, previous)
            if answer is not None and answer.finish_reason == "cancelled":
                print("(stopped)")
    finally:
        answerer.close()
    return 0


COMMANDS = {"chat": run}
