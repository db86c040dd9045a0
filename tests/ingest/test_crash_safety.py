"""kill -9 at random moments while syncing; after a restart the index is exact.

Invariants after the final run: chunk ids unique, every chunk belongs to a
manifest row, every file on disk is indexed or has an error, every row's
chunk count matches Chroma, and no row for a file that is gone.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.ingest.sync_helpers import check_consistent, note, write

RUNS = 20


def _text(i: int, size: int) -> str:
    return "".join(note(i * 100 + k, "quarry") for k in range(size))


def _mutate(folder: Path, rng: random.Random, run: int) -> None:
    """Work for the next run: edits (growing and shrinking), deletions, new files, a move."""
    files = sorted(folder.rglob("*.txt"))
    for f in rng.sample(files, 4):
        write(f, _text(run * 10 + rng.randint(0, 9), rng.choice([1, 5, 30])))
    rng.choice(files).unlink()
    for k in range(3):
        write(folder / f"sub{run % 3}" / f"r{run}_{k}.txt", _text(run * 1000 + k, rng.choice([1, 12, 40])))
    left = sorted(folder.rglob("*.txt"))
    src = rng.choice(left)
    src.rename(folder / f"moved_{run}.txt")


def _child(home: Path, folder: Path) -> subprocess.Popen:
    env = {**os.environ, "DOCENT_HOME": str(home), "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.Popen([sys.executable, "-m", "tests.ingest.crash_child", str(folder)], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own group: kill the parser worker too


def _wait_for_events(proc: subprocess.Popen, count: int) -> bool:
    """True once the child reported `count` file events; False if it ended first."""
    seen = 0
    while seen < count:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            return False
        seen += line.startswith("EVENT FileEvent")
    return True


@pytest.mark.slow
def test_kill_9_at_random_moments_never_corrupts(home, embedder, tmp_path):
    rng = random.Random(20240611)
    folder = tmp_path / "docs"
    for i in range(40):
        write(folder / f"f{i:02d}.txt", _text(i, rng.choice([1, 3, 20])))
    killed_busy = 0
    t0 = time.monotonic()
    for run in range(RUNS):
        if run:
            _mutate(folder, rng, run)
        # Killed after a random number of file events (0: while it loads and reconciles),
        # then a random slice of the next file: mid-sync whatever this machine's speed.
        after_events, extra_s = rng.randint(0, 5), rng.uniform(0.0, 0.3)
        proc = _child(home, folder)
        if _wait_for_events(proc, after_events):
            time.sleep(extra_s)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                killed_busy += 1
        proc.wait(timeout=600)
        proc.communicate()
    proc = _child(home, folder)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    report = json.loads(out.strip().splitlines()[-1])
    elapsed = time.monotonic() - t0
    assert killed_busy >= RUNS // 2, "most runs must be killed mid-sync to mean anything"

    from app.engine.library import Library
    from app.settings import Settings

    with Library(Settings.load(home), embedder=embedder) as lib:
        counts = check_consistent(lib, [folder])
        on_disk = len(list(folder.rglob("*.txt")))
        assert counts == {"indexed": on_disk}
        total = sum(r.chunk_count for r in lib.manifest.all())
        assert lib.store.count() == total
    print(f"\ncrash test: {RUNS} runs, {killed_busy} killed mid-sync, {elapsed:.0f} s; "
          f"final start-up repair: {report['consistency']}")
