# Parley: `make run` starts everything, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint messages demo clean help

help:
	@echo "make run    install, migrate, load the demo and start Parley on http://$(HOST):$(PORT)/"
	@echo "make test   run the whole test suite (browser tests need /usr/bin/chromium)"
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
	$(BIN)/daphne -b $(HOST) -p $(PORT) config.asgi:application

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Re-extract and compile the translations (needs GNU gettext; the compiled .mo files are committed).
messages: $(VENV)/.installed-dev
	$(BIN)/python manage.py makemessages -l ru --ignore=.venv --ignore=staticfiles
	$(BIN)/python manage.py makemessages -d djangojs -l ru --ignore=.venv --ignore=staticfiles
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
