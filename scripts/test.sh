#!/usr/bin/env bash
# The whole test suite: lint, types, unit tests, integration tests on real local clusters, notebooks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff" && ruff check .
echo "== ruff format" && ruff format --check .
echo "== mypy" && mypy portkit
echo "== pytest (unit, integration, notebooks)"
args=(tests)
if compgen -G "notebooks/*.ipynb" >/dev/null; then args+=(--nbmake notebooks); fi
python -m pytest -p no:cacheprovider -ra "${args[@]}" "$@"
