#!/usr/bin/env bash
# The saved hunts over ~10 million generated events (30 days at scale 300): wall time and peak
# RSS of `pipewarden query --hunt`, and, for the hunts marked `portable: duckdb`, DuckDB running
# the same SQL on the same Parquet (2 threads each; the row counts must agree).
#
#   benches/hunts.sh                    # builds release, generates and ingests once (cached)
#   PIPEWARDEN_BIN=path benches/hunts.sh
#
# Each query runs twice; the second run is reported (page cache warm for both engines). Hunts
# that look back N days from the last event run with days=$HUNT_DAYS (default 3650: the whole
# lake, the heaviest case; the lake's last events trail weeks after its bulk).
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lake_10m.sh
PY="${PIPEWARDEN_TEST_PYTHON:-$HOME/.cache/pipewarden/venv/bin/python}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
export RAYON_NUM_THREADS=2
events=$("$BIN" query --lake "$LAKE" --format csv "SELECT count(*) AS n FROM cloudtrail" | tail -1)
echo "lake: $LAKE ($events events), $(nproc) cores"
printf '%-34s %10s %10s %8s | %10s %10s %10s\n' hunt "pw s" "pw MiB" rows "duck q s" "duck s" "duck MiB"
for hunt in $("$BIN" query --list-hunts | grep -v '^ ' | cut -d' ' -f1); do
  params=()
  if "$BIN" query --hunt "$hunt" --show-sql -p "days=${HUNT_DAYS:-3650}" > /dev/null 2>&1; then
    params=(-p "days=${HUNT_DAYS:-3650}")
  fi
  for i in 1 2; do
    /usr/bin/time -f "%e %M" -o "$OUT/t" "$BIN" query --lake "$LAKE" --hunt "$hunt" "${params[@]}" --format csv -o "$OUT/r.csv"
  done
  read -r pw_s pw_kib < "$OUT/t"
  rows=$(($(wc -l < "$OUT/r.csv") - 1))
  duck="- - -"
  "$BIN" query --hunt "$hunt" "${params[@]}" --show-sql > "$OUT/q.sql"
  if grep -q '^-- portable: duckdb' "$OUT/q.sql"; then
    for i in 1 2; do
      /usr/bin/time -f "%e %M" -o "$OUT/d" "$PY" benches/hunts_duckdb.py "$LAKE" "$OUT/q.sql" > "$OUT/dr"
    done
    read -r d_rows d_q < "$OUT/dr"
    read -r d_s d_kib < "$OUT/d"
    [ "$d_rows" = "$rows" ] || echo "!! $hunt: pipewarden $rows rows, DuckDB $d_rows rows"
    duck="$d_q $d_s $((d_kib / 1024))"
  fi
  # shellcheck disable=SC2086
  printf '%-34s %10s %10s %8s | %10s %10s %10s\n' "$hunt" "$pw_s" "$((pw_kib / 1024))" "$rows" $duck
done
