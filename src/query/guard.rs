//! Read-only by default: what a planned statement may do before it runs.
//!
//! DDL (`CREATE EXTERNAL TABLE` reads files anywhere; `CREATE TABLE`, `DROP`, views), DML
//! (`INSERT` writes into the lake's folders) and `COPY` (writes files anywhere) are refused
//! unless the caller allows writes; so are statements other than `SET`/`RESET` of session
//! options. Reading a path as a table (`SELECT * FROM '/etc/passwd'`) is never enabled in
//! pipewarden's sessions, so a query can only read the lake's tables.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{DdlStatement, LogicalPlan, Statement};

/// Why a plan was refused, in words for the user; `None` when it may run.
pub fn refusal(plan: &LogicalPlan, allow_write: bool) -> Option<String> {
    if allow_write {
        return None;
    }
    let mut why = None;
    let _ = plan.apply(|p| {
        why = match p {
            LogicalPlan::Ddl(d) => Some(format!(
                "{} is DDL: it changes the session's tables{}",
                ddl_name(d),
                if matches!(d, DdlStatement::CreateExternalTable(_)) {
                    " and reads files outside the lake"
                } else {
                    ""
                }
            )),
            LogicalPlan::Dml(d) => Some(format!("{} writes to table {}", d.op, d.table_name)),
            LogicalPlan::Copy(c) => Some(format!("COPY writes files ({})", c.output_url)),
            // The runtime's settings (the spill folder, say) reach outside the session: a
            // read-only query may tune execution, not choose where files are written.
            LogicalPlan::Statement(Statement::SetVariable(v))
                if v.variable
                    .to_ascii_lowercase()
                    .starts_with("datafusion.runtime.") =>
            {
                Some(format!(
                    "SET {} changes the runtime (where files are written, how much memory)",
                    v.variable
                ))
            }
            LogicalPlan::Statement(Statement::SetVariable(_) | Statement::ResetVariable(_)) => None,
            LogicalPlan::Statement(s) => Some(format!("{} is not a query", s.name())),
            _ => None,
        };
        Ok(if why.is_some() {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    why.map(|w| format!("{w}; pipewarden query is read-only (--allow-write lifts this)"))
}

fn ddl_name(d: &DdlStatement) -> &'static str {
    match d {
        DdlStatement::CreateExternalTable(_) => "CREATE EXTERNAL TABLE",
        DdlStatement::CreateMemoryTable(_) => "CREATE TABLE",
        DdlStatement::CreateView(_) => "CREATE VIEW",
        DdlStatement::CreateCatalogSchema(_) => "CREATE SCHEMA",
        DdlStatement::CreateCatalog(_) => "CREATE DATABASE",
        DdlStatement::CreateIndex(_) => "CREATE INDEX",
        DdlStatement::DropTable(_) => "DROP TABLE",
        DdlStatement::DropView(_) => "DROP VIEW",
        DdlStatement::DropCatalogSchema(_) => "DROP SCHEMA",
        DdlStatement::CreateFunction(_) => "CREATE FUNCTION",
        DdlStatement::DropFunction(_) => "DROP FUNCTION",
    }
}
