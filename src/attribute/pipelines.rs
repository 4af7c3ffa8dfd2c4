//! Pipelines and environments: which pipeline (and run) each session belongs to, discovered from
//! the evidence, refined by `pipewarden.toml`.
//!
//! For a session whose parent belongs to a pipeline, the answer is the parent's (a role chain
//! stays in its pipeline). For the root of a chain, in this order:
//!
//! 1. `pipewarden.toml`: a pipeline whose `roles`, `oidc_subjects`, `iam_users` or `repos` match
//!    the chain.
//! 2. A run named in the session: a run id in the session name or source identity (CodeBuild's
//!    `AWSCodeBuild-<build uuid>`, `GitLabRunner-<pipeline id>`, `gh-<run id>`, `jenkins-<number>`)
//!    that is a run of `runs` active at the time.
//! 3. The OIDC subject: GitHub `repo:<owner>/<repo>:...` is the repository's workflow with a run
//!    active at the time (or its only workflow; `github:<owner>/<repo>` when no build records say
//!    more); GitLab `project_path:<path>:...` is `gitlab:<path>`, its active run the run.
//! 4. An AWS service role: CodeBuild and CodePipeline sessions go to the pipeline of that system
//!    in the role's account whose name is in the role name, or the one active at the time.
//! 5. Learned principals: an IAM user whose sessions link to one pipeline's runs (a CI system's
//!    user) is that pipeline's everywhere; a role whose attributed sessions (at least two) all go
//!    to one pipeline gives it the sessions it is used in that nothing else claimed.
//!
//! Pipelines found only in CloudTrail get ids from their evidence: `github:<owner>/<repo>`,
//! `gitlab:<path>`, `role:<account>:<role name>`.
//!
//! Environments: a session's own evidence is, in order, a `pipewarden.toml` role pattern, the
//! OIDC `environment` claim, the linked run's deployment environment, and the role's name
//! (`prod`, `production`, `staging`, `stage`, `dev`, `development`, `test`, `qa` as a word). An
//! account's environment is `pipewarden.toml`'s, else the majority of its sessions' evidence
//! (claims count 3, run environments 2, role names 1). An event's target environment is its
//! account's, else its session's.

use std::collections::{BTreeMap, HashMap};

use super::config::{Config, glob};
use super::lineage::{OriginType, Session};

/// One run, as the `runs` view gives it.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    /// CI system.
    pub system: String,
    /// Pipeline id.
    pub pipeline_id: String,
    /// Pipeline name.
    pub pipeline_name: Option<String>,
    /// Repository or project path.
    pub repository: Option<String>,
    /// Run id.
    pub run_id: String,
    /// Start (µs).
    pub start: i64,
    /// End (µs), or the last event's time.
    pub end: i64,
    /// Deployment environment.
    pub environment: Option<String>,
    /// AWS account (CodeBuild, CodePipeline).
    pub account: Option<String>,
}

/// What attribution decided for one session.
#[derive(Debug, Clone, Default)]
pub struct Link {
    /// Pipeline id.
    pub pipeline_id: Option<String>,
    /// Run id.
    pub run_id: Option<String>,
    /// Which rule decided (`config`, `run`, `oidc`, `service_role`, `parent`, `iam_user`, `role`).
    pub by: Option<&'static str>,
    /// The session's own environment evidence.
    pub env: Option<String>,
    /// Where that came from (`config`, `oidc_claim`, `run`, `role_name`).
    pub env_by: Option<&'static str>,
}

/// Everything attribution learned.
#[derive(Debug, Default)]
pub struct Attribution {
    /// One link per session, in the order of the sessions.
    pub links: Vec<Link>,
    /// Principal ARN (IAM user or role) → pipeline, learned or configured.
    pub principals: BTreeMap<String, (String, &'static str)>,
    /// Account → (environment, source, weight).
    pub accounts: BTreeMap<String, (String, &'static str, u32)>,
    /// Pipelines seen only in CloudTrail: id → (system, name).
    pub discovered: BTreeMap<String, (String, String)>,
}

/// A canonical environment name for a word (`production` → `prod`).
pub fn canonical_env(word: &str) -> Option<&'static str> {
    match word.to_ascii_lowercase().as_str() {
        "prod" | "production" | "prd" | "live" => Some("prod"),
        "staging" | "stage" | "stg" | "preprod" => Some("staging"),
        "dev" | "development" => Some("dev"),
        "test" | "testing" | "qa" => Some("test"),
        "sandbox" => Some("sandbox"),
        _ => None,
    }
}

/// The environment a role's name implies (`deploy-prod`, `ProdDeployRole` does not count: only
/// whole words separated by `-`, `_`, `.` or `/`).
pub fn env_from_role_name(role: &str) -> Option<&'static str> {
    role.split(['-', '_', '.', '/', '+', '='])
        .find_map(canonical_env)
}

