//! `pipewarden shell`: the interactive SQL session ([`crate::query::shell`]).

use crate::Exit;
use crate::query::shell::ShellPlan;

/// Runs the session until `\q` or end of input.
pub fn run(plan: &ShellPlan, rt: &tokio::runtime::Runtime) -> anyhow::Result<Exit> {
    crate::query::shell::run(plan, rt.handle())?;
    Ok(Exit::Clean)
}
