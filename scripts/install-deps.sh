#!/usr/bin/env bash
# Installs the npm dependencies when node_modules is missing or older than the lockfile.
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
