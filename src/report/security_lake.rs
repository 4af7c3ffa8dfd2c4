//! Amazon Security Lake custom source: the findings as OCSF 1.3 Detection Findings (the newest
//! version custom sources accept, one OCSF class per source) in Parquet, as Security Lake's
//! custom-source requirements and best practices ask:
//! - partitioned `region=<region>/accountId=<account>/eventDay=YYYYMMDD/`, the day a finding's
//!   `time` (its last evidence) falls on, in UTC;
//! - rows sorted by `time`;
//! - zstd compression, data pages of at most 1 MiB, row groups far below 256 MB;
//! - one file per partition and detect window (`pipewarden-<window start>-<window end>.parquet`),
//!   so a rerun of a window replaces its files instead of adding copies; each file is written
//!   whole (a rename, or one PUT).
//!
//! The columns are the OCSF attributes the events hold (nested as structs and lists), inferred
//! from them and sorted by name; attributes no event of a file has are absent, not null columns.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Fields, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::Value;

use super::formats::{OcsfVersion, ocsf_finding};
use crate::findings::Report;

/// The OCSF version Security Lake custom sources accept.
pub const VERSION: OcsfVersion = OcsfVersion::V1_3;

/// Largest data page, uncompressed (Security Lake: "limited to 1 MB").
pub const DATA_PAGE_BYTES: usize = 1 << 20;

/// Rows per row group: with findings of a few KiB, far below the 256 MB a row group may take.
pub const ROW_GROUP_ROWS: usize = 16_384;

/// The files of one report: (path under the source's prefix, Parquet bytes), one per event day.
pub fn files(r: &Report, account: &str, region: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut days: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for f in &r.findings {
        let mut v = ocsf_finding(r, f, VERSION);
        strip_nulls(&mut v);
        let day = chrono::DateTime::from_timestamp_millis(f.last_seen.millis())
            .map(|t| t.format("%Y%m%d").to_string())
            .unwrap_or_else(|| "19700101".into());
        days.entry(day).or_default().push(v);
    }
    let name = format!(
        "pipewarden-{}-{}.parquet",
        r.window_start.millis(),
        r.window_end.millis()
    );
    let mut out = vec![];
    for (day, mut events) in days {
        events.sort_by_key(|v| v["time"].as_i64().unwrap_or(0));
        let bytes =
            parquet_of(&events).map_err(|e| format!("Security Lake file for {day}: {e}"))?;
        let path = format!("region={region}/accountId={account}/eventDay={day}/{name}");
        out.push((path, bytes));
    }
    Ok(out)
}

/// Removes null values (an absent attribute, not a null column of no type).
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => {
            a.retain(|x| !x.is_null());
            a.iter_mut().for_each(strip_nulls);
        }
        _ => {}
    }
}

fn parquet_of(events: &[Value]) -> Result<Vec<u8>, String> {
    let schema = arrow::json::reader::infer_json_schema_from_iterator(events.iter().map(Ok))
        .map_err(|e| e.to_string())?;
    let schema = Arc::new(Schema::new(sorted(schema.fields())));
    let mut decoder = arrow::json::ReaderBuilder::new(schema.clone())
        .build_decoder()
        .map_err(|e| e.to_string())?;
    decoder.serialize(events).map_err(|e| e.to_string())?;
    let batch: RecordBatch = decoder
        .flush()
        .map_err(|e| e.to_string())?
        .unwrap_or_else(|| RecordBatch::new_empty(schema.clone()));
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("level 3")))
        .set_data_page_size_limit(DATA_PAGE_BYTES)
        .set_dictionary_page_size_limit(DATA_PAGE_BYTES)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    let mut buf = vec![];
    let mut w = ArrowWriter::try_new(&mut buf, schema, Some(props)).map_err(|e| e.to_string())?;
    w.write(&batch).map_err(|e| e.to_string())?;
    w.close().map_err(|e| e.to_string())?;
    Ok(buf)
}

/// Fields sorted by name, at every level (inference order is not stable).
fn sorted(fields: &Fields) -> Vec<Field> {
    let mut v: Vec<Field> = fields.iter().map(|f| sort_field(f)).collect();
    v.sort_by(|a, b| a.name().cmp(b.name()));
    v
}

fn sort_field(f: &Field) -> Field {
    let t = match f.data_type() {
        DataType::Struct(inner) => DataType::Struct(sorted(inner).into()),
        DataType::List(item) => DataType::List(Arc::new(sort_field(item))),
        other => other.clone(),
    };
    f.clone().with_data_type(t)
}
