# Two commands a newcomer needs: `make run` and `make test`. Both install into .venv first,
# and only reinstall when pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JS := tests/js
JS_STAMP := $(JS)/node_modules/.installed
PORT ?= 8000
HOST ?= 127.0.0.1
# The graphs both servers serve: `make run CONFIG=path/to/langgraph.json` serves another app.
CONFIG ?= langgraph.json

.PHONY: install js-deps run dev test lint bench tiny-model clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch is installed first, pinned, so that nothing later can pull a CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The JavaScript SDK that tests/js/*.mjs drive, into the ignored tests/js/node_modules:
# npm runs again only when package.json or the lock changed, so later runs need no network.
$(JS_STAMP): $(JS)/package.json $(JS)/package-lock.json
	cd $(JS) && npm ci --no-audit --no-fund --loglevel=error
	touch $(JS_STAMP)

js-deps: $(JS_STAMP)

run: $(STAMP)
	$(BIN)/threadloom serve --config $(CONFIG) --host $(HOST) --port $(PORT)

dev: $(STAMP)
	$(BIN)/langgraph dev --config $(CONFIG) --no-browser --port 2024

# Two workers: most tests wait on server processes, the model or the database, so the two
# cores overlap them (about 6 minutes instead of 14 on this machine).
test: $(STAMP) $(JS_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench.streaming
	$(BIN)/python -m bench.concurrency
	$(BIN)/python -m bench.server_overhead
	$(BIN)/python -m bench.prefix_reuse
	$(BIN)/python -m bench.footprint
	$(BIN)/python -m bench.open_streams
	$(BIN)/python -m bench.loop_pauses

tiny-model: $(STAMP)
	$(BIN)/python -m threadloom.models.tiny_model_kit.build

clean:
	rm -rf $(VENV) build *.egg-info
