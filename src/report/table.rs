//! The findings of the last `detect` or `scan` as an Arrow table, saved in the lake
//! (`findings/findings.parquet`, replaced by each run) so analysts can join them with the
//! events they came from: the `findings` table of every session ([`crate::engine`]).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Int32Array, Int64Array, ListBuilder, RecordBatch, StringArray,
    StringBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use object_store::ObjectStoreExt;

use crate::detect::Report;
use crate::lake::{FINDINGS_DIR, Lake, LakeError};

/// The file under the lake root that holds the last run's findings.
pub fn path() -> String {
    format!("{FINDINGS_DIR}/findings.parquet")
}

fn ts(name: &str, nullable: bool) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        nullable,
    )
}

fn list(name: &str) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        false,
    )
}

/// Schema of the `findings` table: one row per finding, the fields of the JSON report
/// flattened.
pub fn schema() -> SchemaRef {
    let s = |n: &str| Field::new(n, DataType::Utf8, true);
    let i = |n: &str| Field::new(n, DataType::Int64, true);
    Arc::new(Schema::new(vec![
        ts("detected_at", false),
        ts("window_start", false),
        ts("window_end", false),
        Field::new("rank", DataType::Int64, false),
        Field::new("id", DataType::Utf8, false),
        Field::new("detector", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        s("pipeline_id"),
        Field::new("value", DataType::Utf8, false),
        list("environments"),
        list("run_ids"),
        ts("first_seen", true),
        ts("last_seen", true),
        Field::new("count", DataType::Int64, false),
        Field::new("score", DataType::Int32, false),
        Field::new("severity", DataType::Utf8, false),
        s("mitre_id"),
        s("mitre_name"),
        list("event_ids"),
        Field::new("explanation", DataType::Utf8, false),
        i("baseline_days"),
        i("baseline_units"),
        i("baseline_value_units"),
        i("baseline_distinct_values"),
        Field::new("suppressed", DataType::Boolean, false),
        s("suppression_reason"),
        s("suppression_expires"),
    ]))
}

fn micros(rfc3339: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.timestamp_micros())
}

/// The report's findings as one batch of [`schema`], stamped `detected_at` (µs).
pub fn batch(report: &Report, detected_at: i64) -> RecordBatch {
    let f = &report.findings;
    let n = f.len();
    let utc = |v: Vec<Option<i64>>| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
    };
    let strs = |g: &dyn Fn(usize) -> Option<String>| -> ArrayRef {
        Arc::new((0..n).map(g).collect::<StringArray>())
    };
    let ints = |g: &dyn Fn(usize) -> Option<i64>| -> ArrayRef {
        Arc::new((0..n).map(g).collect::<Int64Array>())
    };
    let lists = |g: &dyn Fn(&crate::detect::Finding) -> &Vec<String>| -> ArrayRef {
        let mut b = ListBuilder::new(StringBuilder::new());
        for x in f {
            for v in g(x) {
                b.values().append_value(v);
            }
            b.append(true);
        }
        Arc::new(b.finish())
    };
    let start = micros(&report.window_start).unwrap_or(0);
    let end = micros(&report.window_end).unwrap_or(0);
    let cols: Vec<ArrayRef> = vec![
        utc(vec![Some(detected_at); n]),
        utc(vec![Some(start); n]),
        utc(vec![Some(end); n]),
        ints(&|i| Some(f[i].rank as i64)),
        strs(&|i| Some(f[i].id.clone())),
        strs(&|i| Some(f[i].detector.clone())),
        strs(&|i| Some(f[i].kind.to_string())),
        strs(&|i| f[i].pipeline_id.clone()),
        strs(&|i| Some(f[i].value.clone())),
        lists(&|x| &x.environments),
        lists(&|x| &x.run_ids),
        utc((0..n).map(|i| micros(&f[i].first_seen)).collect()),
        utc((0..n).map(|i| micros(&f[i].last_seen)).collect()),
        ints(&|i| Some(f[i].count as i64)),
        Arc::new((0..n).map(|i| f[i].score as i32).collect::<Int32Array>()),
        strs(&|i| Some(f[i].severity.as_str().to_string())),
        strs(&|i| Some(f[i].mitre.id.clone()).filter(|s| !s.is_empty())),
        strs(&|i| Some(f[i].mitre.name.clone()).filter(|s| !s.is_empty())),
        lists(&|x| &x.event_ids),
        strs(&|i| Some(f[i].explanation.clone())),
        ints(&|i| f[i].baseline.as_ref().map(|b| b.days)),
        ints(&|i| f[i].baseline.as_ref().map(|b| b.units as i64)),
        ints(&|i| f[i].baseline.as_ref().map(|b| b.value_units as i64)),
        ints(&|i| f[i].baseline.as_ref().map(|b| b.distinct_values as i64)),
        Arc::new(
            (0..n)
                .map(|i| Some(f[i].suppressed.is_some()))
                .collect::<BooleanArray>(),
        ),
        strs(&|i| f[i].suppressed.as_ref().map(|s| s.reason.clone())),
        strs(&|i| f[i].suppressed.as_ref().map(|s| s.expires.clone())),
    ];
    RecordBatch::try_new(schema(), cols).expect("findings columns match their schema")
}

/// Encodes a batch as one zstd Parquet file.
pub fn parquet_bytes(batch: &RecordBatch) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .build();
    let mut out = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), Some(props))?;
    w.write(batch)?;
    w.close()?;
    Ok(out)
}

/// Replaces the lake's `findings` table with `report` (one PUT: readers see the old table or
/// the new one, never a mix).
pub async fn save(lake: &Lake, report: &Report) -> Result<(), LakeError> {
    let now = chrono::Utc::now().timestamp_micros();
    put(lake, path(), &batch(report, now)).await
}

/// Writes `batch` as the one Parquet file at `path` under the lake root, in one PUT.
pub async fn put(lake: &Lake, path: String, batch: &RecordBatch) -> Result<(), LakeError> {
    let bytes = parquet_bytes(batch).map_err(|e| LakeError::Write {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    lake.store
        .put(
            &object_store::path::Path::from(path.as_str()),
            object_store::PutPayload::from(bytes),
        )
        .await
        .map_err(|source| LakeError::Store { path, source })?;
    Ok(())
}
