//! Reports: a detect report rendered for people (terminal, Markdown, HTML with plots) and for
//! machines (JSON, NDJSON, OCSF, ASFF, CSV), delivered to files, stdout, S3 or a SIEM.
//!
//! - [`mod@activity`]: each pipeline's calls per day and runs per hour, for the HTML plots.
//! - [`escape`]: making log-derived text inert in HTML, CSV and Markdown.
//! - [`formats`]: JSON, NDJSON, CSV, Markdown, OCSF Detection Finding, ASFF.
//! - [`html`]: the self-contained HTML report and its SVG plots.
//! - [`siem`]: Splunk HEC and webhook delivery with batching, retries and idempotency keys.
//! - [`table`]: the lake's `findings` table.
//! - [`terminal`]: the ranked table for a terminal.
//!
//! Files are written to a temporary name beside the target and renamed into place; S3 objects
//! are one PUT: a reader never sees half a report.

pub mod activity;
pub mod escape;
pub mod formats;
pub mod html;
pub mod security_lake;
pub mod securityhub;
pub mod siem;
pub mod table;
pub mod terminal;

use crate::findings::Report;
pub use activity::{Activity, activity};

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
    /// Amazon Security Lake custom source: OCSF 1.3 Parquet files, partitioned, under a folder
    /// or an S3 prefix ([`security_lake`]).
    SecurityLake,
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
            "security-lake" => Format::SecurityLake,
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

impl Destination {
    /// `-` (stdout), `s3://bucket/key` or a file.
    pub fn parse(d: &str) -> Result<Destination, String> {
        Ok(if d == "-" {
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
        })
    }
}

/// One `--format FORMAT[=DEST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Format.
    pub format: Format,
    /// Destination.
    pub dest: Destination,
    /// For `ocsf@VERSION`: this output's OCSF version (else `--ocsf-version`).
    pub ocsf_version: Option<formats::OcsfVersion>,
}

impl Output {
    /// Parses `FORMAT`, `FORMAT=-`, `FORMAT=path` or `FORMAT=s3://bucket/key`; FORMAT `ocsf` may
    /// name its version, `ocsf@1.3.0`.
    pub fn parse(spec: &str) -> Result<Output, String> {
        let (f, d) = spec.split_once('=').unwrap_or((spec, "-"));
        let (f, ocsf_version) = match f.split_once('@') {
            Some(("ocsf", v)) => (
                f.split('@').next().unwrap_or(f),
                Some(formats::OcsfVersion::parse(v)?),
            ),
            Some(_) => return Err(format!("{f:?}: only ocsf takes a version (ocsf@1.3.0)")),
            None => (f, None),
        };
        let format = Format::parse(f).ok_or_else(|| {
            format!(
                "{f:?}: unknown format (terminal, markdown, html, json, ndjson, ocsf, asff, csv, security-lake)"
            )
        })?;
        let dest = Destination::parse(d)?;
        if format == Format::SecurityLake && dest == Destination::Stdout {
            return Err(
                "security-lake writes Parquet files: give a folder or the source's prefix, security-lake=s3://bucket/ext/SOURCE/"
                    .into(),
            );
        }
        Ok(Output {
            format,
            dest,
            ocsf_version,
        })
    }
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
    /// The OCSF version of the `ocsf` format.
    pub ocsf_version: formats::OcsfVersion,
}

/// Renders one format.
pub fn render(r: &Report, f: Format, cx: &RenderContext) -> Vec<u8> {
    match f {
        Format::Terminal => terminal::render(r, cx.colour).into_bytes(),
        Format::Markdown => formats::markdown(r),
        Format::Html => html::render(r, &cx.activity),
        Format::Json => formats::json(r),
        Format::Ndjson => formats::ndjson(r),
        Format::Ocsf => formats::ocsf(r, cx.ocsf_version),
        Format::Asff => formats::asff(r, &cx.account, &cx.region),
        Format::Csv => formats::csv(r),
        // Its Parquet files are written by `write_security_lake`; rendered alone, its events.
        Format::SecurityLake => formats::ocsf_findings_only(r, security_lake::VERSION),
    }
}

/// Writes a report's Security Lake files under `dest` (a folder, or an S3 prefix): each file
/// whole, by a rename or one PUT. Returns how many were written.
pub async fn write_security_lake(
    dest: &Destination,
    r: &Report,
    account: &str,
    region: &str,
    aws: Option<&crate::aws::AwsContext>,
) -> anyhow::Result<usize> {
    let files = security_lake::files(r, account, region).map_err(anyhow::Error::msg)?;
    for (rel, bytes) in &files {
        let to = match dest {
            Destination::File(dir) => Destination::File(dir.join(rel)),
            Destination::S3 { bucket, key } => Destination::S3 {
                bucket: bucket.clone(),
                key: format!("{}/{rel}", key.trim_end_matches('/')),
            },
            Destination::Stdout => anyhow::bail!("security-lake needs a folder or an S3 prefix"),
        };
        write_to(&to, bytes.clone(), aws).await?;
    }
    Ok(files.len())
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
    // A failed write (a full disk) or rename leaves no `.NAME.tmp-PID` behind.
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

/// Writes one rendered report to its destination: stdout, a file (atomically) or S3 (one PUT,
/// with `aws`'s client).
pub async fn write_to(
    dest: &Destination,
    bytes: Vec<u8>,
    aws: Option<&crate::aws::AwsContext>,
) -> anyhow::Result<()> {
    match dest {
        Destination::Stdout => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
        Destination::File(p) => write_atomic(p, &bytes)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?,
        Destination::S3 { bucket, key } => {
            let aws = aws.ok_or_else(|| {
                anyhow::anyhow!("cannot write s3://{bucket}/{key}: no AWS configuration loaded")
            })?;
            aws.s3_client()
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(bytes.into())
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot write s3://{bucket}/{key}: {}",
                        aws_sdk_s3::error::DisplayErrorContext(&e)
                    )
                })?;
        }
    }
    Ok(())
}
