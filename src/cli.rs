//! Command-line flags (clap) and their translation into validated plans.
//!
//! Raw flags are parsed here and turned into plans ([`crate::ingest::IngestPlan`]) that the
//! subcommands run. No flag ever takes a credential: those come from the AWS chain only.

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use crate::aws::S3Options;
use crate::ingest::IngestPlan;
use crate::lake::LakeLocation;
use crate::parse::Limits;
use crate::source::DateRange;

/// pipewarden: watch CI/CD pipelines through their audit trail.
#[derive(Debug, Parser)]
#[command(name = "pipewarden", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Memory for queries (`512MiB`, `2GiB`, `none`); beyond it large aggregations and sorts
    /// spill to the temporary folder. Default: half the machine's memory, at most 4GiB.
    #[arg(
        long,
        global = true,
        value_name = "SIZE",
        env = "PIPEWARDEN_MEMORY_LIMIT",
        value_parser = crate::engine::memory::parse
    )]
    pub memory_limit: Option<crate::engine::memory::Limit>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest CloudTrail logs (or, with --builds, CI/CD build records) from S3 or a folder into
    /// the Parquet lake (incremental).
    Ingest(IngestArgs),
    /// Generate a realistic CI/CD history (CloudTrail and build logs) with labelled anomalies.
    Generate(GenerateArgs),
    /// Judge the last window of the lake against each pipeline's history: ranked, explained findings.
    Detect(DetectArgs),
    /// The nightly job: ingest what is new (CloudTrail and builds), detect, report.
    Scan(Box<ScanArgs>),
    /// The per-pipeline SEC11-BP07 assessment: one row per control, pass, fail or unknown, with
    /// its evidence (saved as the lake's `assessment` table).
    Assess(AssessArgs),
    /// The permissions review: per role or user a pipeline uses, what it may do against what it
    /// did, why the grant is too wide, and a least-privilege policy for what it used.
    Permissions(PermissionsArgs),
    /// Before a deploy: exit 1 when the pipeline has an unsuppressed finding at or above
    /// --fail-on in the window or fails a listed control, 0 when clear, 2 on error.
    Gate(GateArgs),
    /// Run SQL (or a saved hunt) over the lake: cloudtrail, builds, runs, pipeline_events,
    /// pipelines, findings, ...
    Query(QueryArgs),
    /// An interactive SQL session over the lake (history, multi-line input, tab completion).
    Shell(ShellArgs),
    /// Plan every bundled query and hunt (and those of --queries) against the real schemas.
    Lint(LintArgs),
    /// Verify CloudTrail digest chains: signatures, missing or replaced digests, gaps, and every
    /// log file's hash (modified, deleted, or in no digest).
    Verify(VerifyArgs),
    /// Run a Ballista scheduler for `--engine ballista://HOST:PORT` (with pipewarden's functions).
    #[cfg(feature = "ballista")]
    Scheduler(SchedulerArgs),
    /// Run a Ballista executor that works for a `pipewarden scheduler` and reads the lake.
    #[cfg(feature = "ballista")]
    Executor(ExecutorArgs),
}

/// Where queries run: `--engine`, shared by `query`, `shell`, `detect` and `scan`.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// `local` (this process) or `ballista://HOST:PORT` (a `pipewarden scheduler`).
    #[arg(
        long,
        env = "PIPEWARDEN_ENGINE",
        default_value = "local",
        value_name = "URL"
    )]
    pub engine: String,
}

impl EngineArgs {
    /// The validated engine.
    pub fn engine(&self) -> Result<crate::engine::Engine, FlagError> {
        crate::engine::Engine::parse(&self.engine).map_err(|reason| FlagError {
            flag: "engine",
            reason,
        })
    }
}

/// Flags of `scheduler`.
#[cfg(feature = "ballista")]
#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:50050", value_name = "ADDR:PORT")]
    pub bind: std::net::SocketAddr,
    /// Host name clients and executors use for this scheduler (default: the bind address).
    #[arg(long, value_name = "HOST")]
    pub external_host: Option<String>,
    #[command(flatten)]
    pub s3: S3Args,
}

/// Flags of `executor`.
#[cfg(feature = "ballista")]
#[derive(Debug, Args)]
pub struct ExecutorArgs {
    /// The scheduler.
    #[arg(long, default_value = "127.0.0.1:50050", value_name = "HOST:PORT")]
    pub scheduler: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub bind: String,
    /// Host name the scheduler and clients use for this executor (default: the bind address).
    #[arg(long, value_name = "HOST")]
    pub external_host: Option<String>,
    /// Arrow Flight port: results and shuffle data.
    #[arg(long, default_value_t = 50051, value_name = "PORT")]
    pub port: u16,
    /// gRPC port: tasks from the scheduler.
    #[arg(long, default_value_t = 50052, value_name = "PORT")]
    pub grpc_port: u16,
    /// Tasks run at once (0: one per core).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub concurrency: usize,
    /// Folder for shuffle and spill files (default: under the system's temporary folder).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<std::path::PathBuf>,
    /// Seconds to wait for the scheduler to accept connections.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub wait: u64,
    #[command(flatten)]
    pub s3: S3Args,
}

