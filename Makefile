# ckpt-tui — every target sets up what it needs first; `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := .demo/outputs
ROOT   ?=
MINUTES ?= 5
BENCH_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install bytecode run demo test check lint fmt bench screenshots fuzz clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'
	@echo "  make run ROOT=path   open the app on a real tree"

# The constraints file pins the CPU build of torch (an unpinned torch pulls a CUDA build of GBs);
# pyproject keeps a normal range for users.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,remote]'
	@$(MAKE) --no-print-directory bytecode
	@touch $(STAMP)

# An editable install leaves our modules without bytecode, and where PYTHONDONTWRITEBYTECODE is
# set (as on this machine) every start would compile them again: ~0.1 s of the TUI's start-up.
# compileall writes what `pip install` writes for any installed package.
bytecode:
	@$(BIN)/python -m compileall -q ckpt_tui

install: $(STAMP) ## create .venv and install ckpt-tui with its dev tools (idempotent)

$(DEMO): | $(STAMP)
	$(BIN)/ckpt-tui demo $(DEMO)

demo: $(STAMP) ## (re)write the demo tree in .demo/outputs
	$(BIN)/ckpt-tui demo $(DEMO) --force

run: $(STAMP) bytecode ## open the app on the demo tree (or ROOT=path)
ifeq ($(strip $(ROOT)),)
	@$(MAKE) --no-print-directory $(DEMO)
	$(BIN)/ckpt-tui $(DEMO)
else
	$(BIN)/ckpt-tui "$(ROOT)"
endif

test: $(STAMP) ## run the test suite
	$(BIN)/python -m pytest -q

lint: $(STAMP) ## ruff (format check + lint) and mypy
	$(BIN)/ruff format --check ckpt_tui tests bench scripts
	$(BIN)/ruff check ckpt_tui tests bench scripts
	$(BIN)/mypy

fmt: $(STAMP) ## format and autofix with ruff
	$(BIN)/ruff format ckpt_tui tests bench scripts
	$(BIN)/ruff check --fix ckpt_tui tests bench scripts

check: lint test ## ruff, mypy and the tests

bench: $(STAMP) bytecode ## print the benchmark tables (BENCH_ARGS=--quick for a short run)
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

screenshots: $(STAMP) ## regenerate screenshots/*.svg from the demo tree
	$(BIN)/python scripts/screenshots.py

fuzz: $(STAMP) ## fuzz the reader, the sidecar loader and the filter parser (MINUTES=5)
	FUZZ_MINUTES=$(MINUTES) $(BIN)/python -m pytest -q -m fuzz tests --hypothesis-profile=fuzz -p no:cacheprovider

clean: ## remove the venv, the demo tree and caches
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache
