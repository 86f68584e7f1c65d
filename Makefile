# Two commands for a newcomer: `make run` and `make test`. Both build the environment first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup run test bench lint screenshots clean

# The first install builds llama-cpp-python from source (3-11 minutes on 2 cores); pip caches
# the wheel, so later installs on the same machine take seconds. A portable x86-64-v3 build:
# -march=native on a CPU reporting AMX compiles llama.cpp's AMX kernels, which crashed in
# ggml_backend_amx_mul_mat here (a VM without AMX state enabled); the multimodal library
# (LLAVA) is never used and costs a fifth of the build.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAVA_BUILD=OFF

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Installing Loco and its dependencies into $(VENV) (first time: builds llama.cpp, several minutes)..."
	@CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/python -m pip install --quiet --progress-bar off -e '.[dev,embedded,web]'
	@touch $@

setup: $(STAMP)

run: setup
	$(BIN)/loco $(ARGS)

lint: setup
	$(BIN)/ruff check loco_tui tests bench scripts
	$(BIN)/mypy loco_tui
	$(BIN)/lint-imports

test: setup lint
	$(BIN)/python -m pytest

bench: setup
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# SVGs of the real workbench driven against the fake Ollama server (shown in README.md).
screenshots: setup
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