#[cfg(feature = "ballista")]
impl SchedulerArgs {
    /// The plan.
    pub fn plan(&self) -> crate::cluster::serve::SchedulerPlan {
        crate::cluster::serve::SchedulerPlan {
            bind: self.bind,
            external_host: self.external_host.clone(),
            s3: self.s3.options(),
        }
    }
}

#[cfg(feature = "ballista")]
impl ExecutorArgs {
    /// The plan.
    pub fn plan(&self) -> crate::cluster::serve::ExecutorPlan {
        crate::cluster::serve::ExecutorPlan {
            scheduler: self.scheduler.clone(),
            bind_host: self.bind.clone(),
            external_host: self.external_host.clone(),
            port: self.port,
            grpc_port: self.grpc_port,
            concurrency: self.concurrency,
            work_dir: self.work_dir.clone(),
            wait: std::time::Duration::from_secs(self.wait),
            s3: self.s3.options(),
        }
    }
}

/// Flags of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The trail's bucket: s3://bucket/prefix (holding AWSLogs/).
    #[arg(long, value_name = "S3")]
    pub from: String,
    /// First day of digests to verify (YYYY-MM-DD, or Nd for N days ago).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Last day of digests to verify, inclusive.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// A folder of CloudTrail public keys (PEM or DER, named `<fingerprint>.pem`); default:
    /// CloudTrail's ListPublicKeys for each region.
    #[arg(long, value_name = "DIR")]
    pub public_keys: Option<std::path::PathBuf>,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<std::path::PathBuf>,
    /// Save the problems as this lake's `integrity` table: `detect` and `scan` report them (the
    /// integrity detector), `ingest --refuse-unverified` leaves the bad log files out.
    #[arg(long, value_name = "DIR|S3")]
    pub lake: Option<LakeLocation>,
    /// Concurrent S3 requests.
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub concurrency: usize,
    #[command(flatten)]
    pub s3: S3Args,
}

impl VerifyArgs {
    /// The validated plan.
    pub fn plan(&self) -> Result<crate::verify::VerifyPlan, FlagError> {
        if crate::source::parse_s3_uri(&self.from).is_none() {
            return Err(FlagError {
                flag: "from",
                reason: format!(
                    "{:?}: verify reads digests and their signatures from S3 (s3://bucket/prefix)",
                    self.from
                ),
            });
        }
        Ok(crate::verify::VerifyPlan {
            from: self.from.clone(),
            since: day("since", &self.since)?,
            until: day("until", &self.until)?,
            public_keys: self.public_keys.clone(),
            concurrency: self.concurrency.max(1),
            s3: self.s3.options(),
        })
    }
}

/// Flags of `query`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["sql", "file", "hunt", "list_hunts"]))]
pub struct QueryArgs {
    /// The SQL to run.
    #[arg(value_name = "SQL")]
    pub sql: Option<String>,
    /// Run the SQL in this file (statements separated by `;`).
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<std::path::PathBuf>,
    /// Run a saved hunt (`queries/hunts/NAME.sql`; --list-hunts shows them).
    #[arg(long, value_name = "NAME")]
    pub hunt: Option<String>,
    /// List the saved hunts and their parameters.
    #[arg(long)]
    pub list_hunts: bool,
    /// Print the SQL that would run (a hunt with its parameters written in) and stop.
    #[arg(long)]
    pub show_sql: bool,
    /// A hunt parameter, NAME=VALUE (repeatable).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Result format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::query::output::OutputFormat,
    /// Write the results to this file (replaced whole, when the query succeeds) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub session: SqlSessionArgs,
}

/// Flags `query` and `shell` share: the lake and how its session behaves.
#[derive(Debug, Args)]
pub struct SqlSessionArgs {
    /// The lake: a folder or s3://bucket/prefix.
    #[arg(long, value_name = "DIR|S3", default_value = "pipewarden-lake")]
    pub lake: LakeLocation,
    /// Longest table cell, in characters (0: no limit).
    #[arg(long, default_value_t = 80, value_name = "N")]
    pub max_width: usize,
    /// Allow DDL, DML and COPY (which write files or read outside the lake).
    #[arg(long)]
    pub allow_write: bool,
    /// Attribution configuration (pipewarden.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// A folder of hunts (its hunts/ subfolder, or its *.sql) that add to or replace the bundled ones.
    #[arg(long, value_name = "DIR")]
    pub queries: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub s3: S3Args,
}

