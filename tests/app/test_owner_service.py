"""Other processes' commands answered by the index's owner over its local service.

Protocol tests use a small in-test host (a unit test of the service's logic); the
real path runs on the Core's host in-process, and end to end as `docent serve` in a
subprocess with `docent status/index/forget/search/ask` from other processes.
"""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Client
from pathlib import Path

import pytest

from app.core import wire
from app.core.client import OwnerUnavailable, find_owner, read_endpoint, with_owner
from app.core.service import ENDPOINT_FILE, LocalService
from app.core.wire import AskRequest, ErrorCode, ErrorReply, Notice, StatusReply
from app.engine.events import Answer, DoneEvent, ErrorEvent, SourcesEvent, TokenEvent
from app.engine.search_service import SearchReply, SearchRequest, search_here
from app.errors import OwnerRequestError, OwnerStoppedError
from ingest.pipeline import IndexReport, Progress
from tests.conftest import REPO
from tests.docs_factory import make_mixed_folder

WAIT_S = 120  # generous: conditions are waited on, never timed


class _Job:
    def __init__(self, job_id: int) -> None:
        self.id = job_id
        self.done = threading.Event()
        self.report = IndexReport(files_seen=2, indexed=2, chunks_added=5)

    def wait(self, timeout):  # type: ignore[no-untyped-def]
        return self.report if self.done.wait(timeout) else None


class TinyHost:
    """The smallest ServiceHost: canned replies, an ask that runs until cancelled."""

    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        self.settings = settings
        self.cancelled = threading.Event()
        self.release_index = threading.Event()
        self.fail_with: Exception | None = None

    def search(self, req: SearchRequest) -> SearchReply:
        if self.fail_with is not None:
            raise self.fail_with
        return SearchReply(req.query, "hybrid", 0.01, [])

    def status(self) -> StatusReply:
        return StatusReply(1, 1, 0, 3, [wire.FileRow("/x/a.txt", "indexed", 3)], ["/x"], "m.gguf")

    def index(self, paths, progress):  # type: ignore[no-untyped-def]
        job = _Job(7)

        def run() -> None:
            if progress is not None:
                progress(Progress("scanned", 0, 2))
                for i, p in enumerate(paths, 1):
                    progress(Progress("file_done", i, 2, str(p), 2))
            self.release_index.wait(WAIT_S)
            job.done.set()

        threading.Thread(target=run, daemon=True).start()
        return job

    def forget(self, paths) -> int:  # type: ignore[no-untyped-def]
        return len(paths)

    def ask(self, req: AskRequest, cancel: threading.Event):  # type: ignore[no-untyped-def]
        yield Notice("small context")
        yield SourcesEvent([], 10)
        while not cancel.wait(0.02):
            yield TokenEvent("word ")
        self.cancelled.set()
        yield DoneEvent(Answer(req.question, "word", finish_reason="cancelled"))


@pytest.fixture
def tiny(tmp_path):
    from app.settings import Settings

    settings = Settings(home=tmp_path / "home")
    settings.ensure_dirs()
    host = TinyHost(settings)
    service = LocalService(host)
    service.start()
    yield host, service, settings.index_dir
    host.release_index.set()
    service.stop()


def _raw(index_dir: Path, payload: bytes) -> object:
    """Send raw bytes as an authenticated client; the owner's one reply."""
    ep = read_endpoint(index_dir)
    assert ep is not None
    with Client(("127.0.0.1", ep.port), authkey=ep.key) as conn:
        conn.send_bytes(payload)
        return wire.decode(conn.recv_bytes())


def test_requests_and_replies_round_trip(tiny):
    host, service, index_dir = tiny
    assert stat.S_IMODE((index_dir / ENDPOINT_FILE).stat().st_mode) == 0o600
    owner = find_owner(index_dir)
    assert owner is not None and owner.pid == os.getpid()
    assert owner.search(SearchRequest("q")).served_by == os.getpid()
    st = owner.status()
    assert (st.files, st.chunks, st.folders, st.served_by) == (1, 3, ["/x"], os.getpid())
    assert owner.forget([Path("a"), Path("b")]) == 2
    lines: list[Progress] = []
    host.release_index.set()
    report = owner.index([Path("one.txt"), Path("two.txt")], progress=lines.append)
    assert (report.indexed, report.chunks_added) == (2, 5)
    assert [p.phase for p in lines] == ["scanned", "file_done", "file_done"]
    assert lines[1].path == os.path.abspath("one.txt")  # relative paths are the client's
    assert owner.queue_index([Path("x.txt")]).job_id == 7


