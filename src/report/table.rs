//! The findings of the last `detect` or `scan` as an Arrow table, saved in the lake
//! (`findings/findings.parquet`, replaced by each run) so analysts can join them with the
//! events they came from: the `findings` table of every session (declared in
//! [`crate::lake::catalog`]).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Int32Array, Int64Array, ListBuilder, RecordBatch, StringArray,
    StringBuilder, TimestampMicrosecondArray,
};

use crate::findings::Report;
use crate::lake::catalog::FINDINGS;
use crate::lake::{Lake, LakeError};

/// The report's findings as one batch of the `findings` table's schema, stamped `detected_at` (µs).
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
    let lists = |g: &dyn Fn(&crate::findings::Finding) -> &Vec<String>| -> ArrayRef {
        let mut b = ListBuilder::new(StringBuilder::new());
        for x in f {
            for v in g(x) {
                b.values().append_value(v);
            }
            b.append(true);
        }
        Arc::new(b.finish())
    };
    let start = report.window_start.checked_micros().unwrap_or(0);
    let end = report.window_end.checked_micros().unwrap_or(0);
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
        utc((0..n).map(|i| f[i].first_seen.checked_micros()).collect()),
        utc((0..n).map(|i| f[i].last_seen.checked_micros()).collect()),
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
        strs(&|i| Some(f[i].subject.clone()).filter(|s| !s.is_empty())),
        strs(&|i| f[i].incident_id.clone()),
        lists(&|x| &x.session_chains),
    ];
    RecordBatch::try_new((FINDINGS.schema)(), cols).expect("findings columns match their schema")
}

/// Replaces the lake's `findings` table with `report` (one PUT: readers see the old table or
/// the new one, never a mix).
pub async fn save(lake: &Lake, report: &Report) -> Result<(), LakeError> {
    let now = chrono::Utc::now().timestamp_micros();
    lake.replace_table(&FINDINGS, &batch(report, now)).await
}
