//! pipewarden watches CI/CD pipelines through their audit trail (AWS CloudTrail and CI build logs)
//! and reports what departs from each pipeline's normal behaviour (AWS Well-Architected
//! SEC11-BP07).
//!
//! # Map
//!
//! Data flows left to right; each stage is a module.
//!
//! ```text
//!  source ──► parse ──────────────► lake ──────────► engine (DataFusion SQL) ──► attribute
//!  S3/folder   bytes → Arrow rows     Parquet:          the catalogue's tables,     lineage pass:
//!  listing     cloudtrail | builds    catalog, one      views, functions            sessions, pipelines,
//!                                     Transaction                                   pipeline_events view
//!                                                                                         │
//!   reports, SIEM ◄── report ◄── findings (the model) ◄── detect: catalog of detectors ◄──┤
//!                       │ (findings table)                 (data) + rules (files)         │
//!                       │                                     ▲ history                   │
//!                       │                     profiles: daily counts per subject ◄────────┤
//!                       ▼                                                                 │
//!             analysts ◄── query: SQL, hunts, shell, lint ◄───────────────────────────────┘
//!
//!  S3 trail ──► verify: digest signatures, chain, ──► lake: integrity ──► detect (integrity rule),
//!               log file hashes                        table              ingest --refuse-unverified
//!
//!  engine --engine ballista://… ──► cluster: pipewarden scheduler ──► pipewarden executor × N
//!  (same plans, same functions)       (plans over the S3 lake)         (read Parquet, shuffle)
//!
//!  main ──► cli (flags → plans) ──► run ──► cmd::<subcommand>::run(plan, runtime)
//! ```
//!
//! - [`cmd`]: one file per subcommand, each with one `run` taking its validated plan and the
//!   process's one tokio runtime: `ingest`, `detect`, `scan` (verify → ingest → detect → report
//!   → assess), `assess`, `gate`, `permissions`, `query`, `shell`, `lint`, `verify`, `generate`, and the
//!   cluster's `scheduler`/`executor`.
//! - [`cli`]: flags (clap) and their validation into plans; `detect` and `scan` share their
//!   flag groups ([`cli::DetectFlags`], [`cli::ReportFlags`]).
//! - [`source`]: where log objects are (an S3 prefix through aws-sdk-s3, or a folder), the
//!   CloudTrail key layout ([`source::layout`]), the one S3 listing loop ([`source::listing`]),
//!   date-pruned listing, reading objects.
//! - [`parse`]: one object's bytes become Arrow rows. Content detection (gzip, delivery file,
//!   array, NDJSON, EventBridge envelope), record splitting ([`parse::json_scan`]; objects over
//!   32 MiB split from a stream in bounded memory, [`parse::stream`]), what every
//!   parser shares ([`parse::record`]), the place where a CloudTrail record becomes a row of the
//!   `cloudtrail` table ([`parse::cloudtrail`], which also owns that table's schema) and where a
//!   CI/CD build record (GitHub, GitLab, AWS, Jenkins, native) becomes a row of `builds`
//!   ([`parse::builds`], one module per system over [`parse::builds::row`]). Bad records become
//!   rejects, never panics.
//! - [`lake`]: the Parquet lake on a folder or S3 ([`lake::LakeLocation`], opened only through
//!   [`lake::Lake::connect`]); every table declared once in [`lake::catalog`] (name, folder,
//!   schema, partitioning); data enters through a [`lake::transaction::Transaction`] (staged
//!   event files from [`lake::writer`], removal of changed objects' rows [`lake::replace`], the
//!   rejects and the manifest [`lake::manifest`], then the atomic, crash-safe commit
//!   [`lake::commit`]); each event once (CloudTrail by event id and recipient account, audit streams by
//!   event id), read from the lake per event day [`lake::dedupe`].
//! - [`engine`]: a DataFusion session with the catalogue's tables registered, the views of
//!   `queries/views/` (`runs`: one row per CI/CD run) created, the analysts' SQL functions
//!   ([`engine::functions`]), day pruning from time filters ([`engine::pruning`]) and the
//!   memory limit every local query runs under, spilling beyond it ([`engine::memory`]).
//! - [`attribute`]: which pipeline, run, origin identity, credential type and environment each
//!   CloudTrail event belongs to: session lineage through role chains ([`attribute::lineage`]),
//!   discovery and linking of pipelines and runs ([`attribute::pipelines`]), credential types
//!   ([`attribute::credential`]) and `pipewarden.toml` ([`attribute::config`]). Its results are
//!   small tables ([`attribute::TABLES`]) joined to `cloudtrail` by the `pipeline_events` view.
//!   A nightly detect reads its inputs from daily extracts of CloudTrail
//!   ([`attribute::inputs`]), not from the whole lake.
//! - [`detect`]: the baseline detectors as data ([`detect::catalog`]: feature query, model,
//!   unit, weight, technique, evidence), the window ([`detect::plan`]), query results as rows
//!   ([`detect::columns`]), scoring with statrs ([`detect::baseline`], pure), each subject's
//!   hours (calls, data reads, AccessDenied, new APIs) against its trailing hours from the first
//!   day ([`detect::burst`], pure), rules with typed
//!   headers from `queries/rules/` ([`detect::rules`]), required checks and their bypasses
//!   ([`detect::checks`]), what changed between pipeline definitions ([`detect::definitions`]),
//!   how wide an OIDC trust is ([`detect::trust`]) and what an IAM or sharing change grants
//!   ([`detect::iam`]: administrator-equivalence, trusts and shares outside the organisation,
//!   ports open to the world), all pure and called by rules as SQL
//!   functions, a pipeline's identity acting with no run active and build records that go
//!   silent ([`detect::activity`], pure), suppressions ([`detect::suppress`]), the ranking, and
//!   incidents: findings that share a run, a session chain, or a subject within the hour ([`detect::incidents`], pure).
//! - [`profiles`]: the daily profiles detect reads its history from: one scan of a day's
//!   `pipeline_events` counts every detector (`queries/profiles/build.sql`), one file per day
//!   named by the fingerprint of its inputs (the day's event files, the attribution that reaches
//!   it), rebuilt when they change; detect then reads only the judged days' events, once for
//!   every baseline detector (`queries/detect/judged.sql`).
//! - [`assess`]: the per-pipeline SEC11-BP07 assessment: the controls as data
//!   ([`assess::Control::detectors`]) and the pure [`assess::decide`], the period's facts from
//!   `queries/assess/`, the saved findings and the `integrity` table ([`assess::facts`]), its
//!   formats ([`assess::render`]: table, JSON, Markdown, HTML matrix, OCSF Compliance Findings),
//!   the lake's `assessment` table, and the deploy gate's verdict ([`assess::gate`], pure).
//! - [`permissions`]: `pipewarden permissions`, the permissions review per principal a pipeline
//!   uses: granted (the trail's IAM changes replayed, [`permissions::grants`]; the live account
//!   with `--iam`, [`permissions::iam`]) against used (CloudTrail events mapped to IAM actions
//!   through bundled data, [`permissions::catalog`]), why the grant is too wide and the
//!   least-privilege policy for what it used ([`permissions::policy`], pure), its formats
//!   ([`permissions::render`]) and the findings `detect --permissions` adds
//!   ([`permissions::findings`]).
//! - [`findings`]: the findings model (typed times, kinds, severities) every output reads.
//! - [`report`]: a detect report for people (terminal [`report::terminal`], Markdown,
//!   self-contained HTML with SVG plots, [`report::html`]) and machines (JSON, NDJSON, OCSF,
//!   ASFF, CSV, [`report::formats`]; an Amazon Security Lake custom source,
//!   [`report::security_lake`]), written to files, stdout or S3, or sent to a SIEM (Splunk HEC
//!   with indexer acknowledgement, webhooks: [`report::siem`]; AWS Security Hub's
//!   BatchImportFindings: [`report::securityhub`]); log text made inert per format
//!   ([`report::escape`]); the lake's `findings` table ([`report::table`]).
//! - [`query`]: analysts' SQL: `pipewarden query` (parse, plan, read-only guard, execute,
//!   output as table, CSV, JSON or Parquet), the saved hunts of `queries/hunts/`
//!   ([`query::catalog`]), `pipewarden shell` ([`query::shell`]) and `pipewarden lint`
//!   ([`query::lint`]).
//! - [`verify`]: `pipewarden verify`: CloudTrail digest chains (signatures, missing, replaced
//!   and gapped digests, each log file's hash, log files no digest lists), before the trail is
//!   trusted; its problems ([`verify::ProblemKind`]) become the lake's `integrity` table, which
//!   the `integrity` rule reports and `ingest --refuse-unverified` honours ([`verify::digest`]
//!   is the pure part).
//! - `cluster` (cargo feature `ballista`, on by default): scale-out on Apache DataFusion
//!   Ballista. The client session behind `--engine ballista://host:port`, the plan codec that
//!   carries attribution's in-memory tables, and `pipewarden scheduler` / `pipewarden executor`
//!   (Ballista's, with pipewarden's functions, day pruning and S3 stores registered).
//! - [`bundled`]: the embedded `queries/` folder (rules and hunts listed by `src/build.rs`) and
//!   the one template syntax of its files: `-- key: value` headers, `${name}` placeholders.
//! - [`aws`]: the one AWS credential chain (aws-config), shared by aws-sdk-s3 and object_store.
//! - [`ingest`]: source → parse → lake transaction, with bounded queues on every core.
//! - [`generate`]: `pipewarden generate`, a deterministic simulated organisation whose pipelines
//!   leave CloudTrail delivery files, CI build records and audit logs, with labelled anomalies and
//!   quiet look-alikes (the sample logs, the tests' known answers, the benchmarks' input), and
//!   the assessment the history must get ([`generate::truth`]).
//! - [`progress`] and [`sanitize`]: what people see on the terminal, made safe from
//!   log-controlled text.
//!
//! `main.rs` only parses flags, calls [`run`] and maps the result to an [`Exit`] code.

