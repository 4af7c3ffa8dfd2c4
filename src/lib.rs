//! pipewarden watches CI/CD pipelines through their audit trail (AWS CloudTrail and CI build logs)
//! and reports what departs from each pipeline's normal behaviour (AWS Well-Architected
//! SEC11-BP07).
//!
//! # Map
//!
//! Data flows left to right; each stage is a module.
//!
//! ```text
//!  source ──► parse ──────────────► lake ──► engine (DataFusion SQL) ──► attribute
//!  S3/folder   bytes → Arrow rows     Parquet     tables: cloudtrail,       lineage pass:
//!  listing     cloudtrail | builds    + manifest  builds, manifest,         sessions, pipelines,
//!                                                 rejects; view runs        pipeline_events view
//!                                                                                 │
//!                     reports, SIEM ◄── report ◄── findings ◄── detect ◄──────┤
//!                                             │ (findings table)                  │
//!                                             ▼                                   │
//!                           analysts ◄── query: SQL, hunts, shell, lint ◄─────────┘
//!
//!  S3 trail ──► verify: digest signatures, chain, ──► lake: integrity ──► detect (integrity rule),
//!               log file hashes                        table              ingest --refuse-unverified
//!
//!  engine --engine ballista://… ──► cluster: pipewarden scheduler ──► pipewarden executor × N
//!  (same plans, same functions)       (plans over the S3 lake)         (read Parquet, shuffle)
//! ```
//!
//! - [`source`]: where log objects are (an S3 prefix through aws-sdk-s3, or a folder), the
//!   CloudTrail key layout ([`source::layout`]), date-pruned listing, reading objects.
//! - [`parse`]: one object's bytes become Arrow rows. Content detection (gzip, delivery file,
//!   array, NDJSON, EventBridge envelope), record splitting ([`parse::json_scan`]), and the place
//!   where a CloudTrail record becomes a row of the `cloudtrail` table ([`parse::cloudtrail`],
//!   which also owns that table's schema) and where a CI/CD build record (GitHub, GitLab, AWS,
//!   Jenkins, native) becomes a row of `builds` ([`parse::builds`], one module per system). Both
//!   are [`parse::RecordSink`]s behind the same object handling. Bad records become rejects,
//!   never panics.
//! - [`lake`]: the Parquet lake on a folder or S3, one folder per [`lake::Dataset`]
//!   (`cloudtrail`, `builds`): date-partitioned writing
//!   ([`lake::writer`]), the manifest of objects seen and the rejects table ([`lake::manifest`]),
//!   atomic, crash-safe commits ([`lake::commit`]), and removal of the earlier rows of objects
//!   whose content changed ([`lake::replace`]).
//! - [`engine`]: a DataFusion session with the lake's tables registered (`findings` included),
//!   the views of `queries/views/` (`runs`: one row per CI/CD run) created, the analysts' SQL
//!   functions ([`engine::functions`]) and day pruning from time filters
//!   ([`engine::pruning`]).
//! - [`attribute`]: which pipeline, run, origin identity, credential type and environment each
//!   CloudTrail event belongs to: session lineage through role chains ([`attribute::lineage`]),
//!   discovery and linking of pipelines and runs ([`attribute::pipelines`]), credential types
//!   ([`attribute::credential`]) and `pipewarden.toml` ([`attribute::config`]). Its results are
//!   small tables joined to `cloudtrail` by the `pipeline_events` view.
//! - [`detect`]: `pipewarden detect`: baseline detectors (feature SQL in `queries/detect/`,
//!   scoring with statrs in [`detect::baseline`]), rule detectors (`queries/rules/`,
//!   [`detect::rules`]), suppressions ([`detect::suppress`]), ranking, and the terminal table
//!   ([`detect::render`]).
//! - [`report`]: a detect report for people (terminal, Markdown, self-contained HTML with SVG
//!   plots, [`report::html`]) and machines (JSON, NDJSON, OCSF, ASFF, CSV,
//!   [`report::formats`]), written to files, stdout or S3, or sent to a SIEM
//!   ([`report::siem`]); log text made inert per format ([`report::escape`]); the lake's
//!   `findings` table ([`report::table`]). `scan` (in this file) is ingest → detect → report
//!   in one command.
//! - [`query`]: analysts' SQL: `pipewarden query` (parse, plan, read-only guard, execute,
//!   output as table, CSV, JSON or Parquet), the saved hunts of `queries/hunts/`
//!   ([`query::catalog`]), `pipewarden shell` ([`query::shell`]) and `pipewarden lint`
//!   ([`query::lint`]).
//! - [`verify`]: `pipewarden verify`: CloudTrail digest chains (signatures, missing, replaced
//!   and gapped digests, each log file's hash, log files no digest lists), before the trail is
//!   trusted; its problems become the lake's `integrity` table, which the `integrity` rule
//!   reports and `ingest --refuse-unverified` honours ([`verify::digest`] is the pure part).
//! - `cluster` (cargo feature `ballista`, on by default): scale-out on Apache DataFusion
//!   Ballista. The client session behind `--engine ballista://host:port`, the plan codec that
//!   carries attribution's in-memory tables, and `pipewarden scheduler` / `pipewarden executor`
//!   (Ballista's, with pipewarden's functions, day pruning and S3 stores registered).
//! - [`aws`]: the one AWS credential chain (aws-config), shared by aws-sdk-s3 and object_store.
//! - [`ingest`]: the `ingest` subcommand, wiring source → parse → lake with bounded queues on
//!   every core.
//! - [`generate`]: `pipewarden generate`, a deterministic simulated organisation whose pipelines
//!   leave CloudTrail delivery files and CI build records, with labelled anomalies (the sample
//!   logs, the tests' known answers, the benchmarks' input).
//! - [`cli`]: flags and their validation into plans; [`progress`] and [`sanitize`]: what people
//!   see on the terminal, made safe from log-controlled text.
//!
//! `main.rs` only parses flags, calls [`run`] and maps the result to an [`Exit`] code.

