# Skein: `make run` serves the demo, `make test` runs the whole suite. Both set everything up.
# `make screenshots` rewrites the README's pictures in docs/ (the tests never write there).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= config.settings.local

.PHONY: run test test-deps screenshots setup venv migrate demo worker lint typecheck bench-help clean

$(VENV)/.installed: requirements.txt requirements-test.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed

setup: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0

demo: setup
	$(PY) manage.py seed_demo --url http://$(HOST):$(PORT)/

run: demo
	@echo "Starting the Celery worker and the web server on http://$(HOST):$(PORT)/"
	@$(PY) -m celery -A config worker --beat --loglevel=INFO --concurrency=2 \
		--schedule=var/celerybeat-schedule >var/worker.log 2>&1 & \
	WORKER=$$!; trap 'kill $$WORKER 2>/dev/null; wait $$WORKER 2>/dev/null' EXIT INT TERM; \
	echo "Celery worker pid $$WORKER (log: var/worker.log)"; \
	$(PY) manage.py runserver --noreload $(HOST):$(PORT)

worker: setup
	$(PY) -m celery -A config worker --beat --loglevel=INFO --schedule=var/celerybeat-schedule

# Chromium for the browser tests: installed as root on Debian, else what to install is
# printed and the target fails.
test-deps:
	@sh scripts/test-deps.sh

test: venv test-deps
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) -m pytest -q

# The quick loop: everything but the browser, live-worker and slow tests (markers in
# pyproject.toml), under two minutes on SQLite. More pytest options in ARGS, e.g.
# `make test-fast ARGS=--lf` (only what failed last time) or ARGS=tests/quality.
.PHONY: test-fast
test-fast: venv
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) -m pytest -q \
		-m "not browser and not worker and not slow" $(ARGS)

screenshots: venv test-deps
	$(PY) scripts/screenshots.py

# Everything CI checks before the tests: ruff's rules, the formatting, the import contracts
# and mypy (all configured in pyproject.toml); each names the rule a change broke.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

# mypy over the app code, configured in pyproject.toml ([tool.mypy]); cache in .mypy_cache.
typecheck: venv
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) var staticfiles
