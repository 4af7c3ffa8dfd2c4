#!/usr/bin/env bash
# detect over ~10 million generated events (30 days at scale 300, benches/lake_10m.sh): the local
# engine, then a Ballista cluster on this machine (one `pipewarden scheduler`, two
# `pipewarden executor`s) reading the same lake. Reports wall time and peak RSS of every process
# and checks that both reports are the same.
#
#   benches/cluster.sh                          # builds release, generates and ingests once (cached)
#   PIPEWARDEN_BIN=path EXECUTOR_CONCURRENCY=2 benches/cluster.sh
#
# EXECUTOR_CONCURRENCY (default 1) is each executor's task slots: 1 gives the cluster as many
# slots as this 2-core machine has cores, as the local engine uses.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lake_10m.sh
OUT="$(mktemp -d)"
PIDS=()
# PIDS are /usr/bin/time wrappers, which ignore SIGINT: signal the servers under them (the
# executors stop on SIGINT; the scheduler on SIGTERM).
stop() {
  for p in "${PIDS[@]}"; do pkill -INT -P "$p" 2>/dev/null || true; done
  sleep 2
  for p in "${PIDS[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; done
}
cleanup() {
  stop
  wait 2>/dev/null || true
  rm -rf "$OUT"
}
trap cleanup EXIT
CONC="${EXECUTOR_CONCURRENCY:-1}"
DETECT=(detect --lake "$LAKE" --until 2026-10-01 --window 10d --baseline 20d --min-score 0)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "lake: $LAKE, $(nproc) cores, executors with $CONC task slot(s) each"
/usr/bin/time -f "%e %M %U %S" -o "$OUT/local.t" "$BIN" "${DETECT[@]}" --json "$OUT/local.json" > /dev/null || true

SP=$(port)
/usr/bin/time -f "%e %M %U %S" -o "$OUT/sched.t" "$BIN" scheduler --bind "127.0.0.1:$SP" 2> "$OUT/sched.log" &
PIDS+=($!)
for i in 0 1; do
  /usr/bin/time -f "%e %M %U %S" -o "$OUT/ex$i.t" "$BIN" executor --scheduler "127.0.0.1:$SP" \
    --port "$(port)" --grpc-port "$(port)" --concurrency "$CONC" --work-dir "$OUT/work$i" 2> "$OUT/ex$i.log" &
  PIDS+=($!)
done
for _ in $(seq 1 300); do
  [ "$(grep -c registered "$OUT/sched.log" || true)" -ge 2 ] && break
  sleep 0.2
done
grep -c registered "$OUT/sched.log" | grep -q 2 || { cat "$OUT"/*.log; exit 1; }
/usr/bin/time -f "%e %M %U %S" -o "$OUT/cluster.t" "$BIN" "${DETECT[@]}" --engine "ballista://127.0.0.1:$SP" \
  --json "$OUT/cluster.json" > /dev/null || true
stop
wait 2>/dev/null || true
PIDS=()

# Each .t file ends with "wall peakKiB user sys" (a line about the exit status may come first).
row() {
  read -r s kib u sy < <(tail -1 "$OUT/$2.t")
  printf '%-34s %8s %10d %8.1f\n' "$1" "$3$s" $((kib / 1024)) "$(echo "$u + $sy" | bc)"
}
printf '%-34s %8s %10s %8s\n' "" "wall s" "peak MiB" "CPU s"
row "local engine (one process)" local ""
row "cluster: client" cluster ""
for f in sched ex0 ex1; do
  [ -s "$OUT/$f.t" ] && row "cluster: $f (whole life)" "$f" "~"
done
if cmp -s "$OUT/local.json" "$OUT/cluster.json"; then
  echo "reports: identical ($(grep -c '"detector"' "$OUT/local.json") findings)"
else
  echo "!! reports differ"; diff <(head -c 4000 "$OUT/local.json") <(head -c 4000 "$OUT/cluster.json") || true
fi
