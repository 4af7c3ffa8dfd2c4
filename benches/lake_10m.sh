#!/usr/bin/env bash
# Sourced by the 10-million-event benchmarks: builds the release binary (unless PIPEWARDEN_BIN
# is set), generates 30 days at scale 300 (~10.08M CloudTrail events) and ingests them once.
# Sets BIN and LAKE. Everything is cached under ~/.cache/pipewarden/bench/.
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