impl QueryArgs {
    /// The validated plan.
    pub fn plan(&self) -> Result<crate::query::QueryPlan, FlagError> {
        use crate::query::Source;
        let source = match (&self.sql, &self.file, &self.hunt) {
            (Some(s), None, None) => Source::Sql(s.clone()),
            (None, Some(f), None) => Source::File(f.clone()),
            (None, None, Some(h)) => Source::Hunt(h.clone()),
            _ => {
                return Err(FlagError {
                    flag: "hunt",
                    reason: "give one of SQL, --file or --hunt".into(),
                });
            }
        };
        let params = self
            .params
            .iter()
            .map(|p| {
                p.split_once('=')
                    .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                    .ok_or_else(|| FlagError {
                        flag: "param",
                        reason: format!("{p:?} is not NAME=VALUE"),
                    })
            })
            .collect::<Result<_, _>>()?;
        let c = &self.session;
        Ok(crate::query::QueryPlan {
            lake: c.lake.clone(),
            source,
            params,
            format: self.format,
            output: self.output.clone(),
            max_width: c.max_width,
            allow_write: c.allow_write,
            config: c.config.clone(),
            queries_dir: c.queries.clone(),
            engine: c.engine.engine()?,
            s3: c.s3.options(),
        })
    }
}

/// Flags of `shell`.
#[derive(Debug, Args)]
pub struct ShellArgs {
    #[command(flatten)]
    pub session: SqlSessionArgs,
    /// History file (default: $XDG_STATE_HOME/pipewarden/history or ~/.local/state/pipewarden/history).
    #[arg(long, value_name = "FILE")]
    pub history: Option<std::path::PathBuf>,
}

impl ShellArgs {
    /// The plan.
    pub fn plan(&self) -> Result<crate::query::shell::ShellPlan, FlagError> {
        let c = &self.session;
        Ok(crate::query::shell::ShellPlan {
            lake: c.lake.clone(),
            config: c.config.clone(),
            queries_dir: c.queries.clone(),
            allow_write: c.allow_write,
            max_width: c.max_width,
            history: self.history.clone(),
            engine: c.engine.engine()?,
            s3: c.s3.options(),
        })
    }
}

/// Flags of `lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// A folder of hunts to check with the bundled queries (its hunts/ subfolder, or its *.sql).
    #[arg(long, value_name = "DIR")]
    pub queries: Option<std::path::PathBuf>,
    /// Plan against this lake (default: an empty one; the schemas are the same).
    #[arg(long, value_name = "DIR|S3")]
    pub lake: Option<LakeLocation>,
    #[command(flatten)]
    pub s3: S3Args,
}

/// Flags of `scan`: what to ingest, then [`DetectFlags`] and [`ReportFlags`] as `detect` has
/// them.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Logs: a folder (with `cloudtrail/` and `builds/` inside, or CloudTrail alone) or
    /// s3://bucket/prefix (CloudTrail).
    #[arg(value_name = "SRC")]
    pub source: String,
    /// Build records, when they are not under SRC/builds.
    #[arg(long, value_name = "SRC")]
    pub builds_from: Option<String>,
    #[command(flatten)]
    pub detect: DetectFlags,
    #[command(flatten)]
    pub report: ReportFlags,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// Verify the trail's digest chains (S3 sources) for the window and the day before it
    /// first: problems become integrity findings, and log files found modified or in no digest
    /// are not ingested.
    #[arg(long)]
    pub verify: bool,
    /// Public keys for --verify (PEM or DER named `<fingerprint>.pem`); default: CloudTrail's
    /// ListPublicKeys.
    #[arg(long, value_name = "DIR", requires = "verify")]
    pub public_keys: Option<std::path::PathBuf>,
    /// Also assess every pipeline (as `pipewarden assess`, saved for `gate`) and write the
    /// assessment: FORMAT or FORMAT=DEST, FORMAT one of table, json, markdown, html, ocsf, DEST
    /// a file, `-` or s3://bucket/key. Repeat for several.
    #[arg(long, value_name = "FORMAT[=DEST]")]
    pub assess: Vec<String>,
    /// Days the assessment covers, ending with the detect window.
    #[arg(long, default_value = "90d", value_name = "DAYS")]
    pub assess_since: String,
}

