# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format eval bench clean teams-package

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/liaison-bot run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -n auto -m "not serial"
	$(BIN)/pytest -q -m serial

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

eval: $(STAMP)
	$(BIN)/python bench/eval_signals.py

# The figures quoted in the README: detection, Slack acknowledgements, sweep scaling, and the
# 60-second load on SQLite and PostgreSQL (set LIAISON_TEST_POSTGRES_URL for the latter).
bench: $(STAMP)
	$(BIN)/python bench/eval_signals.py
	$(BIN)/python bench/slack_ack.py
	$(BIN)/python bench/sweep_scale.py
	$(BIN)/python bench/load.py --database both

teams-package: $(STAMP)
	$(BIN)/python teams/package.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
