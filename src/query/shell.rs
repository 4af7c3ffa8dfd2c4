//! `pipewarden shell`: an interactive SQL session over the lake (rustyline): history kept between
//! sessions, statements over several lines (run at the `;`), tab completion of tables, columns,
//! functions, keywords and hunt names, and a few backslash commands:
//!
//! ```text
//! \d              tables and views          \hunts              the saved hunts
//! \d NAME         a table's columns         \hunt NAME [k=v ..] run one
//! \format FMT     table | csv | json        \q                  quit
//! ```
//!
//! Each statement is guarded, planned and run like `pipewarden query`; an error is printed and
//! the session goes on. With stdin not a terminal, lines are read as they come (for scripts).

use std::collections::BTreeSet;
use std::path::PathBuf;

use datafusion::prelude::SessionContext;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use super::catalog;
use super::output::OutputFormat;

/// What `pipewarden shell` opens.
#[derive(Debug, Clone)]
pub struct ShellPlan {
    /// The lake.
    pub lake: crate::lake::LakeLocation,
    /// `pipewarden.toml`.
    pub config: Option<PathBuf>,
    /// Extra hunts.
    pub queries_dir: Option<PathBuf>,
    /// Allow DDL, DML and COPY.
    pub allow_write: bool,
    /// Longest table cell.
    pub max_width: usize,
    /// History file (none: `$XDG_STATE_HOME/pipewarden/history` or
    /// `~/.local/state/pipewarden/history`).
    pub history: Option<PathBuf>,
    /// Where the statements run.
    pub engine: crate::engine::Engine,
    /// S3 settings.
    pub s3: crate::aws::S3Options,
}

const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP BY",
    "ORDER BY",
    "HAVING",
    "LIMIT",
    "JOIN",
    "LEFT JOIN",
    "ON",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ILIKE",
    "IS NULL",
    "IS NOT NULL",
    "DISTINCT",
    "COUNT",
    "WITH",
    "UNION ALL",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "BETWEEN",
    "INTERVAL",
    "EXPLAIN",
    "DESC",
    "ASC",
    "DESCRIBE",
    "SHOW TABLES",
];

const COMMANDS: &[&str] = &["\\d", "\\hunts", "\\hunt", "\\format", "\\q", "\\help"];

/// Tab completion over the session's names.
pub struct SqlHelper {
    words: BTreeSet<String>,
    hunts: Vec<String>,
}

impl SqlHelper {
    /// Completion for the tables and columns of `ctx`, plus functions, keywords and hunts.
    pub async fn new(ctx: &SessionContext, hunts: Vec<String>) -> SqlHelper {
        let mut words: BTreeSet<String> = KEYWORDS.iter().map(|s| s.to_string()).collect();
        words.extend(
            crate::engine::functions::NAMES
                .iter()
                .map(|s| s.to_string()),
        );
        for (table, cols) in tables(ctx).await {
            words.insert(table);
            words.extend(cols.into_iter().map(|(c, _)| c));
        }
        SqlHelper { words, hunts }
    }

    /// Candidates for the word that ends at `pos`.
    pub fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let head = &line[..pos];
        let start = head
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '\\'))
            .map(|i| i + head[i..].chars().next().map_or(1, char::len_utf8))
            .unwrap_or(0);
        let word = &head[start..];
        if word.is_empty() {
            return (start, vec![]);
        }
        let before = head[..start].trim_end();
        let pool: Vec<&str> = if before.ends_with("\\hunt") {
            self.hunts.iter().map(String::as_str).collect()
        } else if word.starts_with('\\') {
            COMMANDS.to_vec()
        } else {
            self.words.iter().map(String::as_str).collect()
        };
        let lower = word.to_lowercase();
        let upper_case = word.chars().next().is_some_and(char::is_uppercase);
        let mut out: Vec<String> = pool
            .into_iter()
            .filter(|w| w.to_lowercase().starts_with(&lower))
            .map(|w| {
                // Keywords follow the case being typed.
                if KEYWORDS.contains(&w) && !upper_case {
                    w.to_lowercase()
                } else {
                    w.to_string()
                }
            })
            .collect();
        out.dedup();
        (start, out)
    }
}

impl Completer for SqlHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, words) = self.candidates(line, pos);
        Ok((
            start,
            words
                .into_iter()
                .map(|w| Pair {
                    display: w.clone(),
                    replacement: w,
                })
                .collect(),
        ))
    }
}

impl Hinter for SqlHelper {
    type Hint = String;
}
impl Highlighter for SqlHelper {}
impl Validator for SqlHelper {}
impl Helper for SqlHelper {}

