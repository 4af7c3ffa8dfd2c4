#!/usr/bin/env python3
"""Lays out N realistic CloudTrail events as gzip delivery files, the way AWS writes them.

Real records (sample-logs/cloudtrail/real and, when present, ../shared/external) are replicated under
other accounts, regions and dates with fresh event ids and times; files hold a few to a few hundred
events (most hold few, as real delivery files do). Used by benches/ingest_vs_duckdb.sh until the
generator (`pipewarden generate`) can feed the benchmark.

usage: make_corpus.py OUT_DIR EVENTS [SEED]
"""
import gzip, json, os, random, sys, uuid, datetime
from multiprocessing import Pool

def load_records(root):
    recs = []
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            p = os.path.join(dirpath, f)
            if not (f.endswith('.json') or f.endswith('.json.gz')):
                continue
            raw = open(p, 'rb').read()
            if raw[:2] == b'\x1f\x8b':
                raw = gzip.decompress(raw)
            try:
                v = json.loads(raw)
            except ValueError:
                continue
            recs.extend(v if isinstance(v, list) else v.get('Records', []))
    return [r for r in recs if isinstance(r, dict) and 'eventTime' in r]

ACCOUNTS = [f"{100000000000 + i * 7919:012d}" for i in range(12)]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]

def work(args):
    out, start, count, seed, recs = args
    rnd = random.Random(seed)
    day0 = datetime.date(2026, 9, 1)
    written = 0
    n = 0
    while written < count:
        k = min(count - written, max(1, int(rnd.paretovariate(1.2) * 3)))
        k = min(k, 400)
        acct = rnd.choice(ACCOUNTS)
        region = rnd.choice(REGIONS)
        day = day0 + datetime.timedelta(days=rnd.randrange(30))
        minute = rnd.randrange(24 * 60)
        body = []
        for _ in range(k):
            r = dict(rnd.choice(recs))
            t = datetime.datetime(day.year, day.month, day.day) + datetime.timedelta(minutes=minute, seconds=rnd.randrange(300))
            r['eventTime'] = t.strftime('%Y-%m-%dT%H:%M:%SZ')
            r['eventID'] = str(uuid.UUID(int=rnd.getrandbits(128)))
            r['recipientAccountId'] = acct
            r['awsRegion'] = region
            body.append(r)
        stamp = (datetime.datetime(day.year, day.month, day.day) + datetime.timedelta(minutes=minute)).strftime('%Y%m%dT%H%MZ')
        d = os.path.join(out, 'AWSLogs', acct, 'CloudTrail', region, day.strftime('%Y/%m/%d'))
        os.makedirs(d, exist_ok=True)
        name = f"{acct}_CloudTrail_{region}_{stamp}_{seed:04x}{n:08x}.json.gz"
        with open(os.path.join(d, name), 'wb') as f:
            f.write(gzip.compress(json.dumps({'Records': body}, separators=(',', ':')).encode(), 6))
        written += k
        n += 1
    return written, n

def main():
    out, events = sys.argv[1], int(float(sys.argv[2]))
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    here = os.path.dirname(os.path.abspath(__file__))
    recs = load_records(os.path.join(here, '..', 'sample-logs', 'cloudtrail', 'real'))
    ext = os.path.join(here, '..', '..', 'shared', 'external', 'stratus-red-team')
    if os.path.isdir(ext):
        recs += load_records(ext)
    jobs = 8
    per = events // jobs
    tasks = [(out, i * per, per + (events - per * jobs if i == jobs - 1 else 0), seed * 1000 + i, recs) for i in range(jobs)]
    with Pool(os.cpu_count() or 2) as p:
        res = p.map(work, tasks)
    print(f"wrote {sum(r[0] for r in res)} events in {sum(r[1] for r in res)} files under {out}", file=sys.stderr)

if __name__ == '__main__':
    main()
