//! The baseline detectors, declared once. Each entry says what it measures (its feature query
//! and dimension), how it is scored (its [`Model`]), what a unit of history is, its weight, its
//! ATT&CK technique and how its evidence is fetched. `detect` runs them in this order.
//!
//! Adding a categorical detector is one entry here (a dimension expression over
//! `pipeline_events`) and one test; a new way of scoring is one [`Model`] variant and its
//! function in [`super::baseline`].

use crate::findings::Technique;

/// A technique as the catalogue writes it: id and name.
pub type TechniqueRef = (&'static str, &'static str);

impl From<TechniqueRef> for Technique {
    fn from((id, name): TechniqueRef) -> Technique {
        Technique {
            id: id.to_string(),
            name: name.to_string(),
        }
    }
}

/// How a detector scores what its feature query returns ([`super::baseline`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// Rarity of a value against the pipeline's history ([`super::baseline::categorical`]).
    Categorical,
    /// Hour of week against the pipeline's usual hours ([`super::baseline::hours`]).
    Hours,
    /// Calls per unit against the pipeline's usual counts ([`super::baseline::volume`]).
    Volume,
    /// AccessDenied per unit, likewise.
    Errors,
}

/// What a detector's feature query is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// `queries/detect/dimension.sql` with `${value}` set to this expression over
    /// `pipeline_events`: one row per pipeline, value and period.
    Dimension(&'static str),
    /// `queries/detect/volume.sql`: one row per pipeline, unit and period.
    Volume,
    /// `queries/detect/builds.sql`: one row per run; the value is this column of `runs`.
    Runs(&'static str),
}

/// What one unit of a detector's history is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A run when the calls have one, else the session's key, else the event.
    RunOrSession,
    /// A run (when calls have none, an hour of calls).
    RunOrHour,
    /// A CI/CD run from the build records.
    Run,
}

/// How a detector's evidence event ids are found, for reported findings only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// The window's events whose dimension (or unit) expression equals the finding's value,
    /// with an extra condition.
    Matching {
        /// The expression compared with the value.
        expr: &'static str,
        /// Appended to the WHERE clause (`AND ...`, or empty).
        extra: &'static str,
    },
    /// The CloudTrail events of the finding's runs.
    OfRuns,
}

/// A weight that depends on the departure itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Adjust {
    /// None.
    None,
    /// Multiplied by this when the value saw no write call (reads matter less than writes).
    ReadsOnly(f64),
    /// Multiplied by this when the value is a production environment (reaching production where
    /// a pipeline never did is the costly kind).
    Production(f64),
}

/// A baseline detector.
#[derive(Debug, Clone, Copy)]
pub struct Detector {
    /// Detector name in findings.
    pub name: &'static str,
    /// How explanations name the value.
    pub label: &'static str,
    /// The feature query.
    pub feature: Feature,
    /// The scoring model.
    pub model: Model,
    /// A unit of history.
    pub unit: Unit,
    /// Score multiplier.
    pub weight: f64,
    /// A weight that depends on the departure.
    pub adjust: Adjust,
    /// ATT&CK technique.
    pub mitre: TechniqueRef,
    /// How evidence is found.
    pub evidence: Evidence,
}

const CLOUD_ACCOUNTS: TechniqueRef = ("T1078.004", "Valid Accounts: Cloud Accounts");
const SUPPLY_CHAIN: TechniqueRef = (
    "T1195.002",
    "Supply Chain Compromise: Compromise Software Supply Chain",
);

/// The unit of the volume and errors models.
pub const VOLUME_UNIT: &str = "coalesce(run_id, CAST(date_trunc('hour', event_time) AS VARCHAR))";

/// A call refused for want of permission (`${denied}` in the feature and profile queries).
macro_rules! denied_call {
    () => {
        "(error_code LIKE '%AccessDenied%' OR error_code LIKE '%Unauthorized%' OR error_code = 'Forbidden')"
    };
}

/// The calls refused for want of permission, as an evidence query's extra condition.
const DENIED: &str = concat!(" AND ", denied_call!());

