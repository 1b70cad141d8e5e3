# Two set-up commands on a fresh Debian/Ubuntu machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# What Qt's xcb platform plugin loads beyond PySide6's wheel and a desktop's usual libraries:
# without them `pullprint tray` cannot start (it says so, naming these).
TRAY_PACKAGES := libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
# The real peers the tests use: ippeveprinter and ipptool, cupsd, PostgreSQL, HAProxy (in
# front of several server processes), and an X server with a system tray (Xvfb, trayer,
# xwininfo) for the tray.
TEST_PACKAGES := cups-ipp-utils cups avahi-daemon dbus postgresql haproxy xvfb trayer x11-utils \
	$(TRAY_PACKAGES)

.PHONY: demo test bench lint format venv debs tray-debs clean screenshots lock upgrade-deps

# Installs come from the lock (requirements/*.txt, pinned with hashes by pip-compile), so a
# clean clone installs today what it installed when the lock was made. A changed lock makes
# the venv anew (--clear), so nothing from an older install stays behind. The project itself
# is installed without build isolation: its build backend (setuptools) is in the lock too.
LOCK := requirements/dev.txt
$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv --clear $(VENV)
	$(PY) -m pip install -q --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $(STAMP)

venv: $(STAMP)

# Installs Debian packages ($(1)) when we are root and they are missing; otherwise says which
# are missing and what that means ($(2)), so nothing is silently left out.
define debs
	@missing=""; for p in $(1); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "debian packages: all present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "not root: not installing$$missing; $(2)"; fi
endef

debs:
	$(call debs,$(TEST_PACKAGES),tests that need them are skipped with a reason)

tray-debs:
	$(call debs,$(TRAY_PACKAGES),pullprint tray needs them (apt-get install$$missing))

# Test files run on parallel workers: most of a test's time is spent waiting for the real
# processes it started, so two cores keep more than two workers busy. TEST_WORKERS=0 runs
# everything in one process.
TEST_WORKERS ?= 4
test: $(STAMP) debs
	$(PY) -m pytest -q --durations=15 -n $(TEST_WORKERS) --dist loadfile

demo: $(STAMP) tray-debs
	$(PY) -m cli.demo

# The whole table of DESIGN.md 10; `make bench BENCH_ARGS="sync --quick"` for a subset, smaller.
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

# The lock: requirements/dev.txt holds every set (the project, server, tray and dev extras);
# client.txt, server.txt and tray.txt are the base package alone and with one extra, held to
# the same versions. `make lock` after a change to pyproject.toml's dependencies; `make
# upgrade-deps` takes the newest versions the ranges allow, then runs the tests on them.
COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile -q --generate-hashes \
	--allow-unsafe --strip-extras --all-build-deps --no-emit-index-url --no-emit-find-links \
	--no-emit-trusted-host
UPGRADE ?=
lock: $(STAMP)
	$(COMPILE) $(UPGRADE) --extra server --extra tray --extra dev -o requirements/dev.txt pyproject.toml
	$(COMPILE) -c requirements/dev.txt -o requirements/client.txt pyproject.toml
	$(COMPILE) -c requirements/dev.txt --extra server -o requirements/server.txt pyproject.toml
	$(COMPILE) -c requirements/dev.txt --extra tray -o requirements/tray.txt pyproject.toml

upgrade-deps:
	$(MAKE) lock UPGRADE=--upgrade
	$(MAKE) test

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
