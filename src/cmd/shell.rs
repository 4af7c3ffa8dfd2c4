//! `pipewarden shell`: the interactive SQL session ([`crate::query::shell`]).

use crate::Exit;
use crate::query::shell::ShellPlan;

/// Runs the session until `\q` or end of input. A script fed on stdin whose statements failed
/// exits 2 (each failure was printed); at a terminal, people saw them and the exit is 0.
pub fn run(plan: &ShellPlan, rt: &tokio::runtime::Runtime) -> anyhow::Result<Exit> {
    let failed = crate::query::shell::run(plan, rt.handle())?;
    if failed > 0 && !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!("pipewarden: shell: {failed} statement(s) or command(s) failed");
        return Ok(Exit::Error);
    }
    Ok(Exit::Clean)
}
