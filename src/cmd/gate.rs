//! `pipewarden gate`: blocks a deploy (exit 1) when the pipeline has an unsuppressed finding at
//! or above `--fail-on` in the window, or fails a listed control; 0 when clear, 2 on error. It
//! reads the lake's saved `findings` and `assessment` tables ([`crate::assess::gate`]); it
//! assesses afresh only when `--controls` are listed and no assessment was saved.

use crate::Exit;
use crate::assess::Control;
use crate::assess::gate::Rules;
use crate::attribute::config::Config;
use crate::aws::S3Options;
use crate::engine::Engine;
use crate::findings::{Severity, Time};
use crate::lake::{Access, Lake, LakeLocation};

/// What `gate` needs.
#[derive(Debug, Clone)]
pub struct GateJob {
    /// The lake.
    pub lake: LakeLocation,
    /// How to reach S3.
    pub s3: S3Options,
    /// Where the queries run.
    pub engine: Engine,
    /// `pipewarden.toml` (a fresh assessment's attribution).
    pub config: Config,
    /// The pipeline.
    pub pipeline: String,
    /// The lowest severity that blocks.
    pub fail_on: Severity,
    /// Days of findings that count.
    pub window_days: i64,
    /// End of the window (midnight starting this day); default: the saved findings' window end.
    pub until: Option<chrono::NaiveDate>,
    /// Controls that block when they fail.
    pub controls: Vec<Control>,
}

/// Judges the pipeline and prints the verdict block.
pub fn run(job: &GateJob, rt: &tokio::runtime::Runtime) -> anyhow::Result<Exit> {
    const DAY: i64 = 86_400_000_000;
    rt.block_on(async {
        let (lake, _aws) = Lake::connect(&job.lake, &job.s3, false, Access::Existing).await?;
        let ctx = crate::engine::base_session(&lake, &job.engine).await?;
        let saved = crate::assess::facts::saved_findings(&ctx, &lake).await?;
        if !saved.present {
            anyhow::bail!(
                "{}: no saved findings (the lake's findings table): run `pipewarden scan` or `detect` on it first",
                job.lake
            );
        }
        if !known(&ctx, &saved, &job.pipeline).await {
            anyhow::bail!(
                "{:?}: no such pipeline in the lake (not in its build records, saved findings or saved assessment); `pipewarden query \"SELECT pipeline_id FROM pipelines\"` lists them",
                job.pipeline
            );
        }
        let end = match job.until {
            Some(d) => Time::from_micros(
                d.and_hms_opt(0, 0, 0)
                    .expect("midnight")
                    .and_utc()
                    .timestamp_micros(),
            ),
            None => match crate::assess::facts::findings_window(&ctx).await {
                Some((_, e)) => e,
                None => Time::from_micros(
                    (chrono::Utc::now().timestamp_micros().div_euclid(DAY) + 1) * DAY,
                ),
            },
        };
        let rules = Rules {
            pipeline: job.pipeline.clone(),
            fail_on: job.fail_on,
            from: Time::from_micros(end.micros() - job.window_days * DAY),
            to: end,
            controls: job.controls.clone(),
        };
        let (at, rows) = if job.controls.is_empty() {
            (None, vec![])
        } else {
            match crate::assess::saved_rows(&ctx, &lake, &job.pipeline).await? {
                Some((at, rows)) if !rows.is_empty() => (Some(at), rows),
                _ => {
                    eprintln!(
                        "pipewarden: gate: no saved assessment of this pipeline; assessing its last 90 days now"
                    );
                    let ctx = crate::engine::session_with(&lake, &job.config, &job.engine).await?;
                    let (since, until) = super::assess::period(90, job.until);
                    let a = crate::assess::assess(&ctx, &lake, since, until, Some(&job.pipeline))
                        .await?;
                    let rows = a
                        .pipeline(&job.pipeline)
                        .map(|p| p.controls.clone())
                        .unwrap_or_default();
                    (Some(a.assessed_at), rows)
                }
            }
        };
        let v = crate::assess::gate::judge(&rules, &saved.findings, &rows);
        let mut text = crate::assess::gate::text(&rules, &v, at);
        if !v.missing.is_empty() {
            let names: Vec<&str> = v.missing.iter().map(|c| c.id()).collect();
            text.push_str(&format!(
                "  the assessment holds no row of {} for this pipeline (not blocking)\n",
                names.join(", ")
            ));
        }
        super::out(&text)?;
        Ok(if v.blocked() { Exit::Findings } else { Exit::Clean })
    })
}

/// Whether the lake knows `pipeline`: a saved finding, a saved assessment row or a build record
/// names it. A mistyped id must not pass the gate.
async fn known(
    ctx: &datafusion::prelude::SessionContext,
    saved: &crate::assess::Saved,
    pipeline: &str,
) -> bool {
    use datafusion::prelude::{col, lit};
    if saved
        .findings
        .iter()
        .any(|f| f.pipeline_id.as_deref() == Some(pipeline))
    {
        return true;
    }
    for table in ["assessment", "builds"] {
        let Ok(t) = ctx.table(table).await else {
            continue;
        };
        let Ok(t) = t
            .filter(col("pipeline_id").eq(lit(pipeline)))
            .and_then(|t| t.limit(0, Some(1)))
        else {
            continue;
        };
        if let Ok(b) = t.collect().await
            && b.iter().any(|b| b.num_rows() > 0)
        {
            return true;
        }
    }
    false
}