/// The calls that hand out content (`${data_read}`): objects, decrypted keys, secrets,
/// parameters, table items, log events.
pub const DATA_READ: &str = "event_name IN ('GetObject', 'GetObjectVersion', 'HeadObject', 'ListObjects', \
    'ListObjectsV2', 'ListObjectVersions', 'SelectObjectContent', 'Decrypt', 'GenerateDataKey', \
    'GetSecretValue', 'BatchGetSecretValue', 'GetParameter', 'GetParameters', 'GetParametersByPath', \
    'GetItem', 'BatchGetItem', 'Query', 'Scan', 'ExportTableToPointInTime', 'GetLogEvents', \
    'FilterLogEvents', 'GetQueryResults', 'DownloadDBLogFilePortion')";

/// A call made other than from the AWS console (`${programmatic}`): a console page calls dozens
/// of Describe and List APIs the first time someone opens it, which is not a change of API mix.
pub const PROGRAMMATIC: &str = "NOT (coalesce(user_agent, '') LIKE 'Mozilla/%' OR user_agent = 'AWS Internal' \
    OR user_agent LIKE '%console.amazonaws.com%' OR user_agent LIKE 'signin.amazonaws.com%')";

/// The calls that switch off a security record or control other than CloudTrail itself
/// (`${defense_apis}`, an SQL list of event names): VPC flow logs and Route 53 Resolver query logs
/// deleted, GuardDuty, Security Hub, AWS Config, IAM Access Analyzer or Macie switched off or
/// detached from the administrator account, an account leaving its organization. Done, they are
/// `defenses_impaired`; refused, `defense_evasion_attempted`.
pub const DEFENSE_APIS: &str = "'DeleteFlowLogs', 'DeleteFlowLog', 'DeleteResolverQueryLogConfig', \
    'DisassociateResolverQueryLogConfig', 'LeaveOrganization', 'DeleteDetector', \
    'DisassociateFromMasterAccount', 'DisassociateFromAdministratorAccount', 'StopMonitoringMembers', \
    'DisableSecurityHub', 'BatchDisableStandards', 'StopConfigurationRecorder', \
    'DeleteConfigurationRecorder', 'DeleteDeliveryChannel', 'DeleteAnalyzer', 'DisableMacie'";

/// The shared definitions a query (a rule too) may use; [`with_shared`] fills them.
pub const SHARED_PLACEHOLDERS: &[&str] = &["denied", "data_read", "programmatic", "defense_apis"];

/// Fills the shared definitions (`${denied}`, `${data_read}`, `${programmatic}`,
/// `${defense_apis}`: [`SHARED_PLACEHOLDERS`]) into a query.
pub fn with_shared(sql: &str) -> String {
    crate::bundled::fill_with(
        sql,
        &[
            ("denied", denied_call!()),
            ("data_read", DATA_READ),
            ("programmatic", PROGRAMMATIC),
            ("defense_apis", DEFENSE_APIS),
        ],
    )
}

/// A categorical detector over a dimension of `pipeline_events`.
const fn dimension(
    name: &'static str,
    expr: &'static str,
    label: &'static str,
    weight: f64,
    mitre: TechniqueRef,
) -> Detector {
    Detector {
        name,
        label,
        feature: Feature::Dimension(expr),
        model: Model::Categorical,
        unit: Unit::RunOrSession,
        weight,
        adjust: Adjust::None,
        mitre,
        evidence: Evidence::Matching { expr, extra: "" },
    }
}

/// A categorical detector over a column of `runs` (the build records).
const fn runs(name: &'static str, column: &'static str, label: &'static str) -> Detector {
    Detector {
        name,
        label,
        feature: Feature::Runs(column),
        model: Model::Categorical,
        unit: Unit::Run,
        weight: 0.9,
        adjust: Adjust::None,
        mitre: SUPPLY_CHAIN,
        evidence: Evidence::OfRuns,
    }
}

