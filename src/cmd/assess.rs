//! `pipewarden assess`: the per-pipeline SEC11-BP07 assessment of a period ([`crate::assess`]),
//! written in one format and saved as the lake's `assessment` table for `gate`.

use crate::Exit;
use crate::assess::render::Format;
use crate::attribute::config::Config;
use crate::aws::S3Options;
use crate::engine::Engine;
use crate::findings::Time;
use crate::lake::{Access, Lake, LakeLocation};
use crate::sanitize::for_terminal;

/// What `assess` needs.
#[derive(Debug, Clone)]
pub struct AssessJob {
    /// The lake.
    pub lake: LakeLocation,
    /// How to reach S3.
    pub s3: S3Options,
    /// Where the queries run.
    pub engine: Engine,
    /// `pipewarden.toml`.
    pub config: Config,
    /// First instant of the period.
    pub since: Time,
    /// End of the period (exclusive).
    pub until: Time,
    /// The output format.
    pub format: Format,
    /// Where it goes (stdout when `None`).
    pub output: Option<std::path::PathBuf>,
    /// The OCSF version of the `ocsf` format.
    pub ocsf_version: crate::report::formats::OcsfVersion,
}

/// The period `[until - days, until)`: `until` the midnight starting the day after `until_day`
/// (default: after today).
pub fn period(days: i64, until_day: Option<chrono::NaiveDate>) -> (Time, Time) {
    const DAY: i64 = 86_400_000_000;
    let end = match until_day {
        Some(d) => d
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_micros(),
        None => (chrono::Utc::now().timestamp_micros().div_euclid(DAY) + 1) * DAY,
    };
    (Time::from_micros(end - days * DAY), Time::from_micros(end))
}

/// Assesses, saves the `assessment` table, writes the output. The exit code is 0: failing
/// controls are the report, not an error (`gate` is the command that blocks).
pub fn run(job: &AssessJob, rt: &tokio::runtime::Runtime) -> anyhow::Result<Exit> {
    rt.block_on(async {
        let (lake, _aws) = Lake::connect(&job.lake, &job.s3, false, Access::Existing).await?;
        let ctx = crate::engine::session_with(&lake, &job.config, &job.engine).await?;
        let a = crate::assess::assess(&ctx, &lake, job.since, job.until, None).await?;
        if let Err(e) = crate::assess::save(&lake, &a).await {
            eprintln!(
                "pipewarden: warning: assessment not saved to the lake's assessment table: {}",
                for_terminal(&e.to_string())
            );
        }
        write(&a, job.format, job.ocsf_version, job.output.as_deref())?;
        let fails: usize = a
            .pipelines
            .iter()
            .flat_map(|p| &p.controls)
            .filter(|r| r.status == crate::assess::Status::Fail)
            .count();
        eprintln!(
            "pipewarden: assessed {} pipeline(s), {} control(s) failing",
            a.pipelines.len(),
            fails
        );
        Ok(Exit::Clean)
    })
}

/// Writes `a` as `format` to `output` (replaced whole) or stdout.
pub fn write(
    a: &crate::assess::Assessment,
    format: Format,
    ocsf_version: crate::report::formats::OcsfVersion,
    output: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let bytes = crate::assess::render::render(a, format, ocsf_version);
    match output {
        Some(p) if p.as_os_str() != "-" => crate::report::write_atomic(p, &bytes)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?,
        _ => super::out(&String::from_utf8_lossy(&bytes))?,
    }
    Ok(())
}
