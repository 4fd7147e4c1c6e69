# Caseflow: `make run` starts the product with demo data, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
export CASEFLOW_DATABASE_URL ?= sqlite:///var/caseflow.sqlite3

.PHONY: run test install bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Caseflow needs Python 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(STAMP)

# The simulated history (six weeks back, a redesign half-way) goes first, so the versions it
# deploys are dated inside it; the demo then adds what is missing and prints the passwords.
run: $(STAMP)
	CASEFLOW_DEMO_MODE=true $(BIN)/caseflow migrate
	CASEFLOW_DEMO_MODE=true $(BIN)/caseflow simulate --cases 80 --days 42 --seed 1 --once
	CASEFLOW_DEMO_MODE=true $(BIN)/caseflow demo
	CASEFLOW_DEMO_MODE=true CASEFLOW_LOG_FORMAT=plain $(BIN)/caseflow serve --host 127.0.0.1 --port 8000

# Two processes (one per core), whole files each: module fixtures stay shared within a file.
test: $(TEST_STAMP)
	$(BIN)/pytest -n auto --dist loadfile --durations=15

# bench/http.py drives `caseflow serve` with its own lean HTTP client (bench/loadgen.py; httpx, a
# test extra, only waits for the server): SQLite with one process, and PostgreSQL with two
# when CASEFLOW_BENCH_PG_URL names a database it may add a schema to.
bench: $(TEST_STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/deviations.py
	$(BIN)/python bench/worklist.py
	$(BIN)/python bench/insights.py
	$(BIN)/python bench/jobs.py
	$(BIN)/python bench/relay.py
	$(BIN)/python bench/signals.py
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/findwork.py
	$(BIN)/python bench/calendar_retime.py
	$(BIN)/python bench/http.py --sqlite --workers 1
	if [ -n "$$CASEFLOW_BENCH_PG_URL" ]; then $(BIN)/python bench/http.py --workers 2; fi

clean:
	rm -rf $(VENV) var .pytest_cache
