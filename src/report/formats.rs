//! Machine formats of a detect report: JSON, NDJSON, CSV, OCSF Detection Finding, AWS Security
//! Hub ASFF; and Markdown for people.

use serde_json::{Value, json};

use super::escape;
use crate::findings::{Finding, Incident, Kind, Report, Severity};

/// The report as one JSON document (`pipewarden.findings/v1`).
pub fn json(r: &Report) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(r).expect("serialisable");
    v.push(b'\n');
    v
}

/// One finding per line, each with the schema version.
pub fn ndjson(r: &Report) -> Vec<u8> {
    let mut out = vec![];
    for f in &r.findings {
        let mut v = serde_json::to_value(f).expect("serialisable");
        v["schema"] = json!(crate::findings::SCHEMA_VERSION);
        v["window_start"] = json!(r.window_start);
        v["window_end"] = json!(r.window_end);
        serde_json::to_writer(&mut out, &v).expect("serialisable");
        out.push(b'\n');
    }
    out
}

/// CSV columns.
pub const CSV_COLUMNS: &[&str] = &[
    "rank",
    "id",
    "score",
    "severity",
    "detector",
    "kind",
    "pipeline_id",
    "value",
    "environments",
    "run_ids",
    "first_seen",
    "last_seen",
    "count",
    "mitre_id",
    "mitre_name",
    "suppressed",
    "explanation",
    "event_ids",
    "incident_id",
    "session_chains",
];

/// CSV with a header; every field neutralised against formula injection.
pub fn csv(r: &Report) -> Vec<u8> {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for f in &r.findings {
        let fields = [
            f.rank.to_string(),
            f.id.clone(),
            f.score.to_string(),
            f.severity.as_str().to_string(),
            f.detector.clone(),
            f.kind.to_string(),
            f.pipeline_id.clone().unwrap_or_default(),
            f.value.clone(),
            f.environments.join(" "),
            f.run_ids.join(" "),
            f.first_seen.to_string(),
            f.last_seen.to_string(),
            f.count.to_string(),
            f.mitre.id.clone(),
            f.mitre.name.clone(),
            f.suppressed
                .as_ref()
                .map(|s| s.reason.clone())
                .unwrap_or_default(),
            f.explanation.clone(),
            f.event_ids.join(" "),
            f.incident_id.clone().unwrap_or_default(),
            f.session_chains.join(" "),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|x| escape::csv(x))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// Markdown: a summary table, then one section per finding.
pub fn markdown(r: &Report) -> Vec<u8> {
    let m = escape::markdown;
    let mut out = format!(
        "# pipewarden findings\n\nWindow {} to {}, judged against history from {}. {} finding(s).\n\n",
        m(&r.window_start.to_string()),
        m(&r.window_end.to_string()),
        m(&r.baseline_start.to_string()),
        r.findings.len()
    );
    if !r.incidents.is_empty() {
        out.push_str("## Incidents\n\n| score | severity | findings | detectors | tied by |\n|---|---|---|---|---|\n");
        for i in &r.incidents {
            let ranks = r.incident_ranks(i);
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                i.score,
                i.severity.as_str(),
                ranks.join(" "),
                m(&i.detectors.join(", ")),
                m(&i.why)
            ));
        }
        out.push_str("\n## Findings\n\n");
    }
    out.push_str(
        "| # | score | severity | detector | pipeline | value |\n|---|---|---|---|---|---|\n",
    );
    for f in &r.findings {
        out.push_str(&format!(
            "| {} | {} | {}{} | {} | {} | {} |\n",
            f.rank,
            f.score,
            f.severity.as_str(),
            if f.suppressed.is_some() {
                " (suppressed)"
            } else {
                ""
            },
            m(&f.detector),
            m(f.pipeline_id.as_deref().unwrap_or("-")),
            m(&f.value)
        ));
    }
    for f in &r.findings {
        out.push_str(&format!(
            "\n## {}. {} on {}\n\n{}\n\n- score {} ({}), {} event(s), {} to {}\n- MITRE ATT&CK {} {}\n",
            f.rank,
            m(&f.detector),
            m(f.pipeline_id.as_deref().unwrap_or("no pipeline")),
            m(&f.explanation),
            f.score,
            f.severity.as_str(),
            f.count,
            m(&f.first_seen.to_string()),
            m(&f.last_seen.to_string()),
            m(&f.mitre.id),
            m(&f.mitre.name),
        ));
        if !f.run_ids.is_empty() {
            out.push_str(&format!("- runs: {}\n", m(&f.run_ids.join(", "))));
        }
        if !f.environments.is_empty() {
            out.push_str(&format!(
                "- environments: {}\n",
                m(&f.environments.join(", "))
            ));
        }
        if let Some(s) = &f.suppressed {
            out.push_str(&format!(
                "- suppressed until {}: {}\n",
                m(&s.expires),
                m(&s.reason)
            ));
        }
        let ids: Vec<String> = f.event_ids.iter().take(10).map(|e| m(e)).collect();
        out.push_str(&format!("- evidence: {}\n", ids.join(", ")));
    }
    if !r.insufficient_history.is_empty() {
        out.push_str("\n## Not scored (too little history)\n\n");
        for t in &r.insufficient_history {
            out.push_str(&format!(
                "- {} ({}: {} units)\n",
                m(&t.pipeline_id),
                m(&t.detector),
                t.units
            ));
        }
    }
    out.into_bytes()
}

