//! `pipewarden generate`: a simulated organisation's CloudTrail and build records.

use crate::Exit;
use crate::generate::GeneratePlan;

/// Generates the history and says what it wrote.
pub fn run(plan: &GeneratePlan) -> anyhow::Result<Exit> {
    let s = crate::generate::run(plan)?;
    eprintln!(
        "pipewarden: generated {} CloudTrail events in {} delivery files, {} build records, {} labelled anomalies under {}",
        s.events, s.files, s.build_records, s.labels, plan.out
    );
    Ok(Exit::Clean)
}
