# audio-style — see README.md. Every target works from a fresh clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup run test lint demo bench screenshots clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[app,server,dev]"
	@touch $(STAMP)

setup: $(STAMP)  ## idempotent: .venv with the project and its extras

run: setup  ## launch the desktop app (falls back to the headless demo without app/)
	@if [ -f app/main.py ]; then $(BIN)/audio-style gui; else $(MAKE) demo; fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy engine cloud server
	$(BIN)/lint-imports

test: setup lint  ## every test (services required when REQUIRE_SERVICES=1)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

demo: setup  ## headless: CLI on generated demo clips, writes artifacts/demo/
	$(BIN)/python -m engine.demo artifacts/demo

bench: setup  ## quality/speed benchmark against Matchering (separate venv)
	$(BIN)/python -m engine.bench --out artifacts/bench

clean:
	rm -rf artifacts build dist .pytest_cache .mypy_cache .ruff_cache
