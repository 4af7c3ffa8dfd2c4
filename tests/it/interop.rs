//! Other engines read the lake: DuckDB and pyarrow (from the test virtualenv).

use std::process::Command;

use crate::helpers::*;

fn python() -> String {
    std::env::var("PIPEWARDEN_TEST_PYTHON")
        .expect("PIPEWARDEN_TEST_PYTHON is not set: run the tests with tests/run.sh")
}

#[test]
fn duckdb_and_pyarrow_read_the_lake() {
    let d = tempfile::tempdir().unwrap();
    let lake = d.path().join("lake");
    let l = lake.display().to_string();
    ingest(&plan(stratus().display().to_string(), &l));
    ingest(&plan(cloud_snitch().display().to_string(), &l));
    let expected = scalar(&l, "SELECT count(*) FROM cloudtrail");
    let expected_day = scalar(
        &l,
        "SELECT count(*) FROM cloudtrail WHERE event_date = DATE '2025-03-06'",
    );
    let script = r#"
import sys, duckdb, pyarrow.dataset as ds
lake = sys.argv[1]
con = duckdb.connect()
n, d, ty = con.execute(f"SELECT count(*), count(DISTINCT event_id), typeof(min(event_time)) FROM read_parquet('{lake}/cloudtrail/**/*.parquet', hive_partitioning=true)").fetchone()
day = con.execute(f"SELECT count(*) FROM read_parquet('{lake}/cloudtrail/**/*.parquet', hive_partitioning=true) WHERE event_date = DATE '2025-03-06'").fetchone()[0]
m = con.execute(f"SELECT count(*) FROM read_parquet('{lake}/manifest/*.parquet')").fetchone()[0]
t = ds.dataset(f"{lake}/cloudtrail", format="parquet", partitioning="hive").to_table()
print(n, d, ty.replace(' ', '_'), day, m, t.num_rows, str(t.schema.field('event_time').type).replace(' ', '_'))
"#;
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(&l)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8(out.stdout).unwrap();
    let f: Vec<&str> = s.split_whitespace().collect();
    assert_eq!(f[0], expected, "duckdb count: {s}");
    assert_eq!(f[1], expected, "duckdb distinct ids: {s}");
    assert_eq!(f[2], "TIMESTAMP_WITH_TIME_ZONE", "{s}");
    assert_eq!(f[3], expected_day, "duckdb partition filter: {s}");
    assert_eq!(f[4], "37", "manifest rows: {s}");
    assert_eq!(f[5], expected, "pyarrow count: {s}");
    assert_eq!(f[6], "timestamp[us,_tz=UTC]", "{s}");
}
