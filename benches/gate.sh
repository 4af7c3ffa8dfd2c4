#!/usr/bin/env bash
# `pipewarden gate` and `pipewarden assess` over ~10 million generated events
# (benches/lake_10m.sh): the nightly detect saves the findings once (cached), assess saves the
# assessment, then gate answers for a blocked and a clear pipeline, with and without --controls.
# Prints wall time and peak RSS of each.
#
#   benches/gate.sh                   # builds release, generates and ingests once (cached)
#   PIPEWARDEN_BIN=path benches/gate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lake_10m.sh
# The generated anomalies sit in the last third of the 30 days: judge those 10 days.
/usr/bin/time -f "detect (10 days against 20): %e s, %M KiB peak" \
  "$BIN" detect --lake "$LAKE" --until 2026-10-01 --window 10d --baseline 20d --fail-on critical >/dev/null || true
/usr/bin/time -f "assess (30 days): %e s, %M KiB peak" \
  "$BIN" assess --lake "$LAKE" --since 30d --until 2026-09-30 --format json -o /dev/null
for args in \
  "--pipeline github:acme/web:deploy.yml" \
  "--pipeline github:acme/docs:publish.yml" \
  "--pipeline jenkins:jenkins.acme.example/legacy-portal-deploy --controls long_term_credentials,untrusted_input,state_emitted"; do
  # shellcheck disable=SC2086
  /usr/bin/time -f "gate $args: %e s, %M KiB peak" "$BIN" gate --lake "$LAKE" --window 10d $args >/dev/null || true
done
