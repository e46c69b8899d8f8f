# Two commands for a person: `make run` (try it) and `make test` (the whole suite).
PY      := .venv/bin/python
PIP     := .venv/bin/pip
HOST    ?= 127.0.0.1
PORT    ?= 8000
PYTEST_ARGS ?=

.PHONY: run test venv deps dev-deps assets migrate demo worker serve browser lint clean

.venv/bin/python:
	python3 -m venv .venv
	$(PIP) install -q --upgrade pip

.venv/.deps: requirements.txt .venv/bin/python
	$(PIP) install -q -r requirements.txt
	touch $@

.venv/.dev-deps: requirements-dev.txt requirements.txt .venv/.deps
	$(PIP) install -q -r requirements-dev.txt
	touch $@

deps: .venv/.deps
dev-deps: .venv/.dev-deps

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

assets: node_modules/.installed
	npm run --silent build

migrate: deps
	$(PY) manage.py migrate --noinput -v 0

demo: migrate
	$(PY) manage.py setup_local --demo

# Browser for the e2e tests: Debian's chromium (never a downloaded browser build).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "The browser tests need Debian's chromium: sudo apt-get install -y chromium" >&2; exit 1; fi; }

run: deps assets demo
	@bash scripts/run.sh $(HOST) $(PORT)

test: dev-deps assets browser
	$(PY) -m pytest $(PYTEST_ARGS)

lint: dev-deps
	.venv/bin/ruff check .

clean:
	rm -rf var node_modules frontend/static/frontend/dist
