# One command for each job; each installs what it needs first (into .venv).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install report test lint lab notebooks bench clean conformance docs screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name usage-lib --display-name usage-lib >/dev/null
	touch $(STAMP)

install: $(STAMP)

## The main job: the monthly report pack on the configured database, or the embedded demo one.
report: $(STAMP)
	$(BIN)/usage-report run

## The whole suite: lint, types, unit, integration and notebook (nbval) tests, two files at a
## time; files sharing a costly fixture go to one worker and the longest go first (conftest.py's
## GROUPS and FIRST). About 23 minutes on 2 cores, 20 of them pytest (over the 15 we aim for);
## the demo database is shared by both workers.
test: lint docs
	env -u USAGE_MONGODB_URI -u USAGE_CONFIG $(BIN)/python -m pytest -n 2 --dist loadfile

## MongoDB's semantics the billing rule stands on (tests/conformance, docs/conformance.md) and the
## stored-forms property tests, on the server USAGE_TEST_MONGODB_URI names, else the embedded one:
##   USAGE_TEST_MONGODB_URI=mongodb://... make conformance
## A disposable server only: it creates and drops databases (conformance_*, shapes_*).
conformance: $(STAMP)
	@$(BIN)/python tests/conformance/which_server.py
	env -u USAGE_MONGODB_URI -u USAGE_CONFIG $(BIN)/python -m pytest -p no:cacheprovider -o addopts="-ra" tests/conformance tests/core/test_stored_shapes.py

## The benchmark (prints figures; about 45 minutes here): the deep shape at 50k, 150k and 500k
## conversations, the wide one at 2,000 and 4,000 tenants. It lives in benchmarks/, outside the wheel.
bench: $(STAMP)
	$(BIN)/python -m benchmarks --out reports/bench.json

## JupyterLab on the configured database (or the demo one), with the project's kernel.
lab: $(STAMP)
	$(BIN)/usage-report lab

## Re-execute the committed notebooks on the demo data (their outputs are what nbval checks);
## the explorer's presets count back from the day tests pin (conftest.py's AS_OF).
notebooks: $(STAMP)
	for nb in notebooks/[0-9]_*.ipynb notebooks/explore.ipynb; do \
	  env -u USAGE_MONGODB_URI -u USAGE_CONFIG USAGE_AS_OF=2026-11-20 $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.kernel_name=usage-lib --ExecutePreprocessor.record_timing=False \
	    --ExecutePreprocessor.store_widget_state=False "$$nb" || exit 1; \
	  $(BIN)/python tools/make_notebooks.py --strip-timing "$$nb"; \
	done

## ruff, mypy, and the import contracts (the layers of pyproject.toml's [tool.importlinter]).
lint: $(STAMP)
	$(BIN)/ruff check usage_lib benchmarks tests tools conftest.py && $(BIN)/ruff format --check usage_lib benchmarks tests tools conftest.py && $(BIN)/mypy && $(BIN)/lint-imports

## The documentation site (mkdocs.yml, docs/): a broken link, anchor or page left out of the nav fails.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir build/site

## The pictures of the README and the docs (docs/images/), from the demo data of Oct 2026.
screenshots: $(STAMP)
	$(BIN)/python tools/screenshots.py

clean:
	rm -rf $(VENV) .demo-db .pytest_cache .mypy_cache .ruff_cache
