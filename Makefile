# Short aliases. `make run` and `make test` each set up .venv on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-realwindow lint typecheck test-gpu bench screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=25.1"
	$(BIN)/python -m pip install -q -e . --group test
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/han-explorer

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory test-realwindow

# Real windows: Xvfb, Qt's xcb platform, xdotool clicks and keys (its own process: a QApplication's
# platform is fixed for life). Skipped, with the install command, where Xvfb or xdotool is missing.
test-realwindow: $(STAMP)
	HAN_REALWINDOW=1 $(BIN)/python -m pytest tests/realwindow -p no:cacheprovider

test-gpu: $(STAMP)
	$(BIN)/python -m pytest -m cuda

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_predict.py
	$(BIN)/python bench/bench_train.py

screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py docs/screenshots

clean:
	rm -rf $(VENV) build *.egg-info
