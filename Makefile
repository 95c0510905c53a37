# Two commands: `make run` starts Tocsin on an embedded default; `make test` runs every check.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY_PACKAGES := config accounts incidents alerts ops oncall benchmarks scripts/run.py

.PHONY: run test lint typecheck pytest services install clean bench-pages bench-ingest bench-paging

$(BIN)/python:
	@python=$$(scripts/find-python) && echo "Creating $(VENV) with $$python" && "$$python" -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

run: install
	@scripts/run

services:
	@bash scripts/ensure-services

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy $(PY_PACKAGES)

pytest: install services
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# Page-load budget over 100,000 incidents in a fresh tocsin_bench database (BENCH_DATABASE_URL);
# BENCH_ARGS=--reuse measures again without reloading.
bench-pages: install services
	$(BIN)/python -m benchmarks.pages $(BENCH_ARGS)

# Alertmanager webhook budget against gunicorn with production settings, in a fresh
# tocsin_ingest database (BENCH_INGEST_DATABASE_URL); e.g. BENCH_ARGS="--clients 32".
bench-ingest: install services
	$(BIN)/python -m benchmarks.ingest $(BENCH_ARGS)

# Paging budgets under webhook load: gunicorn, a Celery worker, a pager and beat on PostgreSQL
# and Redis, in a fresh tocsin_paging database; e.g. BENCH_ARGS="--rate 50 --seconds 20".
bench-paging: install services
	$(BIN)/python -m benchmarks.paging $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .run .mypy_cache .pytest_cache .ruff_cache