def test_ask_streams_and_a_closed_stream_stops_the_generation(tiny):
    host, _, index_dir = tiny
    stream = find_owner(index_dir).ask(AskRequest("why?"))  # type: ignore[union-attr]
    kinds = [type(next(stream)) for _ in range(4)]
    assert kinds == [Notice, SourcesEvent, TokenEvent, TokenEvent]
    stream.close()  # what Ctrl-C in `docent ask` does
    assert host.cancelled.wait(WAIT_S)


def test_bad_requests_get_typed_errors_and_the_owner_keeps_serving(tiny):
    host, _, index_dir = tiny
    for payload in [b"{", b"[1]", b'{"type": "telepathy"}', b'{"type": "index", "paths": "a"}',
                    b'{"type": "index", "paths": ["relative.txt"]}', b'{"type": "ask", "question": " "}',
                    b'{"type": "error", "code": "failed", "message": "x"}', b"\xff\xfe"]:
        reply = _raw(index_dir, payload)
        assert isinstance(reply, ErrorReply) and reply.code == ErrorCode.BAD_REQUEST, payload
    reply = _raw(index_dir, b'{"type": "search", "query": "' + b"a" * (2 << 20) + b'"}')
    assert isinstance(reply, ErrorReply) and reply.code == ErrorCode.TOO_LARGE
    host.fail_with = RuntimeError("disk on fire")
    with pytest.raises(OwnerRequestError, match="disk on fire"):
        find_owner(index_dir).search(SearchRequest("q"))  # type: ignore[union-attr]
    from app.errors import EmptyIndexError

    host.fail_with = EmptyIndexError()
    with pytest.raises(OwnerRequestError, match="Nothing is indexed yet"):
        find_owner(index_dir).search(SearchRequest("q"))  # type: ignore[union-attr]
    host.fail_with = None
    assert find_owner(index_dir).status().files == 1  # type: ignore[union-attr]


def test_auth_comes_first_and_a_silent_client_blocks_nobody(tiny, tmp_path):
    _, service, index_dir = tiny
    silent = socket.create_connection(service.address, timeout=5)  # connects, never answers
    try:
        assert find_owner(index_dir).status().files == 1  # type: ignore[union-attr]
        info = json.loads((index_dir / ENDPOINT_FILE).read_text())
        other = tmp_path / "other"
        other.mkdir()
        (other / ENDPOINT_FILE).write_text(json.dumps({**info, "key": "00" * 32}))
        owner = find_owner(other)
        assert owner is not None
        with pytest.raises(OwnerUnavailable):
            owner.status()
        assert with_owner(other, lambda o: o.status()) is None  # so the CLI works in-process
    finally:
        silent.close()


def test_owner_stopping_mid_request_is_reported_once(tiny):
    host, service, index_dir = tiny
    owner = find_owner(index_dir)
    assert owner is not None
    got: list[Progress] = []
    failed: list[BaseException] = []

    def index() -> None:
        try:
            owner.index([Path("/a.txt")], progress=got.append)
        except BaseException as e:  # noqa: BLE001 - recorded for the assertion below
            failed.append(e)

    t = threading.Thread(target=index)
    t.start()
    deadline = time.monotonic() + WAIT_S
    while len(got) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    service.stop()
    t.join(WAIT_S)
    assert failed and isinstance(failed[0], OwnerStoppedError)
    assert f"pid {os.getpid()}" in str(failed[0])
    assert not (index_dir / ENDPOINT_FILE).exists() and find_owner(index_dir) is None


def test_stale_endpoint_is_ignored_and_replaced(tmp_path):
    from app.settings import Settings

    settings = Settings(home=tmp_path / "home")
    settings.ensure_dirs()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    endpoint = settings.index_dir / ENDPOINT_FILE
    endpoint.write_text(json.dumps({"pid": int(dead.stdout), "port": 9, "key": "00" * 32,
                                    "protocol": wire.PROTOCOL}))
    assert find_owner(settings.index_dir) is None
    with LocalService(TinyHost(settings)):
        assert json.loads(endpoint.read_text())["pid"] == os.getpid()
        assert find_owner(settings.index_dir) is not None