const HOUR_EXPR: &str = "CASE WHEN extract(dow FROM event_time) IN (0, 6) THEN 'weekend' ELSE 'weekday' END \
    || ' ' || lpad(CAST(CAST(extract(hour FROM event_time) AS INT) AS VARCHAR), 2, '0') || 'h'";

/// Every baseline detector, in the order `detect` runs them.
pub const DETECTORS: &[Detector] = &[
    // Who the calls come from: the identity at the root of each session chain.
    dimension(
        "principal",
        "origin_type || ':' || origin",
        "origin identity",
        1.0,
        CLOUD_ACCOUNTS,
    ),
    dimension(
        "credential",
        "credential_type",
        "credential type",
        1.0,
        CLOUD_ACCOUNTS,
    ),
    Detector {
        adjust: Adjust::Production(1.25),
        ..dimension(
            "environment",
            "coalesce(target_env, 'account:' || coalesce(recipient_account_id, user_account_id))",
            "environment",
            1.0,
            CLOUD_ACCOUNTS,
        )
    },
    dimension(
        "region",
        "aws_region",
        "region",
        0.9,
        ("T1535", "Unused/Unsupported Cloud Regions"),
    ),
    // The /16 of IPv4, the /48 of IPv6, service names as they are.
    dimension(
        "network",
        "ip_network(source_ip_address)",
        "network",
        0.9,
        CLOUD_ACCOUNTS,
    ),
    Detector {
        adjust: Adjust::ReadsOnly(0.75),
        ..dimension(
            "api",
            "event_source || ':' || event_name",
            "API",
            0.8,
            ("T1106", "Native API"),
        )
    },
    // Hour of day on weekdays and on weekends (UTC).
    Detector {
        model: Model::Hours,
        ..dimension("hour", HOUR_EXPR, "hour", 0.85, CLOUD_ACCOUNTS)
    },
    Detector {
        name: "volume",
        label: "calls per run",
        feature: Feature::Volume,
        model: Model::Volume,
        unit: Unit::RunOrHour,
        weight: 0.9,
        adjust: Adjust::None,
        mitre: ("T1526", "Cloud Service Discovery"),
        evidence: Evidence::Matching {
            expr: VOLUME_UNIT,
            extra: "",
        },
    },
    Detector {
        name: "errors",
        label: "AccessDenied per run",
        feature: Feature::Volume,
        model: Model::Errors,
        unit: Unit::RunOrHour,
        weight: 0.9,
        adjust: Adjust::None,
        mitre: ("T1580", "Cloud Infrastructure Discovery"),
        evidence: Evidence::Matching {
            expr: VOLUME_UNIT,
            extra: DENIED,
        },
    },
    runs("builds:actor", "actor", "triggering actor"),
    runs("builds:branch", "branch", "branch"),
    runs("builds:trigger", "trigger", "trigger"),
    runs("builds:runner_kind", "runner_kind", "runner kind"),
    // The hour each run started, from the CI's own records: a workflow dispatched at 03:00
    // shows here when the pipeline makes no cloud call at all, and when its runs last so long
    // that their calls cover every hour.
    Detector {
        model: Model::Hours,
        ..runs("builds:hour", "start_hour", "start hour")
    },
];

