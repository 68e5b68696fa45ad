# newsalert developer commands. `make demo` and `make test` work on a fresh machine
# with only Python 3.11+, make and access to PyPI (and Maven Central for the Kafka leg).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install demo test test-fast lint typecheck schemas clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: install  ## start the embedded stack, run the service on seeds/, print alerts, stop
	$(BIN)/newsalert demo

test: install  ## the whole suite: unit, integration (tansu + Apache Kafka when java/mvn exist), e2e
	$(BIN)/pytest

test-fast: install  ## unit tests only
	$(BIN)/pytest tests/unit

lint: install  ## ruff, and the import-linter contracts of pyproject.toml (the package map)
	$(BIN)/ruff check services tests bench
	$(BIN)/ruff format --check services tests bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

schemas: install  ## regenerate schemas/ from the pydantic models
	$(BIN)/newsalert schemas write

clean:
	rm -rf $(VENV) .newsalert .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
