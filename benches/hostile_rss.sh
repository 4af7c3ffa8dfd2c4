#!/usr/bin/env bash
# Peak RSS of ingest on hostile objects (issue 23's inputs), each in its own fresh lake:
#   bombs    four 2 MB gzip bombs (each inflates to 2 GiB) under --workers 4
#   tiny     one gzip of 9 million tiny records
#   field    one record with a 300 MB field
#   clean    the bundled sample, for comparison
#
#   benches/hostile_rss.sh                      # release build
#   PIPEWARDEN_BIN=path benches/hostile_rss.sh  # another binary (a debug build, say)
#
# Prints one line per input: the peak RSS (MiB, from /usr/bin/time -v), the wall time and
# ingest's summary. The inputs are written once under ~/.cache/pipewarden/bench/hostile/.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${PIPEWARDEN_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build --release --quiet
  BIN="${CARGO_TARGET_DIR:-target}/release/pipewarden"
fi
DIR="$HOME/.cache/pipewarden/bench/hostile"
mkdir -p "$DIR"
python3 - "$DIR" <<'EOF'
import gzip, json, os, sys, zlib
d = sys.argv[1]
def write(name, make):
    p = os.path.join(d, name)
    if os.path.exists(p):
        return
    os.makedirs(p + ".tmp", exist_ok=True)
    make(p + ".tmp")
    os.rename(p + ".tmp", p)
def bombs(p):
    zero = bytes(1 << 20)
    for i in range(4):
        with gzip.open(os.path.join(p, f"bomb{i}.json.gz"), "wb", compresslevel=9) as f:
            for _ in range(2048):
                f.write(zero)
def tiny(p):
    with gzip.open(os.path.join(p, "tiny.json.gz"), "wb", compresslevel=6) as f:
        rec = '{"eventTime":"2026-10-01T00:00:00Z","eventID":"%d"}\n'
        for i in range(9_000_000):
            f.write((rec % i).encode())
def field(p):
    with open(os.path.join(p, "field.json"), "w") as f:
        f.write('{"Records":[{"eventTime":"2026-10-01T00:00:00Z","eventID":"big","userAgent":"')
        f.write("a" * (300 << 20))
        f.write('"}]}')
write("bombs", bombs)
write("tiny", tiny)
write("field", field)
EOF
run() {
  local name="$1" src="$2"; shift 2
  local lake; lake="$(mktemp -d)"
  local log; log="$(mktemp)"
  /usr/bin/time -v "$BIN" ingest --from "$src" --lake "$lake" --no-progress "$@" 2>"$log" >/dev/null || true
  local rss wall
  rss=$(awk -F: '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
  printf '%-6s peak RSS %5s MiB  wall %8s  %s\n' "$name" "$rss" "$wall" \
    "$(grep -m1 'pipewarden: cloudtrail' "$log" | cut -c1-160)"
  rm -rf "$lake" "$log"
}
run bombs "$DIR/bombs" --workers 4
run tiny "$DIR/tiny"
run field "$DIR/field"
run clean sample-logs/cloudtrail
