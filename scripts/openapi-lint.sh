#!/usr/bin/env bash
# Lints the REST API's OpenAPI document with Redocly CLI (web/node_modules, from the dashboard's
# `npm ci`), offline and with telemetry off: zero errors and zero warnings; a warning we accept is
# switched off in redocly.yaml with its reason. The ctest openapi_lint runs it.
#   scripts/openapi-lint.sh MESHUB_BINARY REDOCLY_BINARY REDOCLY_YAML OUT.json
# Exit 77 (skipped) when Redocly CLI is not installed (no Node.js/npm on the machine).
set -euo pipefail
bin=$1 redocly=$2 config=$3 out=$4
if [ ! -x "$redocly" ]; then
  echo "skipped: $redocly not installed (the dashboard's npm ci installs it)"
  exit 77
fi
"$bin" openapi > "$out"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1
report=$("$redocly" lint --config "$config" --format=stylish "$out" 2>&1) || { echo "$report"; exit 1; }
echo "$report" | grep -v '[║╔╚]'
if echo "$report" | grep -qiE '[0-9]+ warnings?'; then
  echo "openapi-lint: warnings: fix them or switch the rule off in redocly.yaml with the reason"
  exit 1
fi