def test_wire_rebuilds_answers_with_locations():
    from app.engine.prompt import NumberedSource, Turn
    from ingest.document import PageSpan
    from ingest.passage import Passage

    p = Passage("f:0", "/d/a.pdf", 2, 3, "text", 0.5, spans=(PageSpan(2, 10, 40), PageSpan(3, 0, 7)),
                body="text")
    a = Answer("q", "It is [1].", [NumberedSource(1, p, True)],
               [NumberedSource(1, p)], 5, 3, finish_reason="stop", turn=Turn("q", "a", [NumberedSource(1, p)]))
    back = wire.decode(wire.encode(wire.AnswerDone(a)))
    assert back == wire.AnswerDone(a)
    assert isinstance(back.answer.sources[0].passage.spans[1], PageSpan)  # type: ignore[attr-defined]


def test_wire_carries_a_whole_document_answers_progress():
    from app.engine.events import ProgressEvent

    event = ProgressEvent(2, 9, "Reading pp. 12-19 of report.pdf (part 3 of 8)")
    back = wire.to_event(wire.decode(wire.encode(wire.from_event(event))))
    assert back == event


# --- the real owner: the Core behind CoreServiceHost -----------------------------------
def test_core_host_serves_through_the_core(embedder, tmp_path, answer_model):
    from app.core.core import Core
    from app.core.service_hosts import CoreServiceHost
    from app.settings import Settings

    files = make_mixed_folder(tmp_path / "docs")
    settings = Settings(home=tmp_path / "home")
    settings.ensure_dirs()
    core = Core(settings, embedder=embedder, llm=answer_model.llm)
    core.start()
    try:
        assert core.wait_ready(WAIT_S)
        # Its own endpoint folder: this test does not depend on which service the core starts.
        with LocalService(CoreServiceHost(core), index_dir=tmp_path):
            owner = find_owner(tmp_path)
            assert owner is not None
            lines: list[Progress] = []
            report = owner.index([tmp_path / "docs"], progress=lines.append)  # via the core's writer
            assert (report.files_seen, report.indexed, report.failures) == (5, 5, [])
            assert sorted(p.path for p in lines if p.phase == "file_done") == sorted(map(str, files.values()))
            st = owner.status()
            assert st.files == 5 and st.chunks == core.library.store.count() and st.served_by == os.getpid()
            again = owner.index([tmp_path / "docs"])
            assert (again.indexed, again.unchanged) == (0, 5)
            broken = tmp_path / "broken.pdf"
            broken.write_bytes(b"%PDF-1.4\nnot a pdf\n")
            for _ in range(2):  # failed, then unchanged: reported both times, as in-process
                r = owner.index([broken])
                assert [f.path for f in r.failures] == [str(broken)] and r.unchanged == 0
            st = owner.status()
            assert (st.files, st.indexed, st.errors, st.state) == (6, 5, 1, "ready") and st.chunks > 0
            req = SearchRequest("Zephyr filter cartridge", k=3)
            hits = owner.search(req).results
            assert hits and hits[0].name == "manual.pdf"
            assert [r.chunk_id for r in hits] == [r.chunk_id for r in search_here(core.library, req).results]
            answer_model.hold_next()
            first = owner.ask(AskRequest("What does the Crumb bakery do at 6:30?", answer_model.path))
            assert any(isinstance(e, TokenEvent) for e in first)
            first.close()  # the core's answer job is cancelled; the next question is answered
            events = list(owner.ask(AskRequest("When does the bakery open?", answer_model.path)))
            done = [e for e in events if isinstance(e, DoneEvent)]
            assert done and done[0].answer.text and not any(isinstance(e, ErrorEvent) for e in events), events
            assert any("bakery.html" in s.passage.path for s in done[0].answer.sources)
            if answer_model.llm is not None:  # the held answer was stopped, not waited for
                assert answer_model.llm.finishes[0] == "cancelled", answer_model.llm.finishes
            assert owner.forget([files["txt"]]) == 1
            assert owner.status().files == 5
    finally:
        core.close()