/// Where `scan` sends its report: files, stdout, S3 and SIEMs.
#[derive(Debug, Clone, Args)]
pub struct ReportFlags {
    /// A report: FORMAT or FORMAT=DEST, DEST a file, `-` (stdout) or s3://bucket/key; FORMAT one
    /// of terminal, markdown, html, json, ndjson, ocsf (ocsf@1.3.0 names its version), asff,
    /// csv, security-lake (DEST a folder or s3://bucket/ext/SOURCE/). Repeat for several.
    #[arg(
        long = "format",
        value_name = "FORMAT[=DEST]",
        default_value = "terminal"
    )]
    pub formats: Vec<String>,
    /// Send findings to a SIEM: splunk-hec=URL (token in PIPEWARDEN_HEC_TOKEN), webhook=URL
    /// (optional bearer token in PIPEWARDEN_WEBHOOK_TOKEN) or securityhub (BatchImportFindings
    /// into --asff-account/--asff-region, on the standard AWS credential chain). Repeat for
    /// several.
    #[arg(long, value_name = "KIND=URL")]
    pub siem: Vec<String>,
    /// AWS account that receives ASFF findings (AwsAccountId, ProductArn).
    #[arg(long, value_name = "ACCOUNT")]
    pub asff_account: Option<String>,
    /// Region for ASFF findings.
    #[arg(long, default_value = "us-east-1", value_name = "REGION")]
    pub asff_region: String,
    /// OCSF version of the ocsf format: 1.3.0 (what Amazon Security Lake accepts), 1.4.0,
    /// 1.5.0, 1.6.0 or 1.7.0.
    #[arg(long, default_value = "1.7.0", value_name = "VERSION")]
    pub ocsf_version: String,
    /// AWS account of the security-lake format's partitions (accountId=): the account whose
    /// pipelines the findings are about.
    #[arg(long, value_name = "ACCOUNT")]
    pub security_lake_account: Option<String>,
    /// Region of the security-lake format's partitions (region=).
    #[arg(long, default_value = "us-east-1", value_name = "REGION")]
    pub security_lake_region: String,
}

impl ReportFlags {
    /// The validated outputs and SIEM sinks (tokens read from the environment).
    pub fn plan(&self) -> anyhow::Result<crate::cmd::scan::Delivery> {
        let outputs: Vec<crate::report::Output> = self
            .formats
            .iter()
            .map(|f| {
                crate::report::Output::parse(f).map_err(|e| FlagError {
                    flag: "format",
                    reason: e,
                })
            })
            .collect::<Result<_, _>>()?;
        let sinks: Vec<crate::report::siem::Sink> = self
            .siem
            .iter()
            .map(|s| {
                crate::report::siem::Sink::parse(s).map_err(|e| FlagError {
                    flag: "siem",
                    reason: e,
                })
            })
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(crate::report::siem::Sink::token_from_env)
            .collect::<Result<_, _>>()?;
        let hub = sinks.iter().any(|s: &crate::report::siem::Sink| {
            s.kind == crate::report::siem::SinkKind::SecurityHub
        });
        if (hub
            || outputs
                .iter()
                .any(|o| o.format == crate::report::Format::Asff))
            && self.asff_account.is_none()
        {
            return Err(FlagError {
                flag: "asff-account",
                reason: "the ASFF format and --siem securityhub need the account that receives the findings".into(),
            }
            .into());
        }
        let lake_account = self.security_lake_account.clone().unwrap_or_default();
        if outputs
            .iter()
            .any(|o| o.format == crate::report::Format::SecurityLake)
            && !(lake_account.len() == 12 && lake_account.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(FlagError {
                flag: "security-lake-account",
                reason: "the security-lake format needs the 12-digit account of its partitions"
                    .into(),
            }
            .into());
        }
        if !self
            .security_lake_region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(FlagError {
                flag: "security-lake-region",
                reason: format!("{:?} is not a region", self.security_lake_region),
            }
            .into());
        }
        let sinks = sinks
            .into_iter()
            .map(|mut s: crate::report::siem::Sink| {
                if s.kind == crate::report::siem::SinkKind::SecurityHub {
                    s.hub = Some(crate::report::securityhub::Target {
                        account: self.asff_account.clone().unwrap_or_default(),
                        region: self.asff_region.clone(),
                        attempts: s.attempts,
                        endpoint: std::env::var("AWS_ENDPOINT_URL_SECURITYHUB").ok(),
                    });
                }
                s
            })
            .collect();
        Ok(crate::cmd::scan::Delivery {
            security_lake_account: lake_account,
            security_lake_region: self.security_lake_region.clone(),
            outputs,
            sinks,
            asff_account: self.asff_account.clone().unwrap_or_default(),
            asff_region: self.asff_region.clone(),
            ocsf_version: crate::report::formats::OcsfVersion::parse(&self.ocsf_version).map_err(
                |e| FlagError {
                    flag: "ocsf-version",
                    reason: e,
                },
            )?,
        })
    }
}

