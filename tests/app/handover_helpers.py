"""Processes for the ownership hand-over tests: a lock holder, `docent` commands, and a
reader that waits for a line of a process's output (never a fixed sleep)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

from tests.conftest import REPO

WAIT_S = 300.0  # generous: every wait ends on a condition, this only bounds a broken run


class Lines:
    """Reads a stream on a thread; wait_for() returns the first line that matches."""

    def __init__(self, stream) -> None:  # type: ignore[no-untyped-def]
        self.lines: list[str] = []
        self.ended = False
        self._cond = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self.ended = True
            self._cond.notify_all()

    def wait_for(self, match: Callable[[str], bool] | str, timeout: float = WAIT_S) -> str:
        pred = (lambda line: match in line) if isinstance(match, str) else match

        def first() -> str | None:
            return next((line for line in self.lines if pred(line)), None)

        with self._cond:
            self._cond.wait_for(lambda: first() is not None or self.ended, timeout)
            line = first()
            assert line is not None, (f"no such line (the stream {'ended' if self.ended else 'is open'}):\n"
                                      + "".join(self.lines)[-4000:])
            return line

    def text(self) -> str:
        with self._cond:
            return "".join(self.lines)


class Holder:
    """A helper process holding the index as a short command does (tests/app/lock_holder.py)."""

    def __init__(self, home: Path, command: str = "docent search") -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.app.lock_holder", str(home), command],
                                     cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.out = Lines(self.proc.stdout)
        self.out.wait_for(lambda line: line.strip() == "held")
        self.pid = self.proc.pid

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.out.wait_for(lambda line: line.strip() == "released")
        assert self.proc.wait(60) == 0, self.out.text()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(60)


def env_for(home: Path) -> dict[str, str]:
    return {**os.environ, "DOCENT_HOME": str(home)}


def docent(home: Path, *args: str, timeout: float = WAIT_S) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env_for(home),
                          capture_output=True, text=True, timeout=timeout)


def start_docent(home: Path, *args: str) -> tuple[subprocess.Popen, Lines]:
    """A `docent` process with stdout and stderr in one Lines reader."""
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env_for(home),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, Lines(proc.stdout)
