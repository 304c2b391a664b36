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

.PHONY: install js-deps run chat dev test lint bench tiny-model docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch is installed first, pinned, so that nothing later can pull a CUDA build. setuptools
# notes at length that an editable install maps folders by a finder (ours map `threadloom.*` to
# the repository's folders on purpose): that one note is silenced, any other warning shows.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install -q -e '.[dev]'
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

# The terminal chat, against the server `make run` started (in another terminal).
chat: $(STAMP)
	$(BIN)/threadloom chat --url http://$(HOST):$(PORT)

dev: $(STAMP)
	$(BIN)/langgraph dev --config $(CONFIG) --no-browser --port 2024

# Two workers: most tests wait on server processes, the model or the database, so the two
# cores overlap them (about 6 minutes instead of 14 on this machine).
test: $(STAMP) $(JS_STAMP)
	$(BIN)/ruff check .
	$(MKDOCS) --quiet
	$(BIN)/python -m pytest -q -n 2

# The documentation site (docs/, mkdocs.yml) into the ignored site/; --strict (in mkdocs.yml)
# fails the build on a broken link or anchor, so `make test` catches them.
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
docs: $(STAMP)
	$(MKDOCS)

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
	rm -rf $(VENV) build site *.egg-info
