# Hotline: two commands, `make demo` and `make test`, each installing what it needs on a fresh
# Debian/Ubuntu machine (run as root, or with sudo available).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= data
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages the project needs: PostgreSQL for the database tests; SIPp and baresip as real SIP
# peers in tests; espeak-ng for text prompts.
APT_PACKAGES := python3-venv python3-dev build-essential postgresql postgresql-client \
                sip-tester baresip espeak-ng chromium

.PHONY: demo demo-planning test lint typecheck unit system-deps venv postgres bench clean

# The COVID-19 hotline, live: init prints the agents' SIP accounts, then `hotline serve` takes
# calls on SIP port 5060 (any softphone may call: guest calls are on for the demo) until Ctrl-C.
# docs/telephony.md says how to register one softphone as an agent and call from another.
demo: system-deps venv
	$(BIN)/hotline --data-dir $(DATA) init --template covid --force
	HOTLINE_SIP_GUEST_CALLS=true $(BIN)/hotline --data-dir $(DATA) serve --sip-port 5060

# Staffing and a simulated day for 200 calls an hour, with the production routing engine.
demo-planning: system-deps venv
	$(BIN)/hotline --data-dir $(DATA) staff --calls-per-hour 200 --aht 180 --sl 0.8 --sl-seconds 20
	$(BIN)/hotline --data-dir $(DATA) simulate --calls-per-hour 200 --aht 180 --agents 14 --hours 8 --patience 120 --seed 1 --chart $(DATA)/simulation.png
	@echo "Simulation chart in $(DATA)/simulation.png."

test: system-deps venv postgres lint typecheck unit

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y $$missing; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null && $(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || $(MAKE) system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

postgres:
	@./scripts/ensure-postgres

lint: venv
	$(BIN)/ruff check hotline tests bench
	$(BIN)/ruff format --check hotline tests bench

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest -q

bench: venv
	$(BIN)/python bench/routing.py
	$(BIN)/python bench/simulate.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
