"""`docent model download` end to end: consent, the fake hub on 127.0.0.1, selection, then ask."""
from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from app import cli
from app.models.selection import selected_model
from tests.app.test_download import entry, hub, smol, smol_sha256  # noqa: F401  (fixtures)


def _catalog(tmp_path, entry):  # type: ignore[no-untyped-def]  # noqa: F811 (the fixture, as a parameter)
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"models": [{**asdict(entry), "default": True}]}), encoding="utf-8")
    return path


def test_download_needs_consent_when_not_interactive(hub, entry, tmp_path, home, capsys):  # noqa: F811
    code = cli.main(["model", "download", "--catalog", str(_catalog(tmp_path, entry))])
    assert code == 2
    assert "--yes" in capsys.readouterr().err
    assert hub.requests == [] and selected_model(home) is None


@pytest.mark.slow  # the downloaded SmolLM2 answers through llama.cpp
def test_download_selects_the_model_and_ask_uses_it(hub, entry, tmp_path, home, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # restored after the test: download lifts it
    code = cli.main(["model", "download", entry.id, "--yes", "--catalog", str(_catalog(tmp_path, entry))])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "Licence: Apache 2.0" in out.out and "Downloaded and selected" in out.out
    path = selected_model(home)
    assert path is not None and path.parent == home / "models" and path.stat().st_size == entry.size_bytes
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "note.txt").write_text("The spare key is under the blue pot.\n", encoding="utf-8")
    assert cli.main(["index", str(tmp_path / "docs"), "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["ask", "Where is the spare key?", "--json"]) == 0  # no --model: the selected one
    answer = json.loads(capsys.readouterr().out)
    assert answer["model"] == path.name and answer["sources"][0]["path"].endswith("note.txt")
