"""What goes into the installer and what stays out: the rules, as plain functions.

Shared by packaging/docent.spec and packaging/hooks/*.py (PyInstaller imports this module
from the spec's folder) and by tests/packaging/test_hooks.py, which checks the rules on
the installed packages without building anything. Paths are bundle-relative with "/".
"""
from __future__ import annotations

import ast
import fnmatch
import importlib.util
import re
import sys
import zipfile
from pathlib import Path, PurePosixPath
from typing import Callable

# --- chromadb -----------------------------------------------------------------------
# Chroma builds its components from dotted class names in chromadb/config.py (strings,
# invisible to PyInstaller's import scan). Those that need a server or a cluster stay out.
CHROMA_SKIP = ("chromadb.db.duckdb", "chromadb.db.clickhouse", "chromadb.api.local",
               "chromadb.segment.impl.distributed", "chromadb.execution.executor.distributed",
               "chromadb.db.impl.grpc", "chromadb.logservice", "chromadb.ingest.impl.pulsar")
CHROMA_EXTRA = ("chromadb.api.rust", "chromadb.api.segment", "chromadb.api.fastapi",
                "chromadb.telemetry.product.posthog", "chromadb.telemetry.opentelemetry",
                "chromadb.segment.impl.manager.local", "chromadb.segment.impl.metadata.sqlite",
                "chromadb.migrations", "chromadb_rust_bindings")
CHROMA_DATA = ("migrations/**/*.sql", "log_config.yml")


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _source_of(module: str) -> str:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, module
    return Path(spec.origin).read_text(encoding="utf-8")


