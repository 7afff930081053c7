# One command for each job; each installs what it needs first (into .venv).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install report test lint lab bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The main job: the monthly report pack on the configured database, or the embedded demo one.
report: $(STAMP)
	$(BIN)/usage-report table

## The whole suite: lint, types, unit, integration and notebook (nbval) tests.
test: $(STAMP)
	$(BIN)/ruff check usage_lib tests
	$(BIN)/ruff format --check usage_lib tests
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check usage_lib tests && $(BIN)/ruff format --check usage_lib tests && $(BIN)/mypy

clean:
	rm -rf $(VENV) .demo-db .pytest_cache .mypy_cache .ruff_cache