/// Every table and view of the session with its columns and types, sorted.
pub async fn tables(ctx: &SessionContext) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = vec![];
    let Some(catalog) = ctx.catalog("datafusion") else {
        return out;
    };
    let Some(schema) = catalog.schema("public") else {
        return out;
    };
    let mut names = schema.table_names();
    names.sort();
    for n in names {
        if let Ok(Some(t)) = schema.table(&n).await {
            let cols = t
                .schema()
                .fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().to_string()))
                .collect();
            out.push((n, cols));
        }
    }
    out
}

fn history_path(plan: &ShellPlan) -> Option<PathBuf> {
    if let Some(p) = &plan.history {
        return Some(p.clone());
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(base.join("pipewarden").join("history"))
}

/// Whether a buffer holds a whole statement: it ends with `;` outside quotes and comments.
pub fn complete_statement(buf: &str) -> bool {
    let mut in_single = false;
    let mut in_double = false;
    let mut last = None;
    let mut chars = buf.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if !in_double => in_single = !in_single,
            '"' if !in_single => in_double = !in_double,
            '-' if !in_single && !in_double && chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                continue;
            }
            _ => {}
        }
        if !c.is_whitespace() {
            last = Some((c, in_single || in_double));
        }
    }
    matches!(last, Some((';', false)))
}

