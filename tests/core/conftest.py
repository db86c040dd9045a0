"""Cores on temp data folders, sharing the session's MiniLM; closed after each test."""
from __future__ import annotations

from pathlib import Path

import pytest


class Recorder:
    """Every event a core emitted, in order (appended on the core's threads)."""

    def __init__(self) -> None:
        self.events: list = []

    def __call__(self, event) -> None:  # type: ignore[no-untyped-def]
        self.events.append(event)

    def of(self, kind: type) -> list:
        return [e for e in list(self.events) if isinstance(e, kind)]


@pytest.fixture
def make_core(home, embedder):
    """make_core(folders=[...], llm=None, **settings) -> (core, recorder), started and READY.
    folders=None keeps what settings.json says; llm: the Core's answering-backend maker
    (tests/scripted_llm.py's ScriptedLLMs), None for the settings' model."""
    from app.core.core import Core
    from app.settings import Settings

    made = []

    def make(folders: list[Path] | None = None, watch: bool = True, ready: bool = True, llm=None,
             **overrides):  # type: ignore[no-untyped-def]
        settings = Settings.load(home)
        if folders is not None:
            settings.watched_folders = [str(f) for f in folders]
        for k, v in overrides.items():
            setattr(settings, k, v)
        settings.save()
        core = Core(settings, embedder=embedder, watch=watch, quiet_s=0.2, poll_s=0.3, llm=llm)
        rec = Recorder()
        core.subscribe(rec)
        core.start()
        made.append(core)
        if ready:
            assert core.wait_ready(120), [e for e in rec.events]
        return core, rec

    yield make
    for core in made:
        core.close(10)
