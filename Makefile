# Two commands matter on a fresh machine: `make demo` and `make test`. Both install first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests run in parallel, one database per pytest-xdist worker.
TEST_WORKERS ?= 4

.PHONY: install test test-cluster test-fast test-unit test-integration test-acceptance lint format demo bench clean db-up apt-deps

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,web]'
	@$(BIN)/pip install --quiet -e '.[drivers]' 2>/dev/null || echo "note: mysqlclient did not build (apt-get install libmariadb-dev pkg-config); its connection= test will be skipped"
	touch $(STAMP)

db-up:
	@sh scripts/ensure-mariadb.sh

# Chromium and its driver for the dashboard's browser tests (and the MariaDB headers):
# installed when missing and apt-get can; otherwise those tests say why they skip.
apt-deps:
	@sh scripts/ensure-apt-packages.sh || echo "note: could not install the Debian packages (not root?); browser tests will be skipped"

test: install db-up apt-deps
	$(BIN)/pytest -n $(TEST_WORKERS) --durations=10

# workcraft on a private 3-node MariaDB Galera cluster (tests/acceptance/test_cluster.py):
# the only tests marked `cluster`, which run only with --cluster. Installs galera-4 if absent.
test-cluster: install
	$(BIN)/pytest --cluster -m cluster -s

test-fast: install db-up
	$(BIN)/pytest -n $(TEST_WORKERS) -m "not slow"

# One layer of tests/ at a time: unit needs no database, acceptance starts real processes.
test-unit: install
	$(BIN)/pytest tests/unit

test-integration: install db-up
	$(BIN)/pytest -n $(TEST_WORKERS) tests/integration

test-acceptance: install db-up apt-deps
	$(BIN)/pytest -n $(TEST_WORKERS) tests/acceptance

lint: install
	$(BIN)/ruff check workcraft tests bench demo
	$(BIN)/ruff format --check workcraft tests bench demo
	$(BIN)/mypy

format: install
	$(BIN)/ruff format workcraft tests bench demo
	$(BIN)/ruff check --fix workcraft tests bench demo

demo: install
	$(BIN)/python -m demo.run

# 10 minutes of steady load under random faults (not part of `make test`);
# WORKCRAFT_SOAK_SECONDS=120 for a shorter run. Figures go to docs/reliability.md.
soak: install db-up
	$(BIN)/pytest tests/acceptance/test_soak.py --soak -s -q

# The benchmarks also need the peer libraries (the `bench` extra). BENCH_ARGS=--quick etc.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,web,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) db-up
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
