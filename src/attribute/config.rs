//! `pipewarden.toml`: optional refinements of what attribution discovers by itself.
//!
//! ```toml
//! # Account → environment. Wins over everything learned from the evidence.
//! [accounts]
//! "111111111111" = "tooling"
//! "444444444444" = "prod"
//!
//! # Role ARN patterns → environment, for accounts shared by several environments.
//! [[environments]]
//! role = "arn:aws:iam::*:role/*-prod-*"
//! env = "prod"
//!
//! # A named pipeline and how to recognise its calls (any one match is enough).
//! [[pipelines]]
//! id = "web-deploy"                          # the pipeline_id findings will show
//! roles = ["arn:aws:iam::*:role/gha-deploy-web"]
//! oidc_subjects = ["repo:acme/web:*"]
//! iam_users = ["jenkins-ci"]                 # user names or ARNs
//! build_projects = ["payments-build"]        # CodeBuild projects, CodePipeline names, Jenkins jobs
//! repos = ["acme/web"]                       # GitHub repositories, GitLab project paths
//! allowed_environments = ["staging", "prod"]
//! required_checks = ["test", "security-scan"]  # must pass before any deploy (else learned)
//! ```
//!
//! Patterns use `*` for any run of characters and match the whole value. Unknown keys are errors,
//! reported with the file, line and column.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Account id → environment.
    #[serde(default)]
    pub accounts: BTreeMap<String, String>,
    /// Role patterns → environment.
    #[serde(default)]
    pub environments: Vec<EnvRule>,
    /// Named pipelines.
    #[serde(default)]
    pub pipelines: Vec<PipelineRule>,
}

/// A role pattern that names an environment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvRule {
    /// Role ARN pattern.
    pub role: String,
    /// Environment name.
    pub env: String,
}

/// A named pipeline and its matchers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineRule {
    /// The pipeline id to use.
    pub id: String,
    /// Role ARN patterns (any role in the session chain).
    #[serde(default)]
    pub roles: Vec<String>,
    /// OIDC subject patterns.
    #[serde(default)]
    pub oidc_subjects: Vec<String>,
    /// IAM user names or ARNs (patterns).
    #[serde(default)]
    pub iam_users: Vec<String>,
    /// Build projects, CodePipeline names, Jenkins jobs (patterns on the discovered pipeline's name).
    #[serde(default)]
    pub build_projects: Vec<String>,
    /// Repositories or project paths (patterns).
    #[serde(default)]
    pub repos: Vec<String>,
    /// Environments this pipeline may deploy to.
    #[serde(default)]
    pub allowed_environments: Vec<String>,
    /// Checks (job, stage or action names, matrix suffixes ignored) that must pass before a
    /// deploy; when given, they replace the ones `checks_bypassed` learns from history.
    #[serde(default)]
    pub required_checks: Vec<String>,
}

/// A config file that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error at byte `offset` of `text` (the file's contents), located as line and column.
    pub fn at(text: &str, file: &str, offset: usize, message: String) -> ConfigError {
        let before = &text[..offset.min(text.len())];
        ConfigError {
            file: file.to_string(),
            line: before.matches('\n').count() + 1,
            column: before
                .rsplit('\n')
                .next()
                .map(|l| l.chars().count())
                .unwrap_or(0)
                + 1,
            message,
        }
    }
}

impl Config {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses config text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let at = |offset: usize, message: String| ConfigError::at(text, file, offset, message);
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            at(offset, e.message().trim().to_string())
        })?;
        // Semantic checks, located at the offending value.
        let find = |needle: &str| text.find(needle).unwrap_or(0);
        for (acct, env) in &cfg.accounts {
            if acct.len() != 12 || !acct.bytes().all(|b| b.is_ascii_digit()) {
                return Err(at(
                    find(acct),
                    format!("account {acct:?} is not a 12-digit AWS account id"),
                ));
            }
            if env.trim().is_empty() {
                return Err(at(find(acct), format!("account {acct}: empty environment")));
            }
        }
        let mut ids = std::collections::HashSet::new();
        for p in &cfg.pipelines {
            if p.id.trim().is_empty() {
                return Err(at(
                    find("[[pipelines]]"),
                    "a pipeline has an empty id".into(),
                ));
            }
            if !ids.insert(p.id.clone()) {
                return Err(at(
                    find(&format!("\"{}\"", p.id)),
                    format!("pipeline id {:?} is declared twice", p.id),
                ));
            }
            if p.roles.is_empty()
                && p.oidc_subjects.is_empty()
                && p.iam_users.is_empty()
                && p.build_projects.is_empty()
                && p.repos.is_empty()
            {
                return Err(at(
                    find(&format!("\"{}\"", p.id)),
                    format!(
                        "pipeline {:?} has no matcher (roles, oidc_subjects, iam_users, build_projects or repos)",
                        p.id
                    ),
                ));
            }
        }
        Ok(cfg)
    }

    /// The environment the config gives an account.
    pub fn account_env(&self, account: &str) -> Option<&str> {
        self.accounts.get(account).map(String::as_str)
    }

    /// The environment a role ARN pattern gives.
    pub fn role_env(&self, role_arn: &str) -> Option<&str> {
        self.environments
            .iter()
            .find(|r| glob(&r.role, role_arn))
            .map(|r| r.env.as_str())
    }
}

/// Whether `value` matches `pattern`, where `*` matches any run of characters (case-sensitive,
/// whole value).
pub fn glob(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == value;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !value.starts_with(first) || !value[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &value[first.len()..value.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("repo:acme/web:*", "repo:acme/web:ref:refs/heads/main"));
        assert!(glob(
            "arn:aws:iam::*:role/*-prod-*",
            "arn:aws:iam::1:role/app-prod-deploy"
        ));
        assert!(!glob(
            "arn:aws:iam::*:role/*-prod-*",
            "arn:aws:iam::1:role/app-dev-deploy"
        ));
        assert!(glob("*", "anything"));
        assert!(glob("a*a", "aa"));
        assert!(!glob("a*a", "a"));
        assert!(glob("exact", "exact") && !glob("exact", "exactly"));
    }

    #[test]
    fn good_config() {
        let c = Config::parse(
            r#"
[accounts]
"444444444444" = "prod"

[[environments]]
role = "arn:aws:iam::*:role/*-staging"
env = "staging"

[[pipelines]]
id = "web"
roles = ["arn:aws:iam::*:role/gha-deploy-web"]
allowed_environments = ["staging", "prod"]
"#,
            "pipewarden.toml",
        )
        .unwrap();
        assert_eq!(c.account_env("444444444444"), Some("prod"));
        assert_eq!(
            c.role_env("arn:aws:iam::1:role/app-staging"),
            Some("staging")
        );
        assert_eq!(c.pipelines[0].allowed_environments, ["staging", "prod"]);
    }

    #[test]
    fn errors_name_file_line_and_problem() {
        let e = Config::parse("[accounts]\n\"4444\" = \"prod\"\n", "p.toml").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("p.toml", 2), "{e}");
        assert!(e.message.contains("12-digit"), "{e}");
        let e =
            Config::parse("[[pipelines]]\nid = \"x\"\nrolez = [\"a\"]\n", "p.toml").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("rolez"), "{e}");
        let e = Config::parse("[[pipelines]]\nid = \"x\"\n", "p.toml").unwrap_err();
        assert!(e.message.contains("no matcher"), "{e}");
        let e = Config::parse("[accounts\n", "p.toml").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
    }
}
