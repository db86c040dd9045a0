"""Holds a data folder's index the way a short Docent command does, until told to let go.

    python -m tests.app.lock_holder HOME COMMAND

Opens the library's manifest (which takes the owner lock), prints "held", then holds it
until its stdin closes (or a line arrives), closes the library and prints "released".
"""
from __future__ import annotations

import sys
from pathlib import Path

from app.engine.library import Library
from app.settings import Settings


def main(home: str, command: str) -> None:
    settings = Settings.load(Path(home))
    try:
        lib = Library(settings, command=command)
    except TypeError:  # a Library without the holder's name (the code before issue 33)
        lib = Library(settings)
    lib.manifest  # noqa: B018 - the owner lock is taken here
    print("held", flush=True)
    sys.stdin.readline()
    lib.close()
    print("released", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
