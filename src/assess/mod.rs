//! `pipewarden assess`: the per-pipeline SEC11-BP07 assessment. One entry per pipeline, one row
//! per [`Control`], each `pass`, `fail` or `unknown` with a one-line detail and its evidence
//! (finding, event and run ids).
//!
//! What decides a control is data here ([`Control::detectors`]: the saved findings that fail
//! it) and the pure [`decide`], over the [`Facts`] the lake gives ([`facts`]: SQL over
//! `pipeline_events`, `runs`, `pipelines`, the saved `findings` and `integrity` tables). The
//! assessment is saved as the lake's `assessment` table, which `pipewarden gate` reads
//! ([`gate`]); [`render`] writes it for people and machines.

pub mod facts;
pub mod gate;
pub mod render;

use serde::Serialize;

use crate::findings::{Severity, Time};

/// The version of the assessment JSON (README, "Assessment").
pub const SCHEMA_VERSION: &str = "pipewarden.assessment/v1";

/// A SEC11-BP07 control, as the assessment names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Control {
    /// Only temporary credentials in the period.
    LongTermCredentials,
    /// From the permissions review.
    PermissionsLeastPrivilege,
    /// Required checks known, and none bypassed.
    SecurityChecksEnforced,
    /// Allowed environments declared or learned, none crossed.
    EnvironmentSafeguards,
    /// No untrusted trigger got credentials, no over-broad OIDC trust.
    UntrustedInput,
    /// Build records cover the pipeline's activity.
    StateEmitted,
    /// The trail of its accounts was verified in the period, with no problem.
    TrailIntegrity,
}

impl Control {
    /// Every control, in the order reports show them.
    pub const ALL: [Control; 7] = [
        Control::LongTermCredentials,
        Control::PermissionsLeastPrivilege,
        Control::SecurityChecksEnforced,
        Control::EnvironmentSafeguards,
        Control::UntrustedInput,
        Control::StateEmitted,
        Control::TrailIntegrity,
    ];

    /// The control's id.
    pub fn id(self) -> &'static str {
        match self {
            Control::LongTermCredentials => "long_term_credentials",
            Control::PermissionsLeastPrivilege => "permissions_least_privilege",
            Control::SecurityChecksEnforced => "security_checks_enforced",
            Control::EnvironmentSafeguards => "environment_safeguards",
            Control::UntrustedInput => "untrusted_input",
            Control::StateEmitted => "state_emitted",
            Control::TrailIntegrity => "trail_integrity",
        }
    }

    /// The control of an id.
    pub fn parse(s: &str) -> Option<Control> {
        Control::ALL.into_iter().find(|c| c.id() == s.trim())
    }

    /// What the control asks, in SEC11-BP07's words.
    pub fn title(self) -> &'static str {
        match self {
            Control::LongTermCredentials => "No long-term or hard-coded credentials",
            Control::PermissionsLeastPrivilege => "Pipeline permissions are least privilege",
            Control::SecurityChecksEnforced => "Security tests cannot be bypassed by builders",
            Control::EnvironmentSafeguards => "No deploys to the wrong environment",
            Control::UntrustedInput => "Pipelines validate their inputs",
            Control::StateEmitted => "Pipelines emit state to validate their integrity",
            Control::TrailIntegrity => "The audit trail itself is verified",
        }
    }

    /// The detectors whose unsuppressed findings on the pipeline fail this control.
    pub fn detectors(self) -> &'static [&'static str] {
        match self {
            Control::LongTermCredentials => &["long_term_key_use", "access_key_created"],
            Control::PermissionsLeastPrivilege => &[
                "pipeline_role_broadened",
                "permissions_admin",
                "permissions_unused",
            ],
            Control::SecurityChecksEnforced => &[
                "checks_bypassed",
                "codebuild_build_override",
                "pipeline_checks_removed",
                "self_approval",
                "stage_transition_disabled",
                "branch_protection_bypassed",
                "ruleset_weakened",
                "approval_rules_weakened",
            ],
            Control::EnvironmentSafeguards => &[
                "environment_not_allowed",
                "environment_protection_removed",
                "environment",
            ],
            Control::UntrustedInput => &[
                "untrusted_trigger_credentials",
                "oidc_trust_too_broad",
                "fork_pull_request_run",
                "self_hosted_runner_fork",
            ],
            Control::StateEmitted => &[
                "activity_outside_runs",
                "pipeline_silent",
                "workflow_run_deleted",
            ],
            Control::TrailIntegrity => &["integrity", "cloudtrail_tampering"],
        }
    }
}

