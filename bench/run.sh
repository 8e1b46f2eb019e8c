#!/usr/bin/env bash
# Prints MeterHub's headline figures side by side with their peers, measured in the same run:
#   1. `meterhub vee` throughput on a 10-million-reading CSV, and its peak memory;
#   2. import at a fleet's shape (20,000 / 200,000 / 1,000,000 meters, 15-minute readings in time
#      order, epoch timestamps — `meterhub sim generate`): `meterhub import` (validate + store +
#      thresholds + alerts, synchronous=FULL) vs the sqlite3 CLI's `.import` of the same rows into
#      readings(meter_id TEXT, ts INTEGER, value REAL, PRIMARY KEY(meter_id, ts)) WITHOUT ROWID
#      (WAL, synchronous=FULL); readings/s, bytes written to storage per reading, peak RSS;
#   3. the MQTT path, one reading per message, next to Mosquitto's relay-only rate (mqtt_ingest_bench);
#   4. REST query latencies p50/p99 (query_bench): a meter's year and the quarantine list on a
#      100-meter × 365-day store, one day's consumption on the largest store of part 2;
#   5. the dashboard's speed in headless Chromium next to bare uPlot (web/e2e/run.mjs figures).
# Usage: bench/run.sh [BUILD_DIR] [ROWS_MILLIONS]   (work files in $BENCH_DIR, default /tmp/meterhub-bench;
#        FLEETS="20000:100 200000:10 1000000:2" = meters:intervals of part 2; PARTS="1 2 3 4 5" = which parts)
set -euo pipefail
BUILD=${1:-build}
MILLIONS=${2:-10}
BIN="$BUILD/src/app/meterhub"
WORK=${BENCH_DIR:-/tmp/meterhub-bench}
mkdir -p "$WORK"
command -v /usr/bin/time >/dev/null || { echo "bench needs GNU time: apt-get install -y time"; exit 2; }

part() { [[ " ${PARTS:-1 2 3 4 5} " == *" $1 "* ]]; }
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"

# 1400 meters (all electricity, 96 readings a day) × days → about MILLIONS × 10^6 readings (part 1).
DAYS=$(( (MILLIONS * 1000000 + 1400 * 96 - 1) / (1400 * 96) ))
CSV="$WORK/readings_${MILLIONS}m.csv"
if part 1 && [ ! -s "$CSV" ]; then
  echo "generating $CSV ($DAYS days of 1400 meters)..."
  "$BIN" sim generate --meters 1400 --days "$DAYS" --electricity-share 1 --start 2020-06-01 \
    --null-rate 0.0005 --backward-rate 0.0002 --spike-rate 0.0002 --out "$CSV"
fi
if part 1; then
  ROWS=$(( $(wc -l < "$CSV") - 1 ))
  echo "input: $CSV, $ROWS readings, $(du -h "$CSV" | cut -f1)"
fi

measure() {  # label, command...; prints seconds and peak RSS (MiB)
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" > "$WORK/$label.out" 2> "$WORK/$label.err" || {
    echo "$label failed:"; tail -5 "$WORK/$label.err"; return 1; }
  read -r secs kb < "$WORK/time.txt"
  printf "%-34s %8.2f s  %12.0f readings/s  peak RSS %6.0f MiB\n" "$label" "$secs" "$(echo "$ROWS / $secs" | bc -l)" "$(echo "$kb / 1024" | bc -l)"
}