/// `(kind, subject fields)` of an OIDC subject: GitHub `repo:o/r:environment:prod` or
/// `repo:o/r:ref:refs/heads/main`; GitLab `project_path:g/p:ref_type:branch:ref:main`.
#[derive(Debug, Default, PartialEq)]
pub struct Subject {
    /// `github` or `gitlab` (or `None` for other providers).
    pub system: Option<&'static str>,
    /// Repository or project path.
    pub repo: Option<String>,
    /// The `environment` claim.
    pub environment: Option<String>,
    /// The ref (`refs/heads/main`, or a branch name for GitLab).
    pub git_ref: Option<String>,
}

/// Parses an OIDC subject claim.
pub fn parse_subject(sub: &str) -> Subject {
    let mut out = Subject::default();
    let parts: Vec<&str> = sub.split(':').collect();
    let mut i = 0;
    while i + 1 < parts.len() {
        let (k, v) = (parts[i], parts[i + 1]);
        match k {
            "repo" => {
                out.system = Some("github");
                out.repo = Some(v.to_string());
            }
            "project_path" => {
                out.system = Some("gitlab");
                out.repo = Some(v.to_string());
            }
            "environment" => out.environment = Some(v.to_string()),
            "ref" => {
                // A GitHub ref is `refs/heads/x`; it holds no `:`, so one part is enough.
                out.git_ref = Some(v.to_string());
            }
            _ => {}
        }
        i += 2;
    }
    out
}

/// Tokens of a session name that may be run ids: the whole name, UUIDs, digit runs of 3 or more,
/// and what follows the last `-`.
fn run_tokens(name: &str) -> Vec<String> {
    let mut out = vec![name.to_string()];
    if let Some((_, tail)) = name.rsplit_once(['-', '_', '@']) {
        out.push(tail.to_string());
    }
    // UUIDs (8-4-4-4-12 hex) anywhere.
    let b = name.as_bytes();
    for start in 0..b.len() {
        if b.len() - start >= 36 {
            let cand = &name[start..start + 36];
            let ok = cand.char_indices().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            });
            if ok {
                out.push(cand.to_string());
            }
        }
    }
    let mut cur = String::new();
    for c in name.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            cur.push(c);
        } else {
            if cur.len() >= 3 {
                out.push(cur.clone());
            }
            cur.clear();
        }
    }
    out.sort();
    out.dedup();
    out
}

/// How long before its start and after its end a run may still make calls.
const SLACK_US: i64 = 15 * 60 * 1_000_000;

struct RunIndex<'a> {
    runs: &'a [RunInfo],
    by_token: HashMap<String, Vec<usize>>,
    by_repo: HashMap<(&'a str, &'a str), Vec<usize>>,
}

impl<'a> RunIndex<'a> {
    fn new(runs: &'a [RunInfo]) -> Self {
        let mut by_token: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_repo: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        for (i, r) in runs.iter().enumerate() {
            by_token.entry(r.run_id.clone()).or_default().push(i);
            // CodeBuild: `<project>:<uuid>`; the session name holds the uuid.
            if let Some((_, uuid)) = r.run_id.rsplit_once(':') {
                by_token.entry(uuid.to_string()).or_default().push(i);
            }
            if let Some(repo) = &r.repository {
                by_repo.entry((&r.system, repo)).or_default().push(i);
            }
        }
        RunIndex {
            runs,
            by_token,
            by_repo,
        }
    }

    fn active(&self, i: usize, t: i64) -> bool {
        let r = &self.runs[i];
        t >= r.start - SLACK_US && t <= r.end.max(r.start) + SLACK_US
    }

    /// The candidate active at `t` whose start is closest before it.
    fn best(&self, cands: impl Iterator<Item = usize>, t: i64) -> Option<usize> {
        cands
            .filter(|&i| self.active(i, t))
            .min_by_key(|&i| ((t - self.runs[i].start).abs(), i))
    }
}

