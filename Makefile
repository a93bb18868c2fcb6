# eligibility-gateway — `make help` lists the targets. Needs only python3 (3.11+), pip and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run sandbox test robustesse lint format typecheck check-reglements migrate bench lock compose-check clean fuzz docs chromium poppler pango

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(STAMP): requirements-dev.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the locked dependencies

run: $(STAMP) pango ## Run the gateway on 127.0.0.1:8000 (PORT=… to change; sandbox with embedded defaults unless configured)
	$(BIN)/python -m app serve

sandbox: $(STAMP) ## Run the API Particulier simulator alone on 127.0.0.1:9100
	$(BIN)/python -m app.simulators.api_particulier --host 127.0.0.1 --port 9100

test: $(STAMP) pango chromium poppler ## Run the whole test suite (needs Redis and PostgreSQL on localhost)
	$(BIN)/python -m pytest

robustesse: $(STAMP) ## Run the reliability suite: hostile and clumsy callers (tests/robustesse, Redis and PostgreSQL)
	$(BIN)/python -m pytest tests/robustesse
chromium: ## Install Debian's Chromium if missing (the offline-docs test drives it headless)
	@command -v chromium >/dev/null 2>&1 || { echo "installation de chromium (paquet Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

pango: ## Install Debian's Pango and HarfBuzz-Subset if missing (WeasyPrint lays out and subsets the PDF fonts with them)
	@{ ldconfig -p | grep -q 'libpangoft2-1.0.so.0' && ldconfig -p | grep -q 'libharfbuzz-subset.so.0'; } || { \
	  echo "installation de Pango et HarfBuzz-Subset (paquets Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 >/dev/null; }

poppler: ## Install Debian's poppler-utils if missing (pdftoppm renders the documents' PDF pages in the tests)
	@command -v pdftoppm >/dev/null 2>&1 || { echo "installation de poppler-utils (paquet Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; }

lint: $(STAMP) ## ruff (lint + format check) and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-reglements: $(STAMP) ## Validate every règlement and run its test cases
	$(BIN)/python -m app reglements verifier

migrate: $(STAMP) ## Apply the journal's database migrations (DATABASE_URL)
	$(BIN)/python -m app db upgrade

bench: $(STAMP) pango ## Run the benchmarks; results go to bench/results/ (installs Debian's wrk if missing)
	@command -v wrk >/dev/null 2>&1 || { echo "installation de wrk (paquet Debian, générateur de charge)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python bench/run_all.py

docs: $(STAMP) ## Regenerate the README's error and configuration tables from the code
	$(BIN)/python -m app.documentation

fuzz: $(STAMP) ## Schemathesis over every operation of the OpenAPI, every check (FUZZ_MAX_EXAMPLES=50)
	$(BIN)/python fuzz/run.py

lock: ## Re-pin requirements*.lock from pyproject.toml
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links --extra dev -o requirements-dev.lock pyproject.toml

compose-check: ## Validate docker-compose.yml (Debian's docker-compose; no engine needed)
	docker-compose -f docker-compose.yml config -q

clean: ## Remove the virtualenv, caches and the embedded journal
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis var