impl Serialize for Control {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl std::fmt::Display for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// A control's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The evidence shows the control holds.
    Pass,
    /// The evidence shows it does not.
    Fail,
    /// The lake cannot say.
    Unknown,
}

impl Status {
    /// `pass`, `fail`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
        }
    }

    /// From [`Status::as_str`].
    pub fn parse(s: &str) -> Option<Status> {
        [Status::Pass, Status::Fail, Status::Unknown]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// What backs a row: finding ids, event ids (CloudTrail or audit log) and run ids.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// Findings of the saved `findings` table.
    pub findings: Vec<String>,
    /// Events.
    pub events: Vec<String>,
    /// Runs.
    pub runs: Vec<String>,
}

impl Evidence {
    /// Ids kept per kind.
    pub const MAX: usize = 20;

    fn add(&mut self, f: &SavedFinding) {
        push_max(&mut self.findings, std::slice::from_ref(&f.id));
        push_max(&mut self.events, &f.event_ids);
        push_max(&mut self.runs, &f.run_ids);
    }
}

fn push_max(into: &mut Vec<String>, from: &[String]) {
    for x in from {
        if into.len() >= Evidence::MAX {
            return;
        }
        if !into.contains(x) {
            into.push(x.clone());
        }
    }
}

/// One control of one pipeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The control.
    pub control: Control,
    /// Its outcome.
    pub status: Status,
    /// Why, in one line.
    pub detail: String,
    /// What backs it.
    pub evidence: Evidence,
}

/// One pipeline's assessment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineAssessment {
    /// The pipeline.
    pub pipeline_id: String,
    /// One row per control, in [`Control::ALL`]'s order.
    pub controls: Vec<Row>,
}

impl PipelineAssessment {
    /// The row of `c`.
    pub fn row(&self, c: Control) -> Option<&Row> {
        self.controls.iter().find(|r| r.control == c)
    }
}

/// The assessment of a period.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    /// [`SCHEMA_VERSION`].
    pub schema: &'static str,
    /// When it was made.
    pub assessed_at: Time,
    /// First instant of the period.
    pub period_start: Time,
    /// End of the period (exclusive).
    pub period_end: Time,
    /// The window of the saved findings it read, when the lake has them.
    pub findings_window: Option<(Time, Time)>,
    /// One entry per pipeline, by id.
    pub pipelines: Vec<PipelineAssessment>,
}

impl Assessment {
    /// The entry of `pipeline`.
    pub fn pipeline(&self, pipeline: &str) -> Option<&PipelineAssessment> {
        self.pipelines.iter().find(|p| p.pipeline_id == pipeline)
    }
}

/// A finding of the lake's saved `findings` table, as the assessment reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SavedFinding {
    /// Its id.
    pub id: String,
    /// Its detector.
    pub detector: String,
    /// Its pipeline.
    pub pipeline_id: Option<String>,
    /// Its value.
    pub value: String,
    /// Its severity.
    pub severity: Option<Severity>,
    /// Its score.
    pub score: i64,
    /// Suppressed.
    pub suppressed: bool,
    /// Events.
    pub event_ids: Vec<String>,
    /// Runs.
    pub run_ids: Vec<String>,
    /// When it was last seen.
    pub last_seen: Option<Time>,
    /// Its explanation.
    pub explanation: String,
}

