"""`docent demo` (make demo) answers from the samples without touching the user's library."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_demo_uses_a_temporary_library_and_does_not_loop(tmp_path: Path, smollm_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "DOCENT_HOME": str(home), "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([sys.executable, "-m", "app.cli", "demo"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "your own library is not touched" in out and "4 indexed" in out
    answer = out.split("A: ", 1)[1]
    assert len(answer.split()) >= 5
    sentences = Counter(s.strip() for s in re.split(r"(?<=[.!?])\s+", answer) if len(s.split()) >= 4)
    assert max(sentences.values(), default=0) <= 2, sentences.most_common(3)
    # The user's data folder got no index rows: the samples went to a temporary one.
    manifest = home / "index" / "manifest.sqlite3"
    if manifest.exists():
        import sqlite3

        with sqlite3.connect(manifest) as db:
            assert db.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 0
