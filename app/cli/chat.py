"""`docent chat`: a conversation in the terminal. Follow-ups reuse the model's cache;
Ctrl-C stops the current answer, Ctrl-D (or an empty line) ends the chat."""
from __future__ import annotations

import argparse
import signal
import sys
import threading


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="ask several questions in one conversation")
    p.add_argument("--model", help="GGUF file to answer with (default: the selected model)")


def _questions():
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            return
        if not question:
            return
        yield question


def _with_owner(owner, args) -> int:
    """The chat lives in the owner's ChatStore (the window lists it), created on the first
    question; each question is answered there with the chat's history."""
    from contextlib import closing
    from pathlib import Path

    from app.cli.output import consume_answer
    from app.core.wire import AskRequest

    model = str(Path(args.model).expanduser().resolve()) if args.model else None
    chat_id = None
    for question in _questions():
        if chat_id is None:
            chat_id = owner.new_chat(question[:60])
        stream = owner.ask(AskRequest(question, model, chat=chat_id))
        try:
            with closing(stream):  # Ctrl-C closes it early: the owner stops generating
                consume_answer(stream, as_json=False)
        except KeyboardInterrupt:
            print("(stopped)")
    return 0


def run(lib, args) -> int:
    from app.cli.output import consume_answer
    from app.core.client import find_owner
    from app.errors import EmptyIndexError

    owner = find_owner(lib.settings.index_dir)
    if owner is not None:
        return _with_owner(owner, args)
    if lib.store.count() == 0:
        raise EmptyIndexError()
    answerer = lib.answerer(args.model)
    for warning in answerer.load():
        print(f"docent: warning: {warning}", file=sys.stderr)
    chat = answerer.chat()
    try:
        for question in _questions():
            cancel = threading.Event()
            previous = signal.signal(signal.SIGINT, lambda *_, ev=cancel: ev.set())
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