def chroma_class_modules(config_source: str) -> list[str]:
    """Modules named by "chromadb.x.y.ClassName" strings in chromadb's config source."""
    names = set()
    for node in ast.walk(ast.parse(config_source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            m = re.fullmatch(r"(chromadb(?:\.[a-z_][a-z0-9_]*)+)\.[A-Z]\w*", node.value)
            if m:
                names.add(m.group(1))
    return sorted(names)


def chromadb_hiddenimports() -> list[str]:
    wanted = set(chroma_class_modules(_source_of("chromadb.config"))) | set(CHROMA_EXTRA)
    keep = [m for m in sorted(wanted) if not m.startswith(CHROMA_SKIP) and _module_exists(m)]
    return keep


# --- llama.cpp ----------------------------------------------------------------------
# llama_cpp loads lib/libllama.so by path; the ggml libraries it needs are found by their
# SONAME (libggml.so.0) through RUNPATH $ORIGIN. The wheel holds three copies of each
# (.so, .so.0, .so.0.x.y) and the multimodal libmtmd that Docent never loads.
_LLAMA_SKIP = ("mtmd", "llava")
LLAMA_LIB_PATTERNS = ["*.so", "*.so.*", "*.dylib", "*.dll"]  # for collect_dynamic_libs


def keep_llama_lib(name: str) -> bool:
    if any(s in name for s in _LLAMA_SKIP):
        return False
    if name.endswith((".dll", ".dylib", ".metal", ".metallib")):
        return True
    if name == "libllama.so":
        return True
    return re.fullmatch(r"lib(ggml[\w-]*|llama)\.so\.\d+", name) is not None


def llama_binaries(collected: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Filter PyInstaller's collect_dynamic_libs("llama_cpp") (src, dest_dir) pairs."""
    return [(src, dest) for src, dest in collected if keep_llama_lib(Path(src).name)]


def variant_binaries(source: Path, workdir: Path, dest: str) -> list[tuple[str, str]]:
    """A second llama.cpp build, from a wheel (extracted under workdir) or a lib folder."""
    if source.suffix == ".whl":
        out = workdir / source.stem
        with zipfile.ZipFile(source) as whl:
            for member in whl.namelist():
                if member.startswith("llama_cpp/lib/") and keep_llama_lib(PurePosixPath(member).name):
                    whl.extract(member, out)
        source = out / "llama_cpp" / "lib"
    found = [(str(p), dest) for p in sorted(source.iterdir()) if keep_llama_lib(p.name)]
    if not any("llama" in Path(s).name for s, _ in found):
        raise FileNotFoundError(f"no libllama in {source}")
    return found


# --- transformers -------------------------------------------------------------------
# transformers ships 560 model families (111 MB of source); an embedder needs one. These
# are the families the self-test imports (sentence-transformers pulls some at import) plus
# the usual sentence-embedding and cross-encoder architectures a user may point
# `embedder_path` / `reranker_path` at.
TRANSFORMERS_MODELS_KEEP = frozenset({
    "auto", "bert", "roberta", "xlm_roberta", "mpnet", "distilbert", "electra", "deberta",
    "deberta_v2", "modernbert", "albert", "camembert", "t5", "mt5", "umt5", "qwen2", "qwen3",
    "gemma", "gemma3", "gemma3n",
    # imported by sentence-transformers / transformers themselves (seen at run time)
    "align", "blenderbot", "blenderbot_small", "encoder_decoder", "longt5", "m2m_100", "marian",
    "moonshine", "paligemma", "pegasus", "pegasus_x", "prophetnet", "switch_transformers",
    "t5gemma", "t5gemma2", "timm_wrapper", "udop", "whisper",
})


def transformers_model_excludes(models_dir: Path) -> list[str]:
    return sorted(f"transformers.models.{p.name}" for p in models_dir.iterdir()
                  if p.is_dir() and not p.name.startswith("_") and p.name not in TRANSFORMERS_MODELS_KEEP)


# --- modules nobody imports at run time ---------------------------------------------
EXCLUDES = [
    "tkinter", "_tkinter", "turtle", "idlelib", "pydoc_data", "lib2to3",
    "pytest", "_pytest", "pytestqt", "IPython", "jupyter", "notebook", "matplotlib", "pandas",
    "llama_cpp.server", "fastapi", "uvicorn", "starlette", "sse_starlette", "starlette_context",
    "chromadb.server", "chromadb.cli", "chromadb.test", "chromadb.app",
    "torch.utils.tensorboard", "tensorboard", "torchvision", "torchaudio", "triton",
    "nvidia", "cupy", "tensorflow", "jax", "flax", "keras",
    "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets", "PySide6.QtWebEngineQuick",
    "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets", "PySide6.QtQuickControls2",
    "PySide6.Qt3DCore", "PySide6.QtMultimedia", "PySide6.QtDesigner", "PySide6.QtUiTools",
    "PySide6.QtNetwork", "PySide6.QtSql", "PySide6.QtTest", "PySide6.QtHelp",
    "fpdf", "docs_factory", "fontTools",
    # async HTTP stacks and hf_xet's Rust downloader: pulled in by optional imports of hub and
    # server code; Docent's one download uses httpx (app/models/download.py)
    "uvloop", "aiohttp", "yarl", "multidict", "frozenlist", "aiosignal", "propcache", "hf_xet",
    "websockets", "watchfiles", "httptools",
]

# --- files that must never be in the bundle (checked again on the built one) --------
FORBIDDEN = (
    "*libcuda*", "*libcudnn*", "*libcublas*", "*libnccl*", "*libcufft*", "*libcusparse*",
    "*libnvrtc*", "*libnvJitLink*", "nvidia/*", "*QtWebEngine*", "*Qt6WebEngine*",
    "*Qt6*Quick*", "*Qt6*Qml*", "*QtQuick*", "*QtQml*", "*pyside6qml*", "*/qml/*", "*libtorch_cuda*",
    # onnxruntime is bundled since OCR (ingest/loaders/ocr_engine.py) runs on it; its GPU
    # providers are not
    "*onnxruntime_providers_cuda*", "*onnxruntime_providers_tensorrt*",
)

# Files PyInstaller's own hooks collect that Docent does not use.
_DROP = (
    # torch: test libraries, executables, headers, CMake files, the Python-free AOT runtime bits
    "torch/bin/*Test", "torch/bin/test_*", "torch/bin/protoc*", "torch/bin/*.pt*", "torch/include/*", "torch/share/*",
    "torch/lib/*test*.so", "torch/lib/*.a",
    "torch/lib/libaoti_custom_ops*", "torch/lib/libbackend_with_compiler*",
    "torch/testing/_internal/data/*", "torch/test/*",  # torch/test: 83 MB of C++ test binaries
    # (a comment, so not dropped today:) "*.pyi", "*.h", "*.hpp", "*.cuh", "*.cpp", "*.cmake",
    # Qt: translations (the app's text is English), QML, unused plugin types
    "PySide6/Qt/translations/*", "PySide6/Qt/qml/*", "PySide6/Qt/resources/qtwebengine*",
    "PySide6/Qt/metatypes/*", "PySide6/Qt/include/*", "PySide6/include/*", "PySide6/typesystems/*",
    "PySide6/glue/*", "PySide6/doc/*", "PySide6/Qt/libexec/*",
    "PySide6/Qt/lib/libQt6Wayland*", "PySide6/Qt/lib/libQt6EglFS*", "PySide6/Qt/lib/libQt6EglFs*",
    "PySide6/Qt/plugins/qmltooling/*", "PySide6/Qt/plugins/sqldrivers/*",
    "PySide6/Qt/plugins/tls/*", "PySide6/Qt/plugins/networkinformation/*",
    "PySide6/Qt/plugins/wayland-*", "PySide6/Qt/plugins/egldeviceintegrations/*",
    "PySide6/Qt/plugins/generic/*", "PySide6/Qt/plugins/designer/*",
    "PySide6/Qt/plugins/vectorimageformats/*", "PySide6/Qt/plugins/printsupport/*",
    "PySide6/Qt/plugins/multimedia/*", "PySide6/Qt/plugins/position/*",
    "PySide6/Qt/plugins/scenegraph/*", "PySide6/Qt/plugins/renderers/*",
    # test suites shipped inside libraries (torch.testing._internal is imported at run time)
    "*/tests/*",
)

# Qt plugins kept, by type (anything of these types not listed is dropped).
QT_PLUGINS_KEEP = {
    "platforms": ("*qxcb*", "*qoffscreen*", "*qminimal.*", "*qcocoa*", "*qwindows*"),
    "imageformats": ("*qsvg*", "*qico*", "*qjpeg*", "*qgif*", "*qicns*"),
    "platformthemes": ("*xdgdesktopportal*",),
    "platforminputcontexts": ("*compose*", "*ibus*"),
    "iconengines": ("*qsvgicon*",),
    "xcbglintegrations": ("*",),
    "styles": ("*",),
}


def drop_reason(dest: str) -> str | None:
    """Why a bundle-relative path stays out of the bundle, or None to keep it."""
    dest = dest.replace("\\", "/")
    for pattern in FORBIDDEN:
        if fnmatch.fnmatch(dest, pattern):
            return f"forbidden ({pattern})"
    for pattern in _DROP:
        if fnmatch.fnmatch(dest, pattern):
            return f"unused ({pattern})"
    m = re.match(r"PySide6/Qt/plugins/([^/]+)/([^/]+)$", dest)
    if m and m.group(1) in QT_PLUGINS_KEEP:
        if not any(fnmatch.fnmatch(m.group(2), p) for p in QT_PLUGINS_KEEP[m.group(1)]):
            return f"unused Qt plugin ({m.group(1)})"
    return None


def is_forbidden(dest: str) -> bool:
    dest = dest.replace("\\", "/")
    return any(fnmatch.fnmatch(dest, p) for p in FORBIDDEN)


def filter_toc(toc: list[tuple], dropped: list[str] | None = None) -> list[tuple]:
    """Keep a PyInstaller TOC's (dest, src, kind) entries that drop_reason() lets through."""
    kept = []
    for entry in toc:
        reason = drop_reason(entry[0])
        if reason is None:
            kept.append(entry)
        elif dropped is not None:
            dropped.append(f"{entry[0]}: {reason}")
    return kept


def filter_pure(toc: list[tuple]) -> list[tuple]:
    """Drop libraries' own test suites (x.tests.test_y) from the Python modules (PYZ) too."""
    return [e for e in toc if not re.search(r"\.tests\.(test_|conftest|_)", e[0])]


def _is_python_extension(name: str) -> bool:
    return ".cpython-" in name or ".abi3." in name or name.endswith(".pyd")


def prune_orphans(binaries: list[tuple], needed_by: Callable[[str], set[str]],
                  pruned: list[str] | None = None) -> list[tuple]:
    """Drop top-level system libraries that no kept binary links against any more.

    PyInstaller resolves dependencies before the spec filters: a dropped Qt plugin (the
    GTK theme) leaves its GTK, cairo and pango libraries behind. Python extensions and
    libpython are imported or loaded by name, never NEEDED, so they always stay.
    """
    def orphanable(entry: tuple) -> bool:
        dest = entry[0].replace("\\", "/")
        name = PurePosixPath(dest).name
        return "/" not in dest and not _is_python_extension(name) and not name.startswith(("libpython", "python"))

    needed = {entry[0]: needed_by(entry[1]) for entry in binaries}
    kept = list(binaries)
    while True:
        wanted = set().union(*(needed[e[0]] for e in kept)) if kept else set()
        orphans = [e for e in kept if orphanable(e) and PurePosixPath(e[0]).name not in wanted]
        if not orphans:
            return kept
        if pruned is not None:
            pruned.extend(f"{e[0]}: linked by nothing kept" for e in orphans)
        kept = [e for e in kept if e not in orphans]


def package_dir(name: str) -> Path | None:
    """Where an installed package lives, without importing it (model wheels are data)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def tree(src: Path, dest: str) -> list[tuple[str, str]]:
    """(src file, dest folder) pairs for every file under src, for Analysis(datas=...)."""
    out = []
    for p in sorted(src.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            out.append((str(p), str(PurePosixPath(dest) / p.parent.relative_to(src).as_posix())))
    return out


def is_windows() -> bool:
    return sys.platform == "win32"
