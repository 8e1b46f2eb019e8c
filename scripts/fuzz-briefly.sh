#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (sanitizers on) and runs each for a short, bounded time:
# the beacon/pcap parser from the real captures, the water frame decoder from scratch, the DLMS
# and wM-Bus decoders from their driver vectors.
# Usage: scripts/fuzz-briefly.sh [SECONDS per target, default 30]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-30}
BUILD=build-fuzz
if ! command -v clang++ >/dev/null; then
  echo "fuzz-briefly: clang++ not installed (apt-get install clang libclang-rt-14-dev); skipped"
  exit 0
fi
CXX=clang++ CC=clang cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMH_FUZZ=ON \
  -DMH_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD" --target beacon_fuzz water_frame_fuzz dlms_fuzz wmbus_fuzz meter_fuzz_seeds
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$corpus/beacon" "$corpus/water" "$corpus/dlms" "$corpus/wmbus"
"$BUILD/tests/fuzz/meter_fuzz_seeds" "$corpus/seeds" >/dev/null
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
run dlms_fuzz "$corpus/dlms" "$corpus/seeds/dlms"
run wmbus_fuzz "$corpus/wmbus" "$corpus/seeds/wmbus"
echo "fuzz-briefly: no crash"
