#!/usr/bin/env bash
# e2e: `hearth serve` driven by the official `openai` and `ollama` client libraries from the npm registry
# (tests/e2e/clients). Needs Node.js and the pinned packages: run scripts/setup-node once.
set -euo pipefail
dir="$(cd "$(dirname "$0")/clients" && pwd)"
: "${HEARTH:?set HEARTH to the hearth binary}"
: "${HEARTH_FIXTURES:?set HEARTH_FIXTURES to the fixtures folder}"
if ! command -v node >/dev/null 2>&1; then
  echo "npm_clients_test: node is not installed: run scripts/setup-node" >&2
  exit 1
fi
if [[ ! -d "$dir/node_modules/openai" || ! -d "$dir/node_modules/ollama" ]]; then
  echo "npm_clients_test: $dir/node_modules is missing: run scripts/setup-node" >&2
  exit 1
fi
# Absolute paths: the test runs from its own folder (so that `import 'openai'` resolves there).
HEARTH="$(realpath "$HEARTH")" HEARTH_FIXTURES="$(realpath "$HEARTH_FIXTURES")" \
  exec node --test-reporter=spec "$dir/clients_test.mjs"
