# Two commands do all set-up on a fresh machine (Python 3.10+, nothing else installed):
#   make demo   venv + install, then the four architectures on the built-in adding problem
#   make test   venv + install, then the test suite
PYTHON ?= python3
VENV ?= .venv
# The CPU build: a bare `pip install torch` pulls gigabytes of CUDA packages on Linux.
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: demo test lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/rnnbench run --arch rnn gru lstm bilstm --task adding --out results/demo

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
