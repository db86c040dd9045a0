"""UI tests: offscreen Qt, a fresh QSettings file and DOCENT_HOME per test."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def qsettings(tmp_path, qapp):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QSettings

    s = QSettings(str(tmp_path / "docent-ui.ini"), QSettings.Format.IniFormat)
    yield s
    s.sync()


@pytest.fixture
def ui_settings(home):  # type: ignore[no-untyped-def]
    from app.settings import Settings

    s = Settings.load(home)
    s.ensure_dirs()
    return s
