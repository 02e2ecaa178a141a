# pigeon: `make run` starts the whole system on embedded defaults, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)/gen:$(CURDIR)

.PHONY: run test proto lint format typecheck bench clean

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

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: gen/.stamp
	$(VENV)/bin/mypy services tools

bench: gen/.stamp
	$(PY) -m bench.sync_send

clean:
	rm -rf $(VENV) gen .pigeon
