//! `pipewarden ingest`: one source (CloudTrail, or build records) into the lake.

use crate::Exit;
use crate::ingest::IngestPlan;

/// Ingests what is new; exit 2 under `--strict` when any input was bad.
pub fn run(plan: &IngestPlan, rt: &tokio::runtime::Runtime) -> anyhow::Result<Exit> {
    let summary = crate::ingest::run_on(plan, rt.handle())?;
    eprintln!("pipewarden: {}: {}", plan.dataset.name(), summary.line());
    if plan.strict && summary.had_bad_input() {
        eprintln!(
            "pipewarden: --strict: bad input seen (details above, in the manifest and rejects tables)"
        );
        return Ok(Exit::Error);
    }
    Ok(Exit::Clean)
}
