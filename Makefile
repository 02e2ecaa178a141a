# pigeon: `make run` starts the whole system on embedded defaults, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)/gen:$(CURDIR)

.PHONY: run test fuzz soak proto lint format typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

gen/.stamp: $(STAMP) $(shell find protos -name '*.proto')
	$(PY) -m tools.protogen
	touch gen/.stamp

proto: gen/.stamp

run: gen/.stamp
	$(PY) -m tools.devrun

test: gen/.stamp
	$(PY) -m pytest -q

# The HTTP API fuzzed from its OpenAPI document, at length (`make test` runs a few cases):
# FUZZ_EXAMPLES examples per operation and mode.
FUZZ_EXAMPLES ?= 500
fuzz: gen/.stamp
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -s tests/e2e/test_fuzz.py

# pigeon under mixed traffic and chaos, then its invariants (tools/soak.py): SOAK_SECONDS (600).
soak: gen/.stamp
	$(PY) -m tools.soak

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: gen/.stamp
	$(VENV)/bin/mypy services tools

bench: gen/.stamp
	$(PY) -m bench.sync_send $(BENCH_ARGS)

clean:
	rm -rf $(VENV) gen .pigeon
