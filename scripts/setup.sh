#!/usr/bin/env bash
# One-time set-up, idempotent: Debian's container runtime packages for real nodes (containerd, runc, CNI
# plugins, iptables, busybox-static), a virtualenv in .venv with portkit and its dev/notebook extras, and the
# local-cluster binaries built from Go modules (cached under ${PORTKIT_CACHE_DIR:-~/.cache/portkit}):
# Kubernetes (with the kubelet), etcd and kwok, then Velero and portkit's file object-store plugin, then OPA
# for the policy gate.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! command -v go >/dev/null 2>&1; then
  echo "setup: Go 1.26 or newer is needed to build the local Kubernetes and Velero binaries (no \`go\` on PATH)." >&2
  exit 1
fi
# Real nodes (a kubelet that really runs containers) need a container runtime, the CNI plugins and a static
# busybox for the local images: Debian's packages, installed once (needs root, which CI and the dev machines have).
need_pkgs=()
for pair in containerd:containerd runc:runc iptables:iptables busybox-static:/bin/busybox \
            containernetworking-plugins:/usr/lib/cni/bridge; do
  pkg=${pair%%:*}; probe=${pair#*:}
  if [[ "$probe" == /* ]]; then [ -e "$probe" ] || need_pkgs+=("$pkg"); else command -v "$probe" >/dev/null || need_pkgs+=("$pkg"); fi
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: real nodes need the Debian packages ${need_pkgs[*]}; run as root or install them: apt-get install ${need_pkgs[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${need_pkgs[*]} (Debian packages, for real nodes)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2
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
# ... and opa for the policy gate (`--policy`; about 1.5 minutes cold on 2 cores).
.venv/bin/python -m portkit.policy.opa >&2
