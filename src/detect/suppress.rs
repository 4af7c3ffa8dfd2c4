//! Suppressions: known and accepted findings, kept and marked, never dropped.
//!
//! ```toml
//! [[suppress]]
//! detector = "long_term_key_use"            # required
//! pipeline = "jenkins:ci.example.com/*"     # pattern; any pipeline when absent
//! value = "arn:aws:iam::*:user/jenkins"     # pattern; any value when absent
//! expires = "2026-12-31"                    # required: no suppression lives forever
//! reason = "migrating Jenkins to OIDC, TICKET-123"   # required
//! ```
//!
//! An expired suppression no longer applies and is reported as a warning.

use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::attribute::config::{ConfigError, glob};

/// The file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppressions {
    /// The rules.
    #[serde(default)]
    pub suppress: Vec<Suppression>,
}

/// One suppression.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// Detector name.
    pub detector: String,
    /// Pipeline pattern.
    pub pipeline: Option<String>,
    /// Value pattern.
    pub value: Option<String>,
    /// Last day it applies (inclusive).
    pub expires: String,
    /// Why.
    pub reason: String,
}

impl Suppressions {
    /// Reads and checks a suppressions file.
    pub fn load(path: &Path) -> Result<Suppressions, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read: {e}"),
        })?;
        let at = |offset: usize, message: String| ConfigError::at(&text, &file, offset, message);
        let s: Suppressions = toml::from_str(&text).map_err(|e| {
            at(
                e.span().map(|s| s.start).unwrap_or(0),
                e.message().trim().into(),
            )
        })?;
        for x in &s.suppress {
            if NaiveDate::parse_from_str(&x.expires, "%Y-%m-%d").is_err() {
                return Err(at(
                    text.find(&x.expires).unwrap_or(0),
                    format!("expires {:?} is not YYYY-MM-DD", x.expires),
                ));
            }
            if x.reason.trim().is_empty() {
                return Err(at(
                    text.find(&x.detector).unwrap_or(0),
                    "a suppression needs a reason".into(),
                ));
            }
        }
        Ok(s)
    }

    /// The suppression that applies to a finding on `today`, and the expired ones that would have.
    pub fn find(
        &self,
        detector: &str,
        pipeline: Option<&str>,
        value: &str,
        today: NaiveDate,
    ) -> (Option<&Suppression>, Vec<&Suppression>) {
        let mut expired = vec![];
        for s in &self.suppress {
            let hit = s.detector == detector
                && s.pipeline
                    .as_deref()
                    .is_none_or(|p| pipeline.is_some_and(|x| glob(p, x)))
                && s.value.as_deref().is_none_or(|v| glob(v, value));
            if !hit {
                continue;
            }
            let until = NaiveDate::parse_from_str(&s.expires, "%Y-%m-%d").expect("checked");
            if today <= until {
                return (Some(s), expired);
            }
            expired.push(s);
        }
        (None, expired)
    }
}
