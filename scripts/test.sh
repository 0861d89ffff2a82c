#!/usr/bin/env bash
# Sets everything up and runs every check: the linter, the layer contract,
# the type checker, then the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "test: ruff"
.venv/bin/ruff check src tests bench examples
echo "test: import layers"
.venv/bin/lint-imports --no-cache
echo "test: types (mypy)"
.venv/bin/mypy
echo "test: pytest"
.venv/bin/python -m pytest "$@"