/// What the lake says about one pipeline in the period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// The pipeline.
    pub pipeline_id: String,
    /// Its CloudTrail calls in the period.
    pub calls: u64,
    /// Of them, made with long-term credentials (an IAM user's or root's access key, or a
    /// session token or federation token derived from one).
    pub long_term_calls: u64,
    /// Up to [`Evidence::MAX`] of those calls' event ids.
    pub long_term_events: Vec<String>,
    /// The long-term principals (user ARNs or names).
    pub long_term_principals: Vec<String>,
    /// Runs in the period, from build records.
    pub runs: u64,
    /// Build records of the pipeline at any time.
    pub ever_had_runs: bool,
    /// Environments its calls reached in the period.
    pub environments: Vec<String>,
    /// `allowed_environments` of `pipewarden.toml`.
    pub allowed_environments: Vec<String>,
    /// Required checks, declared or learned from the period's runs.
    pub required_checks: Vec<String>,
    /// Whether the required checks were declared.
    pub checks_declared: bool,
    /// Accounts its calls were made in.
    pub accounts: Vec<String>,
    /// Its repository or project path (GitHub, GitLab), when it has one.
    pub repository: Option<String>,
    /// Its roles (ARNs).
    pub roles: Vec<String>,
    /// Its runs in the period that wrote to production.
    pub prod_runs: u64,
    /// Of them, those on record as going through a production environment of the CI system.
    pub prod_runs_through_environment: u64,
    /// Up to [`Evidence::MAX`] of the others.
    pub prod_runs_outside: Vec<String>,
}

impl Facts {
    /// Whether `f` concerns this pipeline: it names the pipeline, or, a finding no run or
    /// session ties to one pipeline (an audit-log or IAM rule), its value names the pipeline's
    /// repository (`branch main of acme/web`: every pipeline of that repository) or one of its
    /// roles and that role's account (`role gha-deploy-api in 444444444444`).
    pub fn concerns(&self, f: &SavedFinding) -> bool {
        match f.pipeline_id.as_deref() {
            Some(p) => p == self.pipeline_id,
            None => {
                let words: Vec<&str> = f
                    .value
                    .split(|c: char| c.is_whitespace() || c == ',' || c == '\'')
                    .filter(|w| !w.is_empty())
                    .collect();
                let repo = self
                    .repository
                    .as_deref()
                    .filter(|r| !r.is_empty())
                    .is_some_and(|r| words.contains(&r));
                let role = self.roles.iter().any(|arn| {
                    let account = arn.split(':').nth(4).unwrap_or("");
                    let name = arn.rsplit('/').next().unwrap_or("");
                    !name.is_empty()
                        && !account.is_empty()
                        && words.contains(&name)
                        && words.contains(&account)
                });
                repo || role
            }
        }
    }

    /// Whether `f`, a finding of no pipeline, is about one of the accounts this pipeline acts
    /// in (`account 444444444444`: the trail of that account).
    fn in_my_accounts(&self, f: &SavedFinding) -> bool {
        f.pipeline_id.is_none()
            && f.value
                .split_whitespace()
                .any(|w| self.accounts.iter().any(|a| a == w))
    }
}

/// The lake's trail verification, as the `integrity` table holds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verification {
    /// When the last `verify --lake` wrote the table; `None`: never.
    pub verified_at: Option<Time>,
    /// The verified trail (`s3://…`), when a problem row names it.
    pub source: Option<String>,
    /// Its problems: (account, kind, object).
    pub problems: Vec<(String, String, String)>,
}

/// The saved findings' state, as the assessment sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Saved {
    /// Whether a detect or scan saved findings in the lake.
    pub present: bool,
    /// The saved findings (their window may differ from the period).
    pub findings: Vec<SavedFinding>,
}

/// Decides every control of one pipeline. Pure: the facts and saved findings in, the rows out.
pub fn decide(
    facts: &Facts,
    saved: &Saved,
    verification: &Verification,
    period: (Time, Time),
) -> PipelineAssessment {
    let in_period = |f: &&SavedFinding| f.last_seen.is_none_or(|t| t >= period.0 && t < period.1);
    let mine: Vec<&SavedFinding> = saved
        .findings
        .iter()
        .filter(in_period)
        .filter(|f| facts.concerns(f))
        .collect();
    // The trail's own findings (tampering, digest problems) concern every pipeline acting in
    // the account they name.
    let trail: Vec<&SavedFinding> = saved
        .findings
        .iter()
        .filter(in_period)
        .filter(|f| {
            Control::TrailIntegrity
                .detectors()
                .contains(&f.detector.as_str())
                && facts.in_my_accounts(f)
        })
        .collect();
    let mine: Vec<&SavedFinding> = mine.into_iter().chain(trail).fold(vec![], |mut v, f| {
        if !v.iter().any(|x: &&SavedFinding| x.id == f.id) {
            v.push(f);
        }
        v
    });
    let controls = Control::ALL
        .into_iter()
        .map(|c| decide_one(c, facts, saved.present, &mine, verification))
        .collect();
    PipelineAssessment {
        pipeline_id: facts.pipeline_id.clone(),
        controls,
    }
}

