# Chaperone — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOME_DEMO ?= .chaperone

.PHONY: install demo test lint typecheck pytest pytest-postgres clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: install
	$(BIN)/chaperone --home $(HOME_DEMO) demo

lint: install
	$(BIN)/ruff check src tests bench

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest -q

# The store and directory tests again, on a real PostgreSQL server started for the run.
pytest-postgres: install
	scripts/with-postgres $(BIN)/pytest -q -m store

test: lint typecheck pytest pytest-postgres

.PHONY: bench-ingest
bench-ingest: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/ingest_bench.py

clean:
	rm -rf $(VENV) .chaperone .pytest_cache .mypy_cache .ruff_cache