/// Links sessions to pipelines and runs, and learns principals and account environments.
pub fn attribute(sessions: &[Session], runs: &[RunInfo], cfg: &Config) -> Attribution {
    let idx = RunIndex::new(runs);
    let mut links = link_sessions(sessions, &idx, cfg);
    let mut out = Attribution::default();
    claim_by_users(sessions, &mut links, cfg, &mut out);
    claim_by_roles(sessions, &mut links, &mut out);
    account_envs(sessions, &links, cfg, &mut out);
    // Pipelines only CloudTrail knows.
    let known: std::collections::HashSet<&str> =
        runs.iter().map(|r| r.pipeline_id.as_str()).collect();
    for l in &links {
        if let Some(p) = &l.pipeline_id
            && !known.contains(p.as_str())
        {
            let system = p.split(':').next().unwrap_or("").to_string();
            let name = p.rsplit([':', '/']).next().unwrap_or(p).to_string();
            out.discovered.entry(p.clone()).or_insert((system, name));
        }
    }
    out.links = links;
    out
}

/// Each session's pipeline, run and environment evidence. Sessions come in time order, so a
/// parent is linked before its children, which inherit its link.
fn link_sessions(sessions: &[Session], idx: &RunIndex, cfg: &Config) -> Vec<Link> {
    let mut links: Vec<Link> = Vec::with_capacity(sessions.len());
    for s in sessions {
        let mut l = Link::default();
        if let Some(p) = s.parent
            && let Some(pl) = links.get(p)
            && pl.pipeline_id.is_some()
        {
            l.pipeline_id = pl.pipeline_id.clone();
            l.run_id = pl.run_id.clone();
            l.by = Some("parent");
        }
        if l.pipeline_id.is_none() {
            link_root(s, idx, cfg, &mut l);
        }
        // Environment evidence of this session.
        let subject = s.oidc_subject.as_deref().map(parse_subject);
        let role_arn = s.issued.role_arn.as_deref().unwrap_or("");
        if let Some(e) = cfg.role_env(role_arn) {
            (l.env, l.env_by) = (Some(e.to_string()), Some("config"));
        } else if let Some(e) = subject.as_ref().and_then(|s| s.environment.clone()) {
            let e = canonical_env(&e).map(str::to_string).unwrap_or(e);
            (l.env, l.env_by) = (Some(e), Some("oidc_claim"));
        } else if let Some(e) = l
            .run_id
            .as_ref()
            .and_then(|r| run_env(idx, l.pipeline_id.as_deref(), r))
        {
            (l.env, l.env_by) = (Some(e), Some("run"));
        } else if let Some(e) = s.issued.role_name().and_then(env_from_role_name) {
            (l.env, l.env_by) = (Some(e.to_string()), Some("role_name"));
        }
        links.push(l);
    }
    links
}

/// IAM users whose sessions link to runs (or that `pipewarden.toml` names) belong to that
/// pipeline, and so do their unclaimed sessions.
fn claim_by_users(sessions: &[Session], links: &mut [Link], cfg: &Config, out: &mut Attribution) {
    let mut user_votes: HashMap<&str, HashMap<&str, u32>> = HashMap::new();
    for (s, l) in sessions.iter().zip(links.iter()) {
        if s.origin_type == OriginType::IamUser
            && matches!(l.by, Some("run") | Some("config"))
            && let Some(p) = &l.pipeline_id
        {
            *user_votes
                .entry(&s.origin)
                .or_default()
                .entry(p)
                .or_default() += 1;
        }
    }
    for (user, votes) in &user_votes {
        if let Some((p, _)) = majority(votes, 0.9) {
            out.principals
                .insert(user.to_string(), (p.to_string(), "iam_user"));
        }
    }
    for rule in &cfg.pipelines {
        for u in &rule.iam_users {
            if !u.contains('*') && u.starts_with("arn:") {
                out.principals
                    .insert(u.clone(), (rule.id.clone(), "config"));
            }
        }
    }
    for (s, l) in sessions.iter().zip(links.iter_mut()) {
        if l.pipeline_id.is_none()
            && s.origin_type == OriginType::IamUser
            && let Some((p, _)) = out.principals.get(&s.origin)
        {
            l.pipeline_id = Some(p.clone());
            l.by = Some("iam_user");
        }
    }
}