/// `pipewarden shell`: returns how many statements and commands failed (each was reported on
/// stderr; a script fed on stdin then exits 2, as `psql -f` does).
pub fn run(plan: &ShellPlan, rt: &tokio::runtime::Handle) -> anyhow::Result<usize> {
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
    let (ctx, helper, hunts) = rt.block_on(async {
        let (lake, cfg) = super::open(&plan.lake, &plan.s3, plan.config.as_deref()).await?;
        let ctx = crate::engine::session_with(&lake, &cfg, &plan.engine).await?;
        let (hunts, errors) = catalog::load(plan.queries_dir.as_deref());
        for e in errors {
            eprintln!("pipewarden: hunt skipped: {e}");
        }
        let helper = SqlHelper::new(&ctx, hunts.iter().map(|h| h.name.clone()).collect()).await;
        anyhow::Ok((ctx, helper, hunts))
    })?;
    let mut rl: Editor<SqlHelper, DefaultHistory> = Editor::new()?;
    rl.set_helper(Some(helper));
    let history = history_path(plan).filter(|_| interactive);
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    if interactive {
        eprintln!(
            "pipewarden shell on {}: end statements with ;, \\help for commands, \\q to quit",
            plan.lake
        );
    }
    let mut format = OutputFormat::Table;
    let mut buf = String::new();
    let mut failed = 0;
    loop {
        let prompt = if buf.is_empty() {
            "pipewarden> "
        } else {
            "        ..> "
        };
        let line = match rl.readline(prompt) {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => {
                buf.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        if buf.is_empty() && line.trim_start().starts_with('\\') {
            let _ = rl.add_history_entry(line.as_str());
            match command(line.trim(), &ctx, &hunts, &mut format, plan, rt) {
                Flow::Quit => break,
                Flow::Continue => continue,
                Flow::Failed => {
                    failed += 1;
                    continue;
                }
            }
        }
        if buf.is_empty() && line.trim().is_empty() {
            continue;
        }
        buf.push_str(&line);
        buf.push('\n');
        if !complete_statement(&buf) {
            continue;
        }
        let sql = std::mem::take(&mut buf);
        let _ = rl.add_history_entry(sql.trim_end());
        failed += usize::from(!rt.block_on(run_one(&ctx, "<shell>", &sql, format, plan)));
    }
    if !buf.trim().is_empty() {
        // A script's last statement may lack its `;`.
        failed += usize::from(!rt.block_on(run_one(&ctx, "<shell>", &buf, format, plan)));
    }
    if let Some(h) = &history {
        if let Some(d) = h.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        let _ = rl.save_history(h);
    }
    Ok(failed)
}

enum Flow {
    Quit,
    Continue,
    Failed,
}

async fn run_one(
    ctx: &SessionContext,
    name: &str,
    sql: &str,
    format: OutputFormat,
    plan: &ShellPlan,
) -> bool {
    let started = std::time::Instant::now();
    let r = async {
        let parsed = super::parse(name, sql)?;
        super::run_text(
            ctx,
            name,
            parsed,
            super::RunOptions {
                allow_write: plan.allow_write,
                format,
                max_width: plan.max_width,
            },
            std::io::BufWriter::new(std::io::stdout()),
            "stdout",
        )
        .await
    }
    .await;
    match r {
        Ok(n) => {
            eprintln!("{n} row(s) in {:.3}s", started.elapsed().as_secs_f64());
            true
        }
        Err(e) => {
            eprintln!("{}", crate::sanitize::for_terminal(&e.to_string()));
            false
        }
    }
}

fn command(
    line: &str,
    ctx: &SessionContext,
    hunts: &[catalog::Hunt],
    format: &mut OutputFormat,
    plan: &ShellPlan,
    rt: &tokio::runtime::Handle,
) -> Flow {
    let mut words = line.split_whitespace();
    let cmd = words.next().unwrap_or("");
    let args: Vec<&str> = words.collect();
    match cmd {
        "\\q" | "\\quit" => return Flow::Quit,
        "\\d" => {
            let all = rt.block_on(tables(ctx));
            match args.first() {
                None => {
                    for (t, cols) in all {
                        println!("{t} ({} columns)", cols.len());
                    }
                }
                Some(name) => match all.iter().find(|(t, _)| t == name) {
                    Some((_, cols)) => {
                        for (c, ty) in cols {
                            println!("{c}\t{ty}");
                        }
                    }
                    None => {
                        eprintln!(
                            "no table {}; \\d lists them",
                            crate::sanitize::for_terminal(name)
                        );
                        return Flow::Failed;
                    }
                },
            }
        }
        "\\hunts" => {
            for h in hunts {
                println!("{:32} {}", h.name, h.question_text());
            }
        }
        "\\hunt" => {
            let Some(name) = args.first() else {
                eprintln!("usage: \\hunt NAME [param=value ...]");
                return Flow::Failed;
            };
            let Some(h) = hunts.iter().find(|h| &h.name == name) else {
                eprintln!(
                    "no hunt {}; \\hunts lists them",
                    crate::sanitize::for_terminal(name)
                );
                return Flow::Failed;
            };
            let mut params = vec![];
            for a in &args[1..] {
                match a.split_once('=') {
                    Some((k, v)) => params.push((k.to_string(), v.to_string())),
                    None => {
                        eprintln!(
                            "parameters are name=value, not {}",
                            crate::sanitize::for_terminal(a)
                        );
                        return Flow::Failed;
                    }
                }
            }
            let ran = match h.bind(&params) {
                Ok(sql) => rt.block_on(run_one(ctx, &h.file, &sql, *format, plan)),
                Err(e) => {
                    eprintln!("{}", crate::sanitize::for_terminal(&e));
                    false
                }
            };
            if !ran {
                return Flow::Failed;
            }
        }
        "\\format" => match args.first().map(|f| f.to_ascii_lowercase()).as_deref() {
            Some("table") => *format = OutputFormat::Table,
            Some("csv") => *format = OutputFormat::Csv,
            Some("json") => *format = OutputFormat::Json,
            _ => {
                eprintln!("\\format table | csv | json");
                return Flow::Failed;
            }
        },
        "\\help" | "\\?" => eprintln!(
            "SQL statements end with ;\n\\d [NAME]      tables, or one table's columns\n\\hunts         saved hunts\n\\hunt NAME k=v run a hunt\n\\format FMT    table | csv | json\n\\q             quit"
        ),
        other => {
            eprintln!(
                "unknown command {}; \\help lists them",
                crate::sanitize::for_terminal(other)
            );
            return Flow::Failed;
        }
    }
    Flow::Continue
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_end_at_a_semicolon_outside_quotes_and_comments() {
        assert!(complete_statement("SELECT 1;"));
        assert!(complete_statement("SELECT 1;  \n"));
        assert!(!complete_statement("SELECT ';'"));
        assert!(!complete_statement("SELECT 1 -- done;"));
        assert!(complete_statement("SELECT 1 -- a comment\n;"));
        assert!(!complete_statement("SELECT \"a;\""));
    }

    fn helper() -> SqlHelper {
        SqlHelper {
            words: [
                "pipeline_events",
                "pipelines",
                "event_name",
                "event_time",
                "SELECT",
                "FROM",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            hunts: vec!["role_chains".into(), "root_activity".into()],
        }
    }

    #[test]
    fn completes_tables_columns_keywords_and_hunts() {
        let h = helper();
        let (start, c) = h.candidates("SELECT * FROM pipe", 18);
        assert_eq!(start, 14);
        assert_eq!(c, vec!["pipeline_events", "pipelines"]);
        let (_, c) = h.candidates("select event_n", 14);
        assert_eq!(c, vec!["event_name"]);
        let (_, c) = h.candidates("sel", 3);
        assert_eq!(c, vec!["select"], "keywords follow the case typed");
        let (_, c) = h.candidates("\\hunt ro", 8);
        assert_eq!(c, vec!["role_chains", "root_activity"]);
        let (start, c) = h.candidates("\\hu", 3);
        assert_eq!(
            (start, c),
            (0, vec!["\\hunts".to_string(), "\\hunt".to_string()])
        );
        assert!(h.candidates("SELECT ", 7).1.is_empty());
    }
}
