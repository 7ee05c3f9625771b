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

.PHONY: demo demo-planning test lint typecheck unit web web-unit system-deps venv postgres bench clean

# The COVID-19 hotline, live: init prints the agents' SIP accounts, then `hotline serve` takes
# calls on SIP port 5060 (any softphone may call: guest calls are on for the demo) until Ctrl-C;
# its API on http://127.0.0.1:8080 sends session cookies over plain HTTP (loopback only).
# docs/telephony.md says how to register one softphone as an agent and call from another.
demo: system-deps venv web
	$(BIN)/hotline --data-dir $(DATA) init --template covid --force
	HOTLINE_SIP_GUEST_CALLS=true HOTLINE_HTTP_COOKIE_SECURE=false $(BIN)/hotline --data-dir $(DATA) serve --sip-port 5060

# Staffing and a simulated day for 200 calls an hour, with the production routing engine.
demo-planning: system-deps venv
	$(BIN)/hotline --data-dir $(DATA) staff --calls-per-hour 200 --aht 180 --sl 0.8 --sl-seconds 20
	$(BIN)/hotline --data-dir $(DATA) simulate --calls-per-hour 200 --aht 180 --agents 14 --hours 8 --patience 120 --seed 1 --chart $(DATA)/simulation.png
	@echo "Simulation chart in $(DATA)/simulation.png."

test: system-deps venv postgres web lint typecheck web-unit unit

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

# The browser app (web/: TypeScript, React, Vite) is built into hotline/web/static, which git
# ignores and hotline.web serves. Each step runs only when its inputs changed: `npm ci` when the
# lock does, the build when any source does (its stamp sits in the output, so a deleted build is
# rebuilt). node and npm are the machine's; where they are missing, Debian's `nodejs npm`.
WEB_MODULES := web/node_modules/.installed
WEB_STAMP   := hotline/web/static/.built
WEB_SOURCES := $(shell find web -path web/node_modules -prune -o -type f -print 2>/dev/null)

web: $(WEB_STAMP)

$(WEB_MODULES): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "Installing Debian packages: nodejs npm"; \
	  $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y nodejs npm; }
	cd web && npm ci --no-audit --no-fund
	touch $@

$(WEB_STAMP): $(WEB_MODULES) $(WEB_SOURCES)
	cd web && npm run build
	touch $@

# The app's unit tests (vitest): the live-events reducer and client, the API client, i18n.
web-unit: $(WEB_MODULES)
	cd web && npm test

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
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache web/node_modules hotline/web/static
