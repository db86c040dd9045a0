"""User-started model download: consent is the caller's job; this does it safely.

huggingface_hub builds the URL and headers; the bytes are streamed with the
HTTP client it depends on (httpx2 for huggingface_hub 2.x, httpx for 1.x) so
that we control progress, cancel and resume. We do not use hf's shared session
or hf_hub_download: the app sets HF_HUB_OFFLINE=1, which blocks that session,
and its cache layout cannot resume across restarts or verify before exposing.

Files: `<models>/<name>.incomplete` (+ `.incomplete.json`: what it is a prefix
of) until the sha256 matches; then os.replace() to `<models>/<name>`.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit

from app.models.catalog import CatalogEntry
from app.models.errors import DownloadError, ModelFileError
from app.models.errors import DownloadErrorKind as D
from app.models.gguf import read_gguf_info

DEFAULT_ENDPOINT = "https://huggingface.co"
GB = 1_000_000_000
SPACE_MARGIN = 512 * 1024 * 1024  # keep the disk usable after the download
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SPEED_WINDOW_S = 5.0
_RETRY_STATUS = (408, 429, 500, 502, 503, 504)


@dataclass(frozen=True)
class DownloadProgress:
    done: int  # bytes on disk, including a resumed prefix
    total: int
    speed_bps: float  # over the last few seconds
    eta_s: float | None


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    sha256: str
    bytes: int
    resumed_from: int  # bytes already on disk when this call started (0: fresh)


@dataclass(frozen=True)
class RemoteFile:
    url: str  # resolve URL, pinned to the commit the hub reported when it did
    commit: str | None
    sha256: str | None  # only an LFS file's X-Linked-Etag is a sha256
    size: int | None


ProgressCallback = Callable[[DownloadProgress], None]


def _http_module() -> Any:
    try:
        import httpx2 as http  # what huggingface_hub 2.x uses
    except ImportError:
        try:
            import httpx as http  # type: ignore[no-redef]  # huggingface_hub 1.x: the same API
        except ImportError:
            raise DownloadError.of(D.NO_HTTP_CLIENT) from None
    return http


class _Meter:
    """Throttled progress reports with a moving-window speed."""

    def __init__(self, total: int, callback: ProgressCallback | None, interval: float) -> None:
        self.total, self.callback, self.interval = total, callback, interval
        self.samples: deque[tuple[float, int]] = deque()
        self.last_emit = float("-inf")

    def reset(self) -> None:
        self.samples.clear()

    def update(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > _SPEED_WINDOW_S:
            self.samples.popleft()
        if self.callback is None or (not force and now - self.last_emit < self.interval):
            return
        self.last_emit = now
        t0, d0 = self.samples[0]
        speed = (done - d0) / (now - t0) if now > t0 else 0.0
        eta = (self.total - done) / speed if speed > 0 else None
        self.callback(DownloadProgress(done, self.total, speed, eta))


@dataclass
class _State:
    done: int
    hasher: Any = field(default_factory=hashlib.sha256)
    restarted: bool = False  # the server ignored our Range: the prefix was thrown away


class ModelDownloader:
    """Downloads catalog models into `models_dir`, only when download()/install() is called.

    Blocking: run it on a worker thread. `progress` is called on that thread (marshal
    to the UI yourself); `cancel` may be set from any thread. One download per file
    at a time: two concurrent downloads of the same entry would share a partial file.
    """

    def __init__(
        self,
        models_dir: Path,
        *,
        endpoint: str | None = None,  # None: HF_ENDPOINT at call time, else huggingface.co
        token: str | bool = False,  # False: never send the user's HF token (public repos)
        disk_usage: Callable[[Path], Any] = shutil.disk_usage,
        space_margin: int = SPACE_MARGIN,
        timeout: float = 30.0,
        max_retries: int = 3,
        retry_wait: float = 1.0,
        progress_interval: float = 0.2,
    ) -> None:
        self.models_dir = Path(models_dir)
        self.endpoint, self.token = endpoint, token
        self.disk_usage, self.space_margin = disk_usage, space_margin
        self.timeout, self.max_retries, self.retry_wait = timeout, max_retries, retry_wait
        self.progress_interval = progress_interval

    # --- paths --------------------------------------------------------------
    def final_path(self, entry: CatalogEntry) -> Path:
        return self.models_dir / entry.filename

    def partial_path(self, entry: CatalogEntry) -> Path:
        return self.models_dir / f"{entry.filename}.incomplete"

    def _meta_path(self, entry: CatalogEntry) -> Path:
        return self.models_dir / f"{entry.filename}.incomplete.json"

    # --- hub ----------------------------------------------------------------
    def _url(self, entry: CatalogEntry, revision: str) -> str:
        from huggingface_hub import hf_hub_url  # lazy: keeps import time free

        endpoint = (self.endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        return hf_hub_url(entry.repo, entry.filename, revision=revision, endpoint=endpoint)

    def _headers(self) -> dict[str, str]:
        from huggingface_hub.utils import build_hf_headers

        from app import __version__

        headers = build_hf_headers(token=self.token, library_name="docent", library_version=__version__)
        headers["Accept-Encoding"] = "identity"  # byte counts and Range offsets must be raw bytes
        return headers

    def _client(self, http: Any, follow_redirects: bool) -> Any:
        timeout = http.Timeout(self.timeout, connect=min(15.0, self.timeout))
        return http.Client(follow_redirects=follow_redirects, timeout=timeout)

    def remote_info(self, entry: CatalogEntry) -> RemoteFile:
        """HEAD the file like huggingface_hub's get_hf_file_metadata, without its session."""
        http = _http_module()
        url = self._url(entry, entry.revision)
        try:
            with self._client(http, follow_redirects=False) as client:
                for _ in range(10):
                    r = client.head(url, headers=self._headers())
                    target = urljoin(url, r.headers.get("Location", ""))
                    # Same-host redirects (renamed repo) are followed; a CDN redirect
                    # already carries the metadata headers, so stop there.
                    if not r.has_redirect_location or urlsplit(target).netloc != urlsplit(url).netloc:
                        break
                    url = target
        except http.TransportError as e:
            raise DownloadError.of(D.NETWORK, reason=type(e).__name__) from e
        if r.status_code >= 400:
            raise DownloadError.of(D.HTTP, status=r.status_code, url=url)
        etag = (r.headers.get("X-Linked-Etag") or r.headers.get("ETag") or "").removeprefix("W/").strip('"')
        size = r.headers.get("X-Linked-Size") or (None if r.has_redirect_location else r.headers.get("Content-Length"))
        commit = r.headers.get("X-Repo-Commit")
        # Fetch bytes at the commit the HEAD saw: a push to 'main' mid-download (or
        # between resume sessions) cannot then mix two versions of the file.
        pinned = self._url(entry, commit) if commit and _COMMIT.match(commit) else url
        return RemoteFile(
            url=pinned, commit=commit, sha256=etag.lower() if _SHA256.match(etag.lower()) else None,
            size=int(size) if size and size.isdigit() else None,
        )

    # --- download -----------------------------------------------------------
    def install(
        self, entry: CatalogEntry, data_dir: Path, progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> DownloadResult:
        """download() then select the model; nothing is selected unless both succeed."""
        from app.models.selection import select_model

        result = self.download(entry, progress=progress, cancel=cancel)
        select_model(data_dir, result.path, sha256=result.sha256)
        return result

    def download(
        self, entry: CatalogEntry, progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> DownloadResult:
        cancel = cancel or threading.Event()
        self._check_cancel(cancel)
        http = _http_module()
        remote = self.remote_info(entry)
        expected = entry.sha256 or remote.sha256
        if expected is None:
            raise DownloadError.of(D.NO_CHECKSUM, filename=entry.filename)
        if entry.sha256 and remote.sha256 and remote.sha256 != entry.sha256:
            # The hub serves a different file than the catalog pinned: don't fetch 2 GB to find out.
            raise DownloadError.of(D.HASH_MISMATCH, expected=entry.sha256, actual=f"{remote.sha256} (hub)")
        total = remote.size or entry.size_bytes
        final, partial = self.final_path(entry), self.partial_path(entry)
        try:
            self.models_dir.mkdir(parents=True, exist_ok=True)
            if final.is_file() and final.stat().st_size == total and self._hash_file(final, cancel) == expected:
                return DownloadResult(final, expected, total, resumed_from=total)
            state = _State(done=self._usable_partial(entry, expected, total))
            self._check_space(total - state.done)
            meta = {"sha256": expected, "size": total, "commit": remote.commit}
            self._meta_path(entry).write_text(json.dumps(meta))
            if state.done:
                self._hash_file(partial, cancel, state.hasher)
        except OSError as e:  # unwritable models dir, unreadable partial...
            raise DownloadError.of(D.DISK_ERROR, reason=str(e)) from e
        resumed_from = state.done
        meter = _Meter(total, progress, self.progress_interval)
        meter.update(state.done, force=True)
        attempts = 0
        while state.done < total:  # equal: a finished file whose verification never ran
            before = state.done
            try:
                self._transfer(http, remote.url, partial, state, total, cancel, meter)
            except DownloadError as e:
                if e.kind is D.HASH_MISMATCH or e.status == 416:
                    self._discard(entry)  # what is on disk cannot be continued from
                    raise
                # Failures in a row without progress; progress resets the budget (as hf's http_get).
                attempts = 1 if state.done > before else attempts + 1
                transient = e.kind == D.NETWORK or (e.kind == D.HTTP and e.status in _RETRY_STATUS)
                if not transient or attempts > self.max_retries:
                    raise
                if cancel.wait(self.retry_wait * attempts):
                    raise DownloadError.of(D.CANCELLED) from None
        return self._finish(entry, partial, final, state, expected, total, 0 if state.restarted else resumed_from)

    def _transfer(
        self, http: Any, url: str, partial: Path, state: _State, total: int,
        cancel: threading.Event, meter: _Meter,
    ) -> None:
        headers = self._headers()
        if state.done:
            headers["Range"] = f"bytes={state.done}-"
        try:
            with self._client(http, follow_redirects=True) as client, client.stream("GET", url, headers=headers) as r:
                if r.status_code >= 400:
                    raise DownloadError.of(D.HTTP, status=r.status_code, url=url)
                if state.done and r.status_code != 206:  # Range ignored: the body is the whole file
                    state.done, state.hasher, state.restarted = 0, hashlib.sha256(), True
                    meter.reset()
                elif state.done and not r.headers.get("Content-Range", "").startswith(f"bytes {state.done}-"):
                    raise DownloadError.of(D.HTTP, status=r.status_code, url=url)
                with open(partial, "r+b" if partial.exists() else "wb") as f:
                    f.seek(state.done)
                    f.truncate()  # drop bytes of a chunk that failed half-written
                    for chunk in r.iter_bytes():
                        if cancel.is_set():
                            raise DownloadError.of(D.CANCELLED)
                        if state.done + len(chunk) > total:
                            raise DownloadError.of(D.HASH_MISMATCH, expected=f"{total} bytes", actual="more")
                        f.write(chunk)
                        state.hasher.update(chunk)
                        state.done += len(chunk)
                        meter.update(state.done)
                    f.flush()
                    os.fsync(f.fileno())
        except http.TransportError as e:
            raise DownloadError.of(D.NETWORK, reason=type(e).__name__) from e
        except OSError as e:
            if e.errno == errno.ENOSPC:
                free = self.disk_usage(self.models_dir).free
                raise DownloadError.of(D.NO_SPACE, need_gb=(total - state.done) / GB, free_gb=free / GB,
                                       folder=self.models_dir) from e
            raise DownloadError.of(D.DISK_ERROR, reason=str(e)) from e
        meter.update(state.done, force=True)
        if state.done < total:  # a clean close before Content-Length was reached
            raise DownloadError.of(D.NETWORK, reason="connection closed early")

    def _finish(
        self, entry: CatalogEntry, partial: Path, final: Path, state: _State, expected: str,
        total: int, resumed_from: int,
    ) -> DownloadResult:
        actual = state.hasher.hexdigest()
        if actual != expected:  # corrupt bytes cannot be resumed from: start clean next time
            self._discard(entry)
            raise DownloadError.of(D.HASH_MISMATCH, expected=expected, actual=actual)
        try:
            read_gguf_info(partial)
        except ModelFileError as e:
            self._discard(entry)
            raise DownloadError.of(D.INVALID_FILE, reason=e.message) from e
        try:
            os.replace(partial, final)  # Windows refuses while the old file is loaded
        except OSError as e:
            raise DownloadError.of(D.DISK_ERROR, reason=str(e)) from e
        self._meta_path(entry).unlink(missing_ok=True)
        return DownloadResult(final, actual, total, resumed_from)

    # --- helpers ------------------------------------------------------------
    def _usable_partial(self, entry: CatalogEntry, expected: str, total: int) -> int:
        """Bytes of an earlier attempt that may be continued, else 0 (and it is deleted)."""
        partial = self.partial_path(entry)
        if not partial.is_file():
            return 0
        try:
            meta = json.loads(self._meta_path(entry).read_text())
        except (OSError, ValueError):
            meta = {}
        size = partial.stat().st_size
        if meta.get("sha256") == expected and meta.get("size") == total and size <= total:
            return size
        self._discard(entry)  # a prefix of some other file (older revision, other hash)
        return 0

    def _discard(self, entry: CatalogEntry) -> None:
        self.partial_path(entry).unlink(missing_ok=True)
        self._meta_path(entry).unlink(missing_ok=True)

    def _check_space(self, remaining: int) -> None:
        need = remaining + self.space_margin
        free = self.disk_usage(self.models_dir).free
        if free < need:
            raise DownloadError.of(D.NO_SPACE, need_gb=need / GB, free_gb=free / GB, folder=self.models_dir)

    @staticmethod
    def _check_cancel(cancel: threading.Event) -> None:
        if cancel.is_set():
            raise DownloadError.of(D.CANCELLED)

    def _hash_file(self, path: Path, cancel: threading.Event, hasher: Any = None) -> str:
        hasher = hasher or hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(4 * 1024 * 1024):
                self._check_cancel(cancel)
                hasher.update(block)
        return hasher.hexdigest()
