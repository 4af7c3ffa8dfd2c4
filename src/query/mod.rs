//! Analyst SQL over the lake: `pipewarden query` (this file), `pipewarden shell` ([`shell`]) and
//! `pipewarden lint` ([`lint`]), on the same DataFusion session as detection
//! ([`crate::engine`]): its tables, views and functions.
//!
//! ```text
//!  SQL text ──► parse (all statements) ──► plan each ──► guard ──► execute ──► output
//!  --file, --hunt      syntax error            planning error   refused     execution error
//!  (catalog: params)   at line:column          at line:column                  table|csv|json|parquet
//! ```
//!
//! - [`catalog`]: the saved hunts of `queries/hunts/` and their parameters.
//! - [`guard`]: read-only unless writes are allowed.
//! - [`output`]: result formats, with log text made inert.
//!
//! Errors name the query (file, hunt or `<command line>`) and, when DataFusion gives one, the
//! line and column; syntax, planning and execution errors are told apart.

pub mod catalog;
pub mod guard;
pub mod lint;
pub mod output;
pub mod shell;

use std::fmt;
use std::path::PathBuf;

use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::sqlparser::ast::Spanned;
use futures::StreamExt;

use output::{OutputError, OutputFormat, Writer};

/// Where a query's text is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// SQL given on the command line.
    Sql(String),
    /// A file of SQL.
    File(PathBuf),
    /// A saved hunt, by name.
    Hunt(String),
}

/// What `pipewarden query` runs and where its rows go.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    /// The lake.
    pub lake: crate::lake::LakeLocation,
    /// The SQL.
    pub source: Source,
    /// `--param name=value` for hunts.
    pub params: Vec<(String, String)>,
    /// Result format.
    pub format: OutputFormat,
    /// Result file (stdout when absent).
    pub output: Option<PathBuf>,
    /// Longest table cell.
    pub max_width: usize,
    /// Allow DDL, DML and COPY.
    pub allow_write: bool,
    /// `pipewarden.toml` for attribution.
    pub config: Option<PathBuf>,
    /// A folder of hunts that add to or replace the bundled ones.
    pub queries_dir: Option<PathBuf>,
    /// Where the statements run.
    pub engine: crate::engine::Engine,
    /// S3 settings for an `s3://` lake.
    pub s3: crate::aws::S3Options,
}

/// Where in which query something went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, `hunt NAME` or `<command line>`.
    pub query: String,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.query)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        Ok(())
    }
}

/// A query that could not run.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The text is not SQL.
    #[error("{at}: syntax error: {message}")]
    Syntax {
        /// Where.
        at: Location,
        /// What.
        message: String,
    },
    /// The SQL does not fit the tables (unknown table or column, wrong types, ...).
    #[error("{at}: planning error: {message}")]
    Plan {
        /// Where.
        at: Location,
        /// What.
        message: String,
    },
    /// The statement would write or read outside the lake.
    #[error("{at}: refused: {message}")]
    Refused {
        /// Where.
        at: Location,
        /// Why.
        message: String,
    },
    /// The query failed while running (bad data, resources, storage).
    #[error("{at}: execution error: {message}")]
    Execute {
        /// Where.
        at: Location,
        /// What.
        message: String,
    },
    /// The query could not be found or its parameters are wrong.
    #[error("{query}: {message}")]
    Input {
        /// The query.
        query: String,
        /// What is wrong.
        message: String,
    },
    /// The results could not be written.
    #[error("writing results to {dest}: {source}")]
    Output {
        /// Where to.
        dest: String,
        /// Why not.
        source: OutputError,
    },
}

impl QueryError {
    /// Where, when the error is about a place in a query.
    pub fn location(&self) -> Option<&Location> {
        match self {
            QueryError::Syntax { at, .. }
            | QueryError::Plan { at, .. }
            | QueryError::Refused { at, .. }
            | QueryError::Execute { at, .. } => Some(at),
            _ => None,
        }
    }
}