impl ScanArgs {
    /// Validates the flags into a plan: the detect part first (it reads `pipewarden.toml` and
    /// the suppressions), then the outputs, then where the logs are.
    pub fn plan(&self) -> anyhow::Result<crate::cmd::scan::ScanPlan> {
        let mut detect = self.detect.plan()?;
        detect.progress = !self.no_progress;
        let delivery = self.report.plan()?;
        // A folder with cloudtrail/ (and builds/) inside, or the trail itself.
        let local = std::path::Path::new(&self.source);
        let (trail, builds) =
            if !self.source.starts_with("s3://") && local.join("cloudtrail").is_dir() {
                let b = local.join("builds");
                (
                    local.join("cloudtrail").display().to_string(),
                    self.builds_from
                        .clone()
                        .or(b.is_dir().then(|| b.display().to_string())),
                )
            } else {
                (self.source.clone(), self.builds_from.clone())
            };
        let verify = if self.verify {
            if !trail.starts_with("s3://") {
                return Err(FlagError {
                    flag: "verify",
                    reason: "digests and their signatures are read from S3: SRC must be s3://"
                        .into(),
                }
                .into());
            }
            // The window and the day before it.
            let until = detect
                .plan
                .until
                .unwrap_or_else(|| chrono::Utc::now().date_naive());
            Some(crate::verify::VerifyPlan {
                from: trail.clone(),
                since: until
                    .checked_sub_days(chrono::Days::new(detect.plan.window_days as u64 + 1)),
                until: Some(until),
                public_keys: self.public_keys.clone(),
                concurrency: 32,
                s3: detect.s3.clone(),
            })
        } else {
            None
        };
        let assess = self
            .assess
            .iter()
            .map(|spec| {
                let (f, d) = spec.split_once('=').unwrap_or((spec, "-"));
                let format = crate::assess::render::Format::parse(f).ok_or_else(|| FlagError {
                    flag: "assess",
                    reason: format!("{f:?}: not one of table, json, markdown, html, ocsf"),
                })?;
                let dest = crate::report::Destination::parse(d).map_err(|reason| FlagError {
                    flag: "assess",
                    reason,
                })?;
                Ok((format, dest))
            })
            .collect::<Result<Vec<_>, FlagError>>()?;
        let assess_days = parse_days(&self.assess_since).ok_or(FlagError {
            flag: "assess-since",
            reason: format!("{:?} is not a number of days like 90d", self.assess_since),
        })?;
        Ok(crate::cmd::scan::ScanPlan {
            trail,
            builds,
            verify,
            assess,
            assess_days,
            progress: !self.no_progress,
            detect,
            delivery,
        })
    }
}

/// Flags `detect` and `scan` share: the lake, the window judged and its history, the
/// configuration, and when to exit 1.
#[derive(Debug, Clone, Args)]
pub struct DetectFlags {
    /// The lake: a folder or s3://bucket/prefix.
    #[arg(long, default_value = "pipewarden-lake", value_name = "DIR|S3")]
    pub lake: LakeLocation,
    /// History each pipeline is judged against (Nd).
    #[arg(long, default_value = "30d", value_name = "Nd")]
    pub baseline: String,
    /// The window judged (Nd), ending at --until.
    #[arg(long, default_value = "1d", value_name = "Nd")]
    pub window: String,
    /// End of the window, exclusive (YYYY-MM-DD, or Nd for N days ago); default: the midnight
    /// after the last event.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Attribution and pipeline configuration (pipewarden.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Suppressions file.
    #[arg(long, value_name = "FILE")]
    pub suppressions: Option<std::path::PathBuf>,
    /// Lowest score reported (0-100).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub min_score: u32,
    /// Exit 1 when an unsuppressed finding is at or above this severity.
    #[arg(long, default_value = "high", value_name = "SEVERITY")]
    pub fail_on: String,
    /// Also judge the grant of every principal a pipeline uses (the permissions review over the
    /// baseline and the window): `permissions_admin` and `permissions_unused` findings.
    #[arg(long)]
    pub permissions: bool,
    /// Who is judged besides pipelines: `pipelines`, or `all` (every other origin identity too:
    /// IAM users and their keys, roles no pipeline uses, Identity Center and SAML users, root).
    #[arg(long, value_enum, default_value = "all", value_name = "SCOPE")]
    pub subjects: crate::detect::Subjects,
    /// Rebuild the daily profile of every day of the history before judging (by default only
    /// the days that have none, or whose events or attribution changed, are built).
    #[arg(long, conflicts_with = "no_profiles")]
    pub rebuild_profiles: bool,
    /// Read the history from the events themselves, not from the daily profiles, and write no
    /// profiles (the findings are the same; a read-only lake needs it).
    #[arg(long)]
    pub no_profiles: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub s3: S3Args,
}

/// Flags of `detect`.
#[derive(Debug, Args)]
pub struct DetectArgs {
    #[command(flatten)]
    pub detect: DetectFlags,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<std::path::PathBuf>,
}

/// `Nd` as a number of days.
pub fn parse_days(s: &str) -> Option<i64> {
    s.strip_suffix('d')
        .unwrap_or(s)
        .parse::<i64>()
        .ok()
        .filter(|d| *d > 0 && *d <= 3660)
}

