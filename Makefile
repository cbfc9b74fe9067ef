# Kong LLM gateway for Amazon Bedrock.
PYTHON ?= python3
PYTEST_ARGS ?=

CLAUDE_CODE_VERSION ?= 2.1.197

.PHONY: help install test test/unit dev dump claude-code bench

help:
	@echo "make test      run the whole test suite (what CI runs)"
	@echo "make dev       run emulator + Kong 3.6 harness + plugin server on 127.0.0.1:8000 (no Docker)"
	@echo "make bench     gateway overhead vs a direct call to the emulator (prints a table)"
	@echo "make dump      print the plugin info JSON Kong reads (query_cmd)"
	@echo "make install   pip install -e '.[dev]'"
	@echo "make claude-code  install Claude Code $(CLAUDE_CODE_VERSION) for the e2e tests"

install:
	$(PYTHON) -m pip install -e '.[dev]'

claude-code:   ## Claude Code for the e2e tests (its binary comes in an npm package)
	@test -x .dev/claude-code/node_modules/.bin/claude || \
	  npm install --silent --no-audit --no-fund --prefix .dev/claude-code @anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION)

test:
	$(PYTHON) -m pytest -q $(PYTEST_ARGS)

test/unit:
	$(PYTHON) -m pytest -q tests/unit $(PYTEST_ARGS)

dev:
	$(PYTHON) -m tests.stack

bench:         ## prints tables and writes bench/results/*.json (bounded, loopback only)
	$(PYTHON) -m bench.overhead
	$(PYTHON) -m bench.guardrails

dump:
	@kong-bedrock-plugins --dump
