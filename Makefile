# Build, lint and test entry points. `make test` is what CI runs (via .ci/run).
PY ?= python3
VENV = .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed
DEV_STAMP = $(VENV)/.installed-dev

export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: venv install run lint test bench soak clean distclean

venv install: $(STAMP)

# Two stamps: what the engine needs (`make run`, `make install`), and the test and lint tools
# on top (`make test`, `make lint`, `make bench`, `make soak`), so running the engine never
# downloads the development toolchain. Re-install only when the project metadata changes; the
# stamps make re-runs instant. compat mode puts the repo root on sys.path, so top-level packages
# created after the install (domain/, projections/ ...) are importable without re-installing.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -e . --config-settings editable_mode=compat
	touch $@

$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install -e '.[dev]' --config-settings editable_mode=compat
	touch $@

# The API on http://127.0.0.1:8000 (embedded SQLite in ./data unless DATABASE_URL is set);
# the first start writes the demo organisation; every start prints demo tokens.
run: $(STAMP)
	$(BIN)/groundswell serve --demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy domain projections
	$(BIN)/lint-imports

# scripts/with-services starts PostgreSQL unless DATABASE_URL is already set.
# pytest's exit code 5 (no tests collected) is non-zero, so it fails the target as it should.
# The suite runs on TEST_WORKERS processes (pytest-xdist; most tests wait on a broker, a
# database or a browser); the tests marked serial (the soak restarts PostgreSQL) run after,
# alone. `make test TEST_WORKERS=0` runs everything in one process. The 30 slowest tests are
# listed at the end, to keep the suite within its ~15 minutes.
TEST_WORKERS ?= 2
test: $(DEV_STAMP) lint
	scripts/with-services sh -c '$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal -m "not serial" --durations=30 $(PYTEST_ARGS) && $(BIN)/pytest -m serial $(PYTEST_ARGS)'

# Every benchmark in turn, one table (also bench/results/suite.json); not part of `make test`.
# `make bench BENCH_ARGS=--quick` is a smoke run with small sizes.
bench: $(DEV_STAMP)
	scripts/with-services $(BIN)/python -m bench.suite $(BENCH_ARGS)

# The fault soak: 5 minutes of HTTP load while processes are killed, the broker stops for 20 s
# and PostgreSQL restarts; exit 1 unless 0 lost and 0 double-counted. Its broker has a state
# dir of its own (the soak stops it); the PostgreSQL restart needs SOAK_PG_CLUSTER (default
# 15/main) or SOAK_PG_RESTART to match DATABASE_URL, else it is skipped and says so.
soak: $(DEV_STAMP)
	KAFKA_LOCAL_STATE_DIR=$${KAFKA_LOCAL_STATE_DIR:-$${TMPDIR:-/tmp}/groundswell-soak-kafka} \
		scripts/with-services $(BIN)/python -m bench.soak --seconds $${SOAK_SECONDS:-300}

clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
