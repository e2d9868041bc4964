# polvo — every target runs from a fresh clone; `make install` then `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python

.PHONY: install venv generate test lint typecheck seed check bench clean

install: venv generate seed

venv: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

generate: venv
	$(PYTHON) -m generator

seed: generate
	$(PYTHON) examples/seed.py

test: generate
	$(PYTHON) -m pytest -q

lint: venv
	$(BIN)/ruff check src generator tests examples
	$(BIN)/ruff format --check src generator tests examples

typecheck: generate
	$(BIN)/mypy src/usepolvo generator
	$(BIN)/mypy generated/usepolvo/stripe

check: lint typecheck test

bench: generate
	$(PYTHON) scripts/bench_generate.py
	$(PYTHON) scripts/bench_limits.py

clean:
	rm -rf generated/usepolvo .cache .mypy_cache .pytest_cache