# --- end to end: `docent serve` and other processes -------------------------------------
@pytest.mark.slow  # SmolLM2 answers in the serve process
def test_cli_commands_are_answered_by_a_running_serve(tmp_path, smollm_path):
    home, docs, extra = tmp_path / "home", tmp_path / "docs", tmp_path / "extra"
    make_mixed_folder(docs)
    extra.mkdir()
    note = extra / "note.md"
    note.write_text("# Boiler\n\nThe boiler in flat 4 was serviced by Arvid Lund on 3 March.\n")
    broken = extra / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nthis is not a pdf at all\n")
    env = {**os.environ, "DOCENT_HOME": str(home)}
    home.mkdir()
    (home / "settings.json").write_text(json.dumps({"max_answer_tokens": 48}))  # short answers

    def docent(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=600)

    assert docent("watch", str(docs)).returncode == 0
    endpoint = home / "index" / ENDPOINT_FILE
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    endpoint.write_text(json.dumps({"pid": int(dead.stdout), "port": 9, "key": "00" * 32,
                                    "protocol": wire.PROTOCOL}))
    r = docent("status", "--json")  # a stale endpoint of a killed owner: answered in-process
    assert r.returncode == 0 and json.loads(r.stdout)["served_by"] is None, r.stderr

    serve = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 300
        assert serve.stdout is not None
        while not any("In sync" in line for line in lines):
            assert time.monotonic() < deadline and serve.poll() is None, "".join(lines)
            lines.append(serve.stdout.readline())
        assert json.loads(endpoint.read_text())["pid"] == serve.pid  # the stale file replaced

        r = docent("status", "--json")
        assert r.returncode == 0, r.stderr  # before: "in use by another Docent process"
        st = json.loads(r.stdout)
        assert st["served_by"] == serve.pid and st["files"] == 5 and st["indexed"] == 5
        assert st["folders"] == [str(docs)] and st["chunks"] > 0

        r = docent("index", str(note))
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("1 indexed, 0 unchanged, 0 removed, 0 failed;")
        r = docent("index", str(extra), "--json")
        assert r.returncode == 3, r.stderr  # completed, one file failed
        report = json.loads(r.stdout)
        assert report["unchanged"] == 1 and [f["path"] for f in report["failures"]] == [str(broken)]
        r = docent("index", str(extra))
        assert r.returncode == 3 and f"✗ {broken}" in r.stdout

        r = docent("search", "Who serviced the boiler?", "--json", "--k", "3")
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["served_by"] == serve.pid and out["results"][0]["file"] == str(note)

        r = docent("ask", "anything?")  # no model chosen yet: the owner says how to get one
        assert r.returncode == 1 and "docent model download" in r.stderr, r.stderr
        r = docent("ask", "Who serviced the boiler in flat 4?", "--model", str(smollm_path), "--json")
        assert r.returncode == 0, r.stderr
        answer = json.loads(r.stdout)
        assert answer["answer"].strip() and answer["completion_tokens"] > 0
        assert any(s["path"] == str(note) for s in answer["sources"])
        r = docent("ask", "What does the Crumb bakery do at 6:30?", "--model", str(smollm_path))
        assert r.returncode == 0 and "\nSources:" in r.stdout and "bakery.html" in r.stdout, r.stderr

        r = docent("forget", str(note))
        assert r.returncode == 0 and "Removed 1 file(s)" in r.stdout, r.stderr
        r = docent("forget", str(note))
        assert r.returncode == 1 and "Removed 0 file(s)" in r.stdout
        r = docent("status")
        assert r.returncode == 0 and r.stdout.startswith("6 files: 5 indexed"), r.stdout
        assert f"answered by the Docent process {serve.pid}" in r.stderr
        assert serve.poll() is None  # nothing above took the owner down
    finally:
        serve.terminate()
        serve.wait(120)
    assert serve.returncode == 0
    assert not endpoint.exists()
    r = docent("status", "--json")  # the owner is gone: in-process again, same library
    assert r.returncode == 0 and json.loads(r.stdout)["files"] == 6
