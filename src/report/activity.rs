//! What the HTML report plots: each pipeline's calls per day over history and window, and its
//! history's runs by hour of week, read from the session for the pipelines with findings.

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use datafusion::prelude::SessionContext;

use crate::findings::Report;

/// Per pipeline: calls per day over history and window, and its history's runs by hour of week.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    /// Pipeline.
    pub pipeline_id: String,
    /// (day since the epoch, calls).
    pub days: Vec<(i64, u64)>,
    /// Runs (or sessions) by day of week (Sunday = 0) and hour, in the history.
    pub hours: [[u64; 24]; 7],
}

/// Reads the activity of the pipelines that have findings (at most 20), for the HTML plots.
pub async fn activity(
    ctx: &SessionContext,
    r: &Report,
) -> datafusion::error::Result<Vec<Activity>> {
    let mut ids: Vec<&str> = r
        .findings
        .iter()
        .filter_map(|f| f.pipeline_id.as_deref())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.truncate(20);
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let list = ids
        .iter()
        .map(|p| format!("'{}'", p.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ");
    let range = format!(
        "event_time >= TIMESTAMP '{}' AND event_time < TIMESTAMP '{}'",
        r.baseline_start.sql_timestamp(),
        r.window_end.sql_timestamp()
    );
    let days = ctx
        .sql(&format!(
            "SELECT pipeline_id, CAST(CAST(event_date AS INT) AS BIGINT) AS d, count(*) AS n FROM pipeline_events \
             WHERE pipeline_id IN ({list}) AND {range} GROUP BY 1, 2 ORDER BY 1, 2"
        ))
        .await?
        .collect()
        .await?;
    let hours = ctx
        .sql(&format!(
            "SELECT pipeline_id, CAST(extract(dow FROM event_time) AS BIGINT) AS dow, \
             CAST(extract(hour FROM event_time) AS BIGINT) AS h, \
             count(DISTINCT coalesce(run_id, user_access_key_id, event_id)) AS n FROM pipeline_events \
             WHERE pipeline_id IN ({list}) AND event_time >= TIMESTAMP '{}' AND event_time < TIMESTAMP '{}' GROUP BY 1, 2, 3",
            r.baseline_start.sql_timestamp(),
            r.window_start.sql_timestamp()
        ))
        .await?
        .collect()
        .await?;
    let mut out: Vec<Activity> = ids
        .iter()
        .map(|p| Activity {
            pipeline_id: p.to_string(),
            ..Default::default()
        })
        .collect();
    let idx = |p: &str| ids.iter().position(|x| *x == p);
    for b in &days {
        let p = b.column(0).as_string::<i32>();
        let d = b.column(1).as_primitive::<Int64Type>();
        let n = b.column(2).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            if let Some(k) = idx(p.value(i))
                && !d.is_null(i)
            {
                out[k].days.push((d.value(i), n.value(i).max(0) as u64));
            }
        }
    }
    for b in &hours {
        let p = b.column(0).as_string::<i32>();
        let dow = b.column(1).as_primitive::<Int64Type>();
        let h = b.column(2).as_primitive::<Int64Type>();
        let n = b.column(3).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            let (d, hh) = (dow.value(i), h.value(i));
            if let Some(k) = idx(p.value(i))
                && (0..7).contains(&d)
                && (0..24).contains(&hh)
            {
                out[k].hours[d as usize][hh as usize] += n.value(i).max(0) as u64;
            }
        }
    }
    for a in &mut out {
        a.days.sort();
    }
    Ok(out)
}
