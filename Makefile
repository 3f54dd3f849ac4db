# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format eval train corpus bench clean teams-package

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/liaison-bot run

# Bytecode is cached even where the environment says not to (PYTHONDONTWRITEBYTECODE): the
# tests start the bot in many processes, and pytest rewrites every test module, each time.
test: export PYTHONDONTWRITEBYTECODE =
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -n 4  # 4 workers on 2 cores: many tests wait on servers

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Signal detection: `make eval` prints precision, recall and kind accuracy with 95% intervals
# (frozen test split, blind batch, dev corpus, held-out cases), per kind and per form, the
# perturbation tests, the reliability curve and the cost. `make train` rebuilds the shipped
# model from the shipped corpus (deterministic); `make corpus` rebuilds the corpus.
eval: $(STAMP)
	$(BIN)/python bench/eval_signals.py

train: $(STAMP)
	$(BIN)/python -m handlers.signals.train

corpus: $(STAMP)
	$(BIN)/python bench/make_corpus.py

# The figures quoted in the README: detection, Slack acknowledgements, sweep scaling, listings,
# the mixed load, idle memory and --help, similar-initiative precision, and the
# 60-second load on SQLite and PostgreSQL (set LIAISON_TEST_POSTGRES_URL for the latter).
bench: $(STAMP)
	$(BIN)/python bench/eval_signals.py
	$(BIN)/python bench/slack_ack.py
	$(BIN)/python bench/sweep_scale.py
	$(BIN)/python bench/listing.py
	$(BIN)/python bench/mixed.py
	$(BIN)/python bench/idle_rss.py
	$(BIN)/python bench/similar_initiatives.py
	$(BIN)/python bench/load.py --database both

# The Teams app package needs only Python 3.11's standard library, not the bot installed:
# make teams-package ARGS="--app-id <id> --privacy-url https://... --terms-url https://..."
teams-package:
	$(PYTHON) teams/package.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