pub mod attribute;
pub mod aws;
pub mod cli;
#[cfg(feature = "ballista")]
pub mod cluster;
pub mod detect;
pub mod engine;
pub mod generate;
pub mod ingest;
pub mod lake;
pub mod parse;
pub mod progress;
pub mod query;
pub mod report;
pub mod sanitize;
pub mod source;
pub mod verify;

/// Process exit codes, documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Success, nothing at or above `--fail-on`.
    Clean = 0,
    /// Findings at or above `--fail-on`.
    Findings = 1,
    /// An error stopped the run, or `--strict` saw bad input.
    Error = 2,
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: cli::Cli) -> anyhow::Result<Exit> {
    match cli.command {
        cli::Command::Ingest(args) => {
            let plan = args.plan()?;
            let summary = ingest::run(&plan)?;
            eprintln!("pipewarden: {}: {}", plan.dataset.name(), summary.line());
            if plan.strict && summary.had_bad_input() {
                eprintln!(
                    "pipewarden: --strict: bad input seen (details above, in the manifest and rejects tables)"
                );
                return Ok(Exit::Error);
            }
            Ok(Exit::Clean)
        }
        cli::Command::Detect(args) => run_detect(&args),
        cli::Command::Scan(args) => run_scan(&args),
        cli::Command::Query(args) => {
            if args.list_hunts {
                return list_hunts(args.session.queries.as_deref());
            }
            let plan = args.plan()?;
            if args.show_sql {
                print!("{}", query::text(&plan)?.1);
                return Ok(Exit::Clean);
            }
            let started = std::time::Instant::now();
            let rows = query::run(&plan)?;
            if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                eprintln!("{rows} row(s) in {:.3}s", started.elapsed().as_secs_f64());
            }
            Ok(Exit::Clean)
        }
        cli::Command::Verify(args) => {
            let plan = args.plan()?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let report = rt.block_on(async {
                let r = verify::verify(&plan).await?;
                if let Some(l) = &args.lake {
                    let aws = if l.starts_with("s3://") {
                        Some(aws::AwsContext::load(&plan.s3).await)
                    } else {
                        None
                    };
                    let lake = lake::Lake::open(l, aws.as_ref())?;
                    verify::save(&lake, &r).await?;
                }
                anyhow::Ok(r)
            })?;
            print!("{}", verify::render(&report));
            if let Some(p) = &args.json {
                report::write_atomic(p, serde_json::to_string_pretty(&report)?.as_bytes())
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?;
            }
            Ok(if report.clean() {
                Exit::Clean
            } else {
                Exit::Findings
            })
        }
        cli::Command::Shell(args) => {
            query::shell::run(&args.plan()?)?;
            Ok(Exit::Clean)
        }
        #[cfg(feature = "ballista")]
        cli::Command::Scheduler(args) => {
            serve(cluster::serve::scheduler(&args.plan()))?;
            Ok(Exit::Clean)
        }
        #[cfg(feature = "ballista")]
        cli::Command::Executor(args) => {
            serve(cluster::serve::executor(&args.plan()))?;
            Ok(Exit::Clean)
        }
        cli::Command::Lint(args) => {
            let report = query::lint::run(&query::lint::LintPlan {
                lake: args.lake.clone(),
                queries_dir: args.queries.clone(),
                s3: args.s3.options(),
            })?;
            for f in &report.failures {
                println!("{}", sanitize::for_terminal(f));
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
        cli::Command::Generate(args) => {
            let plan = args.plan()?;
            let s = generate::run(&plan)?;
            eprintln!(
                "pipewarden: generated {} CloudTrail events in {} delivery files, {} build records, {} labelled anomalies under {}",
                s.events, s.files, s.build_records, s.labels, plan.out
            );
            Ok(Exit::Clean)
        }
    }
}

/// `query --list-hunts`: each hunt, its question and its parameters.
fn list_hunts(dir: Option<&std::path::Path>) -> anyhow::Result<Exit> {
    let (hunts, errors) = query::catalog::load(dir);
    for h in &hunts {
        println!("{}  [{}]", h.name, h.mitre.0);
        println!("    {}", sanitize::for_terminal(&h.question_text()));
        for p in &h.params {
            println!(
                "    --param {}={}  {}",
                p.name,
                sanitize::for_terminal(&p.default),
                sanitize::for_terminal(&p.doc)
            );
        }
    }
    for e in &errors {
        eprintln!(
            "pipewarden: hunt skipped: {}",
            sanitize::for_terminal(&e.to_string())
        );
    }
    Ok(if errors.is_empty() {
        Exit::Clean
    } else {
        Exit::Error
    })
}

/// What `detect` and `scan` read before touching the lake: the plan (with its suppressions),
/// `pipewarden.toml` and the `--fail-on` severity.
fn detect_inputs(
    args: &cli::DetectArgs,
) -> anyhow::Result<(
    detect::DetectPlan,
    attribute::config::Config,
    detect::Severity,
)> {
    let mut plan = args.plan()?;
    let cfg = match &args.config {
        Some(p) => attribute::config::Config::load(p)?,
        None => attribute::config::Config::default(),
    };
    if let Some(p) = &args.suppressions {
        plan.suppressions = detect::suppress::Suppressions::load(p)?;
    }
    let fail_on = detect::Severity::parse(&args.fail_on).expect("checked by plan");
    Ok((plan, cfg, fail_on))
}

/// Saves a report as the lake's `findings` table. A lake that cannot be written to (a
/// read-only role, say) costs analysts that table, not the nightly job its report.
async fn save_findings(lake: &lake::Lake, r: &detect::Report) {
    if let Err(e) = report::table::save(lake, r).await {
        eprintln!(
            "pipewarden: warning: findings not saved to the lake's findings table: {}",
            sanitize::for_terminal(&e.to_string())
        );
    }
}

/// Runs a cluster process on a runtime with deep stacks (Ballista's plans recurse).
#[cfg(feature = "ballista")]
fn serve(f: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 * 1024 * 1024)
        .build()?
        .block_on(f)
}

