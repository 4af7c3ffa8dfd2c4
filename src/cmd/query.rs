//! `pipewarden query`: one SQL text, file or saved hunt over the lake ([`crate::query`]).

use crate::Exit;
use crate::query::QueryPlan;
use crate::sanitize::for_terminal;

/// Runs the plan (or prints its SQL with `show_sql`); the row count goes to a terminal's stderr.
pub fn run(plan: &QueryPlan, show_sql: bool, rt: &tokio::runtime::Runtime) -> anyhow::Result<Exit> {
    if show_sql {
        super::out(&crate::query::text(plan)?.1)?;
        return Ok(Exit::Clean);
    }
    let started = std::time::Instant::now();
    let rows = crate::query::run(plan, rt.handle())?;
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!("{rows} row(s) in {:.3}s", started.elapsed().as_secs_f64());
    }
    Ok(Exit::Clean)
}

/// `query --list-hunts`: each hunt, its question and its parameters.
pub fn list_hunts(dir: Option<&std::path::Path>) -> anyhow::Result<Exit> {
    let (hunts, errors) = crate::query::catalog::load(dir);
    let mut text = String::new();
    for h in &hunts {
        text.push_str(&format!("{}  [{}]\n", h.name, h.mitre.0));
        text.push_str(&format!("    {}\n", for_terminal(&h.question_text())));
        for p in &h.params {
            text.push_str(&format!(
                "    --param {}={}  {}\n",
                p.name,
                for_terminal(&p.default),
                for_terminal(&p.doc)
            ));
        }
    }
    super::out(&text)?;
    for e in &errors {
        eprintln!("pipewarden: hunt skipped: {}", for_terminal(&e.to_string()));
    }
    Ok(if errors.is_empty() {
        Exit::Clean
    } else {
        Exit::Error
    })
}
