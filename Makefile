# pigeon: `make run` starts the whole system on embedded defaults, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)/gen:$(CURDIR)

.PHONY: run test fuzz soak proto client lock lint format typecheck bench clean

# The venv holds exactly the locked versions (requirements/dev.txt, with every file's hash), then
# the project itself, editable, without resolving anything again, built by the locked setuptools
# (no build isolation: that would fetch setuptools unchecked). Only pip's upgrade is unpinned.
$(STAMP): requirements/dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements/dev.txt
	PYTHONWARNINGS=ignore $(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# requirements/*.txt from pyproject.toml, by uv in a venv of its own (tools/lock.py says what each
# lock holds). Run it after changing pyproject's dependencies; existing pins are kept where they
# still fit. `make lock LOCK_ARGS=--upgrade` moves every pin to the newest allowed version.
UV_VERSION := 0.13.9
LOCK_VENV := .lock-venv
LOCK_ARGS ?=
$(LOCK_VENV)/.uv-$(UV_VERSION):
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet uv==$(UV_VERSION)
	touch $@

lock: $(LOCK_VENV)/.uv-$(UV_VERSION)
	$(PYTHON) -m tools.lock --uv $(LOCK_VENV)/bin/uv $(LOCK_ARGS)

gen/.stamp: $(STAMP) $(shell find protos -name '*.proto')
	$(PY) -m tools.protogen
	touch gen/.stamp

proto: gen/.stamp

# The typed Python client (clients/python/pigeon_client) from the OpenAPI document: run it after
# changing the HTTP API, and commit the result (a test fails while the two differ).
client: gen/.stamp
	$(PY) -m tools.clientgen

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

# buf, pinned with its hashes in tools/buf/package-lock.json, from the npm registry.
BUF := tools/buf/node_modules/.bin/buf
$(BUF): tools/buf/package.json tools/buf/package-lock.json
	npm ci --prefix tools/buf --no-audit --no-fund --ignore-scripts
	touch $(BUF)

# The protos are linted (buf.yaml says which rules and why not the others) and checked against
# every version of them in git history: the contracts only grow within v1.
lint: $(STAMP) $(BUF)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(BUF) lint
	$(PY) -m tools.proto_breaking $(BUF)

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The generated client is checked strictly: its users may be.
typecheck: gen/.stamp
	$(VENV)/bin/mypy services tools clients/python/pigeon_events
	$(VENV)/bin/mypy --strict clients/python/pigeon_client

bench: gen/.stamp
	$(PY) -m bench.sync_send $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(LOCK_VENV) gen .pigeon
