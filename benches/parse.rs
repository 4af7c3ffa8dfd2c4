//! Criterion benchmark of the parse kernel: one CloudTrail delivery object (gzip and plain) to
//! Arrow rows. Records come from the bundled real sample logs (`sample-logs/cloudtrail/real`),
//! replicated into a delivery file of typical size.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pipewarden::parse::cloudtrail::CloudTrailBuilder;
use pipewarden::parse::{Limits, parse_object};

fn sample_records() -> Vec<serde_json::Value> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs/cloudtrail/real");
    let mut out = vec![];
    for e in walkdir::WalkDir::new(root).sort_by_file_name() {
        let e = e.unwrap();
        let p = e.path();
        if !e.file_type().is_file() || p.extension().is_some_and(|x| x == "md") {
            continue;
        }
        let bytes = std::fs::read(p).unwrap();
        let text = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut s)
                .unwrap();
            s
        } else {
            String::from_utf8(bytes).unwrap()
        };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        match v {
            serde_json::Value::Array(a) => out.extend(a),
            v => out.extend(v["Records"].as_array().unwrap().iter().cloned()),
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let records = sample_records();
    let n = 200;
    let body: Vec<serde_json::Value> = records.iter().cycle().take(n).cloned().collect();
    let plain = serde_json::to_vec(&serde_json::json!({ "Records": body })).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, &plain).unwrap();
    let gz = enc.finish().unwrap();

    let mut g = c.benchmark_group("parse_object");
    g.throughput(Throughput::Elements(n as u64));
    for (name, bytes) in [("delivery_plain", &plain), ("delivery_gzip", &gz)] {
        g.bench_with_input(BenchmarkId::new(name, n), bytes, |b, bytes| {
            let mut builder = CloudTrailBuilder::new();
            b.iter(|| {
                let o = parse_object(bytes, "bench", &mut builder, Limits::default());
                assert_eq!(o.events, n as u64);
                if builder.len() >= 8192 {
                    builder.finish();
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