impl DetectFlags {
    /// Validates the flags into a plan, reading `pipewarden.toml` and the suppressions.
    pub fn plan(&self) -> anyhow::Result<crate::cmd::detect::DetectJob> {
        let mut plan = crate::detect::DetectPlan {
            baseline_days: parse_days(&self.baseline).ok_or(FlagError {
                flag: "baseline",
                reason: format!("{:?} is not a number of days like 30d", self.baseline),
            })?,
            window_days: parse_days(&self.window).ok_or(FlagError {
                flag: "window",
                reason: format!("{:?} is not a number of days like 1d", self.window),
            })?,
            min_score: self.min_score.min(100),
            permissions: self.permissions,
            subjects: self.subjects,
            history: if self.no_profiles {
                crate::profiles::History::Scan
            } else if self.rebuild_profiles {
                crate::profiles::History::Rebuild
            } else {
                crate::profiles::History::Profiles
            },
            ..Default::default()
        };
        plan.until = day("until", &self.until)?;
        let fail_on = fail_on(&self.fail_on)?;
        let engine = self.engine.engine()?;
        let config = match &self.config {
            Some(p) => crate::attribute::config::Config::load(p)?,
            None => crate::attribute::config::Config::default(),
        };
        if let Some(p) = &self.suppressions {
            plan.suppressions = crate::detect::suppress::Suppressions::load(p)?;
        }
        Ok(crate::cmd::detect::DetectJob {
            lake: self.lake.clone(),
            s3: self.s3.options(),
            engine,
            plan,
            config,
            fail_on,
            progress: true,
        })
    }
}

/// Flags of `assess`.
#[derive(Debug, Args)]
pub struct AssessArgs {
    #[command(flatten)]
    pub period: PeriodFlags,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::assess::render::Format,
    /// Write to this file (replaced whole) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// OCSF version of the ocsf format: 1.3.0 (what Amazon Security Lake accepts), 1.4.0,
    /// 1.5.0, 1.6.0 or 1.7.0.
    #[arg(long, default_value = "1.7.0", value_name = "VERSION")]
    pub ocsf_version: String,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub s3: S3Args,
}

/// `--fail-on`: a severity.
fn fail_on(s: &str) -> Result<crate::detect::Severity, FlagError> {
    crate::detect::Severity::parse(s).ok_or_else(|| FlagError {
        flag: "fail-on",
        reason: format!("{s:?} is not one of info, low, medium, high, critical"),
    })
}

/// The day after `d` (the exclusive end of a period whose last day is `d`).
fn day_after(d: Option<NaiveDate>) -> Option<NaiveDate> {
    d.and_then(|d| d.succ_opt())
}

fn load_config(p: &Option<std::path::PathBuf>) -> anyhow::Result<crate::attribute::config::Config> {
    Ok(match p {
        Some(p) => crate::attribute::config::Config::load(p)?,
        None => crate::attribute::config::Config::default(),
    })
}

impl AssessArgs {
    /// Validates the flags into a job.
    pub fn plan(&self) -> anyhow::Result<crate::cmd::assess::AssessJob> {
        let (since, until) = self.period.period()?;
        Ok(crate::cmd::assess::AssessJob {
            lake: self.period.lake.clone(),
            s3: self.s3.options(),
            engine: self.engine.engine()?,
            config: self.period.config()?,
            since,
            until,
            format: self.format,
            output: self.output.clone(),
            ocsf_version: crate::report::formats::OcsfVersion::parse(&self.ocsf_version).map_err(
                |reason| FlagError {
                    flag: "ocsf-version",
                    reason,
                },
            )?,
        })
    }
}

/// The lake and the period of `assess` and `permissions`: `--lake`, `--since`, `--until`,
/// `--config`.
#[derive(Debug, Args)]
pub struct PeriodFlags {
    /// The lake: a folder or s3://bucket/prefix.
    #[arg(long, default_value = "pipewarden-lake", value_name = "DIR|S3")]
    pub lake: LakeLocation,
    /// Days of the period, ending with --until.
    #[arg(long, default_value = "90d", value_name = "DAYS")]
    pub since: String,
    /// Last day of the period, inclusive (YYYY-MM-DD or Nd; default: today).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Attribution and pipeline configuration (pipewarden.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
}

impl PeriodFlags {
    /// The period `[since, until)`.
    pub fn period(&self) -> anyhow::Result<(crate::findings::Time, crate::findings::Time)> {
        let days = parse_days(&self.since).ok_or(FlagError {
            flag: "since",
            reason: format!("{:?} is not a number of days like 90d", self.since),
        })?;
        Ok(crate::cmd::assess::period(
            days,
            day_after(day("until", &self.until)?),
        ))
    }

    /// The configuration file, loaded (the default when none is given).
    pub fn config(&self) -> anyhow::Result<crate::attribute::config::Config> {
        load_config(&self.config)
    }
}

