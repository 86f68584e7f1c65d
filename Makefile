# Two commands for a newcomer: `make run` and `make test`. Both build the environment first.
#
# `make run` installs the base dependencies (seconds: no llama.cpp), starts the embedded
# engine's build in a background process when it is not installed yet, and opens the
# workbench at once: the sidebar shows the build's progress, and the embedded model answers
# as soon as it is built (no restart). `make test` needs the engine: it builds it in the
# foreground (or waits for the background build already running).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check
BASE   := $(VENV)/.base-stamp
DEV    := $(VENV)/.dev-stamp

# llama-cpp-python builds llama.cpp from source (no portable prebuilt wheel exists). What
# each flag does, and why it is safe for Loco's CPU build:
# - GGML_NATIVE=OFF with AVX, AVX2, FMA, F16C, BMI2 ON: a portable x86-64-v3 build (every
#   x86-64 CPU since 2013-2015) instead of -march=native. On a CPU reporting AMX, native
#   compiles llama.cpp's AMX kernels, which crashed in ggml_backend_amx_mul_mat here (a VM
#   that reports AMX without enabling it); AVX2 kernels are what SmolLM2 runs on anyway.
# - LLAVA_BUILD=OFF: the multimodal library (mtmd) is never loaded by Loco: 53 fewer
#   compile steps (193 -> 140).
# - LLAMA_OPENSSL=OFF: llama.cpp's own model downloader is never used (Loco ships its GGUF);
#   the build no longer depends on whether OpenSSL's headers happen to be installed.
# llama.cpp's tests, examples, tools and server are already off: they default to ON only
# when llama.cpp is built on its own, not inside llama-cpp-python. loco_tui/engine_build.py
# also skips llama.cpp's `common` library, which the Python package never loads (its
# CMakeLists forces it on, so no -D flag can). Built wheels are kept per set of flags in
# pip's cache (pip's own wheel cache, keyed by version only, would reuse any old build).
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAVA_BUILD=OFF -DLLAMA_OPENSSL=OFF
ENGINE_ENV := CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc 2>/dev/null || echo 2)

# $(call step,WHAT,COMMAND): one line saying what a setup step does and how long it took;
# COMMAND's own output (pip is quiet unless something is wrong) follows, indented.
define step
	@printf '• %s ... ' '$(1)'; s=$$(date +%s.%N); out=$$($(2) 2>&1); rc=$$?; \
	  t=$$(awk -v s="$$s" -v e="$$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'); \
	  if [ $$rc -eq 0 ]; then echo "done in $$t s"; else echo "FAILED after $$t s"; fi; \
	  [ -z "$$out" ] || printf '%s\n' "$$out" | sed 's/^/    /'; exit $$rc
endef

.PHONY: setup run test engine engine-background bench lint screenshots clean

$(BIN)/python:
	$(call step,Creating the virtual environment $(VENV),$(PYTHON) -m venv $(VENV))

$(BASE): pyproject.toml | $(BIN)/python
	$(call step,Installing Loco and its base dependencies (textual$(,) pydantic$(,) httpx ...; not llama.cpp),$(PIP) install --quiet --progress-bar off -e .)
	@touch $@

$(DEV): $(BASE)
	$(call step,Installing the test and lint tools (pytest$(,) ruff$(,) mypy ...),$(PIP) install --quiet --progress-bar off -e '.[dev$(,)web]')
	@touch $@

# Starts llama.cpp's build in a detached, niced process, or attaches to the one running;
# says so and returns at once. Nothing to do when the engine is installed.
engine-background: $(BASE)
	$(call step,Embedded engine (llama.cpp),$(ENGINE_ENV) $(BIN)/python -m loco_tui.engine_build start)

# The same build in the foreground, with its progress (waits for a background one).
engine: $(BASE)
	@echo "• Embedded engine (llama.cpp): building if needed, in the foreground ..."
	@s=$$(date +%s.%N); $(ENGINE_ENV) $(BIN)/python -m loco_tui.engine_build start --wait; \
	  rc=$$?; awk -v s="$$s" -v e="$$(date +%s.%N)" 'BEGIN { printf "  (%.1f s)\n", e - s }'; \
	  exit $$rc

setup: $(DEV) engine

run: $(BASE) engine-background
	$(BIN)/loco $(ARGS)

lint: $(DEV)
	$(BIN)/ruff check loco_tui tests bench scripts
	$(BIN)/mypy loco_tui
	$(BIN)/lint-imports

test: $(DEV) engine lint
	$(BIN)/python -m pytest

bench: setup
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# SVGs of the real workbench driven against the fake Ollama server (shown in README.md).
screenshots: setup
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

# A comma inside $(call ...) arguments.
, := ,
