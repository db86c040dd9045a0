"""A folder of hostile and broken files: the run finishes and says what failed, per file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.errors import FileErrorKind
from ingest.manifest import FileStatus
from tests.docs_factory import make_pdf


def _bad_folder(root: Path) -> dict[str, Path]:
    from pypdf import PdfWriter

    root.mkdir(parents=True)
    f = {
        "good": root / "good notes.txt",
        "latin1": root / "café-latin1.txt",
        "longname": root / ("a" * 200 + ".md"),
        "corrupt": root / "corrupt.pdf",
        "encrypted": root / "locked.pdf",
        "empty": root / "empty.txt",
        "binary": root / "binary.txt",
        "vanish": root / "vanishes.txt",
    }
    f["good"].write_text("The quarterly review meeting is on Thursday.\n", encoding="utf-8")
    f["latin1"].write_bytes("Le café coûte 2,50 € à Besançon, déjà réglé.\n".encode("cp1252"))
    f["longname"].write_text("# Long\n\nA file with a very long name still indexes.\n", encoding="utf-8")
    good_pdf = make_pdf(root / "tmp-source.pdf", ["Secret plans for the harbour."])
    f["corrupt"].write_bytes(good_pdf.read_bytes()[:400])
    w = PdfWriter(clone_from=str(good_pdf))
    w.encrypt(user_password="hunter2", owner_password="owner", algorithm="AES-128")
    with open(f["encrypted"], "wb") as out:
        w.write(out)
    good_pdf.unlink()
    f["empty"].write_bytes(b"")
    f["binary"].write_bytes(bytes(range(256)) * 64)
    f["vanish"].write_text("Here now, gone soon.\n", encoding="utf-8")
    return f


EXPECTED = {
    "corrupt": FileErrorKind.CORRUPT,
    "encrypted": FileErrorKind.ENCRYPTED,
    "empty": FileErrorKind.EMPTY,
    "binary": FileErrorKind.BINARY,
    "vanish": FileErrorKind.VANISHED,
}


def test_bad_files_fail_alone_with_specific_errors(library, tmp_path):
    files = _bad_folder(tmp_path / "bad")

    def delete_after_listing(p) -> None:  # the file goes between listing and reading
        if p.phase == "scanned" and files["vanish"].exists():
            files["vanish"].unlink()

    report = library.indexer.index_paths([tmp_path / "bad"], progress=delete_after_listing)
    by_path = {r.path: r for r in library.manifest.all()}
    for name in ("good", "latin1", "longname"):
        assert by_path[str(files[name])].status == FileStatus.INDEXED, name
    for name, kind in EXPECTED.items():
        rec = by_path[str(files[name])]
        assert (rec.status, rec.error_kind) == (FileStatus.ERROR, kind.value), name
        assert rec.error
    assert {f.kind for f in report.failures} == set(EXPECTED.values())
    texts = " ".join(c.text for c in library.store.all_chunks())
    assert "café coûte 2,50 €" in texts  # decoded as cp1252, not mangled


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_unreadable_file(library, tmp_path):
    p = tmp_path / "private.txt"
    p.write_text("no access\n", encoding="utf-8")
    p.chmod(0)
    try:
        report = library.indexer.index_paths([p])
    finally:
        p.chmod(0o600)
    assert [f.kind for f in report.failures] == [FileErrorKind.UNREADABLE]


def test_cli_exit_code_and_status_show_each_error(tmp_path):
    files = _bad_folder(tmp_path / "bad")
    env = {**os.environ, "DOCENT_HOME": str(tmp_path / "home")}
    run = subprocess.run([sys.executable, "-m", "app.cli", "index", str(tmp_path / "bad"), "--quiet"],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 3, run.stderr  # completed with errors
    assert "corrupt.pdf" in run.stdout and "password-protected" in run.stdout
    status = subprocess.run([sys.executable, "-m", "app.cli", "status", "--json"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    kinds = {Path(r["path"]).name: r["error_kind"] for r in data["records"]}
    assert kinds["locked.pdf"] == "encrypted"
    assert kinds["empty.txt"] == "empty"
    assert kinds["binary.txt"] == "binary"
    assert kinds[files["good"].name] is None
    assert data["indexed"] == 4  # good, latin1, long name, vanish (still there in this run)
