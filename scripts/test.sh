#!/usr/bin/env bash
# The project's one test command (README, .ci/run): installs what is missing, starts the real test
# servers through scripts/infra.sh (vitest global setup), runs typecheck, lint and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== typecheck"; npm run -s typecheck
echo "== lint"; npm run -s lint
echo "== format"; npm run -s format:check
echo "== tests"
npm test --workspace backend -- --reporter=default --reporter=./test/summary-reporter.ts
