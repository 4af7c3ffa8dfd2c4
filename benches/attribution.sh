#!/usr/bin/env bash
# Lineage and attribution over ~10 million generated events (30 days at scale 300).
#
#   benches/attribution.sh            # builds release, generates and ingests once (cached), measures
#   PIPEWARDEN_BIN=path benches/attribution.sh
#
# The generated history and its lake are cached under ~/.cache/pipewarden/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lake_10m.sh
PIPEWARDEN_BENCH_LAKE="$LAKE" cargo bench --bench attribution
