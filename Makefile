# Two entry points on a fresh machine (only Python 3.11+, pip and make needed):
#   make run   - run the main job on the default scenario
#   make test  - run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/winter-2023.yaml
# The whole national population (the scenario's 13.72 M teachers) is modelled; at most
# MAX_SIMULATED of them are simulated one by one, the rest stand in through a weighted
# stratified sample (docs/model.md). A laptop runs this in about half a minute.
MAX_SIMULATED ?= 20000
RESULTS ?= results/$(basename $(notdir $(SCENARIO)))

.PHONY: run test test-all lint typecheck bench clean mutation baseline

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test,native]"
	touch $@

# The model's hot modules compiled with mypyc (sim/native.py); optional: without a C compiler
# the model runs as plain Python, slower. Rebuilt whenever a model source changes.
$(VENV)/.native: $(VENV)/.installed $(wildcard sim/*.py sim/*/*.py domain/*.py)
	$(BIN)/yanxiu compile || echo "make: continuing with plain-Python model modules"
	touch $@

run: $(VENV)/.native
	$(BIN)/yanxiu run $(SCENARIO) --max-simulated $(MAX_SIMULATED) --out $(RESULTS)
	$(BIN)/yanxiu report $(RESULTS)

# The gate's baseline (docs/report-gate.md): the CI scenario with replications, so the gate can
# tell a regression from seed noise. Run again to refresh it.
baseline: $(VENV)/.native
	$(BIN)/yanxiu run scenarios/smoke.yaml --replications 5 --out results/baseline

# The README's test command: lint and type check first (both fast), then the tests.
test: lint typecheck $(VENV)/.native
	$(BIN)/python -m pytest

test-all: $(VENV)/.native
	$(BIN)/python -m pytest -m ""

# Mutation testing of one module against the tests that cover it (tools/mutation.toml), e.g.
#   make mutation MODULE=domain/campaign.py
# CPU-heavy (minutes per module): run one module at a time; not part of `make test`.
$(VENV)/.mutation: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[mutation]"
	touch $@

mutation: $(VENV)/.mutation
	@test -n "$(MODULE)" || { echo "make mutation: say which module, e.g. MODULE=domain/campaign.py" >&2; exit 2; }
	$(BIN)/python tools/mutation.py $(MODULE)

lint: $(VENV)/.installed
	$(BIN)/ruff check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

clean:
	rm -rf $(VENV) results/*/
