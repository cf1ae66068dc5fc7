# The README's two commands: `make demo` and `make test`. Both build the
# virtual environment first, so a fresh machine needs only Python 3.11, pip,
# git and make. The dev extra includes the orchestration extra (Dagster, for
# orchestration/dagster_endor and its tests): about 50 MB more in the venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install demo test lint typecheck unit clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) -m tests.demo

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: install
	$(PY) -m mypy

test: lint typecheck
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .meltano output .demo .pytest_cache .mypy_cache .ruff_cache
