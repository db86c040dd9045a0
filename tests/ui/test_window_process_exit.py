"""The window's process, closed (SIGTERM, as at logout) while it indexes, exits cleanly."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_sec


def _indexed(manifest: Path) -> int:
    if not manifest.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{manifest}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM files WHERE status = 'indexed'").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_sigterm_while_indexing_exits_cleanly(tmp_path: Path, sec_docs: Path, smollm_path: Path) -> None:
    folder = tmp_path / "filings"
    folder.mkdir()
    copy_sec(sec_docs, ["2023 Q1 AAPL.pdf", "2023 Q1 MSFT.pdf", "2023 Q1 NVDA.pdf", "2023 Q2 INTC.pdf",
                        "2023 Q3 AMZN.pdf", "2022 Q3 AAPL.pdf"], folder)
    home = tmp_path / "home"
    home.mkdir()
    settings = {"watched_folders": [str(folder)], "model_path": str(smollm_path)}  # no first-run dialog
    (home / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    env = {**os.environ, "DOCENT_HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
           "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "app.ui.app"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 900
        while _indexed(home / "index" / "manifest.sqlite3") < 1:  # mid-index: one of six done
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "nothing indexed in 15 minutes"
            time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert "terminate called" not in err
    assert _indexed(home / "index" / "manifest.sqlite3") < 6  # it really was closed mid-index
