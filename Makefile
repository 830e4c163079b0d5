# The two commands: `make run` and `make test`. Everything they need is installed here.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench db fonts venv venv-dev clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

venv: $(VENV)/.runtime
venv-dev: $(VENV)/.dev

# Locate mongod, or build FerretDB once into ~/.cache/kjcj (reused by later runs).
db: venv
	$(BIN)/python -m server.localdb

# The CJK font transfer-sheet PDFs embed: fetched once into ~/.cache/kjcj/fonts without root
# (apt-get download + dpkg-deb -x); only a warning when it cannot be fetched.
fonts: venv
	$(BIN)/python -m server.fonts

run: venv db fonts
	$(BIN)/python -m server

test: venv-dev db fonts
	$(BIN)/python -m pytest

# ruff (lint and format check) on the whole tree; mypy on server/ and faq/ (ruff.toml, mypy.ini).
lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: venv-dev db fonts
	$(BIN)/python bench/run_all.py

# Sample upload files for the README's curl walk-through (a passing ID photo and a document scan),
# drawn by Pillow into .data/demo/ (DEMO_DIR=... elsewhere).
DEMO_DIR ?= .data/demo
.PHONY: demo-files
demo-files: venv
	$(BIN)/python -m server.demo_files $(DEMO_DIR)

clean:
	rm -rf $(VENV) .data .pytest_cache
