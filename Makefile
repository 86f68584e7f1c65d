# Two commands for a newcomer: `make run` and `make test`. Both build the environment first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup run test bench lint clean

# The first install builds llama-cpp-python from source (5-11 minutes on 2 cores); pip caches
# the wheel, so later installs on the same machine take seconds.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Installing Loco and its dependencies into $(VENV) (first time: builds llama.cpp, several minutes)..."
	@CMAKE_BUILD_PARALLEL_LEVEL=2 $(BIN)/python -m pip install --quiet --progress-bar off -e '.[dev,embedded,web]'
	@touch $@

setup: $(STAMP)

run: setup
	$(BIN)/loco $(ARGS)

test: setup
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

bench: setup
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
