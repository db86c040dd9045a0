"""`docent watch/unwatch`, `chat` and `ask --k/--model` from other shells while `docent serve`
owns the index: answered by the owner, no restart."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # a serve subprocess, MiniLM in it, SmolLM2 answers
WAIT_S = 300  # generous: conditions are polled, never timed


def test_watch_unwatch_chat_and_ask_reach_a_running_serve(tmp_path, smollm_path):
    home, docs, new = tmp_path / "home", tmp_path / "docs", tmp_path / "new"
    docs.mkdir()
    (docs / "boiler.md").write_text("# Boiler\n\nThe boiler in flat 4 was serviced by Arvid Lund "
                                    "on 3 March.\n", encoding="utf-8")
    (docs / "bakery.txt").write_text("The Crumb bakery opens at 6:30 every weekday.\n", encoding="utf-8")
    new.mkdir()
    home.mkdir()
    (home / "settings.json").write_text(json.dumps({"max_answer_tokens": 32}))
    env = {**os.environ, "DOCENT_HOME": str(home)}

    def docent(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env, input=stdin,
                              capture_output=True, text=True, timeout=600)

    def status() -> dict:
        r = docent("status", "--json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def poll(pred) -> dict:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + WAIT_S
        while True:
            st = status()
            if pred(st):
                return st
            assert time.monotonic() < deadline, st
            time.sleep(0.5)

    assert docent("watch", str(docs)).returncode == 0
    serve = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + WAIT_S
        assert serve.stdout is not None
        while not any("In sync" in line for line in lines):
            assert time.monotonic() < deadline and serve.poll() is None, "".join(lines)
            lines.append(serve.stdout.readline())
        assert status()["served_by"] == serve.pid

        # watch a new folder: the owner syncs it at once, a file created in it gets indexed
        r = docent("watch", str(new))
        assert r.returncode == 0 and f"Watching {new}." in r.stdout, r.stderr
        assert f"process {serve.pid}" in r.stderr
        note = new / "note.txt"
        note.write_text("The Quay Street lease deposit is 2,400 euros.\n", encoding="utf-8")
        st = poll(lambda s: any(f["path"] == str(note) and f["status"] == "indexed" for f in s["records"]))
        assert st["served_by"] == serve.pid and sorted(st["folders"]) == sorted([str(docs), str(new)])
        r = docent("watch")  # the owner saved it in settings.json
        assert r.returncode == 0 and str(new) in r.stdout.split("\n")

        r = docent("unwatch", str(tmp_path / "elsewhere"))
        assert r.returncode == 1 and "Not a watched folder" in r.stderr, r.stderr
        r = docent("unwatch", str(new), "--forget")
        assert r.returncode == 0 and "removed 1 file(s)" in r.stdout, (r.stdout, r.stderr)
        st = status()
        assert st["folders"] == [str(docs)] and str(note) not in {f["path"] for f in st["records"]}
        note.write_text("Changed after unwatch: not indexed any more.\n", encoding="utf-8")

        # chat through the owner: the chat is the owner's (ChatStore), with its history
        r = docent("chat", "--model", str(smollm_path),
                   stdin="Who serviced the boiler in flat 4?\nWhen does the bakery open?\n\n")
        assert r.returncode == 0, r.stderr
        assert "in use" not in r.stderr and r.stdout.count("Sources:") == 2, r.stdout

        # ask --k reaches the owner's answerer; --model of another file is refused, not swapped
        r = docent("ask", "Who serviced the boiler?", "--k", "1", "--json")
        assert r.returncode == 0, r.stderr
        assert len(json.loads(r.stdout)["sources"]) == 1
        other = tmp_path / "other.gguf"
        r = docent("ask", "Who serviced the boiler?", "--model", str(other))
        assert r.returncode == 1 and "does not load" in r.stderr and str(other) in r.stderr, r.stderr
        assert serve.poll() is None
        assert str(note) not in {f["path"] for f in status()["records"]}
    finally:
        serve.terminate()
        serve.wait(120)
    assert serve.returncode == 0
    db = sqlite3.connect(str(home / "chats.sqlite3"))
    try:
        chats = db.execute("SELECT id, title FROM chats").fetchall()
        assert len(chats) == 1 and chats[0][1].startswith("Who serviced the boiler")
        (turns,) = db.execute("SELECT COUNT(*) FROM turns WHERE chat_id = ?", (chats[0][0],)).fetchone()
        assert turns == 2
    finally:
        db.close()
