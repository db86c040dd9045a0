"""Search answered by the index's owner: in-process server, and `docent search` beside `docent serve`."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest

from app.engine.search_service import (
    ENDPOINT_FILE,
    SearchRequest,
    SearchServer,
    SearchServiceError,
    search_here,
    search_via_service,
)
from tests.conftest import REPO
from tests.docs_factory import make_mixed_folder


def test_owner_serves_the_same_results_to_other_clients(library, tmp_path):
    make_mixed_folder(tmp_path / "docs")
    library.indexer.index_paths([tmp_path / "docs"])
    index_dir = library.settings.index_dir
    assert search_via_service(index_dir, SearchRequest("Zephyr")) is None  # nobody serving yet
    server = SearchServer(library)
    server.start()
    try:
        endpoint = index_dir / ENDPOINT_FILE
        assert stat.S_IMODE(endpoint.stat().st_mode) == 0o600  # the key is the only lock
        req = SearchRequest("Zephyr filter cartridge", k=3)
        served = search_via_service(index_dir, req)
        local = search_here(library, req)
        assert served is not None and served.served_by == os.getpid()
        assert served.results and [r.chunk_id for r in served.results] == [r.chunk_id for r in local.results]
        assert [r.score for r in served.results] == [r.score for r in local.results]
        assert served.results[0].name == "manual.pdf"

        # A client holding the wrong key is refused (and falls back to searching itself).
        other = tmp_path / "other"
        other.mkdir()
        info = json.loads(endpoint.read_text())
        (other / ENDPOINT_FILE).write_text(json.dumps({**info, "key": "00" * 32}))
        assert search_via_service(other, req) is None
        # The server survives that and a request it cannot run.
        with pytest.raises(SearchServiceError, match="retrieval mode"):
            search_via_service(index_dir, SearchRequest("Zephyr", mode="telepathy"))
        assert search_via_service(index_dir, req) is not None
    finally:
        server.stop()
    assert not (index_dir / ENDPOINT_FILE).exists()
    assert search_via_service(index_dir, SearchRequest("Zephyr")) is None


def test_stale_endpoint_of_a_killed_owner_is_ignored(home, tmp_path):
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    (index_dir / ENDPOINT_FILE).write_text(json.dumps(
        {"pid": int(dead.stdout), "port": 9, "key": "00" * 32}))
    assert search_via_service(index_dir, SearchRequest("x")) is None


def test_cli_search_is_answered_by_a_running_serve(tmp_path):
    home, docs = tmp_path / "home", tmp_path / "docs"
    make_mixed_folder(docs)
    env = {**os.environ, "DOCENT_HOME": str(home)}

    def docent(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=300)

    assert docent("watch", str(docs)).returncode == 0
    serve = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        endpoint = home / "index" / ENDPOINT_FILE
        deadline = time.monotonic() + 240
        lines: list[str] = []
        assert serve.stdout is not None
        while not any("In sync" in line for line in lines):  # indexed, and serving
            assert time.monotonic() < deadline and serve.poll() is None, "".join(lines)
            lines.append(serve.stdout.readline())
        assert endpoint.exists()
        r = docent("search", "Zephyr filter cartridge", "--json", "--k", "3")
        assert r.returncode == 0, r.stderr  # before: "index in use by another Docent process"
        out = json.loads(r.stdout)
        assert out["served_by"] == serve.pid
        assert out["results"] and out["results"][0]["name"] == "manual.pdf"
        r = docent("search", "lighthouse ships", "--mode", "keyword")
        assert r.returncode == 0 and "lighthouse.txt" in r.stdout.splitlines()[0]
        assert f"served by pid {serve.pid}" in r.stderr
    finally:
        serve.terminate()
        serve.wait(60)
    assert serve.returncode == 0
    assert not endpoint.exists()  # removed on a clean stop
