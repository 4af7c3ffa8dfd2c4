#!/usr/bin/env bash
# Peak RSS of `pipewarden verify` on hostile trail objects (issue 23, item 7), on a real S3 API:
# moto_server on loopback, the objects put through boto3, pipewarden reading them through the
# AWS SDK with only the endpoint changed. One trail, 2026-10-01, three hourly digests, signed
# with a key made here (as CloudTrail signs: SHA256withRSA over the documented string):
#   10:00  a signed digest listing a log file that is a 1 GiB gzip bomb (its hash is checked:
#          the file is inflated as a stream)
#   11:00  a digest that is a 2 MB gzip inflating to 2 GiB (refused at 16 MiB)
#   12:00  a signed digest listing one ordinary log file
#
#   benches/verify_rss.sh                      # release build
#   PIPEWARDEN_BIN=path benches/verify_rss.sh  # another binary (a debug build, say)
#
# Needs the test virtualenv (tests/run.sh makes it: moto[server], which brings boto3 and
# cryptography). Prints the peak RSS (MiB, from /usr/bin/time -v), the wall time, the exit status
# and the problems verify reported. The objects are made once under
# ~/.cache/pipewarden/bench/hostile/verify/.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${PIPEWARDEN_CACHE:-$HOME/.cache/pipewarden}"
VENV="${PIPEWARDEN_VENV:-$CACHE/venv}"
BIN="${PIPEWARDEN_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build --release --quiet
  BIN="${CARGO_TARGET_DIR:-target}/release/pipewarden"
fi
[ -x "$VENV/bin/moto_server" ] || { echo "no $VENV/bin/moto_server: run tests/run.sh once" >&2; exit 2; }
DIR="$CACHE/bench/hostile/verify"
mkdir -p "$DIR"

PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$DIR/moto.log" 2>&1 &
MOTO=$!
trap 'kill $MOTO 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/moto-api/" >/dev/null 2>&1 && break
  sleep 0.2
done
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL || true

"$VENV/bin/python" - "$DIR" "http://127.0.0.1:$PORT" <<'EOF'
import gzip, hashlib, json, os, sys, zlib
import boto3
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

d, endpoint = sys.argv[1], sys.argv[2]
acct, region, bucket = "111122223333", "us-east-1", "bench-trail"
root = f"AWSLogs/{acct}/%s/{region}/2026/10/01/{acct}"

def cached(name, make):
    p = os.path.join(d, name)
    if not os.path.exists(p):
        make(p + ".tmp")
        os.rename(p + ".tmp", p)
    return p

def zeros_gz(n_mib):
    def make(p):
        zero = bytes(1 << 20)
        with gzip.open(p, "wb", compresslevel=9) as f:
            for _ in range(n_mib):
                f.write(zero)
    return make

log_bomb = cached("log-bomb-1gib.json.gz", zeros_gz(1024))
digest_bomb = cached("digest-bomb-2gib.json.gz", zeros_gz(2048))
h = hashlib.sha256()
zero = bytes(1 << 20)
for _ in range(1024):
    h.update(zero)
bomb_hash = h.hexdigest()

key_pem = os.path.join(d, "key.pem")
if not os.path.exists(key_pem):
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    open(key_pem, "wb").write(k.private_bytes(serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
k = serialization.load_pem_private_key(open(key_pem, "rb").read(), None)
os.makedirs(os.path.join(d, "keys"), exist_ok=True)
open(os.path.join(d, "keys", "benchfingerprint.pem"), "wb").write(k.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.PKCS1))

s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region)
s3.create_bucket(Bucket=bucket)
def log_key(hour):
    return f"{root % 'CloudTrail'}_CloudTrail_{region}_20261001T{hour:02}05Z_log.json.gz"
def digest_key(hour):
    return f"{root % 'CloudTrail-Digest'}_CloudTrail-Digest_{region}_trail_{region}_20261001T{hour + 1:02}0000Z.json.gz"

previous = None
for hour in (10, 11, 12):
    if hour == 11:
        s3.upload_file(digest_bomb, bucket, digest_key(hour))
        previous = None
        continue
    if hour == 10:
        s3.upload_file(log_bomb, bucket, log_key(hour))
        hv = bomb_hash
    else:
        rec = {"eventVersion": "1.08", "eventTime": "2026-10-01T12:05:00Z", "eventID": "e12",
               "eventName": "GetObject", "eventSource": "s3.amazonaws.com", "awsRegion": region}
        plain = json.dumps({"Records": [rec]}).encode()
        s3.put_object(Bucket=bucket, Key=log_key(hour), Body=gzip.compress(plain))
        hv = hashlib.sha256(plain).hexdigest()
    end = f"2026-10-01T{hour + 1:02}:00:00Z"
    t = f"2026-10-01T{hour:02}:05:00Z"
    dg = {"awsAccountId": acct, "digestStartTime": f"2026-10-01T{hour:02}:00:00Z",
          "digestEndTime": end, "digestS3Bucket": bucket, "digestS3Object": digest_key(hour),
          "digestPublicKeyFingerprint": "benchfingerprint", "digestSignatureAlgorithm": "SHA256withRSA",
          "newestEventTime": end, "oldestEventTime": end,
          "previousDigestS3Bucket": None, "previousDigestS3Object": None,
          "previousDigestHashValue": None, "previousDigestHashAlgorithm": None,
          "previousDigestSignature": None,
          "logFiles": [{"s3Bucket": bucket, "s3Object": log_key(hour), "hashValue": hv,
                        "hashAlgorithm": "SHA-256", "newestEventTime": t, "oldestEventTime": t}]}
    if previous:
        dg["previousDigestS3Bucket"], dg["previousDigestS3Object"] = bucket, previous[0]
        dg["previousDigestSignature"] = previous[1]
    inflated = json.dumps(dg).encode()
    to_sign = f"{end}\n{bucket}/{digest_key(hour)}\n{hashlib.sha256(inflated).hexdigest()}\n{previous[1] if previous else 'null'}"
    sig = k.sign(to_sign.encode(), padding.PKCS1v15(), hashes.SHA256()).hex()
    s3.put_object(Bucket=bucket, Key=digest_key(hour), Body=gzip.compress(inflated),
                  Metadata={"signature": sig, "signature-algorithm": "SHA256withRSA"})
    previous = (digest_key(hour), sig)
EOF

LOG="$(mktemp)"
JSON="$(mktemp)"
set +e
/usr/bin/time -v "$BIN" verify --from s3://bench-trail/ --public-keys "$DIR/keys" \
  --since 2026-10-01 --until 2026-10-01 --json "$JSON" \
  --endpoint-url "http://127.0.0.1:$PORT" --path-style >/dev/null 2>"$LOG"
CODE=$?
set -e
rss=$(awk -F: '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$LOG")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$LOG")
printf 'verify peak RSS %s MiB  wall %s  exit %s\n' "$rss" "$wall" "$CODE"
"$VENV/bin/python" - "$JSON" <<'EOF'
import collections, json, sys
r = json.load(open(sys.argv[1]))
kinds = collections.Counter(p.get("kind") for p in r.get("problems", []))
print("problems:", dict(kinds))
for p in r.get("problems", []):
    print("  ", p.get("kind"), (p.get("detail") or "")[:140])
EOF
rm -f "$LOG" "$JSON"