fn row(control: Control, status: Status, detail: String, evidence: Evidence) -> Row {
    Row {
        control,
        status,
        detail,
        evidence,
    }
}

/// The failing findings of `c` among `mine`: (unsuppressed, suppressed).
fn failing<'a>(
    c: Control,
    mine: &[&'a SavedFinding],
) -> (Vec<&'a SavedFinding>, Vec<&'a SavedFinding>) {
    mine.iter()
        .copied()
        .filter(|f| c.detectors().contains(&f.detector.as_str()))
        .partition(|f| !f.suppressed)
}

fn findings_detail(fs: &[&SavedFinding]) -> String {
    let mut by: std::collections::BTreeMap<&str, usize> = Default::default();
    for f in fs {
        *by.entry(f.detector.as_str()).or_default() += 1;
    }
    let top = fs
        .iter()
        .max_by_key(|f| f.score)
        .map(|f| format!("; worst: {} (score {}): {}", f.detector, f.score, f.value))
        .unwrap_or_default();
    let list: Vec<String> = by.iter().map(|(d, n)| format!("{n} {d}")).collect();
    format!("{} finding(s): {}{top}", fs.len(), list.join(", "))
}

fn decide_one(
    c: Control,
    facts: &Facts,
    saved: bool,
    mine: &[&SavedFinding],
    v: &Verification,
) -> Row {
    let (open, suppressed) = failing(c, mine);
    let mut ev = Evidence::default();
    for f in &open {
        ev.add(f);
    }
    let also = if suppressed.is_empty() {
        String::new()
    } else {
        format!(" ({} suppressed finding(s) not counted)", suppressed.len())
    };
    let no_findings = "no saved findings in the lake (run `pipewarden detect` or `scan` first)";
    match c {
        Control::LongTermCredentials => {
            if facts.long_term_calls > 0 || !open.is_empty() {
                push_max(&mut ev.events, &facts.long_term_events);
                let mut d = if facts.long_term_calls > 0 {
                    format!(
                        "{} of {} call(s) made with long-term credentials ({})",
                        facts.long_term_calls,
                        facts.calls,
                        facts.long_term_principals.join(", ")
                    )
                } else {
                    String::new()
                };
                if !open.is_empty() {
                    if !d.is_empty() {
                        d.push_str("; ");
                    }
                    d.push_str(&findings_detail(&open));
                }
                row(c, Status::Fail, d, ev)
            } else if facts.calls == 0 {
                row(
                    c,
                    Status::Unknown,
                    "no CloudTrail calls of the pipeline in the period".into(),
                    ev,
                )
            } else {
                row(
                    c,
                    Status::Pass,
                    format!(
                        "all {} call(s) made with temporary credentials{also}",
                        facts.calls
                    ),
                    ev,
                )
            }
        }
        Control::PermissionsLeastPrivilege => {
            if !open.is_empty() {
                row(c, Status::Fail, findings_detail(&open), ev)
            } else {
                row(
                    c,
                    Status::Unknown,
                    format!(
                        "no broadening of its role seen, and no permissions_admin or permissions_unused finding saved (detect or scan with --permissions; `pipewarden permissions` for the whole review){also}"
                    ),
                    ev,
                )
            }
        }
        Control::SecurityChecksEnforced => {
            if !open.is_empty() {
                row(c, Status::Fail, findings_detail(&open), ev)
            } else if !saved {
                row(c, Status::Unknown, no_findings.into(), ev)
            } else if facts.required_checks.is_empty() {
                row(
                    c,
                    Status::Unknown,
                    if facts.runs == 0 {
                        "no build records in the period: its checks are not known".into()
                    } else {
                        format!(
                            "required checks not known: none declared (`required_checks`) and none passed in 95% of at least 5 deploying runs of the period's {} run(s)",
                            facts.runs
                        )
                    },
                    ev,
                )
            } else {
                row(
                    c,
                    Status::Pass,
                    format!(
                        "required checks {} ({}), none bypassed{also}",
                        facts.required_checks.join(", "),
                        if facts.checks_declared {
                            "declared"
                        } else {
                            "learned"
                        }
                    ),
                    ev,
                )
            }
        }
        Control::EnvironmentSafeguards => {
            // Where the pipeline's production deploys go through a protected environment, every
            // one must.
            let outside = facts.prod_runs - facts.prod_runs_through_environment;
            let bypassed = facts.prod_runs_through_environment > 0 && outside > 0;
            if bypassed {
                push_max(&mut ev.runs, &facts.prod_runs_outside);
            }
            let prod = if facts.prod_runs == 0 {
                String::new()
            } else if facts.prod_runs_through_environment == 0 {
                format!(
                    "; {} run(s) wrote to production with no production environment or approval on record",
                    facts.prod_runs
                )
            } else {
                format!(
                    "; {} of {} production run(s) through its production environment",
                    facts.prod_runs_through_environment, facts.prod_runs
                )
            };
            if !open.is_empty() || bypassed {
                let mut d = if open.is_empty() {
                    String::new()
                } else {
                    findings_detail(&open)
                };
                if bypassed {
                    if !d.is_empty() {
                        d.push_str("; ");
                    }
                    d.push_str(&format!(
                        "{outside} of {} run(s) that wrote to production did not go through the production environment the other {} went through",
                        facts.prod_runs, facts.prod_runs_through_environment
                    ));
                }
                row(c, Status::Fail, d, ev)
            } else if !saved {
                row(c, Status::Unknown, no_findings.into(), ev)
            } else if !facts.allowed_environments.is_empty() {
                row(
                    c,
                    Status::Pass,
                    format!(
                        "allowed environments declared ({}), none crossed; reached: {}{prod}{also}",
                        facts.allowed_environments.join(", "),
                        list_or_none(&facts.environments)
                    ),
                    ev,
                )
            } else if facts.environments.is_empty() {
                row(
                    c,
                    Status::Unknown,
                    "no environment declared (`allowed_environments`) and none reached in the period".into(),
                    ev,
                )
            } else {
                row(
                    c,
                    Status::Pass,
                    format!(
                        "environments learned from its history ({}), no new one reached{prod}{also}",
                        facts.environments.join(", ")
                    ),
                    ev,
                )
            }
        }
        Control::UntrustedInput => {
            if !open.is_empty() {
                row(c, Status::Fail, findings_detail(&open), ev)
            } else if !saved {
                row(c, Status::Unknown, no_findings.into(), ev)
            } else if facts.runs == 0 {
                row(
                    c,
                    Status::Unknown,
                    "no build records in the period: its triggers are not known (no over-broad OIDC trust seen)".into(),
                    ev,
                )
            } else {
                row(
                    c,
                    Status::Pass,
                    format!(
                        "{} run(s): no untrusted trigger obtained credentials, no over-broad OIDC trust{also}",
                        facts.runs
                    ),
                    ev,
                )
            }
        }
        Control::StateEmitted => {
            if !facts.ever_had_runs {
                row(
                    c,
                    Status::Unknown,
                    "no build records of this pipeline in the lake: its activity cannot be checked against its runs".into(),
                    ev,
                )
            } else if !open.is_empty() {
                row(c, Status::Fail, findings_detail(&open), ev)
            } else if !saved {
                row(c, Status::Unknown, no_findings.into(), ev)
            } else {
                row(
                    c,
                    Status::Pass,
                    format!(
                        "{} run(s) in the period cover its {} call(s): none outside a run, no gap in its records{also}",
                        facts.runs, facts.calls
                    ),
                    ev,
                )
            }
        }
        Control::TrailIntegrity => {
            let problems: Vec<&(String, String, String)> = v
                .problems
                .iter()
                .filter(|(account, _, _)| facts.accounts.contains(account))
                .collect();
            if !problems.is_empty() || !open.is_empty() {
                let mut kinds: Vec<&str> = problems.iter().map(|p| p.1.as_str()).collect();
                kinds.sort_unstable();
                kinds.dedup();
                let mut d = if problems.is_empty() {
                    String::new()
                } else {
                    format!(
                        "{} digest verification problem(s) in its accounts ({}), the first: {}",
                        problems.len(),
                        kinds.join(", "),
                        problems[0].2
                    )
                };
                if !open.is_empty() {
                    if !d.is_empty() {
                        d.push_str("; ");
                    }
                    d.push_str(&findings_detail(&open));
                }
                row(c, Status::Fail, d, ev)
            } else {
                match v.verified_at {
                    None => row(
                        c,
                        Status::Unknown,
                        "the trail was never verified into this lake (`pipewarden verify --lake` or `scan --verify`)".into(),
                        ev,
                    ),
                    Some(t) if facts.accounts.is_empty() => row(
                        c,
                        Status::Unknown,
                        format!("verified at {t}, but the pipeline made no call in the period"),
                        ev,
                    ),
                    Some(t) => row(
                        c,
                        Status::Pass,
                        format!(
                            "digests verified at {t}{}, no problem in its accounts ({})",
                            v.source
                                .as_deref()
                                .map(|s| format!(" ({s})"))
                                .unwrap_or_default(),
                            facts.accounts.join(", ")
                        ),
                        ev,
                    ),
                }
            }
        }
    }
}

