#!/usr/bin/env bash
# The main job: a demo on two real local clusters (builds the binaries on first use, with progress).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/portkit demo "$@"