fn ocsf_severity(s: Severity) -> (i64, &'static str) {
    match s {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// The OCSF versions pipewarden writes, each validated in the tests with `pydantic-ocsf`'s
/// model of that version (and no attribute the version does not define).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum OcsfVersion {
    /// 1.3.0: what Amazon Security Lake custom sources accept.
    V1_3,
    /// 1.4.0.
    V1_4,
    /// 1.5.0: the first with `anomaly_analyses`.
    V1_5,
    /// 1.6.0.
    V1_6,
    /// 1.7.0: the newest the validator covers (the default).
    #[default]
    V1_7,
}

impl OcsfVersion {
    /// Every version, oldest first.
    pub const ALL: [OcsfVersion; 5] = [Self::V1_3, Self::V1_4, Self::V1_5, Self::V1_6, Self::V1_7];

    /// `metadata.version`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1_3 => "1.3.0",
            Self::V1_4 => "1.4.0",
            Self::V1_5 => "1.5.0",
            Self::V1_6 => "1.6.0",
            Self::V1_7 => "1.7.0",
        }
    }

    /// `1.3.0` or `1.3`.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s || v.as_str().strip_suffix(".0") == Some(s))
            .ok_or_else(|| {
                format!(
                    "{s:?}: not an OCSF version pipewarden writes ({})",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }

    /// Whether the Detection Finding has `anomaly_analyses` (OCSF 1.5 on).
    fn has_anomaly_analyses(self) -> bool {
        self >= Self::V1_5
    }
}

/// One OCSF Detection Finding (class 2004) per finding, then one Incident Finding (class 2005)
/// per incident, NDJSON, valid for `version`. Baseline findings carry their baseline in
/// `anomaly_analyses` (1.5 on) or in `unmapped.baseline` (1.3, 1.4, which have no room for it
/// elsewhere); suppressed ones have status Suppressed; a finding in an incident names it in
/// `unmapped.incident_id`, and the incident's `metadata.uid`.
pub fn ocsf(r: &Report, version: OcsfVersion) -> Vec<u8> {
    let mut out = ocsf_findings_only(r, version);
    for i in &r.incidents {
        serde_json::to_writer(&mut out, &ocsf_incident(r, i, version)).expect("serialisable");
        out.push(b'\n');
    }
    out
}

/// Detection Findings only: one OCSF class, as an Amazon Security Lake custom source takes.
pub fn ocsf_findings_only(r: &Report, version: OcsfVersion) -> Vec<u8> {
    let mut out = vec![];
    for f in &r.findings {
        serde_json::to_writer(&mut out, &ocsf_finding(r, f, version)).expect("serialisable");
        out.push(b'\n');
    }
    out
}

/// A finding's `finding_info`: in its Detection Finding, and in the `finding_info_list` of its
/// incident.
fn ocsf_finding_info(r: &Report, f: &Finding) -> Value {
    json!({
        "uid": f.id,
        "title": format!("{}: {}", f.detector, f.value),
        "desc": f.explanation,
        "types": [f.detector, f.kind],
        "first_seen_time": f.first_seen.millis(),
        "last_seen_time": f.last_seen.millis(),
        "created_time": r.window_end.millis(),
        "analytic": {"uid": f.detector, "name": f.detector, "type_id": if f.kind == Kind::Rule { 1 } else { 3 }, "type": if f.kind == Kind::Rule { "Rule" } else { "Statistical" }},
        "attacks": [{"technique": {"uid": f.mitre.id, "name": f.mitre.name}, "version": "15"}],
        "related_events": f.event_ids.iter().map(|e| json!({"uid": e})).collect::<Vec<_>>(),
    })
}

/// One incident as an OCSF Incident Finding (class 2005, in every version pipewarden writes):
/// its findings' `finding_info` in `finding_info_list`, their techniques once each in `attacks`,
/// its combined score as confidence, and impact and priority from its severity.
pub(crate) fn ocsf_incident(r: &Report, i: &Incident, version: OcsfVersion) -> Value {
    let (sev_id, sev) = ocsf_severity(i.severity);
    let (level_id, level) = match i.severity {
        Severity::Info | Severity::Low => (1, "Low"),
        Severity::Medium => (2, "Medium"),
        Severity::High => (3, "High"),
        Severity::Critical => (4, "Critical"),
    };
    let members: Vec<&Finding> = i
        .finding_ids
        .iter()
        .filter_map(|id| r.findings.iter().find(|f| &f.id == id))
        .collect();
    let mut attacks: Vec<Value> = vec![];
    for f in &members {
        let a = json!({"technique": {"uid": f.mitre.id, "name": f.mitre.name}, "version": "15"});
        if !attacks.contains(&a) {
            attacks.push(a);
        }
    }
    let desc = format!(
        "{} findings ({}), tied by {}",
        members.len(),
        i.detectors.join(", "),
        i.why
    );
    json!({
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2005,
        "class_name": "Incident Finding",
        "type_uid": 200501,
        "type_name": "Incident Finding: Create",
        "time": i.last_seen.millis(),
        "start_time": i.first_seen.millis(),
        "end_time": i.last_seen.millis(),
        "severity_id": sev_id,
        "severity": sev,
        "status_id": 1,
        "status": "New",
        "confidence_score": i.score,
        "impact_id": level_id,
        "impact": level,
        "priority_id": level_id,
        "priority": level,
        "verdict_id": 4,
        "verdict": "Suspicious",
        "desc": desc,
        "message": desc,
        "count": members.len(),
        "metadata": {
            "version": version.as_str(),
            "product": {"name": "pipewarden", "vendor_name": "pipewarden", "version": env!("CARGO_PKG_VERSION")},
            "uid": i.id,
            "correlation_uid": i.id,
        },
        "attacks": attacks,
        "finding_info_list": members.iter().map(|f| ocsf_finding_info(r, f)).collect::<Vec<_>>(),
        "unmapped": {
            "pipelines": i.pipelines,
            "detectors": i.detectors,
            "finding_ids": i.finding_ids,
            "why": i.why,
        },
    })
}

pub(crate) fn ocsf_finding(r: &Report, f: &Finding, version: OcsfVersion) -> Value {
    let (sev_id, sev) = ocsf_severity(f.severity);
    let (status_id, status) = if f.suppressed.is_some() {
        (3, "Suppressed")
    } else {
        (1, "New")
    };
    let first = f.first_seen.millis();
    let last = f.last_seen.millis();
    let mut v = json!({
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "time": last,
        "severity_id": sev_id,
        "severity": sev,
        "status_id": status_id,
        "status": status,
        "confidence_score": f.score,
        "risk_score": f.score,
        "count": f.count,
        "message": f.explanation,
        "metadata": {
            "version": version.as_str(),
            "product": {"name": "pipewarden", "vendor_name": "pipewarden", "version": env!("CARGO_PKG_VERSION")},
            "uid": f.id,
            "correlation_uid": f.pipeline_id,
        },
        "finding_info": ocsf_finding_info(r, f),
        "unmapped": {
            "pipeline_id": f.pipeline_id,
            "value": f.value,
            "environments": f.environments,
            "run_ids": f.run_ids,
            "rank": f.rank,
            "incident_id": f.incident_id,
            "session_chains": f.session_chains,
        },
    });
    if let Some(b) = &f.baseline
        && !version.has_anomaly_analyses()
    {
        v["unmapped"]["baseline"] = json!({
            "observation_parameter": f.detector,
            "value_units": b.value_units,
            "units": b.units,
            "days": b.days,
            "distinct_values": b.distinct_values,
            "start_time": r.baseline_start.millis(),
            "end_time": r.window_start.millis(),
            "observed_pattern": format!("{} of {} units over {} days, {} distinct values", b.value_units, b.units, b.days, b.distinct_values),
        });
    } else if let Some(b) = &f.baseline {
        v["anomaly_analyses"] = json!([{
            "analysis_targets": [{
                "name": f.pipeline_id.as_deref().unwrap_or(&f.subject),
                "type": if f.pipeline_id.is_some() { "pipeline" } else { "identity" },
            }],
            "anomalies": [{
                "observation_parameter": f.detector,
                "observation_type": "value",
                "observations": [{"value": f.value, "count": f.count, "timespan": {"start_time": first, "end_time": last}}],
                "observed_pattern": f.explanation,
            }],
            "baselines": [{
                "observation_parameter": f.detector,
                "observation_type": "frequency",
                "observations": [{"value": f.value, "count": b.value_units, "timespan": {"start_time": r.baseline_start.millis(), "end_time": r.window_start.millis()}}],
                "observed_pattern": format!("{} of {} units over {} days, {} distinct values", b.value_units, b.units, b.days, b.distinct_values),
            }],
        }]);
    }
    if let Some(s) = &f.suppressed {
        v["status_detail"] = json!(format!("suppressed until {}: {}", s.expires, s.reason));
    }
    v
}

/// Security Hub's limits on a finding's fields (ASFF, "Required top-level attributes" and
/// "Optional top-level attributes"; `Resources` and the `Other` details object). They are stated
/// in characters; pipewarden cuts at bytes, between characters, which keeps within them however
/// they are counted. Log text fills most of these fields, so every one is cut.
pub mod asff_limits {
    /// `Id`, `GeneratorId`.
    pub const ID: usize = 512;
    /// `Title`.
    pub const TITLE: usize = 256;
    /// `Description`.
    pub const DESCRIPTION: usize = 1024;
    /// `Resources[].Id`: not stated; kept to an ARN's usual bound (the whole value is in
    /// `Details.Other.pipeline_id`, cut to its own limit).
    pub const RESOURCE_ID: usize = 512;
    /// A value of `Resources[].Details.Other` ("fewer than 1,024 characters").
    pub const OTHER_VALUE: usize = 1023;
    /// A value of `ProductFields`.
    pub const PRODUCT_FIELD_VALUE: usize = 2048;
    /// Pairs in `ProductFields` or `Details.Other`.
    pub const PAIRS: usize = 50;
}

/// `s` cut to `max` bytes between characters; a blank value (Security Hub wants a non-space
/// character) becomes `blank`.
fn asff_text(s: &str, max: usize, blank: &str) -> String {
    let s = crate::sanitize::cut(s, max);
    if s.trim().is_empty() {
        blank.to_string()
    } else {
        s.to_string()
    }
}

/// Space-separated `items`, as many whole ones as fit in `max` bytes.
fn asff_list(items: &[String], max: usize) -> String {
    let mut out = String::new();
    for it in items {
        let add = it.len() + usize::from(!out.is_empty());
        if out.len() + add > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(it);
    }
    out
}

/// AWS Security Hub findings (ASFF), as a JSON array ready for BatchImportFindings; every field
/// within [`asff_limits`].
pub fn asff(r: &Report, account: &str, region: &str) -> Vec<u8> {
    let findings: Vec<Value> = r
        .findings
        .iter()
        .map(|f| asff_finding(r, f, account, region))
        .collect();
    let mut v = serde_json::to_vec_pretty(&findings).expect("serialisable");
    v.push(b'\n');
    v
}

/// One finding in ASFF. Its `Id` is the finding's stable id, so a finding seen again updates
/// the one Security Hub holds; severity is also in `FindingProviderFields`, the field Security
/// Hub takes a provider's later severity from.
pub fn asff_finding(r: &Report, f: &Finding, account: &str, region: &str) -> Value {
    use asff_limits as lim;
    let product = format!("arn:aws:securityhub:{region}:{account}:product/{account}/default");
    let label = match f.severity {
        Severity::Info => "INFORMATIONAL",
        Severity::Low => "LOW",
        Severity::Medium => "MEDIUM",
        Severity::High => "HIGH",
        Severity::Critical => "CRITICAL",
    };
    let title = asff_text(
        &format!("pipewarden {}: {}", f.detector, f.value),
        lim::TITLE,
        "pipewarden",
    );
    let desc = asff_text(&f.explanation, lim::DESCRIPTION, "pipewarden finding");
    let pipeline = f.pipeline_id.clone().unwrap_or_default();
    // The other findings of its incident, by their ASFF ids (at most 10).
    let related: Vec<Value> = r
        .incidents
        .iter()
        .filter(|i| f.incident_id.as_deref() == Some(i.id.as_str()))
        .flat_map(|i| i.finding_ids.iter().filter(|id| **id != f.id))
        .take(10)
        .map(|id| json!({"ProductArn": product, "Id": asff_text(id, lim::ID, "pipewarden")}))
        .collect();
    let mut v = json!({
        "SchemaVersion": "2018-10-08",
        "Id": asff_text(&f.id, lim::ID, "pipewarden"),
        "ProductArn": product,
        "ProductName": "pipewarden",
        "CompanyName": "pipewarden",
        "GeneratorId": asff_text(&format!("pipewarden/{}", f.detector), lim::ID, "pipewarden"),
        "AwsAccountId": account,
        "Types": [format!("TTPs/{}", f.mitre.name.split(':').next().unwrap_or("Unusual Behaviors").trim()), "Unusual Behaviors/Application"],
        "FirstObservedAt": f.first_seen,
        "LastObservedAt": f.last_seen,
        "CreatedAt": r.window_end,
        "UpdatedAt": r.window_end,
        "Severity": {"Label": label, "Normalized": f.score},
        "Confidence": f.score,
        "Title": title,
        "Description": desc,
        "Resources": [{
            "Type": "Other",
            "Id": asff_text(&pipeline, lim::RESOURCE_ID, "no-pipeline"),
            "Region": region,
            "Details": {"Other": {
                "pipeline_id": asff_text(&pipeline, lim::OTHER_VALUE, "none"),
                "value": asff_text(&f.value, lim::OTHER_VALUE, "none"),
                "runs": asff_list(&f.run_ids, lim::OTHER_VALUE),
                "environments": asff_list(&f.environments, lim::OTHER_VALUE),
            }},
        }],
        "RecordState": "ACTIVE",
        "Workflow": {"Status": if f.suppressed.is_some() { "SUPPRESSED" } else { "NEW" }},
        "FindingProviderFields": {"Severity": {"Label": label, "Original": f.score.to_string()}},
        "ProductFields": {
            "pipewarden/rank": f.rank.to_string(),
            "pipewarden/mitre": asff_text(&f.mitre.id, lim::PRODUCT_FIELD_VALUE, "none"),
            "pipewarden/events": asff_list(&f.event_ids[..f.event_ids.len().min(20)], lim::PRODUCT_FIELD_VALUE),
        },
    });
    if let Some(i) = &f.incident_id {
        v["ProductFields"]["pipewarden/incident"] =
            json!(asff_text(i, lim::PRODUCT_FIELD_VALUE, "none"));
    }
    if !related.is_empty() {
        v["RelatedFindings"] = json!(related);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Technique, Time};

    /// A report of the one finding `f`, its times at the epoch.
    fn report_of(f: Finding) -> Report {
        Report {
            schema: crate::findings::SCHEMA_VERSION,
            window_start: Time::from_micros(0),
            window_end: Time::from_micros(0),
            baseline_start: Time::from_micros(0),
            findings: vec![f],
            insufficient_history: vec![],
            expired_suppressions: vec![],
            incidents: vec![],
        }
    }

    /// Regression: ASFF's Title and Description were cut at byte 256 and 1024 with
    /// `String::truncate`, which panics inside a multi-byte character (exit 101, no report).
    #[test]
    fn asff_cuts_titles_and_descriptions_between_characters() {
        let f = Finding {
            id: "pw-1".into(),
            rank: 1,
            detector: "builds:branch".into(),
            kind: Kind::Baseline,
            pipeline_id: Some("github:acme/web".into()),
            // A branch name crossing byte 256 (and an explanation byte 1024) inside a character.
            value: format!("feature/x{}", "\u{6f22}".repeat(120)),
            environments: vec![],
            run_ids: vec![],
            first_seen: Time::from_micros(0),
            last_seen: Time::from_micros(0),
            count: 1,
            score: 90,
            severity: Severity::Critical,
            mitre: Technique {
                id: "T1".into(),
                name: "X".into(),
            },
            event_ids: vec![],
            explanation: format!("e{}", "\u{e9}\u{1f600}".repeat(300)),
            baseline: None,
            suppressed: None,
            session_chains: vec![],
            incident_id: None,
            subject: String::new(),
        };
        let r = report_of(f);
        let v: Value = serde_json::from_slice(&asff(&r, "123456789012", "us-east-1")).unwrap();
        let title = v[0]["Title"].as_str().unwrap();
        let desc = v[0]["Description"].as_str().unwrap();
        assert!(title.len() <= 256 && title.len() > 250, "{}", title.len());
        assert!(desc.len() <= 1024 && desc.len() > 1018, "{}", desc.len());
        assert!(title.starts_with("pipewarden builds:branch: feature/x\u{6f22}"));
    }

    /// Regression (hardening, also weak): Security Hub's field limits were not applied, so a
    /// long pipeline id, value, run or event list (log text, all of them) made a finding that
    /// BatchImportFindings refuses.
    #[test]
    fn asff_fields_stay_within_security_hubs_limits() {
        use asff_limits as lim;
        let long = |n: usize| "\u{e9}".repeat(n);
        let f = Finding {
            id: "pw-2".into(),
            rank: 1,
            detector: "network".into(),
            kind: Kind::Baseline,
            pipeline_id: Some(format!("github:{}", long(2000))),
            value: long(3000),
            environments: (0..400).map(|i| format!("env-{i}")).collect(),
            run_ids: (0..400).map(|i| format!("run-{i}-{}", long(10))).collect(),
            first_seen: Time::from_micros(0),
            last_seen: Time::from_micros(0),
            count: 1,
            score: 50,
            severity: Severity::Medium,
            mitre: Technique {
                id: "T1078".into(),
                name: "Valid Accounts".into(),
            },
            event_ids: (0..40).map(|_| long(300)).collect(),
            explanation: " ".repeat(5000),
            baseline: None,
            suppressed: None,
            session_chains: vec![],
            incident_id: None,
            subject: String::new(),
        };
        let r = report_of(f);
        let v: Value = serde_json::from_slice(&asff(&r, "123456789012", "us-east-1")).unwrap();
        let f = &v[0];
        let len = |p: &str| f.pointer(p).and_then(Value::as_str).unwrap().len();
        assert!(len("/Resources/0/Id") <= lim::RESOURCE_ID);
        for k in ["pipeline_id", "value", "runs", "environments"] {
            let n = len(&format!("/Resources/0/Details/Other/{k}"));
            assert!(n > 0 && n <= lim::OTHER_VALUE, "{k}: {n}");
        }
        let events = f
            .pointer("/ProductFields/pipewarden~1events")
            .and_then(Value::as_str)
            .unwrap();
        assert!(events.len() <= lim::PRODUCT_FIELD_VALUE && !events.is_empty());
        // Whole items only: a list never ends inside an id.
        assert!(events.split(' ').all(|e| e.len() == "\u{e9}".len() * 300));
        // A blank description gets a non-blank placeholder (Security Hub wants a non-space).
        assert_eq!(f["Description"], "pipewarden finding");
        assert!(f.as_object().unwrap().len() < 30);
        assert!(f["ProductFields"].as_object().unwrap().len() <= lim::PAIRS);
    }
}