/// Roles used by one pipeline give it their otherwise unclaimed sessions.
fn claim_by_roles(sessions: &[Session], links: &mut [Link], out: &mut Attribution) {
    let mut role_votes: HashMap<&str, HashMap<&str, u32>> = HashMap::new();
    for (s, l) in sessions.iter().zip(links.iter()) {
        if let (Some(r), Some(p)) = (&s.issued.role_arn, &l.pipeline_id) {
            *role_votes.entry(r).or_default().entry(p).or_default() += 1;
        }
    }
    let mut role_owner: HashMap<String, String> = HashMap::new();
    for (role, votes) in &role_votes {
        let total: u32 = votes.values().sum();
        if total >= 2
            && let Some((p, _)) = majority(votes, 0.9)
        {
            role_owner.insert(role.to_string(), p.to_string());
            out.principals
                .entry(role.to_string())
                .or_insert((p.to_string(), "role"));
        }
    }
    for (s, l) in sessions.iter().zip(links.iter_mut()) {
        if l.pipeline_id.is_none()
            && let Some(p) = s.issued.role_arn.as_ref().and_then(|r| role_owner.get(r))
        {
            l.pipeline_id = Some(p.clone());
            l.by = Some("role");
        }
    }
}

/// Account environments: configured, else the weighted majority of the sessions' evidence.
fn account_envs(sessions: &[Session], links: &[Link], cfg: &Config, out: &mut Attribution) {
    let mut votes: HashMap<String, HashMap<String, u32>> = HashMap::new();
    for (s, l) in sessions.iter().zip(links) {
        let (Some(acct), Some(env)) = (s.issued.account(), &l.env) else {
            continue;
        };
        let w = match l.env_by {
            Some("config") => 10,
            Some("oidc_claim") => 3,
            Some("run") => 2,
            _ => 1,
        };
        *votes
            .entry(acct.to_string())
            .or_default()
            .entry(env.clone())
            .or_default() += w;
    }
    for (acct, v) in &votes {
        let mut best: Vec<(&String, &u32)> = v.iter().collect();
        best.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        if let Some((e, w)) = best.first() {
            out.accounts
                .insert(acct.clone(), ((*e).clone(), "learned", **w));
        }
    }
    for (acct, env) in &cfg.accounts {
        out.accounts
            .insert(acct.clone(), (env.clone(), "config", 0));
    }
}

fn majority<'a>(votes: &HashMap<&'a str, u32>, share: f64) -> Option<(&'a str, u32)> {
    let total: u32 = votes.values().sum();
    let (p, n) = votes
        .iter()
        .max_by_key(|(p, n)| (**n, std::cmp::Reverse(**p)))?;
    (total > 0 && *n as f64 / total as f64 >= share).then_some((p, *n))
}

fn run_env(idx: &RunIndex, pipeline: Option<&str>, run_id: &str) -> Option<String> {
    let cands = idx.by_token.get(run_id)?;
    cands
        .iter()
        .map(|&i| &idx.runs[i])
        .find(|r| pipeline.is_none_or(|p| p == r.pipeline_id))
        .and_then(|r| r.environment.clone())
        .filter(|e| e != "none")
        .map(|e| canonical_env(&e).map(str::to_string).unwrap_or(e))
}

/// A run's pipeline id, or the id `pipewarden.toml` gives it (`build_projects`, `repos`).
fn alias(cfg: &Config, run: &RunInfo) -> String {
    cfg.pipelines
        .iter()
        .find(|rule| {
            rule.build_projects
                .iter()
                .any(|p| run.pipeline_name.as_deref().is_some_and(|n| glob(p, n)))
                || rule
                    .repos
                    .iter()
                    .any(|p| run.repository.as_deref().is_some_and(|r| glob(p, r)))
        })
        .map(|rule| rule.id.clone())
        .unwrap_or_else(|| run.pipeline_id.clone())
}

fn link_root(s: &Session, idx: &RunIndex, cfg: &Config, l: &mut Link) {
    let subject = s.oidc_subject.as_deref().map(parse_subject);
    let repo = subject.as_ref().and_then(|x| x.repo.clone());
    by_config(s, cfg, repo.as_deref(), l);
    if by_run_name(s, idx, cfg, repo.as_deref(), l) {
        return;
    }
    if let Some(sub) = &subject
        && by_oidc_subject(s, sub, idx, cfg, l)
    {
        return;
    }
    if s.origin_type == OriginType::AwsService {
        by_service_role(s, idx, cfg, l);
    }
}

