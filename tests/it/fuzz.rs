//! A bounded mutation fuzzer over every parser that reads log bytes: CloudTrail objects, build
//! records, digests and S3 keys. Each seed of `tests/fuzz-corpus/` is mutated (bytes flipped,
//! cut, duplicated, spliced with another seed, multi-byte characters and JSON punctuation
//! inserted), gzipped or not, and parsed; a panic anywhere fails the test with the seed and the
//! iteration, which reproduce it (the mutations are deterministic). `PIPEWARDEN_FUZZ_ITERS`
//! runs longer (default 2,000 per seed, a few seconds).

use std::collections::BTreeMap;
use std::path::Path;

use pipewarden::parse::builds::BuildsBuilder;
use pipewarden::parse::cloudtrail::CloudTrailBuilder;
use pipewarden::parse::{Limits, parse_object};

/// SplitMix64: deterministic, so a failure names its iteration.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INSERTS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b",",
    b":",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"null",
    b"1e999",
    "é".as_bytes(),
    "€".as_bytes(),
    "😀".as_bytes(),
    "\u{202e}".as_bytes(),
    b"\xff\xfe",
    b"\x1f\x8b",
    b"\"eventTime\":\"9999-12-31T23:59:59Z\"",
    b"\"userIdentity\":{\"type\":\"Root\",\"type\":\"x\"}",
    b"${window_start}",
    b"\n",
    b"\r\n",
    b"\x1b]0;x\x07",
];

fn mutate(seed: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(6) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 => b.truncate(at),
            2 => {
                let ins = INSERTS[rng.below(INSERTS.len())];
                b.splice(at..at, ins.iter().copied());
            }
            3 if !b.is_empty() => {
                let end = (at + rng.below(64)).min(b.len());
                let piece = b[at.min(end)..end].to_vec();
                b.splice(at..at, piece);
            }
            4 if !other.is_empty() => {
                let from = rng.below(other.len());
                b.splice(at..at, other[from..].iter().copied().take(256));
            }
            _ => {
                let end = (at + rng.below(32)).min(b.len());
                b.drain(at..end);
            }
        }
    }
    b
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = vec![];
    if b.starts_with(&[0x1f, 0x8b])
        && flate2::read::MultiGzDecoder::new(b)
            .read_to_end(&mut out)
            .is_ok()
    {
        return out;
    }
    b.to_vec()
}

fn seeds(dir: &str) -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-corpus")
        .join(dir);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .map(|p| (p.display().to_string(), gunzip(&std::fs::read(&p).unwrap())))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", root.display());
    out
}

fn iterations() -> usize {
    std::env::var("PIPEWARDEN_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

/// Runs `parse` on every mutation of every seed in `dir`, gzipped every third time.
fn fuzz(dir: &str, parse: impl Fn(&[u8]) + std::panic::RefUnwindSafe) {
    let seeds = seeds(dir);
    for (n, (name, seed)) in seeds.iter().enumerate() {
        let other = &seeds[(n + 1) % seeds.len()].1;
        let mut rng = Rng(0x5eed ^ n as u64);
        for i in 0..iterations() {
            let mut input = mutate(seed, other, &mut rng);
            if i % 3 == 0 {
                input = helpers_gz(&input);
            }
            if std::panic::catch_unwind(|| parse(&input)).is_err() {
                panic!(
                    "{name}, iteration {i}: the parser panicked on {:?}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
    }
}

fn helpers_gz(b: &[u8]) -> Vec<u8> {
    crate::helpers::gz(b)
}

#[test]
fn cloudtrail_objects_never_panic_the_parser() {
    fuzz("cloudtrail", |b| {
        let mut builder = CloudTrailBuilder::new();
        let o = parse_object(b, "fuzz", &mut builder, Limits::default());
        assert!(o.events + o.rejected < 1 << 20);
    });
}

/// The streaming splitter (objects over 32 MiB) on the same mutations, read a few bytes at a
/// time so every seam is crossed: no panic, and on text the whole-object splitter takes
/// without error (and without invalid UTF-8), the same records.
#[test]
fn cloudtrail_objects_never_panic_the_streaming_splitter() {
    use pipewarden::parse::stream::{Piece, split_reader_chunked};
    fuzz("cloudtrail", |b| {
        for chunk in [1, 5, 4096] {
            let mut got = vec![];
            let mut w = pipewarden::parse::FieldWarnings::default();
            let s = split_reader_chunked(&mut &b[..], "fuzz", 1 << 30, chunk, &mut w, &mut |p| {
                if let Piece::Record(t, p) = p {
                    got.push((t.to_string(), p.index));
                }
                true
            });
            let Ok(text) = std::str::from_utf8(b) else {
                continue;
            };
            let text = text.trim_start_matches('\u{feff}');
            let mut want = vec![];
            let e =
                pipewarden::parse::split_records(text, |t, p| want.push((t.to_string(), p.index)));
            if e.is_none() && s.shape_error.is_none() {
                assert_eq!(got.len(), want.len(), "records, in chunks of {chunk}");
            }
        }
    });
}

#[test]
fn build_records_never_panic_the_parser() {
    fuzz("builds", |b| {
        let mut builder = BuildsBuilder::new();
        parse_object(b, "fuzz", &mut builder, Limits::default());
    });
}

#[test]
fn digests_never_panic_the_checker() {
    let keys = BTreeMap::new();
    fuzz("digest", |b| {
        let f = pipewarden::verify::digest::Fetched {
            bucket: "trail-bucket".into(),
            key: "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/10/01/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20261001T110000Z.json.gz".into(),
            inflated: Ok(gunzip(b)),
            signature: Some(String::from_utf8_lossy(&b[..b.len().min(64)]).into_owned()),
            signature_algorithm: Some("SHA256withRSA".into()),
        };
        let c = pipewarden::verify::digest::check(&f, &keys, &[]);
        let _ = pipewarden::verify::digest::chain(&[c], &|_, _| true);
    });
}

#[test]
fn s3_keys_never_panic_the_layout_or_the_listing() {
    fuzz("keys", |b| {
        for line in String::from_utf8_lossy(&gunzip(b)).lines() {
            let l = pipewarden::source::layout::parse(line);
            let _ = (l.kind(), l.date(), l.may_overlap(None, None));
            let _ = pipewarden::source::listing::decode_key(line);
            let _ = pipewarden::verify::digest::chain_id("b", line);
        }
    });
}
