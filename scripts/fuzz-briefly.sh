#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (sanitizers on) and runs each for a short, bounded time:
# the beacon/pcap parser from the real captures, the water frame decoder from scratch, the meter
# decoders (DL/T 645, CJ/T 188, DLMS/COSEM, wireless M-Bus) from their drivers' test vectors.
# Usage: scripts/fuzz-briefly.sh [SECONDS per target, default 30]
# The whole step is bounded: FUZZ_TOTAL_SECONDS (default 120) is shared by all targets, so each
# runs min(SECONDS, FUZZ_TOTAL_SECONDS / number of targets) — 20 s each for today's 6 targets.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS=(beacon_fuzz water_frame_fuzz dlt645_fuzz cjt188_fuzz dlms_fuzz wmbus_fuzz)
SECONDS_PER_TARGET=${1:-30}
TOTAL=${FUZZ_TOTAL_SECONDS:-120}
SHARE=$(( TOTAL / ${#TARGETS[@]} ))
[ "$SHARE" -lt 1 ] && SHARE=1
[ "$SECONDS_PER_TARGET" -gt "$SHARE" ] && SECONDS_PER_TARGET=$SHARE
BUILD=build-fuzz
if ! command -v clang++ >/dev/null; then
  echo "fuzz-briefly: clang++ not installed (apt-get install clang libclang-rt-14-dev); skipped"
  exit 0
fi
CXX=clang++ CC=clang cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMH_FUZZ=ON \
  -DMH_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD" --target "${TARGETS[@]}" meter_fuzz_seeds
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$corpus/beacon" "$corpus/water"
mkdir -p "$corpus/seeds"
"$BUILD/tests/fuzz/meter_fuzz_seeds" "$corpus/seeds" >/dev/null
for p in dlt645 cjt188 dlms wmbus; do mkdir -p "$corpus/$p"; cp "$corpus/seeds/$p"/* "$corpus/$p/" 2>/dev/null || true; done
seeds=()
[ -d ../shared/data/pcap ] && seeds+=(../shared/data/pcap)
# Runs one target; on a crash prints libFuzzer's report (with the reproducer's path) and fails.
run() {
  local name=$1
  shift
  echo "fuzz-briefly: $name for ${SECONDS_PER_TARGET}s"
  if ! "$BUILD/tests/fuzz/$name" -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 \
       -artifact_prefix="$BUILD/" "$@" >"$corpus/$name.log" 2>&1; then
    tail -40 "$corpus/$name.log"
    echo "fuzz-briefly: $name FAILED"
    exit 1
  fi
  grep -E '^Done|stat::number_of_executed_units' "$corpus/$name.log"
}
run beacon_fuzz "$corpus/beacon" "${seeds[@]}"
run water_frame_fuzz "$corpus/water"
run dlt645_fuzz "$corpus/dlt645"
run cjt188_fuzz "$corpus/cjt188"
run dlms_fuzz "$corpus/dlms"
run wmbus_fuzz "$corpus/wmbus"
echo "fuzz-briefly: no crash"
