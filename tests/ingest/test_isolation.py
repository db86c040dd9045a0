"""ParserPool: hostile files fail alone, with the right error, and the pool keeps going."""
from __future__ import annotations

import concurrent.futures as cf
import os
import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ingest.errors import MESSAGES, FileErrorKind
from ingest.isolation import LoadResult, ParserPool
from ingest.loaders import load_document
from tests.ingest.slow_loader import hostile_load

REPO = Path(__file__).resolve().parents[2]
HANG_S = 300  # hang guards only: the hostile parses that must be cut short sleep an hour


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Name -> path; hostile_load reads the behaviour from the name."""
    out = {}
    for name in ("good.txt", "sleep.txt", "pair1.txt", "pair2.txt", "hog.txt", "crash.txt", "exit.txt",
                 "bug.txt", "modules.txt"):
        out[name.split(".")[0]] = tmp_path / name
        (tmp_path / name).write_text(f"The {name} file has one paragraph.\n", encoding="utf-8")
    return out


def assert_still_works(pool: ParserPool, good: Path) -> None:
    result = pool.load(good)
    assert result.ok, result.error_message
    assert result.document is not None and result.document.blocks[0].text == "The good.txt file has one paragraph."


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child of a still-running parent may linger as a zombie.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def test_pool_matches_in_process_loading_and_reports_errors(tmp_path: Path) -> None:
    good = tmp_path / "notes.md"
    good.write_text("# Title\n\nBody text.\n", encoding="utf-8")
    corrupt = tmp_path / "broken.pdf"
    corrupt.write_bytes(b"%PDF-1.4\n1 0 obj <<\n")
    with ParserPool(workers=1) as pool:
        ok = pool.load(good)
        assert ok.ok and ok.error_kind is None and ok.error_message == ""
        assert ok.document == load_document(good)  # same Document as in-process
        assert ok.seconds >= 0
        bad = pool.load(corrupt)
        gone = pool.load(tmp_path / "gone.txt")
    assert (bad.ok, bad.document, bad.error_kind) == (False, None, FileErrorKind.CORRUPT)
    assert bad.error_message.startswith(MESSAGES[FileErrorKind.CORRUPT])
    assert gone.error_kind == FileErrorKind.VANISHED
    restored = pickle.loads(pickle.dumps(ok))  # results cross process boundaries
    assert restored.document == ok.document and restored.path == good


def test_timeout_kills_the_worker_and_the_pool_recovers(files: dict[str, Path]) -> None:
    with ParserPool(workers=1, timeout_s=1.5, load_fn=hostile_load) as pool:
        assert_still_works(pool, files["good"])  # the worker is warm: timing is the parse only
        t0 = time.monotonic()
        result = pool.load(files["sleep"])
        elapsed = time.monotonic() - t0
        assert result.error_kind == FileErrorKind.TIMEOUT
        assert "1.5 s" in result.error_message
        assert 1.5 <= result.seconds <= elapsed  # never before the limit, timed by the pool
        # The parse sleeps an hour: a result at all means the pool stopped it at its limit.
        # The bound is a hang guard far from any machine's speed, far below that hour.
        assert elapsed < HANG_S
        sleeper = int(files["sleep"].with_suffix(".pid").read_text())
        assert not pid_alive(sleeper)  # killed, not left running
        assert_still_works(pool, files["good"])


def test_memory_blowup_is_out_of_memory_and_the_pool_recovers(files: dict[str, Path]) -> None:
    with ParserPool(workers=1, memory_limit_mb=256, load_fn=hostile_load) as pool:
        result = pool.load(files["hog"])
        assert result.error_kind == FileErrorKind.OUT_OF_MEMORY
        assert result.error_message == MESSAGES[FileErrorKind.OUT_OF_MEMORY]
        assert_still_works(pool, files["good"])


def test_crashed_and_exited_workers_are_reported_and_replaced(files: dict[str, Path]) -> None:
    with ParserPool(workers=1, load_fn=hostile_load) as pool:
        crash = pool.load(files["crash"])
        assert crash.error_kind == FileErrorKind.CORRUPT and "SIGSEGV" in crash.error_detail
        assert_still_works(pool, files["good"])
        exited = pool.load(files["exit"])
        assert exited.error_kind == FileErrorKind.INTERNAL and "status 3" in exited.error_detail
        bug = pool.load(files["bug"])  # an exception that is not LoadError
        assert bug.error_kind == FileErrorKind.INTERNAL and "ValueError: a bug in the loader" in bug.error_detail
        assert_still_works(pool, files["good"])


def test_several_files_in_flight(files: dict[str, Path]) -> None:
    with ParserPool(workers=2, timeout_s=120, load_fn=hostile_load) as pool:
        futures = [pool.submit(files[n]) for n in ("pair1", "pair2", "good", "crash", "good")]
        results = [f.result(timeout=HANG_S) for f in futures]
    assert [r.path for r in results] == [files[n] for n in ("pair1", "pair2", "good", "crash", "good")]
    assert [r.ok for r in results] == [True, True, True, False, True]
    # The two parses submitted together each wait until the other has started (no timing):
    # they ran at the same time, each in its own worker.
    assert [r.document.blocks[0].text for r in results[:2] if r.document] == ["together", "together"]
    pids = {r.document.title for r in results[:2] if r.document}
    assert len(pids) == 2 and str(os.getpid()) not in pids


def test_workers_are_spawned_lean_and_memory_capped(files: dict[str, Path]) -> None:
    torch = pytest.importorskip("torch")  # the app's parent has torch loaded
    torch.set_num_threads(2)
    with ParserPool(workers=1, memory_limit_mb=1024, load_fn=hostile_load) as pool:
        result = pool.load(files["modules"])
    assert result.document is not None
    assert result.document.blocks[0].text == "none"  # no torch, chromadb, pytest: spawned, not forked
    pid, cap = map(int, result.document.title.split())
    assert pid != os.getpid()
    assert 1024 * 2**20 < cap < 64 * 2**30  # an address-space cap is set


def test_in_process_mode(files: dict[str, Path], tmp_path: Path) -> None:
    with ParserPool(workers=0, load_fn=hostile_load) as pool:
        assert_still_works(pool, files["good"])
        mods = pool.load(files["modules"])
        assert mods.document is not None and mods.document.title.split()[0] == str(os.getpid())
        assert "pytest" in mods.document.blocks[0].text
        assert pool.load(tmp_path / "missing.pdf").error_kind == FileErrorKind.VANISHED


def test_close_without_waiting_cancels_and_kills(files: dict[str, Path]) -> None:
    pool = ParserPool(workers=1, timeout_s=600, load_fn=hostile_load)
    running = pool.submit(files["sleep"])
    queued = pool.submit(files["good"])
    pid_file = files["sleep"].with_suffix(".pid")
    deadline = time.monotonic() + HANG_S
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid_file.exists(), "the parse never started"
    t0 = time.monotonic()
    pool.close(wait=False)
    assert time.monotonic() - t0 < HANG_S  # the parse in hand sleeps an hour: close did not wait for it
    assert queued.cancelled()
    with pytest.raises(cf.CancelledError):
        running.result(timeout=1)
    assert not pid_alive(int(pid_file.read_text()))
    with pytest.raises(RuntimeError):
        pool.submit(files["good"])


def test_interpreter_exit_does_not_hang_or_leave_workers(files: dict[str, Path]) -> None:
    """A script that forgets close() with a parse stuck in a worker still exits."""
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from ingest.isolation import ParserPool
        from tests.ingest.slow_loader import hostile_load
        if __name__ == "__main__":
            pool = ParserPool(workers=1, timeout_s=600, load_fn=hostile_load)
            pool.submit(Path({str(files["sleep"])!r}))
            pid_file = Path({str(files["sleep"].with_suffix(".pid"))!r})
            while not pid_file.exists():
                time.sleep(0.05)
            print("exiting", flush=True)
    """)
    # The worker's parse sleeps an hour: the script exiting at all (HANG_S: a hang guard) is
    # what this tests, however busy the machine.
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                         timeout=HANG_S)
    assert run.returncode == 0, run.stderr
    assert "exiting" in run.stdout
    worker = int(files["sleep"].with_suffix(".pid").read_text())
    deadline = time.monotonic() + HANG_S
    while pid_alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(worker)


def test_load_result_messages() -> None:
    r = LoadResult(Path("x.pdf"), None, FileErrorKind.TIMEOUT, "stopped after 5 s")
    assert not r.ok
    assert r.error_message == MESSAGES[FileErrorKind.TIMEOUT] + " (stopped after 5 s)"
    assert "document" not in repr(r)  # a Document can be megabytes; keep logs short
