//! A feature query's Arrow result as the rows the scoring models take ([`super::baseline`]).
//! Missing columns read as empty, list columns as sorted sets (so a report does not depend on
//! the order in which partitions, or a cluster's executors, merged them).

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Int64Type, TimestampMicrosecondType, UInt64Type};

use super::baseline::{Row, UnitCount};
use super::burst::Hour;

pub fn strs(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let Some(c) = b.column_by_name(name) else {
        return vec![None; b.num_rows()];
    };
    let c = arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8).expect("castable to text");
    let s = c.as_string::<i32>();
    (0..s.len())
        .map(|i| (!s.is_null(i)).then(|| s.value(i).to_string()))
        .collect()
}

pub fn ints(b: &RecordBatch, name: &str) -> Vec<i64> {
    let Some(c) = b.column_by_name(name) else {
        return vec![0; b.num_rows()];
    };
    match c.data_type() {
        arrow::datatypes::DataType::Int64 => {
            let a = c.as_primitive::<Int64Type>();
            (0..a.len())
                .map(|i| if a.is_null(i) { 0 } else { a.value(i) })
                .collect()
        }
        arrow::datatypes::DataType::UInt64 => {
            let a = c.as_primitive::<UInt64Type>();
            (0..a.len())
                .map(|i| if a.is_null(i) { 0 } else { a.value(i) as i64 })
                .collect()
        }
        _ => {
            let c = arrow::compute::cast(c, &arrow::datatypes::DataType::Int64).expect("castable");
            let a = c.as_primitive::<Int64Type>();
            (0..a.len())
                .map(|i| if a.is_null(i) { 0 } else { a.value(i) })
                .collect()
        }
    }
}

/// A boolean column; missing or null reads as false.
pub fn bools(b: &RecordBatch, name: &str) -> Vec<bool> {
    let Some(c) = b.column_by_name(name) else {
        return vec![false; b.num_rows()];
    };
    let c = arrow::compute::cast(c, &arrow::datatypes::DataType::Boolean).expect("castable");
    let a = c.as_boolean();
    (0..a.len()).map(|i| !a.is_null(i) && a.value(i)).collect()
}

pub fn times(b: &RecordBatch, name: &str) -> Vec<i64> {
    let Some(c) = b.column_by_name(name) else {
        return vec![0; b.num_rows()];
    };
    let a = c.as_primitive::<TimestampMicrosecondType>();
    (0..a.len())
        .map(|i| if a.is_null(i) { 0 } else { a.value(i) })
        .collect()
}

/// A list column (`array_agg(DISTINCT ...)`: run ids, environments) as sorted sets, so a report
/// does not depend on the order in which partitions (or a cluster's executors) merged them.
pub fn lists(b: &RecordBatch, name: &str) -> Vec<Vec<String>> {
    let Some(c) = b.column_by_name(name) else {
        return vec![vec![]; b.num_rows()];
    };
    let l = c.as_list::<i32>();
    (0..l.len())
        .map(|i| {
            if l.is_null(i) {
                return vec![];
            }
            let v = l.value(i);
            let v = arrow::compute::cast(&v, &arrow::datatypes::DataType::Utf8).expect("text");
            let s = v.as_string::<i32>();
            let mut set: Vec<String> = (0..s.len())
                .filter(|&j| !s.is_null(j))
                .map(|j| s.value(j).to_string())
                .collect();
            set.sort();
            set.dedup();
            set
        })
        .collect()
}

pub fn feature_rows(batches: &[RecordBatch]) -> Vec<Row> {
    let mut out = vec![];
    for b in batches {
        let (p, v, period) = (strs(b, "subject"), strs(b, "value"), strs(b, "period"));
        let principal = bools(b, "principal");
        let (units, events, writes) = (ints(b, "units"), ints(b, "events"), ints(b, "writes"));
        let (first, last) = (times(b, "first_time"), times(b, "last_time"));
        let (runs, envs) = (lists(b, "run_ids"), lists(b, "environments"));
        for i in 0..b.num_rows() {
            out.push(Row {
                pipeline_id: p[i].clone().unwrap_or_default(),
                value: v[i].clone().unwrap_or_else(|| "(none)".into()),
                window: period[i].as_deref() == Some("window"),
                units: units[i].max(0) as u64,
                events: events[i].max(0) as u64,
                writes: writes[i].max(0) as u64,
                first: first[i],
                last: last[i],
                event_ids: vec![],
                run_ids: runs[i].clone(),
                environments: envs[i].clone(),
                principal: principal[i],
            });
        }
    }
    out
}

