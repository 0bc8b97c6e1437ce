# Reelqueue: `make run` starts the whole system on the embedded default; `make test` tests it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
PORT ?= 8000
HOST ?= 127.0.0.1
export PORT HOST

.PHONY: run test test-embedded test-services lint format bench clean help

help:
	@echo "make run    - set up (venv, deps, migrations, keys) and start on http://127.0.0.1:$(PORT)"
	@echo "make test   - set up and run every test (SQLite+embedded, then PostgreSQL+Redis)"
	@echo "make lint   - ruff"
	@echo "make bench  - benchmarks (needs local Redis and PostgreSQL)"

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m webapp.bootstrap
	$(FLASK) db upgrade
	$(PY) -m webapp.bootstrap --banner
	$(VENV)/bin/gunicorn -c gunicorn.conf.py wsgi:app

test: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(MAKE) --no-print-directory test-embedded
	$(MAKE) --no-print-directory test-services

test-embedded: $(VENV)/.dev-installed
	$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

test-services: $(VENV)/.dev-installed
	REELQUEUE_TEST_BACKEND=services $(PY) -m pytest -m "integration or api or worker" $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(VENV)/.dev-installed
	@command -v wrk >/dev/null 2>&1 || apt-get install -y -qq wrk >/dev/null 2>&1 || \
		echo "bench: wrk not installed; using the Python load generator"
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