/// DataFusion's message without its backtrace and without the position it also gives apart.
/// Only its first line: the rest is a list of every column of the table.
fn message(e: &DataFusionError) -> String {
    let m = match e.find_root() {
        DataFusionError::SQL(p, _) => p.to_string(),
        _ => e.strip_backtrace(),
    };
    // Out of memory: the first line ends with "top memory consumers ... as:", and the lines
    // after it name them.
    let m = if matches!(e.find_root(), DataFusionError::ResourcesExhausted(_)) {
        m.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(8)
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        m.lines().next().unwrap_or("").to_string()
    };
    match m.find(" at Line: ") {
        Some(i) => m[..i].to_string(),
        None => m,
    }
}

/// `… at Line: 3, Column: 14` in a parser message.
fn line_column(msg: &str) -> Option<(u64, u64)> {
    let rest = &msg[msg.find("at Line: ")? + "at Line: ".len()..];
    let (l, rest) = rest.split_once(", Column: ")?;
    let c: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    Some((l.trim().parse().ok()?, c.parse().ok()?))
}

/// One statement of a query text, parsed, with where it starts.
pub struct Parsed {
    /// The statement.
    pub statement: Statement,
    /// Its first line and column.
    pub line: Option<u64>,
    /// Its first column.
    pub column: Option<u64>,
}

/// Parses every statement of `sql`; `name` names the query in errors.
pub fn parse(name: &str, sql: &str) -> Result<Vec<Parsed>, QueryError> {
    let at = |line, column| Location {
        query: name.to_string(),
        line,
        column,
    };
    let statements = DFParserBuilder::new(sql)
        .build()
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| {
            let full = match e.find_root() {
                DataFusionError::SQL(p, _) => p.to_string(),
                other => other.strip_backtrace(),
            };
            let (l, c) = line_column(&full).unzip();
            QueryError::Syntax {
                at: at(l, c),
                message: message(&e),
            }
        })?;
    Ok(statements
        .into_iter()
        .map(|statement| {
            let span = match &statement {
                Statement::Statement(s) => Some(s.span()),
                _ => None,
            }
            .filter(|s| s.start.line > 0);
            Parsed {
                line: span.map(|s| s.start.line),
                column: span.map(|s| s.start.column),
                statement,
            }
        })
        .collect())
}

/// Plans one parsed statement and applies the read-only guard.
pub async fn plan(
    ctx: &SessionContext,
    name: &str,
    p: Parsed,
    allow_write: bool,
) -> Result<LogicalPlan, QueryError> {
    let stmt_at = Location {
        query: name.to_string(),
        line: p.line,
        column: p.column,
    };
    let plan = ctx
        .state()
        .statement_to_plan(p.statement)
        .await
        .map_err(|e| {
            let span = e
                .diagnostic()
                .and_then(|d| d.span)
                .filter(|s| s.start.line > 0);
            QueryError::Plan {
                at: match span {
                    Some(s) => Location {
                        query: name.to_string(),
                        line: Some(s.start.line),
                        column: Some(s.start.column),
                    },
                    None => stmt_at.clone(),
                },
                message: message(&e),
            }
        })?;
    if let Some(why) = guard::refusal(&plan, allow_write) {
        return Err(QueryError::Refused {
            at: stmt_at,
            message: why,
        });
    }
    Ok(plan)
}

/// Runs a planned statement, writing its rows to `out`; returns the row count.
pub async fn execute<W: std::io::Write + Send>(
    ctx: &SessionContext,
    at: Location,
    plan: LogicalPlan,
    out: &mut Writer<W>,
    dest: &str,
) -> Result<usize, QueryError> {
    let exec = |e: DataFusionError| QueryError::Execute {
        at: at.clone(),
        message: message(&e),
    };
    let df = ctx.execute_logical_plan(plan).await.map_err(exec)?;
    let mut stream = df.execute_stream().await.map_err(exec)?;
    let before = out.rows();
    while let Some(b) = stream.next().await {
        let b = b.map_err(exec)?;
        out.write(&b).map_err(|source| QueryError::Output {
            dest: dest.to_string(),
            source,
        })?;
    }
    Ok(out.rows() - before)
}

