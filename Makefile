# Two commands on a fresh machine: `make dev` (whole system) and `make test`.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := python3.11
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")

.PHONY: help bootstrap gen dev test unit lint fmt bench clean

help:
	@echo "make dev    - start the whole system on embedded servers (Ctrl-C stops it)"
	@echo "make test   - lint, type-check, contracts check and the whole test suite"
	@echo "make bench  - start the system and print throughput and latency figures"
	@echo "make gen    - generate Python code and the gateway descriptor set from protos/"

# Installs uv if missing, then the locked environment (.venv) from uv.lock.
bootstrap:
	@command -v uv >/dev/null 2>&1 || [ -x "$(UV)" ] || python3 -m pip install --quiet --user 'uv>=0.5' \
		|| python3 -m pip install --quiet 'uv>=0.5'
	@$(UV) sync --frozen --all-packages --quiet

gen: bootstrap
	@$(UV) run --frozen python scripts/gen_protos.py

dev: gen
	@$(UV) run --frozen fitness-dev up

lint: gen
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy
	$(UV) run --frozen buf lint

test: lint
	$(UV) run --frozen pytest

unit: gen
	$(UV) run --frozen pytest -m "not integration"

fmt: bootstrap
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

bench: gen
	$(UV) run --frozen python -m bench

clean:
	rm -rf .devstack build gateway/generated libs/contracts/src/fitness
