//! Reports: a detect report rendered for people (terminal, Markdown, HTML with plots) and for
//! machines (JSON, NDJSON, OCSF, ASFF, CSV), delivered to files, stdout, S3 or a SIEM.
//!
//! - [`escape`]: making log-derived text inert in HTML, CSV and Markdown.
//! - [`formats`]: JSON, NDJSON, CSV, Markdown, OCSF Detection Finding, ASFF.
//! - [`html`]: the self-contained HTML report and its SVG plots.
//! - [`siem`]: Splunk HEC and webhook delivery with batching, retries and idempotency keys.
//!
//! Files are written to a temporary name beside the target and renamed into place; S3 objects
//! are one PUT: a reader never sees half a report.

pub mod escape;
pub mod formats;
pub mod html;
pub mod siem;
pub mod table;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use datafusion::prelude::SessionContext;

use crate::detect::Report;

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The ranked table for a terminal.
    Terminal,
    /// Markdown.
    Markdown,
    /// One HTML file with plots.
    Html,
    /// One JSON document.
    Json,
    /// One finding per line.
    Ndjson,
    /// OCSF Detection Finding NDJSON.
    Ocsf,
    /// AWS Security Hub findings (ASFF) JSON array.
    Asff,
    /// CSV.
    Csv,
}

impl Format {
    /// Parses a format name.
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "terminal" | "text" => Format::Terminal,
            "markdown" | "md" => Format::Markdown,
            "html" => Format::Html,
            "json" => Format::Json,
            "ndjson" | "jsonl" => Format::Ndjson,
            "ocsf" => Format::Ocsf,
            "asff" | "securityhub" => Format::Asff,
            "csv" => Format::Csv,
            _ => return None,
        })
    }
}

/// Where a rendering goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Standard output.
    Stdout,
    /// A file.
    File(std::path::PathBuf),
    /// An S3 object.
    S3 {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
}

/// One `--format FORMAT[=DEST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Format.
    pub format: Format,
    /// Destination.
    pub dest: Destination,
}

impl Output {
    /// Parses `FORMAT`, `FORMAT=-`, `FORMAT=path` or `FORMAT=s3://bucket/key`.
    pub fn parse(spec: &str) -> Result<Output, String> {
        let (f, d) = spec.split_once('=').unwrap_or((spec, "-"));
        let format = Format::parse(f).ok_or_else(|| {
            format!(
                "{f:?}: unknown format (terminal, markdown, html, json, ndjson, ocsf, asff, csv)"
            )
        })?;
        let dest = if d == "-" {
            Destination::Stdout
        } else if let Some(rest) = d.strip_prefix("s3://") {
            let (bucket, key) = rest
                .split_once('/')
                .filter(|(b, k)| !b.is_empty() && !k.is_empty())
                .ok_or_else(|| format!("{d:?}: expected s3://bucket/key"))?;
            Destination::S3 {
                bucket: bucket.into(),
                key: key.into(),
            }
        } else {
            Destination::File(d.into())
        };
        Ok(Output { format, dest })
    }
}

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
        r.baseline_start.trim_end_matches('Z'),
        r.window_end.trim_end_matches('Z')
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
            r.baseline_start.trim_end_matches('Z'),
            r.window_start.trim_end_matches('Z')
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

/// What the AWS-flavoured formats need to know.
#[derive(Debug, Clone)]
pub struct RenderContext {
    /// Pipeline activity for the HTML plots.
    pub activity: Vec<Activity>,
    /// Whether stdout is a terminal (colour).
    pub colour: bool,
    /// Account for ASFF `AwsAccountId` and `ProductArn`.
    pub account: String,
    /// Region for ASFF.
    pub region: String,
}

/// Renders one format.
pub fn render(r: &Report, f: Format, cx: &RenderContext) -> Vec<u8> {
    match f {
        Format::Terminal => crate::detect::render::terminal(r, cx.colour).into_bytes(),
        Format::Markdown => formats::markdown(r),
        Format::Html => html::render(r, &cx.activity),
        Format::Json => formats::json(r),
        Format::Ndjson => formats::ndjson(r),
        Format::Ocsf => formats::ocsf(r),
        Format::Asff => formats::asff(r, &cx.account, &cx.region),
        Format::Csv => formats::csv(r),
    }
}

/// Writes a file atomically: a temporary file in the same folder, then a rename.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
