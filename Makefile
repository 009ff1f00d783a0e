# Chaperone — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOME_DEMO ?= .chaperone

.PHONY: install java postfix chromium demo test lint typecheck pytest pytest-postgres clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,spark]'
	touch $(STAMP)

# Java for the Spark engine (Debian's headless JRE when the machine has none).
java:
	@command -v java >/dev/null || { echo "installing Debian's headless Java for Spark"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    default-jre-headless >/dev/null; }

# The main job on the embedded default: a generated district, imported, ingested, audited,
# reported (HOME_DEMO/report.html).
demo: install
	$(BIN)/chaperone --home $(HOME_DEMO) demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

# Postfix for the gateway's integration test (Debian's package, not configured: the test
# writes its own loopback-only configuration and restores what was there).
postfix:
	@command -v postfix >/dev/null || [ -x /usr/sbin/postfix ] || { \
	  echo "installing Debian's postfix for the gateway test"; \
	  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    postfix >/dev/null; }

# Chromium for the web application's browser tests (Debian's package, driven by Playwright;
# Playwright's own browser download is never used).
chromium:
	@command -v chromium >/dev/null || { echo "installing Debian's chromium for the browser tests"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium fonts-dejavu-core >/dev/null; }

pytest: install java postfix chromium
	$(BIN)/pytest -q

# The store and directory tests again, on a real PostgreSQL server started for the run.
pytest-postgres: install
	scripts/with-postgres $(BIN)/pytest -q -m store

test: lint typecheck pytest pytest-postgres

.PHONY: bench-ingest
bench-ingest: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/ingest_bench.py

.PHONY: bench-gateway
bench-gateway: install
	$(BIN)/python bench/gateway_bench.py

.PHONY: bench-campaign
bench-campaign: install
	$(BIN)/python bench/campaign_bench.py

.PHONY: bench-lake
bench-lake: install
	$(BIN)/python bench/lake_bench.py

.PHONY: bench-audit
bench-audit: install
	$(BIN)/python -m pip install --quiet -e '.[bench,spark]'
	$(BIN)/python bench/audit_bench.py

clean:
	rm -rf $(VENV) .chaperone .pytest_cache .mypy_cache .ruff_cache