/// Step 1, `pipewarden.toml`: a pipeline whose roles, OIDC subjects, IAM users or repositories
/// match the session's (a run can still be found afterwards).
fn by_config(s: &Session, cfg: &Config, repo: Option<&str>, l: &mut Link) {
    for rule in &cfg.pipelines {
        let role_hit = rule
            .roles
            .iter()
            .any(|p| s.issued.role_arn.as_deref().is_some_and(|r| glob(p, r)));
        let sub_hit = rule
            .oidc_subjects
            .iter()
            .any(|p| s.oidc_subject.as_deref().is_some_and(|x| glob(p, x)));
        let user_hit = s.origin_type == OriginType::IamUser
            && rule
                .iam_users
                .iter()
                .any(|p| glob(p, &s.origin) || glob(p, s.origin.rsplit('/').next().unwrap_or("")));
        let repo_hit = rule.repos.iter().any(|p| repo.is_some_and(|r| glob(p, r)));
        if role_hit || sub_hit || user_hit || repo_hit {
            l.pipeline_id = Some(rule.id.clone());
            l.by = Some("config");
            break;
        }
    }
}

/// Step 2: a run named in the session name or source identity (of the OIDC subject's repository,
/// when there is one). Whether it found one.
fn by_run_name(
    s: &Session,
    idx: &RunIndex,
    cfg: &Config,
    repo: Option<&str>,
    l: &mut Link,
) -> bool {
    let mut names: Vec<&str> = vec![];
    names.extend(s.issued.session_name.as_deref());
    names.extend(s.issued.source_identity.as_deref());
    let mut cands = vec![];
    for n in names {
        for tok in run_tokens(n) {
            if let Some(v) = idx.by_token.get(&tok) {
                cands.extend(v.iter().copied());
            }
        }
    }
    cands.sort_unstable();
    cands.dedup();
    if let Some(r) = repo {
        let same: Vec<usize> = cands
            .iter()
            .copied()
            .filter(|&i| idx.runs[i].repository.as_deref() == Some(r))
            .collect();
        if !same.is_empty() {
            cands = same;
        }
    }
    let Some(i) = idx.best(cands.into_iter(), s.issued.time) else {
        return false;
    };
    let run = &idx.runs[i];
    if l.pipeline_id.is_none() {
        l.pipeline_id = Some(alias(cfg, run));
        l.by = Some("run");
    }
    l.run_id = Some(run.run_id.clone());
    true
}

