#!/usr/bin/env bash
# `pipewarden permissions` over ~10 million generated events (benches/lake_10m.sh): the review
# of the whole 30 days, next to one full-lake hunt (pipeline_role_policy_changes reads every
# day's IAM events; deploy_role_assumers joins every event to attribution), each run twice, the
# second reported. Prints wall time and peak RSS.
#
#   benches/permissions.sh            # builds release, generates and ingests once (cached)
#   PIPEWARDEN_BIN=path benches/permissions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lake_10m.sh
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
events=$("$BIN" query --lake "$LAKE" --format csv "SELECT count(*) AS n FROM cloudtrail" | tail -1)
echo "lake: $LAKE ($events events), $(nproc) cores"
for i in 1 2; do
  /usr/bin/time -f "permissions (30 days, json): %e s, %M KiB peak" -o "$OUT/t" \
    "$BIN" permissions --lake "$LAKE" --since 30d --until 2026-09-30 --format json -o "$OUT/review.json" 2>/dev/null
done
cat "$OUT/t"
"$BIN" permissions --lake "$LAKE" --since 30d --until 2026-09-30 --format table 2>/dev/null | head -4
for hunt in pipeline_role_policy_changes deploy_role_assumers; do
  params=()
  if "$BIN" query --hunt "$hunt" --show-sql -p "days=3650" > /dev/null 2>&1; then
    params=(-p "days=3650")
  fi
  for i in 1 2; do
    /usr/bin/time -f "hunt $hunt (whole lake): %e s, %M KiB peak" -o "$OUT/t" \
      "$BIN" query --lake "$LAKE" --hunt "$hunt" "${params[@]}" --format csv -o "$OUT/r.csv"
  done
  cat "$OUT/t"
done