pub mod assess;
pub mod attribute;
pub mod aws;
pub mod bundled;
pub mod cli;
#[cfg(feature = "ballista")]
pub mod cluster;
pub mod cmd;
pub mod detect;
pub mod engine;
pub mod findings;
pub mod generate;
pub mod ingest;
pub mod lake;
pub mod parse;
pub mod permissions;
pub mod profiles;
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

/// Runs a parsed command line: its plan, then its command ([`cmd`]); returns the exit code.
pub fn run(cli: cli::Cli) -> anyhow::Result<Exit> {
    use cli::Command as C;
    if let Some(l) = cli.memory_limit {
        engine::memory::set(l);
    }
    let rt = || cmd::runtime();
    match cli.command {
        C::Ingest(a) => cmd::ingest::run(&a.plan()?, &rt()?),
        C::Detect(a) => cmd::detect::run(&a.detect.plan()?, a.json.as_deref(), &rt()?),
        C::Scan(a) => cmd::scan::run(&a.plan()?, &rt()?),
        C::Assess(a) => cmd::assess::run(&a.plan()?, &rt()?),
        C::Permissions(a) => cmd::permissions::run(&a.plan()?, &rt()?),
        C::Gate(a) => cmd::gate::run(&a.plan()?, &rt()?),
        C::Query(a) if a.list_hunts => cmd::query::list_hunts(a.session.queries.as_deref()),
        C::Query(a) => cmd::query::run(&a.plan()?, a.show_sql, &rt()?),
        C::Shell(a) => cmd::shell::run(&a.plan()?, &rt()?),
        C::Lint(a) => cmd::lint::run(&a.plan(), &rt()?),
        C::Verify(a) => cmd::verify::run(&a.plan()?, a.lake.as_ref(), a.json.as_deref(), &rt()?),
        C::Generate(a) => cmd::generate::run(&a.plan()?),
        #[cfg(feature = "ballista")]
        C::Scheduler(a) => cmd::cluster::serve(cluster::serve::scheduler(&a.plan())),
        #[cfg(feature = "ballista")]
        C::Executor(a) => cmd::cluster::serve(cluster::serve::executor(&a.plan())),
    }
}