/// The feature query files.
pub const DIMENSION_SQL: (&str, &str) = (
    "queries/detect/dimension.sql",
    include_str!("../../queries/detect/dimension.sql"),
);
/// The judged days of every detector over `pipeline_events` in one scan (with the history from
/// the daily profiles).
pub const JUDGED_SQL: (&str, &str) = (
    "queries/detect/judged.sql",
    include_str!("../../queries/detect/judged.sql"),
);
/// The secret reads of a span, one row per call (`${secret_reads}`).
pub const SECRET_READS_SQL: (&str, &str) = (
    "queries/detect/secret_reads.sql",
    include_str!("../../queries/detect/secret_reads.sql"),
);
/// Each identity's secrets per hour of the history, from the events (`${secret_history}`).
pub const SECRET_HOURS_SQL: (&str, &str) = (
    "queries/detect/secret_hours.sql",
    include_str!("../../queries/detect/secret_hours.sql"),
);
/// Calls and AccessDenied per unit.
pub const VOLUME_SQL: (&str, &str) = (
    "queries/detect/volume.sql",
    include_str!("../../queries/detect/volume.sql"),
);
/// The pipelines' refused calls of a span, each with its unit's refused calls in the five
/// minutes up to it (`${refused}`: [`refused_sql`]).
pub const REFUSED_SQL: (&str, &str) = (
    "queries/detect/refused.sql",
    include_str!("../../queries/detect/refused.sql"),
);
/// Each pipeline unit's most AccessDenied within five minutes (the rate `errors` judges too).
pub const ERROR_PEAKS_SQL: (&str, &str) = (
    "queries/detect/error_peaks.sql",
    include_str!("../../queries/detect/error_peaks.sql"),
);
/// One row per run.
pub const BUILDS_SQL: (&str, &str) = (
    "queries/detect/builds.sql",
    include_str!("../../queries/detect/builds.sql"),
);
/// One row per run and check: `checks_bypassed` ([`super::checks`]).
pub const CHECKS_SQL: (&str, &str) = (
    "queries/detect/checks.sql",
    include_str!("../../queries/detect/checks.sql"),
);
/// Calls a pipeline's identity made that attribution placed in no run ([`super::activity`]).
pub const OUTSIDE_RUNS_SQL: (&str, &str) = (
    "queries/detect/outside_runs.sql",
    include_str!("../../queries/detect/outside_runs.sql"),
);
/// Every run's span and number ([`super::activity`]).
pub const RUN_SPANS_SQL: (&str, &str) = (
    "queries/detect/run_spans.sql",
    include_str!("../../queries/detect/run_spans.sql"),
);
/// The calls of the runs (`${run_calls}` of checks.sql and run_spans.sql).
pub const RUN_CALLS_SQL: (&str, &str) = (
    "queries/detect/run_calls.sql",
    include_str!("../../queries/detect/run_calls.sql"),
);
/// Each pipeline's calls per day of the window (`pipeline_silent`).
pub const PIPELINE_DAYS_SQL: (&str, &str) = (
    "queries/detect/pipeline_days.sql",
    include_str!("../../queries/detect/pipeline_days.sql"),
);
/// Each subject's calls and data reads per active hour (`burst`).
pub const HOURLY_SQL: (&str, &str) = (
    "queries/detect/hourly.sql",
    include_str!("../../queries/detect/hourly.sql"),
);
/// The calls of a burst's hour, by API.
pub const BURST_EVIDENCE_SQL: (&str, &str) = (
    "queries/detect/burst_evidence.sql",
    include_str!("../../queries/detect/burst_evidence.sql"),
);
/// The evidence of a [`Evidence::Matching`] finding.
pub const EVIDENCE_SQL: (&str, &str) = (
    "queries/detect/evidence.sql",
    include_str!("../../queries/detect/evidence.sql"),
);
/// The session chain of each evidence event (an incident tie).
pub const SESSION_CHAINS_SQL: (&str, &str) = (
    "queries/detect/session_chains.sql",
    include_str!("../../queries/detect/session_chains.sql"),
);
/// The evidence of an [`Evidence::OfRuns`] finding.
pub const RUN_EVIDENCE_SQL: (&str, &str) = (
    "queries/detect/run_evidence.sql",
    include_str!("../../queries/detect/run_evidence.sql"),
);

/// Every detector that counts `pipeline_events` with its value, as SQL list items: the
/// categorical detectors with their dimensions (`'api'`, `CAST(event_source || ':' || event_name
/// AS VARCHAR)`), `volume` with its unit and `hourly` with the hour. What a query that counts
/// every detector in one scan unnests (`${detectors}` and `${values}`: the daily profile,
/// [`JUDGED_SQL`]).
pub fn detector_lists() -> (Vec<String>, Vec<String>) {
    let (mut names, mut values): (Vec<String>, Vec<String>) = DETECTORS
        .iter()
        .filter_map(|d| match d.feature {
            Feature::Dimension(expr) => {
                Some((format!("'{}'", d.name), format!("CAST({expr} AS VARCHAR)")))
            }
            _ => None,
        })
        .unzip();
    names.push("'volume'".into());
    values.push(format!("CAST({VOLUME_UNIT} AS VARCHAR)"));
    names.push("'hourly'".into());
    values.push("CAST(date_trunc('hour', event_time) AS VARCHAR)".into());
    (names, values)
}

