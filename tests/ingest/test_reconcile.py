"""Start-up reconciliation (changes made while nothing ran), hostile files, and the CLI."""
from __future__ import annotations

import os
import subprocess
import sys
import zlib
from pathlib import Path

from ingest.errors import FileErrorKind
from ingest.manifest import FileStatus
from ingest.sync.events import FileEvent, FileState
from ingest.sync.service import SyncService
from tests.conftest import REPO
from tests.docs_factory import make_pdf
from tests.ingest.sync_helpers import check_consistent, converged, note, write


def _sync_once(library, folders, **kw) -> tuple[SyncService, list]:  # type: ignore[no-untyped-def]
    events: list = []
    svc = SyncService(library, folders, on_event=events.append, watch=False, quiet_s=0.1, **kw)
    svc.start()
    assert svc.wait_idle(300) and svc.error is None
    svc.stop()
    return svc, events


def test_changes_made_while_closed_are_picked_up_exactly(library, tmp_path):
    a = tmp_path / "a"
    for i in range(6):
        write(a / f"f{i}.txt", note(i))
    _sync_once(library, [a])
    fid3 = library.manifest.get(str(a / "f3.txt")).file_id

    write(a / "f1.txt", "".join(note(50 + k, "orchard") for k in range(40)))  # edited, grows
    (a / "f2.txt").unlink()  # deleted
    write(a / "new" / "f6.txt", note(6))  # added
    os.rename(a / "f3.txt", a / "new" / "f3-moved.txt")  # moved
    st = (a / "f4.txt").stat()
    os.utime(a / "f4.txt", ns=(st.st_atime_ns, st.st_mtime_ns + 10**10))  # touched only
    before = library.embedder.texts_embedded

    svc, events = _sync_once(library, [a])
    drift = svc.startup.drift
    assert sorted(Path(p).name for p in drift.changed) == ["f1.txt", "f3-moved.txt", "f4.txt", "f6.txt"]
    assert sorted(Path(r.path).name for r in drift.gone) == ["f2.txt", "f3.txt"]
    assert drift.unchanged == 2
    n1 = library.manifest.get(str(a / "f1.txt")).chunk_count
    assert n1 > 1
    assert library.embedder.texts_embedded - before == n1 + 1  # the edit and the new file only
    assert library.manifest.get(str(a / "new" / "f3-moved.txt")).file_id == fid3
    expected = {str(a / n): 1 for n in ("f0.txt", "f4.txt", "f5.txt", "new/f6.txt", "new/f3-moved.txt")}
    expected[str(a / "f1.txt")] = n1
    assert converged(library, expected)
    assert {e.state for e in events if isinstance(e, FileEvent)} == {FileState.QUEUED, FileState.INDEXED,
                                                                     FileState.REMOVED}
    assert [(Path(e.old_path).name, Path(e.path).name) for e in events
            if isinstance(e, FileEvent) and e.renamed] == [("f3.txt", "f3-moved.txt")]

    before = library.embedder.texts_embedded  # and nothing at all the next time
    svc, _ = _sync_once(library, [a])
    assert (svc.startup.drift.changed, svc.startup.drift.gone) == ([], [])
    assert library.embedder.texts_embedded == before


def test_unavailable_folder_at_startup_keeps_its_index(library, tmp_path):
    a = tmp_path / "usb"
    write(a / "x.txt", note(1))
    _sync_once(library, [a])
    os.rename(a, tmp_path / "unplugged")
    svc, events = _sync_once(library, [a])
    assert svc.startup.drift.unavailable == [a]
    assert converged(library, {str(a / "x.txt"): 1})


def slow_pdf(path: Path, ops: int = 1_000_000) -> Path:
    """A tiny, valid PDF whose one page holds a million text operators (compressed to a
    few KB): pypdf's extraction would grind for minutes, a decompression-bomb guard
    does not trip (20 MB)."""
    content = zlib.compress(b"BT /F1 9 Tf " + b"(x) Tj 1 0 0 1 0 0 Tm " * ops + b"ET", 9)
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def test_hostile_pdf_times_out_and_the_rest_is_indexed(library, tmp_path):
    library.settings.parse_timeout_s = 2.0  # before the indexer (and its ParserPool) is built
    a = tmp_path / "inbox"
    a.mkdir()
    hostile = slow_pdf(a / "a-hostile.pdf")
    good = [write(a / f"b{i}.txt", note(i)) for i in range(3)]
    good.append(make_pdf(a / "c-manual.pdf", ["Replace the Zephyr filter every 90 days."]))
    svc, events = _sync_once(library, [a])
    rec = library.manifest.get(str(hostile))
    assert rec.status == FileStatus.ERROR and rec.error_kind == FileErrorKind.TIMEOUT.value
    assert "stopped after 2 s" in rec.error
    assert any(isinstance(e, FileEvent) and e.state == "error" and e.path == str(hostile) for e in events)
    for g in good:
        assert library.manifest.get(str(g)).status == FileStatus.INDEXED
    assert check_consistent(library, [a]) == {"indexed": 4, "error": 1}
    # An unchanged hostile file is not retried at every start.
    svc, _ = _sync_once(library, [a])
    assert svc.startup.drift.changed == []


def test_cli_watch_unwatch_and_serve_once(tmp_path):
    home, docs = tmp_path / "home", tmp_path / "docs"
    write(docs / "one.txt", note(1))
    env = {**os.environ, "DOCENT_HOME": str(home)}

    def docent(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=300)

    r = docent("watch", str(docs))
    assert r.returncode == 0 and f"Watching {docs}" in r.stdout
    r = docent("serve", "--once")
    assert r.returncode == 0, r.stderr
    assert "indexed" in r.stdout and "In sync (0 error(s))" in r.stdout
    r = docent("status", "--json")
    assert r.returncode == 0 and str(docs / "one.txt") in r.stdout
    r = docent("unwatch", str(docs), "--forget")
    assert r.returncode == 0 and "removed 1 file(s)" in r.stdout
    r = docent("serve")
    assert r.returncode == 2 and "no watched folders" in r.stderr
