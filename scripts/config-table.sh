#!/usr/bin/env bash
# Prints the README's configuration table from `meterhub config defaults` (the single source).
# Usage: scripts/config-table.sh [path/to/meterhub]
set -euo pipefail
BIN=${1:-build/src/app/meterhub}
echo "| key | default | meaning |"
echo "|---|---|---|"
"$BIN" config defaults | awk '
  /^\[/ { gsub(/[\[\]]/, ""); section = $0; next }
  /^#/ || NF == 0 { next }
  {
    key = $1; rest = $0; sub(/^[^=]*= /, "", rest)
    value = rest; sub(/  #.*/, "", value)
    comment = rest; if (index(comment, "  # ")) { sub(/^.*  # /, "", comment) } else { comment = "" }
    gsub(/\|/, "\\|", comment)
    printf "| `%s.%s` | `%s` | %s |\n", section, key, value, comment
  }'