/// `sql` (a query that counts every detector in one scan) with its lists of detectors and values
/// (`${detectors}`, `${values}`: [`detector_lists`]), the shared definitions and `more` filled;
/// the window's placeholders are left.
pub fn with_detector_lists(sql: &str, more: &[(&str, &str)]) -> String {
    let (names, values) = detector_lists();
    let (names, values) = (names.join(", "), values.join(", "));
    let mut all: Vec<(&str, &str)> = vec![("detectors", &names), ("values", &values)];
    all.extend_from_slice(more);
    crate::bundled::fill_with(&with_shared(sql), &all)
}

/// [`REFUSED_SQL`] with its unit (the volume unit, [`VOLUME_UNIT`]) and shared definitions
/// filled (the window's placeholders are left).
pub fn refused_sql() -> String {
    crate::bundled::fill_with(&with_shared(REFUSED_SQL.1), &[("unit", VOLUME_UNIT)])
}

/// [`ERROR_PEAKS_SQL`] with its refused calls filled (the window's placeholders are left).
pub fn error_peaks_sql() -> String {
    crate::bundled::fill_with(ERROR_PEAKS_SQL.1, &[("refused", &refused_sql())])
}

/// [`JUDGED_SQL`] with its lists and shared definitions filled (the window's placeholders and
/// `${all_subjects}` are left).
pub fn judged_sql() -> String {
    with_detector_lists(JUDGED_SQL.1, &[])
}

impl Detector {
    /// The feature query's name (for errors and lint) and its SQL, placeholders other than the
    /// window's filled.
    pub fn feature_sql(&self) -> (String, String) {
        match self.feature {
            Feature::Dimension(expr) => (
                format!("{} ({})", DIMENSION_SQL.0, self.name),
                crate::bundled::fill_with(DIMENSION_SQL.1, &[("value", expr)]),
            ),
            Feature::Volume => (
                VOLUME_SQL.0.to_string(),
                crate::bundled::fill_with(&with_shared(VOLUME_SQL.1), &[("unit", VOLUME_UNIT)]),
            ),
            Feature::Runs(_) => (BUILDS_SQL.0.to_string(), BUILDS_SQL.1.to_string()),
        }
    }

    /// The score multiplier for one departure.
    pub fn weight_of(&self, value: &str, writes: u64) -> f64 {
        self.weight
            * match self.adjust {
                Adjust::None => 1.0,
                Adjust::ReadsOnly(m) if writes == 0 => m,
                Adjust::Production(m)
                    if crate::attribute::pipelines::canonical_env(value) == Some("prod") =>
                {
                    m
                }
                _ => 1.0,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_techniques_named() {
        let mut names: Vec<&str> = DETECTORS.iter().map(|d| d.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), DETECTORS.len());
        for d in DETECTORS {
            assert!(
                d.mitre.0.starts_with('T') && !d.mitre.1.is_empty(),
                "{}",
                d.name
            );
            assert!(d.weight > 0.0 && d.weight <= 1.5, "{}", d.name);
            assert!(!d.feature_sql().1.contains("${value}"), "{}", d.name);
        }
    }

    #[test]
    fn weights_follow_the_departure() {
        let api = DETECTORS.iter().find(|d| d.name == "api").unwrap();
        assert_eq!(api.weight_of("s3:GetObject", 0), 0.8 * 0.75);
        assert_eq!(api.weight_of("s3:PutObject", 3), 0.8);
        let env = DETECTORS.iter().find(|d| d.name == "environment").unwrap();
        assert_eq!(env.weight_of("prod", 1), 1.25);
        assert_eq!(env.weight_of("staging", 1), 1.0);
    }
}