/// Whether a statement names a table the attribution pass provides.
pub fn needs_attribution(ctx: &SessionContext, parsed: &[Parsed]) -> bool {
    parsed.iter().any(|p| {
        ctx.state()
            .resolve_table_references(&p.statement)
            .map(|refs| {
                refs.iter()
                    .any(|r| crate::attribute::TABLES.contains(&r.table()))
            })
            .unwrap_or(true)
    })
}

/// The query's name for errors and its SQL, parameters written in.
pub fn text(plan: &QueryPlan) -> Result<(String, String), QueryError> {
    match &plan.source {
        Source::Sql(s) => {
            if !plan.params.is_empty() {
                return Err(QueryError::Input {
                    query: "<command line>".into(),
                    message: "--param applies to hunts (--hunt NAME) only".into(),
                });
            }
            Ok(("<command line>".into(), s.clone()))
        }
        Source::File(p) => {
            let name = p.display().to_string();
            let sql = std::fs::read_to_string(p).map_err(|e| QueryError::Input {
                query: name.clone(),
                message: e.to_string(),
            })?;
            if !plan.params.is_empty() {
                let h = catalog::Hunt::parse(&name, &sql).map_err(|e| QueryError::Input {
                    query: name.clone(),
                    message: e.reason,
                })?;
                let sql = h.bind(&plan.params).map_err(|message| QueryError::Input {
                    query: name.clone(),
                    message,
                })?;
                return Ok((name, sql));
            }
            Ok((name, sql))
        }
        Source::Hunt(n) => {
            let (hunts, _) = catalog::load(plan.queries_dir.as_deref());
            let h = hunts.iter().find(|h| &h.name == n).ok_or_else(|| {
                let names: Vec<&str> = hunts.iter().map(|h| h.name.as_str()).collect();
                QueryError::Input {
                    query: format!("hunt {n}"),
                    message: format!("no such hunt; the hunts are: {}", names.join(", ")),
                }
            })?;
            let sql = h.bind(&plan.params).map_err(|message| QueryError::Input {
                query: h.file.clone(),
                message,
            })?;
            Ok((h.file.clone(), sql))
        }
    }
}

/// The lake (S3 through the credential chain) and the attribution configuration.
pub async fn open(
    loc: &crate::lake::LakeLocation,
    s3: &crate::aws::S3Options,
    config: Option<&std::path::Path>,
) -> anyhow::Result<(crate::lake::Lake, crate::attribute::config::Config)> {
    let (lake, _) =
        crate::lake::Lake::connect(loc, s3, false, crate::lake::Access::Existing).await?;
    let cfg = match config {
        Some(p) => crate::attribute::config::Config::load(p)?,
        None => crate::attribute::config::Config::default(),
    };
    Ok((lake, cfg))
}

/// A session for `plan`'s lake: attribution's tables only when `parsed` needs them.
pub async fn session_for(
    lake: &crate::lake::Lake,
    cfg: &crate::attribute::config::Config,
    parsed: &[Parsed],
    engine: &crate::engine::Engine,
) -> datafusion::error::Result<SessionContext> {
    let ctx = crate::engine::base_session(lake, engine).await?;
    if needs_attribution(&ctx, parsed) {
        crate::attribute::register(&ctx, cfg).await?;
    }
    Ok(ctx)
}

/// How statements run and how their rows are written.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Allow DDL, DML and COPY.
    pub allow_write: bool,
    /// Result format.
    pub format: OutputFormat,
    /// Longest table cell (0: no limit).
    pub max_width: usize,
}

