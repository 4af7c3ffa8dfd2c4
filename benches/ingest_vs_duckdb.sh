#!/usr/bin/env bash
# End-to-end ingest benchmark: pipewarden vs DuckDB vs the gunzip floor, same files, same threads.
#
#   benches/ingest_vs_duckdb.sh [MILLION_EVENTS] [THREADS]     (defaults: 1 million, all cores)
#
# Lays out the events as gzip CloudTrail delivery files (benches/make_corpus.py), then measures:
#   - pipewarden ingest (release build) into a fresh lake: events/s and peak RSS;
#   - DuckDB read_json unnesting Records, COPY ... TO zstd Parquet, preserve_insertion_order off;
#   - the floor: plain gunzip of the same files on the same number of cores (zcat to /dev/null).
set -euo pipefail
cd "$(dirname "$0")/.."
M="${1:-1}"
THREADS="${2:-$(nproc)}"
CACHE="${PIPEWARDEN_CACHE:-$HOME/.cache/pipewarden}"
VENV="${PIPEWARDEN_VENV:-$CACHE/venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
WORK="${BENCH_DIR:-$CACHE/bench}"
CORPUS="$WORK/corpus-${M}m"
EVENTS=$(python3 -c "print(int(float('$M') * 1e6))")

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'duckdb>=1.1' 'pyarrow>=15'
fi
if [ -z "${PIPEWARDEN_BIN:-}" ]; then
  cargo build --release --quiet --bin pipewarden
fi
BIN="${PIPEWARDEN_BIN:-$CARGO_TARGET_DIR/release/pipewarden}"

if [ ! -d "$CORPUS" ]; then
  python3 benches/make_corpus.py "$CORPUS" "$EVENTS"
fi
FILES=$(find "$CORPUS" -name '*.json.gz' | wc -l)
MB=$(du -sm "$CORPUS" | cut -f1)
echo "corpus: $EVENTS events, $FILES files, ${MB} MB gzip, $THREADS threads"

measure() { # name, command...: prints "name seconds maxrss_kb"
  local name="$1"; shift
  /usr/bin/time -o "$WORK/$name.time" -f '%e %M' "$@" >/dev/null 2>"$WORK/$name.err" || {
    echo "$name failed:" >&2; tail -5 "$WORK/$name.err" >&2; exit 1; }
  echo "$name $(tail -1 "$WORK/$name.time")"
}
rate() { # name seconds maxrss_kb
  python3 -c "import sys; e,s,k=float(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); print(f'{sys.argv[4]:<12} {e/s:>10,.0f} events/s  {s:7.2f} s  peak RSS {k/1024:7.0f} MiB')" "$EVENTS" "$2" "$3" "$1"
}

# Warm the page cache so every contender reads from memory.
find "$CORPUS" -name '*.json.gz' -print0 | xargs -0 cat > /dev/null

rm -rf "$WORK/lake"
read -r n s k < <(measure pipewarden "$BIN" ingest --no-progress --workers "$THREADS" --from "$CORPUS" --lake "$WORK/lake")
tail -1 "$WORK/pipewarden.err" >&2
P=$(rate "$n" "$s" "$k")

cat > "$WORK/duck.py" <<PY
import duckdb, sys
con = duckdb.connect()
con.execute("SET threads=$THREADS")
con.execute("SET preserve_insertion_order=false")
con.execute("""COPY (SELECT unnest(Records, recursive := true)
  FROM read_json('$CORPUS/**/*.json.gz', format='auto', records=true, maximum_object_size=1073741824, union_by_name=true))
  TO '$WORK/duck.parquet' (FORMAT parquet, COMPRESSION zstd)""")
PY
rm -f "$WORK/duck.parquet"
read -r n s k < <(measure duckdb "$VENV/bin/python" "$WORK/duck.py")
D=$(rate "$n" "$s" "$k")

read -r n s k < <(measure zcat-floor bash -c "find '$CORPUS' -name '*.json.gz' -print0 | xargs -0 -P $THREADS -n 256 zcat")
Z=$(rate "$n" "$s" "$k")

echo
echo "$P"
echo "$D"
echo "$Z"
