#!/usr/bin/env bash
# Brings the system up on this machine without Docker: installs what is missing, starts the real
# servers (scripts/infra.sh, dev profile) and the backend processes with prefixed logs.
# Ctrl-C stops the processes, then the servers this script started (KEEP_INFRA=1 keeps them).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

infra_was_up=0
bash scripts/infra.sh status --profile dev >/dev/null 2>&1 && infra_was_up=1
bash scripts/infra.sh up --profile dev
stop_infra() {
  if [[ $infra_was_up == 0 && ${KEEP_INFRA:-0} != 1 ]]; then bash scripts/infra.sh down --profile dev; fi
}
trap stop_infra EXIT

# Point config.toml's docker-compose host names at the local servers.
eval "$(bash scripts/infra.sh env --profile dev)"
export INTEGR8SCODE_SERVER_HOST=${INTEGR8SCODE_SERVER_HOST:-127.0.0.1}
# No collector runs locally: keep the exporters off unless asked for.
export INTEGR8SCODE_OTLP_TRACES_ENDPOINT=${INTEGR8SCODE_OTLP_TRACES_ENDPOINT:-}
export INTEGR8SCODE_OTEL_EXPORTER_OTLP_ENDPOINT=${INTEGR8SCODE_OTEL_EXPORTER_OTLP_ENDPOINT:-}

node scripts/dev-supervisor.mjs "$@"