/// Assesses every pipeline (or `only` that one) over `[since, until)` from the lake: its facts,
/// its saved findings and the last trail verification.
pub async fn assess(
    ctx: &datafusion::prelude::SessionContext,
    lake: &crate::lake::Lake,
    since: Time,
    until: Time,
    only: Option<&str>,
) -> Result<Assessment, facts::FactsError> {
    let all = facts::facts(ctx, since, until, only).await?;
    let saved = facts::saved_findings(ctx, lake).await?;
    let window = if saved.present {
        facts::findings_window(ctx).await
    } else {
        None
    };
    let verification = facts::verification(ctx, lake).await?;
    let pipelines = all
        .values()
        .map(|f| decide(f, &saved, &verification, (since, until)))
        .collect();
    Ok(Assessment {
        schema: SCHEMA_VERSION,
        assessed_at: Time::from_micros(chrono::Utc::now().timestamp_micros()),
        period_start: since,
        period_end: until,
        findings_window: window,
        pipelines,
    })
}

/// The assessment as one batch of the `assessment` table's schema.
pub fn batch(a: &Assessment) -> arrow::array::RecordBatch {
    use arrow::array::{
        ArrayRef, ListBuilder, StringArray, StringBuilder, TimestampMicrosecondArray,
    };
    use std::sync::Arc;
    let rows: Vec<(&str, &Row)> = a
        .pipelines
        .iter()
        .flat_map(|p| p.controls.iter().map(move |r| (p.pipeline_id.as_str(), r)))
        .collect();
    let n = rows.len();
    let utc = |t: Time| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(vec![t.micros(); n]).with_timezone("UTC"))
    };
    let strs = |g: &dyn Fn(&(&str, &Row)) -> String| -> ArrayRef {
        Arc::new(rows.iter().map(|r| Some(g(r))).collect::<StringArray>())
    };
    let lists = |g: &dyn Fn(&Evidence) -> &Vec<String>| -> ArrayRef {
        let mut b = ListBuilder::new(StringBuilder::new());
        for (_, r) in &rows {
            for v in g(&r.evidence) {
                b.values().append_value(v);
            }
            b.append(true);
        }
        Arc::new(b.finish())
    };
    let cols: Vec<ArrayRef> = vec![
        utc(a.assessed_at),
        utc(a.period_start),
        utc(a.period_end),
        strs(&|r| r.0.to_string()),
        strs(&|r| r.1.control.id().to_string()),
        strs(&|r| r.1.status.as_str().to_string()),
        strs(&|r| r.1.detail.clone()),
        lists(&|e| &e.findings),
        lists(&|e| &e.events),
        lists(&|e| &e.runs),
    ];
    arrow::array::RecordBatch::try_new((crate::lake::catalog::ASSESSMENT.schema)(), cols)
        .expect("assessment columns match their schema")
}

