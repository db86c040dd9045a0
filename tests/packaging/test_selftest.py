"""The self-test from source: `docent self-test` is what the installer's `--self-test` runs."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from app.cli.selftest import refuse_network


def test_network_guard_refuses_and_records_non_loopback_connections():
    attempts: list[str] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    with refuse_network(attempts):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("192.0.2.1", 80), timeout=5)  # TEST-NET-1: never routed
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("huggingface.co", 443)
        with socket.create_connection(server.getsockname(), timeout=5):  # loopback still works
            pass
    server.close()
    assert attempts == ["('192.0.2.1', 80)", "dns 'huggingface.co'"]
    assert socket.socket.connect.__name__ == "connect" and socket.getaddrinfo.__module__ == "socket"


def test_self_test_without_a_model_file_fails_with_a_report(tmp_path):
    from app.cli.selftest import run_self_test

    report = run_self_test(tmp_path / "missing.gguf")
    assert not report.ok
    failed = [c.name for c in report.checks if not c.ok]
    assert failed == ["model file exists"]
    assert "OCR reads a line from an image" in {c.name for c in report.checks}


@pytest.mark.slow
def test_docent_self_test_indexes_the_samples_and_answers_offline(smollm_path, tmp_path):
    env = dict(os.environ, DOCENT_HOME=str(tmp_path / "untouched"), QT_QPA_PLATFORM="offscreen")
    run = subprocess.run([sys.executable, "-m", "app.cli", "self-test", "--model", str(smollm_path)],
                         capture_output=True, text=True, timeout=900, env=env)
    report = json.loads(run.stdout[run.stdout.index("{"):])
    assert run.returncode == 0, json.dumps(report["checks"], indent=1) + run.stderr[-2000:]
    assert report["ok"] and not report["frozen"] and report["network_attempts"] == []
    assert report["sources"][0] == {**report["sources"][0], "file": "lighthouse-log.pdf", "page_start": 1}
    assert report["answer"].strip()
    assert {c["name"] for c in report["checks"]} >= {"sample PDF and text indexed", "model answered",
                                                   "OCR reads a line from an image"}
    # nothing is indexed into the user's data folder (the CLI only creates its empty folders)
    assert not [p for p in (tmp_path / "untouched").rglob("*") if p.is_file() and "index" in p.parts]
