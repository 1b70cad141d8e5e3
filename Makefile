# Two set-up commands on a fresh Debian/Ubuntu machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEBIAN_PACKAGES := cups-ipp-utils cups avahi-daemon dbus postgresql

.PHONY: demo test bench lint format venv debs clean screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[server,tray,dev]'
	touch $(STAMP)

venv: $(STAMP)

# Installs the real peers the tests use (ippeveprinter, ipptool, cupsd) when we are root and
# they are missing; otherwise says which tests will skip, so nothing is silently left out.
debs:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "debian packages: all present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "not root: not installing$$missing; tests that need them are skipped with a reason"; fi

# Test files run on parallel workers: most of a test's time is spent waiting for the real
# processes it started, so two cores keep more than two workers busy. TEST_WORKERS=0 runs
# everything in one process.
TEST_WORKERS ?= 4
test: $(STAMP) debs
	$(PY) -m pytest -q --durations=15 -n $(TEST_WORKERS) --dist loadfile

demo: $(STAMP)
	$(PY) -m services.core.demo

# The whole table of DESIGN.md 9; `make bench BENCH_ARGS="sync --quick"` for a subset, smaller.
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) -m benchmarks $(BENCH_ARGS)

# Renders the tray menu (en, de) and each dialog offscreen into docs/screenshots/.
screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen PULLPRINT_SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest -q tests/ui/test_screenshots.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
