#!/usr/bin/env bash
# Daily profiles (issue 21): what a nightly `detect` costs with its history read from the daily
# profiles, against reading it from the events, on the ~10 million events of benches/lake_10m.sh
# (30 days) and on a 60-day lake (60 days at scale 150, generated and ingested once, cached);
# then DuckDB and pipewarden computing the same per-day profile over the same Parquet.
#
#   benches/profiles.sh            # builds release, generates and ingests once (cached)
#   PIPEWARDEN_BIN=path benches/profiles.sh
#
# Every run: wall time and peak RSS (/usr/bin/time), the default memory limit. The profiles of a
# lake, and attribution's daily extracts, are removed before the "first detect" rows, so those
# build every day of the history (and extract every day of the lake).
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lake_10m.sh
PY="${PIPEWARDEN_TEST_PYTHON:-$HOME/.cache/pipewarden/venv/bin/python}"
GEN60="$CACHE/gen-60d"
LAKE60="$CACHE/lake-60d"
if [ ! -f "$LAKE60/.complete" ]; then
  rm -rf "$GEN60" "$LAKE60"
  "$BIN" generate --out "$GEN60" --days 60 --seed 2 --scale 150
  "$BIN" ingest --no-progress --from "$GEN60/cloudtrail" --lake "$LAKE60"
  "$BIN" ingest --builds --no-progress --from "$GEN60/builds" --lake "$LAKE60"
  touch "$LAKE60/.complete"
fi
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

# run LABEL LAKE [detect flags...]: one detect, its time, peak RSS, days built, findings.
run() {
  local label="$1" lake="$2"
  shift 2
  local rc=0
  /usr/bin/time -f "%e %M" -o "$OUT/t" "$BIN" detect --lake "$lake" --min-score 0 \
    --fail-on critical --json "$OUT/$label.json" "$@" > /dev/null 2> "$OUT/err" || rc=$?
  # 1 is a finding at or above --fail-on, not a failure.
  if [ "$rc" -gt 1 ]; then
    cat "$OUT/err"
    exit 1
  fi
  # time(1) writes "Command exited with non-zero status 1" above its figures.
  read -r s kib < <(tail -1 "$OUT/t")
  local built
  built=$(grep -o 'profiles of [0-9]* of the history.s [0-9]* days' "$OUT/err" | head -1 || true)
  printf '%-58s %8s s %7d MiB  %4d findings  %s\n' "$label" "$s" $((kib / 1024)) \
    "$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['findings']))" "$OUT/$label.json")" \
    "${built:-built none}"
}

# The first day of a run's window (from its JSON).
window_start() {
  python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['window_start'][:10])" "$OUT/$1.json"
}

# Nightly runs judge the last day of a lake's bulk against the days before it (the generated
# lakes trail off with a few late events a day for weeks after their last full day).
echo "== $LAKE ($(nproc) cores)"
nightly=(--until 2026-10-01 --window 1d --baseline 29d)
rm -rf "$LAKE/profiles" "$LAKE/_pipewarden/attribution"
run "10M nightly, history from the events (--no-profiles)" "$LAKE" "${nightly[@]}" --no-profiles
run "10M nightly, first run: builds 29 days of profiles" "$LAKE" "${nightly[@]}"
run "10M nightly, profiles in place" "$LAKE" "${nightly[@]}"
# The next night: yesterday's window is history now, built once.
prev=$(date -u -d "$(window_start "10M nightly, profiles in place") - 1 day" +%F)
rm -rf "$LAKE/profiles/event_date=$prev"
# ... and the judged day is new: its attribution extracts are made.
judged=$(window_start "10M nightly, profiles in place")
rm -rf "$LAKE"/_pipewarden/attribution/*/"event_date=$judged"
run "10M nightly, the new day's profile built" "$LAKE" "${nightly[@]}"
cmp -s "$OUT/10M nightly, history from the events (--no-profiles).json" \
  "$OUT/10M nightly, profiles in place.json" && echo "   findings JSON: identical with and without profiles" \
  || echo "!! findings JSON differ with and without profiles"
# The labelled days of benches/detect_precision.sh.
wide=(--until 2026-10-01 --window 10d --baseline 20d)
run "10M 10 days against 20, from the events" "$LAKE" "${wide[@]}" --no-profiles
run "10M 10 days against 20, profiles in place" "$LAKE" "${wide[@]}"
cmp -s "$OUT/10M 10 days against 20, from the events.json" \
  "$OUT/10M 10 days against 20, profiles in place.json" && echo "   findings JSON: identical" \
  || echo "!! findings JSON differ"

echo "== $LAKE60"
rm -rf "$LAKE60/profiles" "$LAKE60/_pipewarden/attribution"
night60=(--until 2026-10-31 --window 1d)
run "60d nightly vs 59 days, from the events" "$LAKE60" "${night60[@]}" --baseline 59d --no-profiles
run "60d nightly vs 59 days, first run: builds 59 days" "$LAKE60" "${night60[@]}" --baseline 59d
run "60d nightly vs 30 days, profiles in place" "$LAKE60" "${night60[@]}" --baseline 30d
run "60d nightly vs 59 days, profiles in place" "$LAKE60" "${night60[@]}" --baseline 59d

echo "== the same per-day profile over the same Parquet (benches/profile_portable.sql, 2 threads)"
for i in 1 2; do
  /usr/bin/time -f "%e %M" -o "$OUT/t" "$BIN" query --lake "$LAKE" -f benches/profile_portable.sql \
    --format csv > "$OUT/pw.csv"
done
read -r s kib < "$OUT/t"
printf '%-58s %8s s %7d MiB  %s\n' "pipewarden (DataFusion)" "$s" $((kib / 1024)) "$(tail -1 "$OUT/pw.csv")"
for i in 1 2; do
  /usr/bin/time -f "%e %M" -o "$OUT/t" "$PY" - "$LAKE" benches/profile_portable.sql > "$OUT/duck" <<'PY'
import sys, duckdb
con = duckdb.connect()
con.execute("SET threads = 2")
con.execute("SET TimeZone = 'UTC'")
con.execute(f"CREATE VIEW cloudtrail AS SELECT * FROM read_parquet('{sys.argv[1]}/cloudtrail/*/*.parquet', hive_partitioning = true)")
print(",".join(str(v) for v in con.execute(open(sys.argv[2]).read()).fetchone()))
PY
done
read -r s kib < "$OUT/t"
printf '%-58s %8s s %7d MiB  %s\n' "DuckDB $("$PY" -c 'import duckdb; print(duckdb.__version__)')" "$s" $((kib / 1024)) "$(cat "$OUT/duck")"
