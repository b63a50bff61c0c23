#!/usr/bin/env bash
# Installs the npm dependencies when node_modules is missing or older than the lockfile, and builds
# the Kubernetes test binaries (kube-apiserver, etcd, kwok; cached, about 7 minutes the first time;
# needs Go >= 1.24, found on PATH or at /usr/local/go/bin/go) and checks for kubectl.
# The servers (Kafka, Mongo wire server, Redis) are installed by scripts/infra.sh on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-deps: node and npm are required (Node >= 20.19)" >&2
  exit 1
fi
bash scripts/install-sandbox.sh
stamp=node_modules/.install-stamp
if [[ ! -f $stamp || package-lock.json -nt $stamp ]]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund
  touch "$stamp"
fi

if ! command -v kubectl >/dev/null; then
  echo "install-deps: kubectl is required by the Kubernetes tests (scripts/k8s/k8s-infra.sh); install it, e.g. apt-get install kubectl" >&2
  exit 1
fi
# Prints its progress; a no-op when the cache is complete. Fails with a clear message when Go is missing.
bash scripts/k8s/k8s-infra.sh build