fn run_detect(args: &cli::DetectArgs) -> anyhow::Result<Exit> {
    let (plan, cfg, fail_on) = detect_inputs(args)?;
    let engine = args.engine.engine()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(async {
        let aws = if args.lake.starts_with("s3://") {
            Some(aws::AwsContext::load(&args.s3_options()).await)
        } else {
            None
        };
        let lake = lake::Lake::open(&args.lake, aws.as_ref())?;
        let ctx = engine::session_with(&lake, &cfg, &engine).await?;
        let r = detect::detect(&ctx, &plan).await?;
        save_findings(&lake, &r).await;
        anyhow::Ok(r)
    })?;
    for w in &report.expired_suppressions {
        eprintln!("pipewarden: warning: {}", sanitize::for_terminal(w));
    }
    print!(
        "{}",
        detect::render::terminal(
            &report,
            std::io::IsTerminal::is_terminal(&std::io::stdout())
        )
    );
    if let Some(p) = &args.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(p, text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?;
    }
    let failing = report
        .findings
        .iter()
        .any(|f| f.suppressed.is_none() && f.severity >= fail_on);
    Ok(if failing { Exit::Findings } else { Exit::Clean })
}

fn run_scan(args: &cli::ScanArgs) -> anyhow::Result<Exit> {
    let (plan, cfg, fail_on) = detect_inputs(&args.detect_args())?;
    let engine = args.engine.engine()?;
    let outputs: Vec<report::Output> = args
        .formats
        .iter()
        .map(|f| {
            report::Output::parse(f).map_err(|e| cli::FlagError {
                flag: "format",
                reason: e,
            })
        })
        .collect::<Result<_, _>>()?;
    let sinks: Vec<report::siem::Sink> = args
        .siem
        .iter()
        .map(|s| {
            report::siem::Sink::parse(s).map_err(|e| cli::FlagError {
                flag: "siem",
                reason: e,
            })
        })
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(report::siem::Sink::token_from_env)
        .collect::<Result<_, _>>()?;
    if outputs.iter().any(|o| o.format == report::Format::Asff) && args.asff_account.is_none() {
        return Err(cli::FlagError {
            flag: "asff-account",
            reason: "the ASFF format needs the account that receives the findings".into(),
        }
        .into());
    }

    // 1. Ingest what is new: CloudTrail, then build records.
    let local = std::path::Path::new(&args.source);
    let (trail_src, builds_src) =
        if !args.source.starts_with("s3://") && local.join("cloudtrail").is_dir() {
            let b = local.join("builds");
            (
                local.join("cloudtrail").display().to_string(),
                args.builds_from
                    .clone()
                    .or(b.is_dir().then(|| b.display().to_string())),
            )
        } else {
            (args.source.clone(), args.builds_from.clone())
        };
    // 0. Verify the trail before trusting it.
    if args.verify {
        if !trail_src.starts_with("s3://") {
            return Err(cli::FlagError {
                flag: "verify",
                reason: "digests and their signatures are read from S3: SRC must be s3://".into(),
            }
            .into());
        }
        let today = chrono::Utc::now().date_naive();
        let until = plan.until.unwrap_or(today);
        let vplan = verify::VerifyPlan {
            from: trail_src.clone(),
            since: until.checked_sub_days(chrono::Days::new(plan.window_days as u64 + 1)),
            until: Some(until),
            public_keys: args.public_keys.clone(),
            concurrency: 32,
            s3: args.s3.options(),
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let r = rt.block_on(async {
            let r = verify::verify(&vplan).await?;
            let aws = if args.lake.starts_with("s3://") {
                Some(aws::AwsContext::load(&vplan.s3).await)
            } else {
                None
            };
            verify::save(&lake::Lake::open(&args.lake, aws.as_ref())?, &r).await?;
            anyhow::Ok(r)
        })?;
        eprintln!(
            "pipewarden: verify: {} problem(s) in the digest chains{}",
            r.problems.len(),
            if r.clean() {
                ""
            } else {
                " (integrity findings below; see `pipewarden verify` for each)"
            }
        );
    }
    let mut ingests = vec![(trail_src, lake::Dataset::CloudTrail)];
    if let Some(b) = builds_src {
        ingests.push((b, lake::Dataset::Builds));
    }
    let mut bad_input = false;
    for (src, dataset) in ingests {
        let mut p = ingest::IngestPlan::new(src, &args.lake);
        p.dataset = dataset;
        p.progress = !args.no_progress;
        p.s3 = args.s3.options();
        p.refuse_unverified = args.verify && dataset == lake::Dataset::CloudTrail;
        let s = ingest::run(&p)?;
        bad_input |= s.had_bad_input();
        eprintln!("pipewarden: {}: {}", dataset.name(), s.line());
    }
    if bad_input {
        eprintln!(
            "pipewarden: some input was bad; the rest was ingested (see the manifest and rejects tables)"
        );
    }

    // 2. Detect; 3. report and deliver.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let colour = std::io::IsTerminal::is_terminal(&std::io::stdout());
    rt.block_on(async {
        let aws = if args.lake.starts_with("s3://")
            || outputs
                .iter()
                .any(|o| matches!(o.dest, report::Destination::S3 { .. }))
        {
            Some(aws::AwsContext::load(&args.s3.options()).await)
        } else {
            None
        };
        let lake = lake::Lake::open(&args.lake, aws.as_ref())?;
        let ctx = engine::session_with(&lake, &cfg, &engine).await?;
        let r = detect::detect(&ctx, &plan).await?;
        save_findings(&lake, &r).await;
        for w in &r.expired_suppressions {
            eprintln!("pipewarden: warning: {}", sanitize::for_terminal(w));
        }
        let activity = if outputs.iter().any(|o| o.format == report::Format::Html) {
            report::activity(&ctx, &r).await?
        } else {
            vec![]
        };
        let cx = report::RenderContext {
            activity,
            colour,
            account: args.asff_account.clone().unwrap_or_default(),
            region: args.asff_region.clone(),
        };
        for o in &outputs {
            let bytes = report::render(&r, o.format, &cx);
            match &o.dest {
                report::Destination::Stdout => {
                    use std::io::Write;
                    std::io::stdout().write_all(&bytes)?;
                }
                report::Destination::File(p) => report::write_atomic(p, &bytes)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?,
                report::Destination::S3 { bucket, key } => {
                    let client = aws.as_ref().expect("loaded for s3 outputs").s3_client();
                    client
                        .put_object()
                        .bucket(bucket)
                        .key(key)
                        .body(bytes.into())
                        .send()
                        .await
                        .map_err(|e| {
                            anyhow::anyhow!(
                                "cannot write s3://{bucket}/{key}: {}",
                                aws_sdk_s3::error::DisplayErrorContext(&e)
                            )
                        })?;
                }
            }
        }
        for s in &sinks {
            let d = report::siem::deliver(s, &r).await?;
            eprintln!(
                "pipewarden: sent {} finding(s) in {} batch(es) to {} ({} retries)",
                d.findings, d.batches, s.url, d.retries
            );
        }
        let failing = r
            .findings
            .iter()
            .any(|f| f.suppressed.is_none() && f.severity >= fail_on);
        anyhow::Ok(if failing { Exit::Findings } else { Exit::Clean })
    })
}
