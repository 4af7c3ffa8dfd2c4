//! `pipewarden lint`: plans every bundled query, rule header and hunt without running any.

use crate::Exit;
use crate::query::lint::LintPlan;
use crate::sanitize::for_terminal;

/// Prints each failure; exit 2 when there is one.
pub fn run(plan: &LintPlan, rt: &tokio::runtime::Runtime) -> anyhow::Result<Exit> {
    let report = crate::query::lint::run(plan, rt.handle())?;
    for f in &report.failures {
        super::out(&format!("{}\n", for_terminal(f)))?;
    }
    eprintln!(
        "pipewarden: lint: {} queries planned, {} failure(s)",
        report.checked.len(),
        report.failures.len()
    );
    Ok(if report.failures.is_empty() {
        Exit::Clean
    } else {
        Exit::Error
    })
}