pub fn unit_counts(batches: &[RecordBatch]) -> Vec<UnitCount> {
    let mut out = vec![];
    for b in batches {
        let principal = bools(b, "principal");
        let (p, unit, period, run) = (
            strs(b, "subject"),
            strs(b, "unit"),
            strs(b, "period"),
            strs(b, "run_id"),
        );
        let (events, denied) = (ints(b, "events"), ints(b, "denied"));
        let (first, last) = (times(b, "first_time"), times(b, "last_time"));
        let envs = lists(b, "environments");
        for i in 0..b.num_rows() {
            out.push(UnitCount {
                pipeline_id: p[i].clone().unwrap_or_default(),
                unit: unit[i].clone().unwrap_or_default(),
                window: period[i].as_deref() == Some("window"),
                events: events[i].max(0) as u64,
                denied: denied[i].max(0) as u64,
                first: first[i],
                last: last[i],
                environments: envs[i].clone(),
                run_id: run[i].clone(),
                principal: principal[i],
                ..Default::default()
            });
        }
    }
    out
}

/// Rows of `queries/detect/error_peaks.sql` (and of its history from the profiles) set on the
/// units they belong to: each unit's busiest five minutes of AccessDenied, when they ended, and
/// in the window their refused calls. A unit that has no row had none.
pub fn set_peaks(units: &mut [UnitCount], batches: &[RecordBatch]) {
    // Per subject, unit and period (window or not): peak, when it ended, its refused calls.
    type Peak = (i64, i64, Vec<String>);
    let mut peaks: BTreeMap<(String, String, bool), Peak> = BTreeMap::new();
    for b in batches {
        let (subject, unit, period) = (strs(b, "subject"), strs(b, "unit"), strs(b, "period"));
        let (peak, end, ids) = (ints(b, "peak"), times(b, "peak_end"), lists(b, "peak_ids"));
        for i in 0..b.num_rows() {
            let key = (
                subject[i].clone().unwrap_or_default(),
                unit[i].clone().unwrap_or_default(),
                period[i].as_deref() == Some("window"),
            );
            let e = peaks.entry(key).or_default();
            if peak[i] > e.0 {
                *e = (peak[i], end[i], ids[i].clone());
            }
        }
    }
    for u in units {
        if let Some((peak, end, ids)) =
            peaks.remove(&(u.pipeline_id.clone(), u.unit.clone(), u.window))
        {
            u.peak = peak.max(0) as u64;
            u.peak_end = end;
            u.peak_ids = ids;
        }
    }
}

/// Rows of `queries/detect/builds.sql` (one per run) rolled up per pipeline, value of `column`
/// and period: each run is one unit and one observation.
pub fn run_rows(batches: &[RecordBatch], column: &str) -> Vec<Row> {
    let mut rows: BTreeMap<(String, String, bool), Row> = BTreeMap::new();
    for batch in batches {
        let (p, run, period, v) = (
            strs(batch, "pipeline_id"),
            strs(batch, "run_id"),
            strs(batch, "period"),
            strs(batch, column),
        );
        let (start, envs) = (times(batch, "started_at"), strs(batch, "environment"));
        for i in 0..batch.num_rows() {
            let (Some(p), Some(v)) = (&p[i], &v[i]) else {
                continue;
            };
            let window = period[i].as_deref() == Some("window");
            let r = rows
                .entry((p.clone(), v.clone(), window))
                .or_insert_with(|| Row {
                    pipeline_id: p.clone(),
                    value: v.clone(),
                    window,
                    first: start[i],
                    last: start[i],
                    ..Default::default()
                });
            r.units += 1;
            r.events += 1;
            r.first = r.first.min(start[i]);
            r.last = r.last.max(start[i]);
            if window {
                r.run_ids.extend(run[i].clone());
                r.environments.extend(envs[i].clone());
            }
        }
    }
    rows.into_values().collect()
}

/// `queries/detect/hourly.sql`'s rows: each subject's active hours.
pub fn hour_rows(batches: &[RecordBatch]) -> Vec<Hour> {
    let mut out = vec![];
    for b in batches {
        let hour = match b.column_by_name("hour") {
            Some(c) => {
                let c = arrow::compute::cast(
                    c,
                    &arrow::datatypes::DataType::Timestamp(
                        arrow::datatypes::TimeUnit::Microsecond,
                        None,
                    ),
                )
                .expect("an hour is a time");
                let a = c.as_primitive::<TimestampMicrosecondType>().clone();
                (0..a.len())
                    .map(|i| if a.is_null(i) { 0 } else { a.value(i) })
                    .collect()
            }
            None => vec![0; b.num_rows()],
        };
        let (subject, pipeline) = (strs(b, "subject"), strs(b, "pipeline_id"));
        let (calls, reads, networks) = (ints(b, "calls"), ints(b, "reads"), lists(b, "networks"));
        let denied = ints(b, "denied");
        let apis = lists(b, "apis");
        for i in 0..b.num_rows() {
            let Some(subject) = subject[i].clone() else {
                continue;
            };
            out.push(Hour {
                subject,
                pipeline_id: pipeline[i].clone(),
                hour: hour[i],
                calls: calls[i].max(0) as u64,
                reads: reads[i].max(0) as u64,
                denied: denied[i].max(0) as u64,
                networks: networks[i].clone(),
                apis: apis[i].clone(),
            });
        }
    }
    out
}
