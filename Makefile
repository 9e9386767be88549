# Every target sets itself up from a fresh checkout: `make run`, `make test`, `make lint`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
HOST   ?= 127.0.0.1

.PHONY: run run-dev test test-fast lint bench bench-load schema clean

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	# pip compiles what it installs, but not this editable checkout: compile it too, so commands
	# start fast even where PYTHONDONTWRITEBYTECODE is set (Python ignores a file it has since changed)
	$(BIN)/python -m compileall -q assessment reports
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

instance:
	mkdir -p instance

run: $(VENV)/.installed instance
	$(BIN)/assessment validate --quiet frameworks/
	$(BIN)/assessment init
	$(BIN)/assessment run --host $(HOST) --port $(PORT)

# Flask's development server, one process: for working on the code, never for serving people
run-dev: $(VENV)/.installed instance
	$(BIN)/assessment init
	$(BIN)/assessment run --dev --host $(HOST) --port $(PORT)

# ajv checks the JSON Schema in strict mode (tests/unit/test_other_tools.py; skipped without node);
# axe-core checks the pages' accessibility in the browser tests (tests/e2e/a11y.py); node-oidc-provider
# is the OpenID Connect provider the single sign-on tests sign in at (tests/support/oidc_provider.mjs).
# All go into .ci/node, never into the repository; a new pin here reinstalls them.
AJV := ajv@8.20.0
AXE := axe-core@4.14.1
OIDC_PROVIDER := oidc-provider@9.13.3
.ci/node/.installed: Makefile
	if command -v npm >/dev/null 2>&1; then \
	  npm install --no-save --no-audit --no-fund --silent --prefix .ci/node $(AJV) $(AXE) $(OIDC_PROVIDER) && touch $@; \
	else echo "npm not found: the ajv check of the JSON Schema, the axe-core checks and the single sign-on tests will be skipped"; fi

# PYTEST_ARGS narrows the run (CI's second run: only what touches the database, queue and storage).
# PYTEST_WORKERS processes share the tests (pytest-xdist; `auto` is one per core, 0 runs them in this one),
# a test file at a time so its module fixtures (servers, browsers, rendered bundles) are set up once;
# tests/conftest.py gives each worker its own PostgreSQL and Redis databases.
PYTEST_ARGS ?=
PYTEST_WORKERS ?= auto
test: $(VENV)/.test-installed instance .ci/node/.installed
	$(BIN)/ruff check assessment reports tests bench
	$(BIN)/ruff format --check assessment reports tests bench
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The fast lane: everything but the tests marked slow (browsers, PDFs, processes, big frameworks),
# property tests with a tenth of their examples (tests/conftest.py)
test-fast: $(VENV)/.test-installed instance
	$(BIN)/python -m pytest -m "not slow" --hypothesis-profile=fast

lint: $(VENV)/.test-installed
	$(BIN)/ruff check assessment reports tests bench
	$(BIN)/ruff format --check assessment reports tests bench

bench: $(VENV)/.installed
	$(BIN)/python bench/bench_engine.py

# 50 simulated people through the production server (bench/bench_load.py; several minutes)
bench-load: $(VENV)/.test-installed
	$(BIN)/python bench/bench_load.py

schema: $(VENV)/.installed
	$(BIN)/assessment schema -o schema/framework.schema.json

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ci/node
