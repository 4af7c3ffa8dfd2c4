#!/usr/bin/env bash
# Lineage and attribution over ~10 million generated events (30 days at scale 300).
#
#   benches/attribution.sh            # builds release, generates and ingests once (cached), measures
#   PIPEWARDEN_BIN=path benches/attribution.sh
#
# The generated history and its lake are cached under ~/.cache/pipewarden/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pipewarden/target}"
BIN="${PIPEWARDEN_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build --release
  BIN="$CARGO_TARGET_DIR/release/pipewarden"
fi
CACHE="$HOME/.cache/pipewarden/bench"
GEN="$CACHE/gen-10m"
LAKE="$CACHE/lake-10m"
mkdir -p "$CACHE"
if [ ! -f "$GEN/labels.jsonl" ]; then
  rm -rf "$GEN"
  "$BIN" generate --out "$GEN" --days 30 --seed 1 --scale 300
fi
if [ ! -f "$LAKE/.complete" ]; then
  rm -rf "$LAKE"
  /usr/bin/time -f "ingest cloudtrail: %e s, %M KiB peak" "$BIN" ingest --no-progress --from "$GEN/cloudtrail" --lake "$LAKE"
  /usr/bin/time -f "ingest builds: %e s, %M KiB peak" "$BIN" ingest --builds --no-progress --from "$GEN/builds" --lake "$LAKE"
  touch "$LAKE/.complete"
fi
PIPEWARDEN_BENCH_LAKE="$LAKE" cargo bench --bench attribution
