# Kong LLM gateway for Amazon Bedrock.
PYTHON ?= python3
PYTEST_ARGS ?=

.PHONY: help install test test/unit dev dump

help:
	@echo "make test      run the whole test suite (what CI runs)"
	@echo "make dev       run emulator + Kong 3.6 harness + plugin server on 127.0.0.1:8000 (no Docker)"
	@echo "make dump      print the plugin info JSON Kong reads (query_cmd)"
	@echo "make install   pip install -e '.[dev]'"

install:
	$(PYTHON) -m pip install -e '.[dev]'

test:
	$(PYTHON) -m pytest -q $(PYTEST_ARGS)

test/unit:
	$(PYTHON) -m pytest -q tests/unit $(PYTEST_ARGS)

dev:
	$(PYTHON) -m tests.stack

dump:
	@kong-bedrock-plugins --dump
