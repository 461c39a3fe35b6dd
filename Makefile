# Two commands for a fresh machine with Python 3.11+ and make:
#   make demo   - local venv, install, process the bundled sample ledger
#   make test   - local venv, install with test extras, run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench addin clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	# Bytecode once, as pip writes it for an installed wheel: an editable install leaves
	# it to Python, which never writes it where PYTHONDONTWRITEBYTECODE is set.
	$(BIN)/python -m compileall -q processor addin > /dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/receivables demo -o demo-output

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

addin: $(STAMP)
	$(BIN)/receivables addin build -o dist

bench: $(STAMP)
	$(BIN)/python bench/bench_process.py

clean:
	rm -rf $(VENV) demo-output dist build *.egg-info
