//! `pipewarden lint`: plans every query pipewarden carries, and the hunts of a folder, against
//! the real schemas without running any, and reports every failure (not only the first).
//!
//! Checked: the views of `queries/views/`, every feature and evidence query of
//! `queries/detect/` (the shared dimension query once per detector), the rules of
//! `queries/rules/` (their typed headers, then their SQL with the window placeholders filled), the bundled hunts and those of `--queries DIR` at their default parameters (with
//! their headers). Each is planned logically and physically, so unknown tables, columns and
//! functions, type errors and bad headers all show up.

use std::path::{Path, PathBuf};

use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;

use super::{QueryError, catalog};

/// What was checked and what failed.
#[derive(Debug, Default)]
pub struct LintReport {
    /// Queries planned.
    pub checked: Vec<String>,
    /// Failures, each naming its query.
    pub failures: Vec<String>,
}

/// Every query to check: (name, SQL).
pub fn queries(queries_dir: Option<&Path>, failures: &mut Vec<String>) -> Vec<(String, String)> {
    let mut out = vec![
        (
            "queries/views/runs.sql".to_string(),
            crate::engine::RUNS_VIEW.to_string(),
        ),
        (
            "queries/views/pipeline_events.sql".to_string(),
            crate::attribute::PIPELINE_EVENTS_VIEW.to_string(),
        ),
    ];
    let plan = crate::detect::DetectPlan::default();
    let w = crate::detect::Window::of(&plan, Some(1_790_000_000_000_000), 1_790_000_000_000_000);
    out.extend(crate::detect::filled_queries(&w, failures));
    let (since, until) = (
        crate::findings::Time::from_micros(w.baseline_start),
        crate::findings::Time::from_micros(w.end),
    );
    for (name, sql) in crate::assess::facts::QUERIES {
        out.push((name.into(), crate::assess::facts::fill(sql, since, until)));
    }
    out.extend(crate::permissions::queries(since, until));
    let (hunts, errors) = catalog::load(queries_dir);
    failures.extend(errors.into_iter().map(|e| e.to_string()));
    for h in hunts {
        if h.question.is_empty() {
            failures.push(format!("{}: header has no `-- question:`", h.file));
        }
        if !h.mitre.0.starts_with('T') {
            failures.push(format!(
                "{}: header has no `-- mitre: T#### Name` technique",
                h.file
            ));
        }
        match h.bind(&[]) {
            Ok(sql) => out.push((h.file.clone(), sql)),
            Err(e) => failures.push(format!("{}: {e}", h.file)),
        }
    }
    out
}

/// Plans each query on `ctx` (which has every table and view).
pub async fn lint(ctx: &SessionContext, queries_dir: Option<&Path>) -> LintReport {
    let mut report = LintReport::default();
    // detect's history queries read the profiles of the days judged, which a lint session has
    // none of.
    if !ctx
        .table_exist(crate::profiles::HISTORY_TABLE)
        .unwrap_or(false)
        && let Err(e) = crate::profiles::register_history(ctx, &[])
    {
        report.failures.push(e.to_string());
    }
    for (name, sql) in queries(queries_dir, &mut report.failures) {
        match check(ctx, &name, &sql).await {
            Ok(()) => {}
            Err(e) => report.failures.push(e.to_string()),
        }
        report.checked.push(name);
    }
    report
}

async fn check(ctx: &SessionContext, name: &str, sql: &str) -> Result<(), QueryError> {
    let parsed = super::parse(name, sql)?;
    if parsed.is_empty() {
        return Err(QueryError::Input {
            query: name.to_string(),
            message: "no SQL statement".into(),
        });
    }
    for p in parsed {
        let at = super::Location {
            query: name.to_string(),
            line: p.line,
            column: p.column,
        };
        // Views are DDL: planned, never run.
        let plan = super::plan(ctx, name, p, true).await?;
        let plan = match plan {
            LogicalPlan::Ddl(datafusion::logical_expr::DdlStatement::CreateView(v)) => {
                v.input.as_ref().clone()
            }
            other => other,
        };
        let state = ctx.state();
        let optimized = state.optimize(&plan).map_err(|e| QueryError::Plan {
            at: at.clone(),
            message: e.strip_backtrace(),
        })?;
        state
            .create_physical_plan(&optimized)
            .await
            .map_err(|e| QueryError::Plan {
                at,
                message: e.strip_backtrace(),
            })?;
    }
    Ok(())
}

/// What `pipewarden lint` checks against.
#[derive(Debug, Clone)]
pub struct LintPlan {
    /// A lake to plan against (an empty one in a temporary folder when absent).
    pub lake: Option<crate::lake::LakeLocation>,
    /// A folder of hunts to check too.
    pub queries_dir: Option<PathBuf>,
    /// S3 settings.
    pub s3: crate::aws::S3Options,
}

/// `pipewarden lint` on `rt`: returns the report.
pub fn run(plan: &LintPlan, rt: &tokio::runtime::Handle) -> anyhow::Result<LintReport> {
    rt.block_on(async {
        let scratch = std::env::temp_dir().join(format!("pipewarden-lint-{}", std::process::id()));
        let (loc, access) = match &plan.lake {
            Some(l) => (l.clone(), crate::lake::Access::Existing),
            None => (
                crate::lake::LakeLocation::Local(scratch.clone()),
                crate::lake::Access::Create,
            ),
        };
        let result = async {
            let (lake, _) = crate::lake::Lake::connect(&loc, &plan.s3, false, access).await?;
            let ctx = crate::engine::session(&lake).await?;
            anyhow::Ok(lint(&ctx, plan.queries_dir.as_deref()).await)
        }
        .await;
        if plan.lake.is_none() {
            let _ = std::fs::remove_dir_all(&scratch);
        }
        result
    })
}
