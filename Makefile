# Fresh machine: `make demo` sets everything up and maps a synthesized soundtrack;
# `make test` sets everything up and runs the test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.songmap-installed
DEMO_OUT ?= songmap-demo

.PHONY: setup demo test test-fast lint lint-py lint-js bundle-js test-js browser-deps bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/songmap demo --out $(DEMO_OUT)

# Debian's Chromium drives the browser tests (Playwright cannot download browsers here).
browser-deps:
	@if [ -x /usr/bin/chromium ] && command -v sox >/dev/null && command -v ffmpeg >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium, sox and ffmpeg for the browser, copy-benchmark and playlist tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium sox libsox-fmt-all ffmpeg >/dev/null; \
	else echo "note: /usr/bin/chromium, sox or ffmpeg missing and not root: browser, copy-benchmark and ffmpeg playlist tests will be skipped"; fi

# Python: ruff (style, imports) and import-linter (the layers of docs/architecture.md).
lint-py: setup
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/lint-imports

# The map page's script: ES modules in src/songmap/web/static/src/, bundled by esbuild into the
# committed static/map.js that web/page.py inlines; ESLint and esbuild come from npm (node_modules/,
# installed from package-lock.json).
JS_BUNDLE := src/songmap/web/static/map.js

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch node_modules/.installed

bundle-js: node_modules/.installed
	npm run --silent bundle -- --outfile=$(JS_BUNDLE)

# Fails when the committed bundle is not what the modules bundle to (esbuild's output is deterministic).
lint-js: node_modules/.installed
	npm run --silent lint
	@fresh=$$(mktemp -d) && npm run --silent bundle -- --outfile=$$fresh/map.js && \
	if cmp -s $$fresh/map.js $(JS_BUNDLE); then rm -rf $$fresh; \
	else diff -u $(JS_BUNDLE) $$fresh/map.js | head -20; rm -rf $$fresh; \
	echo "$(JS_BUNDLE) is stale: run make bundle-js and commit it"; exit 1; fi

# The JS ports of Python without a browser (tests/test_js_parity.py writes their fixtures).
test-js: setup node_modules/.installed
	$(BIN)/python -m pytest tests/test_js_parity.py

lint: lint-py lint-js

test: setup browser-deps lint
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not browser and not shared"

bench: setup
	$(BIN)/python benchmarks/bench_pipeline.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) artifacts .pytest_cache node_modules
