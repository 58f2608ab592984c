#!/usr/bin/env bash
# One-time set-up, idempotent: a virtualenv in .venv with portkit and its dev/notebook extras, and the
# local-cluster binaries built from Go modules (cached under ${PORTKIT_CACHE_DIR:-~/.cache/portkit}).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! command -v go >/dev/null 2>&1; then
  echo "setup: Go is needed to build the local Kubernetes binaries; installing golang from Debian packages" >&2
  if command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq golang-go) >&2 || { echo "setup: could not install Go" >&2; exit 1; }
  else
    echo "setup: install Go 1.24+ and retry" >&2; exit 1
  fi
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.portkit-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >&2
  .venv/bin/python -m pip install -q -e ".[dev,notebook]" >&2
  touch "$stamp"
fi
# Build (or find cached) binaries: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok.
.venv/bin/python -m portkit.testing.binaries >&2
