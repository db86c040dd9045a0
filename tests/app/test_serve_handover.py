"""`docent serve` started while another Docent process holds the index (issue 33): it waits,
says for whom, and owns the index as soon as it is let go; a search started meanwhile is
answered by it. Before, serve exited after 2 s ("in use by another Docent process")."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.app.handover_helpers import WAIT_S, Holder, Lines, docent, env_for, start_docent
from tests.conftest import REPO
from tests.ingest.sync_helpers import write

TEXT = "The quayside ledger of the Marrowby lighthouse lists eleven copper lanterns.\n"
QUERY = "Marrowby lighthouse copper lanterns"


def _search(home, query: str) -> tuple[subprocess.Popen, Lines]:  # type: ignore[no-untyped-def]
    """`docent search --json`: its stderr read as it comes, its stdout (the JSON) at the end."""
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "search", query, "--json"], cwd=REPO,
                            env=env_for(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, Lines(proc.stderr)


def _stop(serve: subprocess.Popen, out: Lines) -> None:
    if serve.poll() is None:
        serve.send_signal(signal.SIGTERM)
    assert serve.wait(WAIT_S) == 0, out.text()[-4000:]
    assert "Traceback" not in out.text(), out.text()[-4000:]


def test_serve_waits_for_a_command_holding_the_index_then_owns_it_and_syncs(tmp_path):
    home, docs = tmp_path / "home", tmp_path / "docs"
    target = write(docs / "ledger.txt", TEXT)
    assert docent(home, "watch", str(docs)).returncode == 0
    holder = Holder(home, "docent search")
    serve, out = start_docent(home, "serve")
    search = None
    try:
        line = out.wait_for("Waiting for another Docent process")
        assert f"(pid {holder.pid}, `docent search`) to finish with the index" in line
        # A search started now does not race the starting serve for the index: it waits for it.
        search, said = _search(home, QUERY)
        said.wait_for(f"in use by another Docent process (pid {serve.pid}, `docent serve`)")
        assert serve.poll() is None and search.poll() is None
        holder.release()
        out.wait_for("In sync")
        stdout, _ = search.communicate(timeout=WAIT_S)
        assert search.returncode == 0, said.text()
        assert json.loads(stdout)["served_by"] == serve.pid
        r = docent(home, "search", QUERY, "--json")
        assert r.returncode == 0, r.stderr
        reply = json.loads(r.stdout)
        assert reply["served_by"] == serve.pid and [x["file"] for x in reply["results"]] == [str(target)]
    finally:
        holder.kill()
        if search is not None and search.poll() is None:
            search.kill()
        _stop(serve, out)


def test_a_serve_killed_while_a_search_runs_leaves_nothing_in_the_way(tmp_path):
    """kill -9 leaves serve's lock file, holder record and endpoint behind: the next search
    runs by itself, and the next serve takes the index over at once."""
    home, docs = tmp_path / "home", tmp_path / "docs"
    target = write(docs / "ledger.txt", TEXT)
    assert docent(home, "watch", str(docs)).returncode == 0
    serve, out = start_docent(home, "serve")
    out.wait_for("In sync")
    search, said = _search(home, QUERY)
    serve.kill()
    serve.wait(WAIT_S)
    search.communicate(timeout=WAIT_S)
    # answered before the kill, or told clearly that the owner stopped mid-request
    assert search.returncode == 0 or "stopped before it finished" in said.text(), said.text()
    assert "Traceback" not in said.text(), said.text()
    r = docent(home, "search", QUERY, "--json")
    assert r.returncode == 0, r.stderr
    assert [x["file"] for x in json.loads(r.stdout)["results"]] == [str(target)]
    assert "in use by another Docent process" not in r.stderr, r.stderr
    serve, out = start_docent(home, "serve")
    try:
        out.wait_for("In sync")
        assert "Waiting for" not in out.text(), out.text()
    finally:
        _stop(serve, out)


RUNS = int(os.environ.get("DOCENT_HANDOVER_RUNS", "30"))
SEARCHES = 3


@pytest.mark.slow
def test_serve_plus_searches_started_together_never_kill_serve(tmp_path):
    """The issue's script: `docent serve &` and at once a few `docent search`, RUNS times.
    Each run: serve stays up and syncs, every search succeeds, every file is then found by
    its own words through serve. DOCENT_HANDOVER_RUNS sets the number of runs."""
    for run in range(RUNS):
        home, docs = tmp_path / f"home{run}", tmp_path / f"docs{run}"
        words = [f"lantern{run}x{i} harbour{run}y{i}" for i in range(SEARCHES)]
        files = [write(docs / f"note{i}.txt", f"Note {i} mentions {w} and nothing else.\n")
                 for i, w in enumerate(words)]
        assert docent(home, "watch", str(docs)).returncode == 0
        serve, out = start_docent(home, "serve")
        searches = [_search(home, w) for w in words]
        try:
            for proc, said in searches:
                proc.communicate(timeout=WAIT_S)
                assert proc.returncode == 0, f"run {run}: {said.text()}"
            out.wait_for("In sync")  # fails at once if serve exited
            assert serve.poll() is None, f"run {run}: {out.text()}"
            for f, w in zip(files, words, strict=True):
                r = docent(home, "search", w, "--json")
                assert r.returncode == 0, r.stderr
                reply = json.loads(r.stdout)
                assert reply["served_by"] == serve.pid, f"run {run}: {reply}"
                assert str(f) in [x["file"] for x in reply["results"]], f"run {run}: {reply}"
        finally:
            for proc, _ in searches:
                if proc.poll() is None:
                    proc.kill()
            _stop(serve, out)
