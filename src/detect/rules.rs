//! Rule detectors: single events always worth a look (the SEC11-BP07 anti-patterns), each a SQL
//! file in `queries/rules/` (every file there is a rule: the build script lists them) with a
//! typed header whose keys are all required:
//!
//! ```sql
//! -- rule: cloudtrail_tampering
//! -- severity: critical
//! -- score: 95
//! -- mitre: T1562.008 Impair Defenses: Disable or Modify Cloud Logs
//! -- explain: CloudTrail logging was stopped, deleted or narrowed in ${value}: ${details}
//! SELECT event_id, event_time, pipeline_id, environment, run_id, value, detail, actor [, score]
//! ```
//!
//! `severity` is the severity of the default `score` (rows may carry their own `score`);
//! `pipewarden lint` checks that they agree. The SQL may use the window placeholders
//! ([`super::plan::Window::fill`]). Rows are grouped by pipeline and `value`; `${value}`,
//! `${details}` (distinct `detail`s), `${count}` and `${actors}` fill the explanation.

use crate::bundled::{header, mitre};

use super::plan::WINDOW_PLACEHOLDERS;

/// History a rule may read besides the window's placeholders, filled by detect from the events
/// or from the daily profiles: `${secret_reads}` (the window's secret reads, one row per call)
/// and `${secret_history}` (each identity's secrets per hour before the window).
pub const HISTORY_PLACEHOLDERS: &[&str] = &["secret_reads", "secret_history"];
use crate::findings::{Severity, Technique};

/// A rule as read from its file.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Name (`rule:`), the detector name of its findings.
    pub name: String,
    /// The severity of the default score.
    pub severity: Severity,
    /// Default score.
    pub score: u32,
    /// MITRE technique.
    pub mitre: Technique,
    /// Explanation template.
    pub explain: String,
    /// The query.
    pub sql: String,
    /// Where it came from.
    pub file: String,
}

/// A rule file whose header is not usable.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct RuleError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

/// The header keys a rule must have.
pub const REQUIRED: &[&str] = &["rule", "severity", "score", "mitre", "explain"];

/// The placeholders an explanation may use.
pub const EXPLAIN_PLACEHOLDERS: &[&str] = &["value", "details", "count", "actors"];

impl Rule {
    /// Reads and checks a rule's header.
    pub fn parse(file: &str, sql: &str) -> Result<Rule, RuleError> {
        let err = |reason: String| RuleError {
            file: file.to_string(),
            reason,
        };
        for k in REQUIRED {
            if header(sql, k).is_none_or(str::is_empty) {
                return Err(err(format!("header has no `-- {k}:`")));
            }
        }
        let get = |k: &str| header(sql, k).unwrap_or_default();
        let name = get("rule").to_string();
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(err(format!(
                "rule name {name:?} must be letters, digits and underscores"
            )));
        }
        let severity = Severity::parse(get("severity")).ok_or_else(|| {
            err(format!(
                "severity {:?} is not one of info, low, medium, high, critical",
                get("severity")
            ))
        })?;
        let score: u32 = get("score")
            .parse()
            .ok()
            .filter(|s| (1..=100).contains(s))
            .ok_or_else(|| err(format!("score {:?} is not 1 to 100", get("score"))))?;
        if Severity::of(score) != severity {
            return Err(err(format!(
                "severity {} does not match score {score} (which is {})",
                severity.as_str(),
                Severity::of(score).as_str()
            )));
        }
        let (id, tname) = mitre(get("mitre"));
        if !id.starts_with('T') || tname.is_empty() {
            return Err(err(format!(
                "mitre {:?} is not `T#### Technique name`",
                get("mitre")
            )));
        }
        let explain = get("explain").to_string();
        for used in crate::bundled::placeholders(&format!("\n{explain}")) {
            if !EXPLAIN_PLACEHOLDERS.contains(&used.as_str()) {
                return Err(err(format!(
                    "explain uses ${{{used}}}; it may use {}",
                    EXPLAIN_PLACEHOLDERS
                        .iter()
                        .map(|p| format!("${{{p}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        if !explain.contains("${value}") {
            return Err(err("explain does not name ${value}".into()));
        }
        for used in crate::bundled::placeholders(sql) {
            if !WINDOW_PLACEHOLDERS.contains(&used.as_str())
                && !HISTORY_PLACEHOLDERS.contains(&used.as_str())
                && !super::catalog::SHARED_PLACEHOLDERS.contains(&used.as_str())
            {
                return Err(err(format!(
                    "uses ${{{used}}}, which is not a window, history or shared placeholder"
                )));
            }
        }
        Ok(Rule {
            name,
            severity,
            score,
            mitre: Technique { id, name: tname },
            explain,
            sql: sql.to_string(),
            file: file.to_string(),
        })
    }
}

/// Every bundled rule (`queries/rules/*.sql`), in file order.
pub fn rules() -> Result<Vec<Rule>, RuleError> {
    crate::bundled::RULES
        .iter()
        .map(|(file, sql)| Rule::parse(file, sql))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_complete_header() {
        let rules = rules().unwrap();
        assert!(rules.len() >= 10, "{}", rules.len());
        for r in rules {
            assert!(!r.name.is_empty(), "{}: no rule name", r.file);
        }
    }

    #[test]
    fn rule_headers_are_typed() {
        let ok = "-- rule: r\n-- severity: high\n-- score: 70\n-- mitre: T1 X\n-- explain: ${value}\nSELECT 1";
        Rule::parse("r.sql", ok).unwrap();
        for (bad, says) in [
            (ok.replace("-- score: 70\n", ""), "no `-- score:`"),
            (
                ok.replace("score: 70", "score: 90"),
                "does not match score 90",
            ),
            (
                ok.replace("severity: high", "severity: loud"),
                "severity \"loud\"",
            ),
            (ok.replace("mitre: T1 X", "mitre: X"), "mitre"),
            (ok.replace("${value}", "${valeu}"), "${valeu}"),
            (ok.replace("SELECT 1", "SELECT ${days}"), "${days}"),
        ] {
            let e = Rule::parse("r.sql", &bad).unwrap_err().to_string();
            assert!(e.contains(says) && e.starts_with("r.sql: "), "{e}");
        }
    }
}