/// Step 3: the OIDC subject's repository: its run active now, else its pipeline. Whether the
/// subject named one.
fn by_oidc_subject(s: &Session, sub: &Subject, idx: &RunIndex, cfg: &Config, l: &mut Link) -> bool {
    let t = s.issued.time;
    if let (Some(system), Some(repo)) = (sub.system, &sub.repo) {
        let runs = idx.by_repo.get(&(system, repo.as_str()));
        let active = runs.and_then(|v| idx.best(v.iter().copied(), t));
        let pipeline = match (system, active) {
            (_, Some(i)) => {
                l.run_id = Some(idx.runs[i].run_id.clone());
                alias(cfg, &idx.runs[i])
            }
            ("gitlab", None) => format!("gitlab:{repo}"),
            (_, None) => {
                // The repository's only workflow, if the build records know just one.
                let mut ids: Vec<&str> = runs
                    .map(|v| {
                        v.iter()
                            .map(|&i| idx.runs[i].pipeline_id.as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                ids.sort_unstable();
                ids.dedup();
                match ids.as_slice() {
                    [one] => one.to_string(),
                    _ => format!("github:{repo}"),
                }
            }
        };
        if l.pipeline_id.is_none() {
            l.pipeline_id = Some(pipeline);
            l.by = Some("oidc");
        }
        return true;
    }
    false
}

/// Step 4: an AWS service role (CodeBuild, CodePipeline): the pipeline whose name is in the role
/// name, else the one active now.
fn by_service_role(s: &Session, idx: &RunIndex, cfg: &Config, l: &mut Link) {
    let t = s.issued.time;
    let service = s.origin.as_str();
    let system = if service.starts_with("codebuild") {
        "codebuild"
    } else if service.starts_with("codepipeline") {
        "codepipeline"
    } else {
        return;
    };
    let account = s.issued.account().unwrap_or("");
    let role = s.issued.role_name().unwrap_or("").to_ascii_lowercase();
    let of_system: Vec<usize> = idx
        .runs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.system == system && r.account.as_deref().is_none_or(|a| a == account))
        .map(|(i, _)| i)
        .collect();
    // The pipeline whose name is in the role name, else the one active now.
    let named: Vec<usize> = of_system
        .iter()
        .copied()
        .filter(|&i| {
            idx.runs[i]
                .pipeline_name
                .as_deref()
                .is_some_and(|n| !n.is_empty() && role.contains(&n.to_ascii_lowercase()))
        })
        .collect();
    let pool = if named.is_empty() { &of_system } else { &named };
    let chosen = idx.best(pool.iter().copied(), t).or_else(|| {
        // A named pipeline with no run at this time is still the pipeline.
        named.first().copied()
    });
    match chosen {
        Some(i) => {
            let run = &idx.runs[i];
            if l.pipeline_id.is_none() {
                l.pipeline_id = Some(alias(cfg, run));
                l.by = Some("service_role");
            }
            if idx.active(i, t) {
                l.run_id = Some(run.run_id.clone());
            }
        }
        None if l.pipeline_id.is_none() => {
            l.pipeline_id = Some(format!(
                "role:{account}:{}",
                s.issued.role_name().unwrap_or("unknown")
            ));
            l.by = Some("service_role");
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects() {
        let s = parse_subject("repo:acme/web:environment:prod");
        assert_eq!(s.system, Some("github"));
        assert_eq!(s.repo.as_deref(), Some("acme/web"));
        assert_eq!(s.environment.as_deref(), Some("prod"));
        let s = parse_subject("repo:acme/web:ref:refs/heads/main");
        assert_eq!(s.git_ref.as_deref(), Some("refs/heads/main"));
        let s = parse_subject("project_path:platform/billing:ref_type:branch:ref:main");
        assert_eq!(s.system, Some("gitlab"));
        assert_eq!(s.repo.as_deref(), Some("platform/billing"));
        assert_eq!(parse_subject("system:serviceaccount:x").system, None);
    }

    #[test]
    fn role_names_and_tokens() {
        assert_eq!(env_from_role_name("deploy-prod"), Some("prod"));
        assert_eq!(env_from_role_name("app_Production_deployer"), Some("prod"));
        assert_eq!(env_from_role_name("ProdDeploy"), None);
        assert_eq!(env_from_role_name("gha-deploy-web"), None);
        let t = run_tokens("AWSCodeBuild-8745a7a9-c340-456a-9166-edf953571bEX");
        assert!(!t.iter().any(|x| x.len() == 36), "EX is not hex: {t:?}");
        let t = run_tokens("AWSCodeBuild-8745a7a9-c340-456a-9166-edf953571b00");
        assert!(t.contains(&"8745a7a9-c340-456a-9166-edf953571b00".to_string()));
        assert!(run_tokens("GitLabRunner-1200286329").contains(&"1200286329".to_string()));
        assert!(run_tokens("jenkins-1443").contains(&"1443".to_string()));
    }
}

/// A call made with a long-term access key (IAM user or root).
#[derive(Debug, Clone)]
pub struct KeyEvent {
    /// The principal's ARN.
    pub principal: String,
    /// The access key id.
    pub key: String,
    /// Source IP (or service name).
    pub ip: String,
    /// When (µs).
    pub time: i64,
}

/// Calls of one long-term key from one address that belong to one pipeline run.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyWindow {
    /// The access key id.
    pub key: String,
    /// Source IP.
    pub ip: String,
    /// First call (µs).
    pub from: i64,
    /// Last call (µs).
    pub to: i64,
    /// Pipeline.
    pub pipeline_id: String,
    /// Run, when one was active.
    pub run_id: Option<String>,
    /// `iam_user` (a learned CI user) or `network_time` (a run of the pipeline was active and the
    /// pipeline's own sessions call from the same network).
    pub by: &'static str,
}

/// The network of an address: the /16 of IPv4, the /48 of IPv6, else the value itself.
pub fn network_of(ip: &str) -> String {
    if let Ok(std::net::IpAddr::V4(v4)) = ip.parse() {
        let o = v4.octets();
        return format!("{}.{}.0.0/16", o[0], o[1]);
    }
    if let Ok(std::net::IpAddr::V6(v6)) = ip.parse() {
        let s = v6.segments();
        return format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]);
    }
    ip.to_string()
}

/// Attributes long-term-key calls: a learned or configured CI user's calls go to its pipeline;
/// other keys' calls go to the one pipeline that had a run active then and whose own sessions
/// call from the same network. Each call also gets the run active at the time.
pub fn attribute_keys(
    events: &[KeyEvent],
    runs: &[RunInfo],
    att: &Attribution,
    networks: &HashMap<String, std::collections::HashSet<String>>,
) -> Vec<KeyWindow> {
    let idx = RunIndex::new(runs);
    let with_sessions: std::collections::HashSet<&str> = att
        .links
        .iter()
        .filter_map(|l| l.run_id.as_deref())
        .collect();
    let mut by_pipeline: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in runs.iter().enumerate() {
        by_pipeline.entry(&r.pipeline_id).or_default().push(i);
    }
    // (key, address, pipeline, run, rule) → first and last call.
    type Group = (String, String, String, Option<String>, &'static str);
    let mut groups: BTreeMap<Group, (i64, i64)> = BTreeMap::new();
    for e in events {
        let (pipeline, by) = match att.principals.get(&e.principal) {
            Some((p, _)) => (p.clone(), "iam_user"),
            None => {
                let net = network_of(&e.ip);
                let mut hits: Vec<&str> = runs
                    .iter()
                    .enumerate()
                    .filter(|(i, r)| {
                        idx.active(*i, e.time)
                            && networks
                                .get(&r.pipeline_id)
                                .is_some_and(|n| n.contains(&net))
                    })
                    .map(|(_, r)| r.pipeline_id.as_str())
                    .collect();
                hits.sort_unstable();
                hits.dedup();
                if hits.len() > 1 {
                    // Prefer runs that got no credentials of their own: the key is how they called.
                    let silent: Vec<&str> = runs
                        .iter()
                        .enumerate()
                        .filter(|(i, r)| {
                            idx.active(*i, e.time)
                                && hits.contains(&r.pipeline_id.as_str())
                                && !with_sessions.contains(r.run_id.as_str())
                        })
                        .map(|(_, r)| r.pipeline_id.as_str())
                        .collect();
                    let mut silent = silent;
                    silent.sort_unstable();
                    silent.dedup();
                    hits = silent;
                }
                match hits.as_slice() {
                    [one] => (one.to_string(), "network_time"),
                    _ => continue,
                }
            }
        };
        let run = by_pipeline
            .get(pipeline.as_str())
            .and_then(|v| idx.best(v.iter().copied(), e.time))
            .map(|i| runs[i].run_id.clone());
        let w = groups
            .entry((e.key.clone(), e.ip.clone(), pipeline, run, by))
            .or_insert((e.time, e.time));
        w.0 = w.0.min(e.time);
        w.1 = w.1.max(e.time);
    }
    let mut out: Vec<KeyWindow> = groups
        .into_iter()
        .map(
            |((key, ip, pipeline_id, run_id, by), (from, to))| KeyWindow {
                key,
                ip,
                from,
                to,
                pipeline_id,
                run_id,
                by,
            },
        )
        .collect();
    // Windows of one key and address must not overlap, or a call would join twice: keep the
    // earlier of two that do.
    out.sort_by(|a, b| (&a.key, &a.ip, a.from).cmp(&(&b.key, &b.ip, b.from)));
    let mut kept: Vec<KeyWindow> = Vec::with_capacity(out.len());
    for w in out {
        if let Some(prev) = kept.last()
            && prev.key == w.key
            && prev.ip == w.ip
            && w.from <= prev.to
        {
            continue;
        }
        kept.push(w);
    }
    kept
}

/// The SQL function `ip_network(ip)`: [`network_of`] (`/16` of IPv4, `/48` of IPv6).
pub fn ip_network_udf() -> datafusion::logical_expr::ScalarUDF {
    use arrow::array::{Array, AsArray, StringArray};
    use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
    create_udf(
        "ip_network",
        vec![arrow::datatypes::DataType::Utf8],
        arrow::datatypes::DataType::Utf8,
        Volatility::Immutable,
        std::sync::Arc::new(|args: &[ColumnarValue]| {
            let a = ColumnarValue::values_to_arrays(args)?;
            let a = arrow::compute::cast(&a[0], &arrow::datatypes::DataType::Utf8)?;
            let s = a.as_string::<i32>();
            let out: StringArray = (0..s.len())
                .map(|i| (!s.is_null(i)).then(|| network_of(s.value(i))))
                .collect();
            Ok(ColumnarValue::Array(std::sync::Arc::new(out)))
        }),
    )
}
