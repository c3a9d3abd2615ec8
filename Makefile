# Two entry points on a fresh machine (only Python 3.11+, pip and make needed):
#   make run   - run the main job on the default scenario
#   make test  - run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/winter-2023.yaml
TEACHERS ?= 20000
RESULTS ?= results/$(basename $(notdir $(SCENARIO)))

.PHONY: run test test-all lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

run: $(VENV)/.installed
	$(BIN)/yanxiu run $(SCENARIO) --teachers $(TEACHERS) --out $(RESULTS)
	$(BIN)/yanxiu report $(RESULTS)

test: $(VENV)/.installed
	$(BIN)/python -m pytest

test-all: $(VENV)/.installed
	$(BIN)/python -m pytest -m ""

lint: $(VENV)/.installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) results/*/