anon_peak() {  # runs a command, prints the peak of its anonymous memory (heap, not the mapped input) in MiB
  "$@" > /dev/null 2>&1 &
  local pid=$! peak=0 kb
  while kill -0 "$pid" 2>/dev/null; do
    kb=$(awk '/^RssAnon:/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
    sleep 0.05
  done
  wait "$pid" || true
  echo $(( peak / 1024 ))
}

if part 1; then
echo
echo "== 1. validation (meterhub vee) =="
measure "meterhub vee" "$BIN" vee "$CSV" --peak 2020-06-01..2020-06-30 --interval 15m --reset-after 3 \
  --verdicts "$WORK/verdicts.csv" --alerts "$WORK/alerts.csv"
echo "  (peak RSS counts the mmapped input file; anonymous memory peaked at $(anon_peak "$BIN" vee "$CSV" \
  --peak 2020-06-01..2020-06-30 --interval 15m --reset-after 3 --verdicts "$WORK/verdicts.csv") MiB)"

fi

FLEET_DB=""
if part 2; then
echo
echo "== 2. import at a fleet's shape, next to sqlite3 .import of the same rows =="
fleet_measure() {  # label, rows, command...: seconds, rows/s, bytes written per row, peak RSS
  local label=$1 rows=$2; shift 2
  /usr/bin/time -f "%e %M %O" -o "$WORK/time.txt" "$@" > "$WORK/fleet.out" 2> "$WORK/fleet.err" || {
    echo "$label failed:"; tail -5 "$WORK/fleet.err"; return 1; }
  read -r secs kb blocks < "$WORK/time.txt"
  LAST_RATE=$(echo "$rows / $secs" | bc -l)
  printf "  %-28s %7.2f s %10.0f readings/s %7.0f bytes written/reading  peak RSS %6.0f MiB\n" "$label" "$secs" \
    "$LAST_RATE" "$(echo "$blocks * 512 / $rows" | bc -l)" "$(echo "$kb / 1024" | bc -l)"
}
for fleet in ${FLEETS:-20000:100 200000:10 1000000:2}; do
  METERS=${fleet%%:*}; INTERVALS=${fleet##*:}
  FCSV="$WORK/fleet_${METERS}x${INTERVALS}.csv"
  [ -s "$FCSV" ] || "$BIN" sim generate --meters "$METERS" --intervals "$INTERVALS" --order time --timestamps epoch \
    --electricity-share 1 --start 2020-06-01 --out "$FCSV" > /dev/null
  FROWS=$(( $(wc -l < "$FCSV") - 1 ))
  echo "$METERS meters x $INTERVALS intervals: $FROWS rows, $(du -h "$FCSV" | cut -f1)"
  rm -f "$WORK"/fleet_s3.db* "$WORK/fleet_${METERS}.db"*
  cat > "$WORK/fleet_s3.sql" <<SQL
PRAGMA journal_mode=WAL;
PRAGMA synchronous=FULL;
CREATE TABLE readings(meter_id TEXT NOT NULL, ts INTEGER NOT NULL, value REAL, PRIMARY KEY(meter_id, ts)) WITHOUT ROWID;
.import --csv --skip 1 $FCSV readings
SQL
  fleet_measure "sqlite3 .import" "$FROWS" sqlite3 "$WORK/fleet_s3.db" ".read $WORK/fleet_s3.sql" > "$WORK/peer.txt"
  PEER=$LAST_RATE
  printf '[store]\npath = "%s"\nsynchronous = "full"\n' "$WORK/fleet_${METERS}.db" > "$WORK/fleet.toml"
  fleet_measure "meterhub import" "$FROWS" "$BIN" import "$FCSV" --config "$WORK/fleet.toml" > "$WORK/ours.txt"
  cat "$WORK/peer.txt" "$WORK/ours.txt"
  printf "  meterhub / sqlite3 = %.2fx (goal >= 2x)\n" "$(echo "$LAST_RATE / $PEER" | bc -l)"
  rm -f "$WORK"/fleet_s3.db*
  FLEET_DB="$WORK/fleet_${METERS}.db"
done
fi

if part 3; then
echo
echo "== 3. MQTT path: one reading per QoS 1 message, next to Mosquitto relaying the same messages =="
"$BUILD/bench/mqtt_ingest_bench" --benchmark_counters_tabular=true
fi

if part 4; then
echo
echo "== 4. REST query latencies (the day's consumption on the largest fleet of part 2) =="
YCSV="$WORK/year_100_faults.csv"
# With the simulator's faults, so the quarantine listing has rows to page through (a meter stuck
# below p quarantines the rest of its year: about 4 in 10 readings end there).
[ -s "$YCSV" ] || "$BIN" sim generate --meters 100 --days 365 --electricity-share 1 --start 2020-06-01 \
  --null-rate 0.0005 --backward-rate 0.0002 --spike-rate 0.0002 --out "$YCSV" > /dev/null
rm -f "$WORK"/year.db*
printf '[store]\npath = "%s"\n' "$WORK/year.db" > "$WORK/year.toml"
"$BIN" import "$YCSV" --config "$WORK/year.toml" > /dev/null
MH_BENCH_YEAR_DB="$WORK/year.db" MH_BENCH_METER=$(sed -n 2p "$YCSV" | cut -d, -f1) MH_BENCH_YEAR=2020-06-01 \
MH_BENCH_FLEET_DB="$FLEET_DB" MH_BENCH_DATE=2020-06-01 \
  "$BUILD/bench/query_bench" --benchmark_counters_tabular=true
fi

if part 5; then
echo
echo "== 5. dashboard speed in headless Chromium (next to bare uPlot) =="
if [ -x /usr/bin/chromium ]; then
  node "$(dirname "$0")/../web/e2e/run.mjs" --bin "$BIN" --out "$WORK/e2e"
else
  echo "skipped: /usr/bin/chromium is not installed"
fi
fi
