# Quick start: `make demo` (app on the bundled sample data) and `make test` (lint + whole test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
STAMP := $(VENV)/.installed-dev
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: demo test test-lowest lint bench docs venv install install-dev sample clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install-dev: $(STAMP)

demo: install
	@echo "cx_framework app on the bundled sample data: http://localhost:$(PORT)"
	$(BIN)/cx app --port $(PORT)

lint: install-dev
	$(BIN)/ruff check cx_framework apps tests benchmarks
	$(BIN)/ruff format --check cx_framework apps tests benchmarks
	$(BIN)/mypy cx_framework

test: lint
	$(BIN)/pytest -n 2 --dist loadfile -q -p no:cacheprovider

# the suite at the lowest direct dependency versions pyproject.toml declares (separate venv .venv-lowest; CI runs it)
test-lowest:
	PYTHON=$(PYTHON) bash .ci/lowest.sh

# the documentation site, offline; warnings are errors and every how-to is executed (a failing example fails the build)
$(DOCS_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,docs]"
	touch $(DOCS_STAMP)

# mkdocs-jupyter caches executed notebooks by their own text only: clear it, so a library change re-runs every how-to
docs: $(DOCS_STAMP)
	rm -rf .cache/mkdocs-jupyter
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

bench: install-dev
	$(BIN)/pip install --quiet pyworkforce || echo "pyworkforce unavailable: staffing bench compares with the loop baseline only"
	$(BIN)/python -m benchmarks.bench_staffing
	$(BIN)/python -m benchmarks.bench_scorecard
	$(BIN)/python -m benchmarks.bench_incentives
	$(BIN)/python -m benchmarks.bench_retention

sample: install
	$(BIN)/cx generate data/sample --customers 12000 --seed 0

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache site
