#!/usr/bin/env bash
# Runs every test of pipewarden. Installs and starts what the tests need:
#   - a Python virtualenv with moto[server] (a real S3-compatible server on loopback),
#     duckdb and pyarrow (to check that other engines read the lake);
#   - pydantic-ocsf (a model per OCSF version: tests/ocsf_strict.py validates every OCSF event
#     for the version it declares) and py-ocsf-models (a second check of 1.3); botocore, from
#     moto, validates ASFF;
#   - Debian's chromium (to render the HTML report headless), through apt when missing;
#   - moto_server on a free loopback port, stopped on exit.
# Then runs `cargo test` with the endpoint in the environment. The build includes the default
# `ballista` feature: Ballista 55's scheduler and executor crates, built into pipewarden; the
# cluster tests start `pipewarden scheduler` and two `pipewarden executor` processes on loopback
# ports (each test its own, stopped when it ends) reading the lake from moto_server.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${PIPEWARDEN_CACHE:-$HOME/.cache/pipewarden}"
VENV="${PIPEWARDEN_VENV:-$CACHE/venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"

if [ ! -x "$VENV/bin/moto_server" ] || ! "$VENV/bin/python" -c 'import duckdb, pyarrow, py_ocsf_models, ocsf.v1_3_0.events' 2>/dev/null; then
  echo "tests/run.sh: installing moto[server], duckdb, pyarrow, pydantic-ocsf, py-ocsf-models into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    'moto[server]>=5,<6' 'duckdb>=1.1' 'pyarrow>=15' 'pydantic-ocsf>=3,<4' 'py-ocsf-models>=0.5'
fi

if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  echo "tests/run.sh: installing Debian's chromium for the HTML report test" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium; } >/dev/null 2>&1 \
    || echo "tests/run.sh: could not install chromium; the HTML rendering test will say so" >&2
fi

PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
LOG="$(mktemp -t moto.XXXXXX.log)"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null || true; wait $MOTO_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/moto-api/')" 2>/dev/null; then
    break
  fi
  sleep 0.2
done

# moto accepts any credentials; they reach pipewarden through the standard chain (env).
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL || true
export PIPEWARDEN_TEST_S3_ENDPOINT="http://127.0.0.1:$PORT"
export PIPEWARDEN_TEST_PYTHON="$VENV/bin/python"

# Style gates, where the toolchain has the components.
if cargo fmt --version >/dev/null 2>&1; then cargo fmt --check; fi
if cargo clippy --version >/dev/null 2>&1; then cargo clippy --all-targets -- -D warnings; fi

cargo test --no-fail-fast --all-targets "$@"
cargo test --doc
