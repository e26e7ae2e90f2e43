# stbridge — the two commands on a fresh machine are `make demo` and `make test`.
# Both create .venv, pip install the package with its dev extras, and run `npm ci`.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.stbridge-installed
NPM_STAMP := node_modules/.stbridge-installed
export STBRIDGE_HYPOTHESIS_PROFILE ?= ci
# Tests run in one worker per core (pytest-xdist), a whole file per worker (--dist loadfile) so
# module-scoped chains are built once; PYTEST_WORKERS=0 runs them in this process.
PYTEST_WORKERS ?= auto
PYTEST_FLAGS ?= -q -p no:cacheprovider --timeout=900 -n $(PYTEST_WORKERS) --dist loadfile

.PHONY: setup test test-thorough check demo devnet devnet-down schemas contracts abis bench clean help model

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

$(PY_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(PY_STAMP) $(NPM_STAMP) ## create .venv, install the package (+dev), npm ci

test: setup ## run the suite (hypothesis profile: ci; tests marked `thorough` are left to test-thorough)
	$(PY) -m pytest $(PYTEST_FLAGS) -m 'not thorough'

test-thorough: setup ## every test, with the deep hypothesis profile
	STBRIDGE_HYPOTHESIS_PROFILE=thorough $(PY) -m pytest $(PYTEST_FLAGS) --timeout=0

check: setup ## format, lint, mypy --strict, import contract, drift of schemas/ABIs/artifacts/TEAL
	$(BIN)/ruff format --check bridge adapters relayer tests
	$(BIN)/ruff check bridge adapters relayer tests
	$(BIN)/mypy --strict bridge adapters relayer
	$(PY) -m pytest -q -p no:cacheprovider tests/unit/test_import_contract.py
	$(BIN)/stbridge schema export --check
	$(PY) -m adapters.evm.abi_gen --check
	$(PY) -m adapters.evm.contracts.build --check
	$(PY) -m adapters.algorand.teal.build --check
	$(PY) -m adapters.algorand.htlc_build --check
	$(PY) -m bridge.protocol_model --check
	$(PY) -m relayer.orders --check

demo: setup ## the main job on the embedded chains
	$(BIN)/stbridge demo

devnet: setup ## anvil + an Algorand ledger + a deployed world in ./devnet (see the README)
	$(BIN)/stbridge devnet up

devnet-down: ## stop the devnet started by `make devnet`
	$(BIN)/stbridge devnet down

schemas: setup ## regenerate specs/schemas from the models
	$(BIN)/stbridge schema export

contracts: setup ## rebuild our Solidity artifacts with the pinned solc
	$(PY) -m adapters.evm.contracts.build

model: setup ## model-check the swap protocol with spin (specs/protocol; needs spin and gcc)
	$(PY) -m bridge.protocol_model verify

# The default set, each printing its conditions; figures go to $(BENCH_OUT). The replicas run
# needs PostgreSQL (STBRIDGE_TEST_PG, as the tests); without it it says so and is left out.
BENCH_OUT ?= bench-out
bench: setup ## measure: HTLC gas vs Boltz, compliance/s, relayer swaps/min (+replicas), holder reads
	@mkdir -p $(BENCH_OUT)
	$(BIN)/stbridge bench gas --target cancun --target prague
	$(BIN)/stbridge bench compliance
	$(BIN)/stbridge bench relayer --chains anvil --swaps 1,10,100 --plot $(BENCH_OUT)/relayer-anvil.png
	$(BIN)/stbridge bench relayer --swaps 3
	@if [ -n "$$STBRIDGE_TEST_PG" ]; then \
	  $(BIN)/stbridge bench relayer --chains anvil --swaps 100 --replicas 1,2,4 --plot $(BENCH_OUT)/relayer-replicas.png; \
	else echo "bench relayer --replicas: left out, STBRIDGE_TEST_PG (a PostgreSQL DSN) is not set"; fi
	$(BIN)/stbridge bench holders --size 10000 --plot $(BENCH_OUT)/holders.png

clean: ## remove the venv, node_modules and caches
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis $(BENCH_OUT)