/// Flags of `permissions`.
#[derive(Debug, Args)]
pub struct PermissionsArgs {
    #[command(flatten)]
    pub period: PeriodFlags,
    /// Also read the live account's grants (IAM GetAccountAuthorizationDetails and
    /// ListAccessKeys, on the standard credential chain).
    #[arg(long)]
    pub iam: bool,
    /// IAM's endpoint, if not AWS's (moto, LocalStack).
    #[arg(long, env = "AWS_ENDPOINT_URL_IAM", value_name = "URL")]
    pub iam_endpoint_url: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::permissions::render::Format,
    /// Write to this file (replaced whole) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub s3: S3Args,
}

impl PermissionsArgs {
    /// Validates the flags into a job.
    pub fn plan(&self) -> anyhow::Result<crate::cmd::permissions::PermissionsJob> {
        let (since, until) = self.period.period()?;
        Ok(crate::cmd::permissions::PermissionsJob {
            lake: self.period.lake.clone(),
            s3: self.s3.options(),
            engine: self.engine.engine()?,
            config: self.period.config()?,
            since,
            until,
            iam: self.iam.then(|| crate::permissions::iam::IamOptions {
                endpoint: self.iam_endpoint_url.clone(),
            }),
            format: self.format,
            output: self.output.clone(),
        })
    }
}

/// Flags of `gate`.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// The lake: a folder or s3://bucket/prefix.
    #[arg(long, default_value = "pipewarden-lake", value_name = "DIR|S3")]
    pub lake: LakeLocation,
    /// The pipeline (its id, as `pipelines` lists it).
    #[arg(long, value_name = "ID")]
    pub pipeline: String,
    /// The lowest severity that blocks: info, low, medium, high, critical.
    #[arg(long, default_value = "high", value_name = "SEVERITY")]
    pub fail_on: String,
    /// Days of saved findings that count, ending with --until.
    #[arg(long, default_value = "1d", value_name = "DAYS")]
    pub window: String,
    /// Last day that counts, inclusive (YYYY-MM-DD or Nd; default: the end of the saved
    /// findings' window).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Controls that block when the assessment fails them (comma-separated ids, e.g.
    /// long_term_credentials,untrusted_input).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub controls: Vec<String>,
    /// Attribution configuration, for an assessment made on the spot.
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub s3: S3Args,
}

