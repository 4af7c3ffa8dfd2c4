//! Rule detectors: single events always worth a look (the SEC11-BP07 anti-patterns), each a SQL
//! file in `queries/rules/` with a header:
//!
//! ```sql
//! -- rule: cloudtrail_tampering
//! -- severity: critical
//! -- score: 95
//! -- mitre: T1562.008 Impair Defenses: Disable or Modify Cloud Logs
//! -- explain: CloudTrail logging was stopped, deleted or narrowed in {value}: {details}
//! SELECT event_id, event_time, pipeline_id, environment, run_id, value, detail, actor [, score]
//! ```
//!
//! Rows are grouped by pipeline and `value`; `{value}`, `{details}` (distinct `detail`s),
//! `{count}` and `{actors}` fill the explanation.

/// A rule as read from its file.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Name (`rule:`), the detector name of its findings.
    pub name: String,
    /// Default score.
    pub score: u32,
    /// MITRE technique id and name.
    pub mitre: (String, String),
    /// Explanation template.
    pub explain: String,
    /// The query.
    pub sql: String,
    /// Where it came from.
    pub file: &'static str,
}

/// The bundled rules.
pub const RULE_FILES: &[(&str, &str)] = &[
    (
        "queries/rules/cloudtrail_tampering.sql",
        include_str!("../../queries/rules/cloudtrail_tampering.sql"),
    ),
    (
        "queries/rules/pipeline_role_broadened.sql",
        include_str!("../../queries/rules/pipeline_role_broadened.sql"),
    ),
    (
        "queries/rules/pipeline_definition_changed.sql",
        include_str!("../../queries/rules/pipeline_definition_changed.sql"),
    ),
    (
        "queries/rules/build_project_public.sql",
        include_str!("../../queries/rules/build_project_public.sql"),
    ),
    (
        "queries/rules/environment_not_allowed.sql",
        include_str!("../../queries/rules/environment_not_allowed.sql"),
    ),
    (
        "queries/rules/root_activity.sql",
        include_str!("../../queries/rules/root_activity.sql"),
    ),
    (
        "queries/rules/console_login_without_mfa.sql",
        include_str!("../../queries/rules/console_login_without_mfa.sql"),
    ),
    (
        "queries/rules/access_key_created.sql",
        include_str!("../../queries/rules/access_key_created.sql"),
    ),
    (
        "queries/rules/long_term_key_use.sql",
        include_str!("../../queries/rules/long_term_key_use.sql"),
    ),
    (
        "queries/rules/integrity.sql",
        include_str!("../../queries/rules/integrity.sql"),
    ),
];

/// Reads a header field (`-- key: value`).
pub fn header<'a>(sql: &'a str, key: &str) -> Option<&'a str> {
    sql.lines()
        .take_while(|l| l.starts_with("--") || l.trim().is_empty())
        .find_map(|l| {
            l.trim_start_matches('-')
                .trim()
                .strip_prefix(key)
                .and_then(|r| r.strip_prefix(':'))
                .map(str::trim)
        })
}

/// Splits `T1234.001 Name of it` into id and name.
pub fn mitre(s: &str) -> (String, String) {
    let (id, name) = s.split_once(' ').unwrap_or((s, ""));
    (id.to_string(), name.trim().to_string())
}

/// Parses the bundled rules.
pub fn rules() -> Vec<Rule> {
    RULE_FILES
        .iter()
        .map(|(file, sql)| Rule {
            name: header(sql, "rule").unwrap_or(file).to_string(),
            score: header(sql, "score")
                .and_then(|s| s.parse().ok())
                .unwrap_or(50),
            mitre: mitre(header(sql, "mitre").unwrap_or("")),
            explain: header(sql, "explain").unwrap_or("{value}").to_string(),
            sql: sql.to_string(),
            file,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_complete_header() {
        for r in rules() {
            assert!(!r.name.contains('/'), "{}: no rule name", r.file);
            assert!(r.mitre.0.starts_with('T'), "{}: mitre", r.file);
            assert!(r.explain.contains("{value}"), "{}: explain", r.file);
            assert!(r.score > 0 && r.score <= 100, "{}: score", r.file);
        }
    }
}