/// Runs every statement of the query, writing the rows of each to `sink` (named `dest` in
/// errors); returns the rows written. Machine formats take one statement that returns rows
/// (`SET`s may come first).
pub async fn run_text<W: std::io::Write + Send>(
    ctx: &SessionContext,
    name: &str,
    parsed: Vec<Parsed>,
    opts: RunOptions,
    sink: W,
    dest: &str,
) -> Result<usize, QueryError> {
    let RunOptions {
        allow_write,
        format,
        max_width,
    } = opts;
    let mut plans = vec![];
    for p in parsed {
        let at = Location {
            query: name.to_string(),
            line: p.line,
            column: p.column,
        };
        plans.push((at, plan(ctx, name, p, allow_write).await?));
    }
    let queries = plans
        .iter()
        .filter(|(_, p)| !matches!(p, LogicalPlan::Statement(_)))
        .count();
    if queries > 1 && format != OutputFormat::Table {
        return Err(QueryError::Input {
            query: name.to_string(),
            message: format!(
                "{queries} statements return rows; --format {} takes one",
                format!("{format:?}").to_lowercase()
            ),
        });
    }
    if plans.is_empty() {
        return Err(QueryError::Input {
            query: name.to_string(),
            message: "no SQL statement".into(),
        });
    }
    let mut sink = Some(sink);
    let mut total = 0;
    let last = plans.len() - 1;
    for (i, (at, p)) in plans.into_iter().enumerate() {
        let schema = p.schema().inner().clone();
        let is_statement = matches!(p, LogicalPlan::Statement(_));
        if is_statement && i != last {
            ctx.execute_logical_plan(p)
                .await
                .map_err(|e| QueryError::Execute {
                    at,
                    message: message(&e),
                })?;
            continue;
        }
        // A table per statement; machine formats have only one.
        let mut w = Writer::new(
            format,
            sink.take().expect("one writer at a time"),
            max_width,
        );
        total += execute(ctx, at, p, &mut w, dest).await?;
        let s = w.finish(&schema).map_err(|source| QueryError::Output {
            dest: dest.to_string(),
            source,
        })?;
        sink = Some(s);
    }
    Ok(total)
}

/// `pipewarden query`: runs the plan on `rt`; returns the rows written.
pub fn run(plan: &QueryPlan, rt: &tokio::runtime::Handle) -> anyhow::Result<usize> {
    let (name, sql) = text(plan)?;
    let parsed = parse(&name, &sql)?;
    rt.block_on(async {
        let (lake, cfg) = open(&plan.lake, &plan.s3, plan.config.as_deref()).await?;
        let ctx = session_for(&lake, &cfg, &parsed, &plan.engine).await?;
        let opts = RunOptions {
            allow_write: plan.allow_write,
            format: plan.format,
            max_width: plan.max_width,
        };
        let rows = match &plan.output {
            Some(path) => {
                let dest = path.display().to_string();
                let tmp = tmp_beside(path);
                let f = std::fs::File::create(&tmp)
                    .map_err(|e| anyhow::anyhow!("cannot write {dest}: {e}"))?;
                let w = std::io::BufWriter::new(f);
                let r = run_text(&ctx, &name, parsed, opts, w, &dest).await;
                match r {
                    Ok(n) => {
                        std::fs::rename(&tmp, path)
                            .map_err(|e| anyhow::anyhow!("cannot write {dest}: {e}"))?;
                        n
                    }
                    Err(e) => {
                        let _ = std::fs::remove_file(&tmp);
                        return Err(e.into());
                    }
                }
            }
            None => {
                if plan.format == OutputFormat::Parquet
                    && std::io::IsTerminal::is_terminal(&std::io::stdout())
                {
                    return Err(QueryError::Input {
                        query: name,
                        message: "Parquet is binary: give --output FILE or redirect stdout".into(),
                    }
                    .into());
                }
                let out = std::io::BufWriter::new(std::io::stdout());
                match run_text(&ctx, &name, parsed, opts, out, "stdout").await {
                    Ok(n) => n,
                    // A reader that stopped early (`| head`) is not an error.
                    Err(QueryError::Output {
                        source: OutputError::Io(e),
                        ..
                    }) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        anyhow::Ok(rows)
    })
}

fn tmp_beside(path: &std::path::Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "result".into());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_say_where() {
        let e = parse("q.sql", "SELECT 1;\nSELEC x FROM y").err().unwrap();
        assert!(matches!(e, QueryError::Syntax { .. }), "{e}");
        let at = e.location().unwrap();
        assert_eq!((at.line, at.column), (Some(2), Some(1)), "{e}");
        assert!(!e.to_string().contains("at Line"), "{e}");
    }

    #[test]
    fn statements_know_their_lines() {
        let p = parse(
            "q.sql",
            "SET datafusion.execution.batch_size = 100;\n\n  SELECT 1",
        )
        .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[1].line, p[1].column), (Some(3), Some(3)));
    }
}
