"""The OpenAI-compatible backend against llama-cpp-python's own server on 127.0.0.1."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import pytest

from app.engine.answer import Answerer
from app.engine.events import DoneEvent, ErrorEvent, TokenEvent
from app.engine.remote_llm import RemoteLLM
from tests.app.test_generation import ListRetriever, _passages

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(smollm_path, tmp_path_factory):
    pytest.importorskip("fastapi")
    port = _free_port()
    log = open(tmp_path_factory.mktemp("server") / "server.log", "w+b")  # a pipe would fill and block it
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm_path), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "4096", "--n_threads", "2", "--model_alias", "smollm"],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"server exited: {log.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{url}/v1/models", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("server did not start")
    yield url
    proc.terminate()
    proc.wait(10)
    log.close()


def test_remote_backend_streams_an_answer_with_sources(server):
    a = Answerer(ListRetriever(_passages(3)), RemoteLLM(server, "smollm", n_ctx=4096),
                 max_answer_tokens=48, temperature=0.0)
    tokens, done = [], None
    for e in a.ask("What is the figure for item 2 in report 1?"):
        if isinstance(e, TokenEvent):
            tokens.append(e.text)
        elif isinstance(e, DoneEvent):
            done = e.answer
    a.close()
    assert done is not None and "".join(tokens).strip()
    assert [s.number for s in done.sources] == [1, 2, 3]
    assert done.completion_tokens > 0 and done.finish_reason in ("stop", "length")


def test_remote_backend_stops_on_cancel(server):
    a = Answerer(ListRetriever(_passages(2)), RemoteLLM(server, "smollm", n_ctx=4096),
                 max_answer_tokens=400, temperature=0.8)
    cancel = threading.Event()
    done, n = None, 0
    for e in a.ask("Write a very long essay about the reports.", cancel=cancel):
        if isinstance(e, TokenEvent):
            n += 1
            if n == 3:
                cancel.set()
        elif isinstance(e, DoneEvent):
            done = e.answer
    a.close()
    assert done is not None and done.finish_reason == "cancelled" and done.completion_tokens <= 4


def test_unreachable_server_is_a_clear_error():
    a = Answerer(ListRetriever(_passages(1)), RemoteLLM(f"http://127.0.0.1:{_free_port()}", "m"))
    events = list(a.ask("anything?"))
    a.close()
    assert isinstance(events[-1], ErrorEvent)
    assert "The model server at http://127.0.0.1:" in events[-1].message
