# Two commands do all set-up on a fresh machine (Python 3.10+, nothing else installed):
#   make demo   venv + install, then the four architectures on the built-in adding problem
#   make test   venv + install, then the test suite
PYTHON ?= python3
VENV ?= .venv
# The CPU build: a bare `pip install torch` pulls gigabytes of CUDA packages on Linux.
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin

# every target names a command, not a file
.PHONY: compare-scans docs docs-serve standing repro-selective-copy repro-minrnn repro-parity repro-mqar tables docs-checks published demo gradients horizon horizon-fair imdb imdb-fair tasks copy-tcn test test-slow test-with-plugin lessons bench compare kernels bench-prepare lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev,docs,ray,tensorboard,mlflow]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/rnnbench run --arch rnn gru lstm bilstm --task adding --seeds 0 --out results/demo

# The vanishing gradient on the adding problem at T=100 (3 seeds); docs/results/gradients.md
gradients: $(VENV)/.installed
	$(BIN)/rnnbench run --arch rnn gru lstm bilstm --task adding --set T=100 --out results/published/gradients --jobs 2

# The longest T each architecture solves on the adding problem (3 seeds per T, hidden 64, lr 2e-3)
horizon: $(VENV)/.installed
	$(BIN)/rnnbench horizon --arch rnn gru lstm bilstm --task adding --T 10 20 50 100 200 \
		--out results/horizon --jobs 2

# The memory horizon at equal encoder parameters (20,000): lr tuned per architecture on seeds
# 0-4, each selection confirmed on fresh seeds 5-9 (about 5 hours on 2 CPU cores; resumes).
horizon-fair: $(VENV)/.installed
	$(BIN)/rnnbench horizon --arch rnn gru lstm bilstm --task adding --T 10 20 50 100 200 \
		--match params=20000 --tune lr=5e-4,1e-3,2e-3,4e-3,8e-3,1.6e-2 --seeds 0 1 2 3 4 --confirm-seeds 5 6 7 8 9 \
		--out results/published/horizon-fair --jobs 2

# IMDB at equal encoder parameters (400,000), two seeds (hours on 2 CPU cores; resumes)
imdb-fair: $(VENV)/.installed
	$(BIN)/rnnbench sweep examples/imdb_fair.toml --out results/published/imdb-fair

# The built-ins' records of `rnnbench standing`'s quick suite (examples/standing/quick.toml)
standing: $(VENV)/.installed
	$(BIN)/rnnbench sweep examples/standing/quick.toml --out results/published/standing-quick --jobs 2

# Reproductions of the modern recurrences' papers at CPU scale (examples/reproductions/)
repro-selective-copy: $(VENV)/.installed
	$(BIN)/rnnbench sweep examples/reproductions/selective_copy_mamba.toml --out results/published/repro-selective-copy --jobs 2

repro-minrnn: $(VENV)/.installed
	$(BIN)/rnnbench sweep examples/reproductions/selective_copy_minrnn.toml --out results/published/repro-minrnn --jobs 2

repro-parity: $(VENV)/.installed
	$(BIN)/rnnbench sweep examples/reproductions/parity_xlstm.toml --out results/published/repro-parity --jobs 2

repro-mqar: $(VENV)/.installed
	$(BIN)/rnnbench sweep examples/reproductions/mqar_state.toml --out results/published/repro-mqar --jobs 2

# docs/results/tasks.md: the tables of copy, selective copy, MQAR, MNIST-1D and Fashion-MNIST (rows), 3 seeds
tasks: $(VENV)/.installed
	$(BIN)/rnnbench sweep examples/tasks.toml --out results/published/tasks

# Copy memory at TCN's T = 1000, one seed per architecture
copy-tcn: $(VENV)/.installed
	$(BIN)/rnnbench sweep examples/copy_tcn.toml --out results/published/copy-tcn

# IMDB: needs the archive (rnnbench data imdb, or RNNBENCH_DATA=path/to/aclImdb_v1.tar.gz)
imdb: $(VENV)/.installed
	$(BIN)/rnnbench run --arch rnn gru lstm bilstm --task imdb --seeds 0 1 --out results/imdb

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

# The minutes-long tests (marker `slow`: Ray clusters, calibration by simulation), which CI also runs
test-slow: $(VENV)/.installed
	$(BIN)/python -m pytest -q -m slow

# The tests parametrised over, or listing, the registered plugins (marker `registry`) again,
# with a third-party plugin installed (examples/indrnn, from its own folder on PYTHONPATH,
# as pip installs it): they cover it too, and an installed plugin must break none of them.
test-with-plugin: $(VENV)/.installed
	rm -rf build/plugin-site
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --target build/plugin-site examples/indrnn
	PYTHONPATH=build/plugin-site $(BIN)/python -m pytest -q -m "registry and not lessons"

# The course's lesson notebooks, executed top to bottom (examples/lessons)
lessons: $(VENV)/.installed
	$(BIN)/python -m pytest -q -m lessons tests/test_lessons.py

# Benchmarks: outside the default test run; JSON kept per run in .benchmarks/
bench: $(VENV)/.installed
	$(BIN)/python -m pytest tests/benchmarks --benchmark-enable --benchmark-autosave -o addopts=""

# Side by side: runner vs hand-written step, exact final state vs pack_padded / unmasked, FLOP/s
compare: $(VENV)/.installed
	$(BIN)/python -m tests.benchmarks.compare_paths --out results/compare_paths.csv

# The scans side by side (linear_scan, the chunked scan, the autograd loop), one process
compare-scans: $(VENV)/.installed
	$(BIN)/python -m tests.benchmarks.compare_scans --out results/compare_scans.csv

# Which oneDNN kernels torch's CPU LSTM runs, fp32 and bf16, and their times (the FLOP/s profile)
kernels: $(VENV)/.installed
	$(BIN)/python -m tests.benchmarks.lstm_kernels

bench-prepare: $(VENV)/.installed
	$(BIN)/python -m pytest tests/benchmarks/test_prepare_imdb.py --benchmark-enable --benchmark-autosave -o addopts=""

# The documentation site, into site/; strict: a broken link, page or anchor fails the build
docs: $(VENV)/.installed
	DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict --site-dir site

docs-serve: $(VENV)/.installed
	DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs serve

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# docs/plugins.md's table of the encoder checks, written from bench/checks.py
docs-checks: $(VENV)/.installed
	$(BIN)/python -c "import pathlib, re; from bench.checks import checks_markdown; \
	p = pathlib.Path('docs/plugins.md'); \
	p.write_text(re.sub(r'(<!-- checks:start -->\n).*?(\n<!-- checks:end -->)', \
	lambda m: m[1] + checks_markdown() + m[2], p.read_text(), flags=re.S))"

# The tables of the README and the docs, written again from results/published (a test checks them)
tables: $(VENV)/.installed
	$(BIN)/rnnbench tables README.md $$(find docs -name '*.md' | sort)

# The CSV tables committed beside the published records, written again from them
published: $(VENV)/.installed
	for cells in results/published/*/cells; do $(BIN)/rnnbench report $$(dirname $$cells) > /dev/null || exit 1; done

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache .ruff_cache