/// Replaces the lake's `assessment` table with `a` (one PUT).
pub async fn save(lake: &crate::lake::Lake, a: &Assessment) -> Result<(), crate::lake::LakeError> {
    lake.replace_table(&crate::lake::catalog::ASSESSMENT, &batch(a))
        .await
}

/// The saved assessment's rows of `pipeline`, and when it was made; `None` when the lake has
/// no saved assessment.
pub async fn saved_rows(
    ctx: &datafusion::prelude::SessionContext,
    lake: &crate::lake::Lake,
    pipeline: &str,
) -> Result<Option<(Time, Vec<Row>)>, facts::FactsError> {
    use crate::detect::columns::{lists, strs, times};
    let err = |query: &str, e: datafusion::error::DataFusionError| facts::FactsError {
        query: query.into(),
        source: e,
    };
    if facts::saved_file(lake, &crate::lake::catalog::ASSESSMENT)
        .await?
        .is_none()
    {
        return Ok(None);
    }

    let df = ctx
        .table("assessment")
        .await
        .and_then(|t| {
            t.filter(datafusion::prelude::col("pipeline_id").eq(datafusion::prelude::lit(pipeline)))
        })
        .map_err(|e| err("saved assessment", e))?;
    let batches = df.collect().await.map_err(|e| err("saved assessment", e))?;
    let mut at = None;
    let mut rows = vec![];
    for b in &batches {
        let (t, c, st, d) = (
            times(b, "assessed_at"),
            strs(b, "control"),
            strs(b, "status"),
            strs(b, "detail"),
        );
        let (fi, ev, ru) = (
            lists(b, "finding_ids"),
            lists(b, "event_ids"),
            lists(b, "run_ids"),
        );
        for i in 0..b.num_rows() {
            at = Some(Time::from_micros(t[i]));
            let (Some(control), Some(status)) = (
                c[i].as_deref().and_then(Control::parse),
                st[i].as_deref().and_then(Status::parse),
            ) else {
                continue;
            };
            rows.push(Row {
                control,
                status,
                detail: d[i].clone().unwrap_or_default(),
                evidence: Evidence {
                    findings: fi[i].clone(),
                    events: ev[i].clone(),
                    runs: ru[i].clone(),
                },
            });
        }
    }
    Ok(Some((at.unwrap_or_default(), rows)))
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            pipeline_id: "github:acme/web:deploy.yml".into(),
            calls: 100,
            runs: 10,
            ever_had_runs: true,
            environments: vec!["prod".into()],
            required_checks: vec!["test".into()],
            accounts: vec!["444444444444".into()],
            ..Default::default()
        }
    }

    fn period() -> (Time, Time) {
        (Time::from_micros(0), Time::from_micros(i64::MAX / 2))
    }

    fn finding(detector: &str, suppressed: bool) -> SavedFinding {
        SavedFinding {
            id: format!("pw-{detector}"),
            detector: detector.into(),
            pipeline_id: Some("github:acme/web:deploy.yml".into()),
            value: "v".into(),
            score: 80,
            suppressed,
            event_ids: vec!["e1".into()],
            run_ids: vec!["r1".into()],
            ..Default::default()
        }
    }

    fn status(a: &PipelineAssessment, c: Control) -> Status {
        a.row(c).unwrap().status
    }

    #[test]
    fn a_clean_pipeline_passes_what_the_lake_decides_and_leaves_the_rest_unknown() {
        let saved = Saved {
            present: true,
            findings: vec![],
        };
        let a = decide(&facts(), &saved, &Verification::default(), period());
        assert_eq!(status(&a, Control::LongTermCredentials), Status::Pass);
        assert_eq!(status(&a, Control::SecurityChecksEnforced), Status::Pass);
        assert_eq!(status(&a, Control::EnvironmentSafeguards), Status::Pass);
        assert_eq!(status(&a, Control::UntrustedInput), Status::Pass);
        assert_eq!(status(&a, Control::StateEmitted), Status::Pass);
        assert_eq!(
            status(&a, Control::PermissionsLeastPrivilege),
            Status::Unknown
        );
        assert_eq!(status(&a, Control::TrailIntegrity), Status::Unknown);
        assert_eq!(a.controls.len(), Control::ALL.len());
    }

    #[test]
    fn findings_fail_their_control_with_their_ids_and_suppressed_ones_do_not() {
        let saved = Saved {
            present: true,
            findings: vec![
                finding("activity_outside_runs", false),
                finding("oidc_trust_too_broad", true),
            ],
        };
        let a = decide(&facts(), &saved, &Verification::default(), period());
        let r = a.row(Control::StateEmitted).unwrap();
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.evidence.findings, ["pw-activity_outside_runs"]);
        assert_eq!(r.evidence.events, ["e1"]);
        assert_eq!(r.evidence.runs, ["r1"]);
        let u = a.row(Control::UntrustedInput).unwrap();
        assert_eq!(u.status, Status::Pass);
        assert!(u.detail.contains("1 suppressed"), "{}", u.detail);
    }

    #[test]
    fn permission_findings_fail_least_privilege() {
        for detector in ["permissions_admin", "permissions_unused"] {
            let saved = Saved {
                present: true,
                findings: vec![finding(detector, false)],
            };
            let a = decide(&facts(), &saved, &Verification::default(), period());
            let r = a.row(Control::PermissionsLeastPrivilege).unwrap();
            assert_eq!(r.status, Status::Fail, "{detector}");
            assert_eq!(r.evidence.findings, [format!("pw-{detector}")]);
        }
    }

    #[test]
    fn no_build_records_make_state_unknown_and_long_term_keys_fail() {
        let f = Facts {
            runs: 0,
            ever_had_runs: false,
            long_term_calls: 3,
            long_term_events: vec!["k1".into()],
            long_term_principals: vec!["arn:aws:iam::1:user/ci".into()],
            required_checks: vec![],
            ..facts()
        };
        let saved = Saved {
            present: true,
            findings: vec![finding("activity_outside_runs", false)],
        };
        let a = decide(&f, &saved, &Verification::default(), period());
        assert_eq!(status(&a, Control::StateEmitted), Status::Unknown);
        assert_eq!(status(&a, Control::SecurityChecksEnforced), Status::Unknown);
        assert_eq!(status(&a, Control::UntrustedInput), Status::Unknown);
        let r = a.row(Control::LongTermCredentials).unwrap();
        assert_eq!(r.status, Status::Fail);
        assert!(r.detail.contains("3 of 100"), "{}", r.detail);
        assert_eq!(r.evidence.events, ["k1"]);
    }

    #[test]
    fn a_production_deploy_outside_the_environment_the_others_use_fails() {
        let saved = Saved {
            present: true,
            findings: vec![],
        };
        let f = Facts {
            prod_runs: 5,
            prod_runs_through_environment: 4,
            prod_runs_outside: vec!["r9".into()],
            ..facts()
        };
        let a = decide(&f, &saved, &Verification::default(), period());
        let r = a.row(Control::EnvironmentSafeguards).unwrap();
        assert_eq!(r.status, Status::Fail, "{}", r.detail);
        assert_eq!(r.evidence.runs, ["r9"]);
        // No production environment on record at all: nothing to require, said in the detail.
        let f = Facts {
            prod_runs: 5,
            prod_runs_through_environment: 0,
            prod_runs_outside: vec!["r1".into()],
            ..facts()
        };
        let a = decide(&f, &saved, &Verification::default(), period());
        let r = a.row(Control::EnvironmentSafeguards).unwrap();
        assert_eq!(r.status, Status::Pass);
        assert!(
            r.detail.contains("no production environment"),
            "{}",
            r.detail
        );
    }

    #[test]
    fn the_trail_passes_only_once_verified_and_fails_on_problems_in_its_accounts() {
        let saved = Saved {
            present: true,
            findings: vec![],
        };
        let mut v = Verification {
            verified_at: Some(Time::from_micros(1_000_000)),
            ..Default::default()
        };
        let a = decide(&facts(), &saved, &v, period());
        assert_eq!(status(&a, Control::TrailIntegrity), Status::Pass);
        v.problems.push((
            "111111111111".into(),
            "log_modified".into(),
            "AWSLogs/1".into(),
        ));
        let a = decide(&facts(), &saved, &v, period());
        assert_eq!(status(&a, Control::TrailIntegrity), Status::Pass);
        v.problems.push((
            "444444444444".into(),
            "log_modified".into(),
            "AWSLogs/4".into(),
        ));
        let a = decide(&facts(), &saved, &v, period());
        let r = a.row(Control::TrailIntegrity).unwrap();
        assert_eq!(r.status, Status::Fail);
        assert!(r.detail.contains("AWSLogs/4"), "{}", r.detail);
    }

    #[test]
    fn without_saved_findings_the_finding_controls_are_unknown() {
        let a = decide(
            &facts(),
            &Saved::default(),
            &Verification::default(),
            period(),
        );
        for c in [
            Control::SecurityChecksEnforced,
            Control::EnvironmentSafeguards,
            Control::UntrustedInput,
            Control::StateEmitted,
        ] {
            assert_eq!(status(&a, c), Status::Unknown, "{c}");
        }
        assert_eq!(status(&a, Control::LongTermCredentials), Status::Pass);
    }
}
