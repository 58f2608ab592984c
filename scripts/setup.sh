#!/usr/bin/env bash
# One-time set-up, idempotent: a virtualenv in .venv with portkit and its dev/notebook extras, and the
# local-cluster binaries built from Go modules (cached under ${PORTKIT_CACHE_DIR:-~/.cache/portkit}):
# Kubernetes, etcd and kwok, then Velero and portkit's file object-store plugin.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! command -v go >/dev/null 2>&1; then
  echo "setup: Go 1.26 or newer is needed to build the local Kubernetes and Velero binaries (no \`go\` on PATH)." >&2
  exit 1
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
# Build (or find cached): etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok ...
.venv/bin/python -m portkit.testing.binaries >&2
# ... and velero with the file object-store plugin (checks the Go version and says so if it is too old).
.venv/bin/python -m portkit.testing.velero >&2
