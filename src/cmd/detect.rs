//! `pipewarden detect`: judge the lake's last window, print the ranked findings, save them as
//! the lake's `findings` table.

use datafusion::prelude::SessionContext;

use crate::Exit;
use crate::attribute::config::Config;
use crate::aws::{AwsContext, S3Options};
use crate::detect::{DetectPlan, History, Report, Severity};
use crate::engine::Engine;
use crate::lake::{Access, Lake, LakeLocation};
use crate::sanitize::for_terminal;

/// What `detect` (and the detect step of `scan`) needs: the lake, where plans run, the
/// window, `pipewarden.toml`, and the severity that makes the exit code 1.
#[derive(Debug, Clone)]
pub struct DetectJob {
    /// The lake.
    pub lake: LakeLocation,
    /// How to reach S3.
    pub s3: S3Options,
    /// Where the queries run.
    pub engine: Engine,
    /// The window, history and suppressions.
    pub plan: DetectPlan,
    /// Attribution and pipeline configuration.
    pub config: Config,
    /// `--fail-on`.
    pub fail_on: Severity,
    /// A bar while daily profiles are built (on a terminal only).
    pub progress: bool,
}

impl DetectJob {
    /// 1 when an unsuppressed finding is at or above `--fail-on`.
    pub fn exit(&self, r: &Report) -> Exit {
        let failing = r
            .findings
            .iter()
            .any(|f| f.suppressed.is_none() && f.severity >= self.fail_on);
        if failing { Exit::Findings } else { Exit::Clean }
    }
}

/// A judged lake: the report, and the session and lake it came from (for reports that plot
/// activity or go to S3).
pub struct Judged {
    /// The lake.
    pub lake: Lake,
    /// The AWS configuration, when one was loaded.
    pub aws: Option<AwsContext>,
    /// The session, with attribution registered.
    pub ctx: SessionContext,
    /// The findings.
    pub report: Report,
}

/// Runs every detector, saves the findings table, warns about expired suppressions. `aws_anyway`
/// loads AWS for a local lake too (reports written to S3).
pub async fn judge(job: &DetectJob, aws_anyway: bool) -> anyhow::Result<Judged> {
    let (lake, aws) = Lake::connect(&job.lake, &job.s3, aws_anyway, Access::Existing).await?;
    let started = std::time::Instant::now();
    let ctx = crate::engine::base_session(&lake, &job.engine).await?;
    crate::detect::timed("session", started);
    if job.plan.history != History::Scan {
        // Attribution's inputs from daily extracts: the new day's CloudTrail is read, the other
        // days' small extracts are (a lake that cannot take them is attributed from CloudTrail).
        let step = std::time::Instant::now();
        if let Err(e) = crate::attribute::inputs::prepare(&lake, &ctx).await {
            eprintln!(
                "pipewarden: warning: attribution's daily extracts not used, reading CloudTrail: {}",
                for_terminal(&e.to_string())
            );
        }
        crate::detect::timed("attribution: daily extracts", step);
    }
    let step = std::time::Instant::now();
    crate::attribute::register(&ctx, &job.config).await?;
    crate::detect::timed("attribution", step);
    let w = crate::detect::window(&ctx, &job.plan).await?;
    crate::detect::timed("attribution and window", started);
    if job.plan.history != History::Scan {
        // Profiles save time, they are not needed: a lake that cannot take them (a read-only
        // role, say) is judged from its events.
        let started = std::time::Instant::now();
        let prepared = crate::profiles::prepare(
            &lake,
            &ctx,
            w.history_days(),
            job.plan.history,
            job.progress,
        )
        .await;
        crate::detect::timed("daily profiles", started);
        match prepared {
            Ok(p) if p.built > 0 => eprintln!(
                "pipewarden: built the daily profiles of {} of the history's {} days in {:.1} s",
                p.built,
                p.days,
                p.build_time.as_secs_f64()
            ),
            Ok(_) => {}
            Err(e) => eprintln!(
                "pipewarden: warning: daily profiles not used, judging from the events: {}",
                for_terminal(&e.to_string())
            ),
        }
    }
    let report = crate::detect::detect_in(&ctx, &job.plan, &w).await?;
    // A lake that cannot be written to (a read-only role, say) costs analysts that table, not
    // the nightly job its report.
    if let Err(e) = crate::report::table::save(&lake, &report).await {
        eprintln!(
            "pipewarden: warning: findings not saved to the lake's findings table: {}",
            for_terminal(&e.to_string())
        );
    }
    for w in &report.expired_suppressions {
        eprintln!("pipewarden: warning: {}", for_terminal(w));
    }
    Ok(Judged {
        lake,
        aws,
        ctx,
        report,
    })
}

/// Judges, prints the terminal table, writes `--json`.
pub fn run(
    job: &DetectJob,
    json: Option<&std::path::Path>,
    rt: &tokio::runtime::Runtime,
) -> anyhow::Result<Exit> {
    let report = rt.block_on(judge(job, false))?.report;
    super::out(&crate::report::terminal::render(
        &report,
        super::stdout_is_terminal(),
    ))?;
    if let Some(p) = json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(p, text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?;
    }
    Ok(job.exit(&report))
}
