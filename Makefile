# marketsync: `make run` serves everything in one process, `make test` runs the suite.
# Both bootstrap .venv from uv.lock on a fresh machine (Python 3.11, make, git).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
HOST ?= 127.0.0.1
PORT ?= 8000
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test lint format bench migrations clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==0.13.9

$(STAMP): $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --python $(PYTHON)
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/marketsync dev --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check marketsync tests bench
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix marketsync tests bench
	$(VENV)/bin/ruff format marketsync tests bench

# New aerich migrations for both dialects from the models: make migrations NAME=add_x
migrations: $(STAMP)
	$(VENV)/bin/python -m marketsync.devtools.make_migrations $(NAME)

clean:
	rm -rf $(VENV) $(TOOLS) marketsync.db .marketsync-secret
