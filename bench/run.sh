#!/usr/bin/env bash
# Prints MeterHub's headline figures side by side with their peers, measured in the same run:
#   1. `meterhub vee` throughput on a 10-million-reading CSV, and its peak memory;
#   2. ingest into the embedded store: `meterhub import` (batch path) vs the sqlite3 CLI's
#      `.import` of the same CSV into an equivalent table (same primary key, WAL, synchronous=FULL);
#   3. the MQTT path (`mqtt_ingest_bench`).
# Usage: bench/run.sh [BUILD_DIR] [ROWS_MILLIONS]   (work files in $BENCH_DIR, default /tmp/meterhub-bench)
set -euo pipefail
BUILD=${1:-build}
MILLIONS=${2:-10}
BIN="$BUILD/src/app/meterhub"
WORK=${BENCH_DIR:-/tmp/meterhub-bench}
mkdir -p "$WORK"
command -v /usr/bin/time >/dev/null || { echo "bench needs GNU time: apt-get install -y time"; exit 2; }

# 1400 meters (all electricity, 96 readings a day) × days → about MILLIONS × 10^6 readings.
DAYS=$(( (MILLIONS * 1000000 + 1400 * 96 - 1) / (1400 * 96) ))
CSV="$WORK/readings_${MILLIONS}m.csv"
if [ ! -s "$CSV" ]; then
  echo "generating $CSV ($DAYS days of 1400 meters)..."
  "$BIN" sim generate --meters 1400 --days "$DAYS" --electricity-share 1 --start 2020-06-01 \
    --null-rate 0.0005 --backward-rate 0.0002 --spike-rate 0.0002 --out "$CSV"
fi
ROWS=$(( $(wc -l < "$CSV") - 1 ))
echo "input: $CSV, $ROWS readings, $(du -h "$CSV" | cut -f1)"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"

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

echo
echo "== 1. validation (meterhub vee) =="
measure "meterhub vee" "$BIN" vee "$CSV" --peak 2020-06-01..2020-06-30 --interval 15m --reset-after 3 \
  --verdicts "$WORK/verdicts.csv" --alerts "$WORK/alerts.csv"
echo "  (peak RSS counts the mmapped input file; anonymous memory peaked at $(anon_peak "$BIN" vee "$CSV" \
  --peak 2020-06-01..2020-06-30 --interval 15m --reset-after 3 --verdicts "$WORK/verdicts.csv") MiB)"

echo
echo "== 2. ingest into the embedded store (same CSV) =="
rm -f "$WORK"/import.db* "$WORK"/sqlite3.db*
printf '[store]\npath = "%s"\n[vee]\npeak = "2020-06-01..2020-06-30"\nreset_after = 3\n' "$WORK/import.db" > "$WORK/import.toml"
measure "meterhub import (validate+store)" "$BIN" import "$CSV" --config "$WORK/import.toml"
cat > "$WORK/sqlite3.sql" <<SQL
PRAGMA journal_mode=WAL;
PRAGMA synchronous=FULL;
CREATE TABLE readings(meter_id TEXT NOT NULL, ts TEXT NOT NULL, value REAL, PRIMARY KEY(meter_id, ts)) WITHOUT ROWID;
.import --csv --skip 1 $CSV readings
SQL
measure "sqlite3 .import (store only)" sqlite3 "$WORK/sqlite3.db" ".read $WORK/sqlite3.sql"
echo "rows stored: meterhub $(sqlite3 "$WORK/import.db" 'select count(*) from readings') accepted + $(sqlite3 "$WORK/import.db" 'select count(*) from quarantine') quarantined; sqlite3 $(sqlite3 "$WORK/sqlite3.db" 'select count(*) from readings')"

echo
echo "== 3. MQTT path (1 M readings, 96 per message, QoS 1, commit before PUBACK) =="
"$BUILD/bench/mqtt_ingest_bench" 1000000 96 "$WORK/mqtt"
echo "== 3b. MQTT path, worst case: one reading per message (100,000 messages) =="
"$BUILD/bench/mqtt_ingest_bench" 100000 1 "$WORK/mqtt1"