impl GateArgs {
    /// Validates the flags into a job.
    pub fn plan(&self) -> anyhow::Result<crate::cmd::gate::GateJob> {
        let fail_on = fail_on(&self.fail_on)?;
        let window_days = parse_days(&self.window).ok_or(FlagError {
            flag: "window",
            reason: format!("{:?} is not a number of days like 1d", self.window),
        })?;
        let controls = self
            .controls
            .iter()
            .filter(|c| !c.trim().is_empty())
            .map(|c| {
                crate::assess::Control::parse(c).ok_or_else(|| FlagError {
                    flag: "controls",
                    reason: format!(
                        "{c:?} is not a control ({})",
                        crate::assess::Control::ALL.map(|c| c.id()).join(", ")
                    ),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(crate::cmd::gate::GateJob {
            lake: self.lake.clone(),
            s3: self.s3.options(),
            engine: self.engine.engine()?,
            config: load_config(&self.config)?,
            pipeline: self.pipeline.clone(),
            fail_on,
            window_days,
            until: day_after(day("until", &self.until)?),
            controls,
        })
    }
}

/// Flags of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Output folder or s3://bucket/prefix.
    #[arg(long, value_name = "DIR|S3")]
    pub out: String,
    /// Days of history.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Events per day multiplier (1.0 is about 1,100 events a day).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// First day (YYYY-MM-DD).
    #[arg(long, default_value = "2026-09-01")]
    pub start: String,
    #[command(flatten)]
    pub s3: S3Args,
}

impl GenerateArgs {
    /// Validates the flags into a plan.
    pub fn plan(&self) -> Result<crate::generate::GeneratePlan, FlagError> {
        let start = NaiveDate::parse_from_str(&self.start, "%Y-%m-%d").map_err(|_| FlagError {
            flag: "start",
            reason: format!("{:?} is not YYYY-MM-DD", self.start),
        })?;
        if self.days < 3 {
            return Err(FlagError {
                flag: "days",
                reason: "at least 3 days are needed to place anomalies after a baseline".into(),
            });
        }
        if !(self.scale > 0.0 && self.scale <= 10_000.0) {
            return Err(FlagError {
                flag: "scale",
                reason: "must be in (0, 10000]".into(),
            });
        }
        Ok(crate::generate::GeneratePlan {
            out: self.out.clone(),
            days: self.days,
            seed: self.seed,
            scale: self.scale,
            start,
            s3: self.s3.options(),
        })
    }
}

impl LintArgs {
    /// The plan.
    pub fn plan(&self) -> crate::query::lint::LintPlan {
        crate::query::lint::LintPlan {
            lake: self.lake.clone(),
            queries_dir: self.queries.clone(),
            s3: self.s3.options(),
        }
    }
}

/// S3 connection flags shared by commands that read or write S3.
#[derive(Debug, Args, Clone)]
pub struct S3Args {
    /// S3-compatible endpoint (MinIO, moto, LocalStack). Also read from AWS_ENDPOINT_URL.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Use path-style S3 addressing (default: on with a custom endpoint, off on AWS).
    #[arg(long)]
    pub path_style: bool,
    /// Use virtual-hosted-style S3 addressing even with a custom endpoint.
    #[arg(long, conflicts_with = "path_style")]
    pub virtual_hosted_style: bool,
}

impl S3Args {
    /// The S3 options these flags give.
    pub fn options(&self) -> S3Options {
        let path_style = if self.path_style {
            Some(true)
        } else if self.virtual_hosted_style {
            Some(false)
        } else {
            None
        };
        S3Options {
            endpoint_url: self.endpoint_url.clone(),
            path_style,
        }
    }
}

/// Flags of `ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Where the logs are: s3://bucket/prefix, a folder, or a single file.
    #[arg(long, value_name = "SRC")]
    pub from: String,
    /// Where the lake is: a folder or s3://bucket/prefix.
    #[arg(long, value_name = "DIR|S3")]
    pub lake: LakeLocation,
    /// The source holds CI/CD build records (GitHub, GitLab, CodeBuild/CodePipeline, Jenkins,
    /// native JSONL), not CloudTrail logs; they go to the `builds` table.
    #[arg(long)]
    pub builds: bool,
    /// First delivery day to read (YYYY-MM-DD, or Nd for N days ago), from the date in the key.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Last delivery day to read (YYYY-MM-DD, or Nd for N days ago), inclusive.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Exit with status 2 if any object or record was bad (the good data still lands).
    #[arg(long)]
    pub strict: bool,
    /// Concurrent S3 GETs.
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub concurrency: usize,
    /// Parse threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Events per commit: work done is kept at each commit if the run is interrupted.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub commit_every: u64,
    /// Largest decompressed object, in MiB; larger objects are reported, not read.
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    pub max_object_mib: usize,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// Refuse (record as unreadable, retry next run) log files the last `pipewarden verify
    /// --lake` found modified or listed in no digest.
    #[arg(long)]
    pub refuse_unverified: bool,
    #[command(flatten)]
    pub s3: S3Args,
}

/// A flag with a bad value.
#[derive(Debug, thiserror::Error)]
#[error("--{flag}: {reason}")]
pub struct FlagError {
    /// The flag.
    pub flag: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// A date flag's value (`YYYY-MM-DD` or `Nd`), if given.
fn day(flag: &'static str, v: &Option<String>) -> Result<Option<NaiveDate>, FlagError> {
    let today = chrono::Utc::now().date_naive();
    v.as_deref()
        .map(|s| {
            parse_day(s, today).ok_or(FlagError {
                flag,
                reason: format!("{s:?} is not YYYY-MM-DD or Nd"),
            })
        })
        .transpose()
}

/// Parses `YYYY-MM-DD` or `Nd` (N days before `today`).
pub fn parse_day(s: &str, today: NaiveDate) -> Option<NaiveDate> {
    if let Some(n) = s.strip_suffix('d') {
        let n: u64 = n.parse().ok()?;
        return today.checked_sub_days(chrono::Days::new(n));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

impl IngestArgs {
    /// Validates the flags into a plan.
    pub fn plan(&self) -> Result<IngestPlan, FlagError> {
        let range = DateRange {
            since: day("since", &self.since)?,
            until: day("until", &self.until)?,
        };
        if let (Some(s), Some(u)) = (range.since, range.until)
            && s > u
        {
            return Err(FlagError {
                flag: "since",
                reason: format!("{s} is after --until {u}"),
            });
        }
        if self.commit_every == 0 {
            return Err(FlagError {
                flag: "commit-every",
                reason: "must be at least 1".into(),
            });
        }
        let mut plan = IngestPlan::new(&self.from, self.lake.clone());
        plan.range = range;
        if self.builds {
            plan.dataset = crate::lake::Dataset::Builds;
        }
        plan.strict = self.strict;
        plan.refuse_unverified = self.refuse_unverified;
        plan.concurrency = self.concurrency.max(1);
        if let Some(w) = self.workers {
            plan.workers = w.max(1);
        }
        plan.commit_every = self.commit_every;
        plan.limits = Limits {
            max_decompressed: self.max_object_mib.max(1) << 20,
        };
        plan.s3 = self.s3.options();
        plan.progress = !self.no_progress;
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        assert_eq!(
            parse_day("2025-03-06", today),
            NaiveDate::from_ymd_opt(2025, 3, 6)
        );
        assert_eq!(
            parse_day("7d", today),
            NaiveDate::from_ymd_opt(2026, 11, 20)
        );
        assert_eq!(parse_day("0d", today), Some(today));
        assert_eq!(parse_day("yesterday", today), None);
    }
}
