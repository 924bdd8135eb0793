# Parley: `make run` starts everything, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# daphne buffers a whole WebSocket message before Parley sees it, and the same cap applies to what it
# sends: 1 MiB bounds what a client can make it hold while a full sync page still goes out (docs/security.md).
DAPHNE_LIMITS ?= --websocket-max-message-size 1048576 --websocket-max-frame-size 1048576

.PHONY: run test test-js lint messages demo clean help

help:
	@echo "make run    install, migrate, load the demo and start Parley on http://$(HOST):$(PORT)/"
	@echo "make test   run the whole test suite (browser tests need /usr/bin/chromium)"
	@echo "make test-js  the browser client's unit tests (node --test tests/js/; make test runs them)"
	@echo "make lint   ruff check"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $(VENV)/.installed-run $@

# A development .env: DEBUG on, a random secret key, the demo website on.
.env:
	$(BIN)/python -c "import secrets; print('DEBUG=true\nSECRET_KEY=' + secrets.token_urlsafe(50) + '\nPARLEY_DEMO=true')" > $@

run: $(VENV)/.installed-run .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py setup_demo --base-url http://$(HOST):$(PORT)/
	$(BIN)/daphne -b $(HOST) -p $(PORT) $(DAPHNE_LIMITS) config.asgi:application

# The suite runs in TEST_WORKERS processes (pytest-xdist), one file per worker at a time: one per core and
# one more, since much of a test's time is spent waiting for its servers and browser, at most 4 (each
# worker runs its own browser and test servers).
# TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= $(shell n=$$(( $$(nproc 2>/dev/null || echo 1) + 1 )); [ $$n -gt 4 ] && n=4; echo $$n)

test: $(VENV)/.installed-dev test-js
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The browser client's pure parts (static/parley/, static/workspace/state.js) under Debian's nodejs;
# PARLEY_REQUIRE_NODE=1 (CI) turns a missing node into a failure, not a skip.
test-js:
	@if command -v node >/dev/null 2>&1; then node --test tests/js/; \
	elif [ "$(PARLEY_REQUIRE_NODE)" = 1 ]; then echo "PARLEY_REQUIRE_NODE=1 but node is not installed (apt-get install nodejs)"; exit 1; \
	else echo "skipping the JavaScript unit tests (tests/js/): node is not installed (apt-get install nodejs)"; fi

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Re-extract and compile the translations (needs GNU gettext; the compiled .mo files are committed).
# The browser code has no strings of its own: the pages hand it their translated texts.
messages: $(VENV)/.installed-dev
	$(BIN)/python manage.py makemessages -l ru --ignore=.venv --ignore=staticfiles --ignore=node_modules --ignore=media --ignore=tests
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
