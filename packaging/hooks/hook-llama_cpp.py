# llama_cpp loads its shared libraries with ctypes at import, from llama_cpp/lib or from
# $LLAMA_CPP_LIB_PATH. Without them the frozen app fails with "Shared library with base
# name 'llama' not found". A second, baseline (SSE2-only) build goes to llama_cpp/lib-baseline
# when DOCENT_LLAMA_BASELINE names its wheel or lib folder (see app/models/cpu_variant.py).
import os
from pathlib import Path

import docent_bundle as rules
from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs, copy_metadata

binaries = rules.llama_binaries(collect_dynamic_libs("llama_cpp", search_patterns=rules.LLAMA_LIB_PATTERNS))
# Metal shaders (macOS), when the build did not embed them into libggml-metal.
datas = collect_data_files("llama_cpp", includes=["lib/*.metal", "lib/*.metallib"])
datas += copy_metadata("llama_cpp_python")
excludedimports = ["llama_cpp.server"]

_baseline = os.environ.get("DOCENT_LLAMA_BASELINE")
if _baseline:
    _work = Path(os.environ.get("DOCENT_BUILD_DIR", "build")) / "llama-variants"
    binaries += rules.variant_binaries(Path(_baseline), _work, "llama_cpp/lib-baseline")
