//! How wide a role's trust in an OIDC provider is: who, outside the organisation, can assume a
//! role that trusts GitHub's, GitLab's or any other OIDC issuer's tokens.
//!
//! A trust on `token.actions.githubusercontent.com` with no condition on `sub` lets any workflow
//! of any GitHub repository assume the role; `repo:org/*` lets every repository of the org in,
//! forks' pull requests included where the workflow asks for a token; `repo:org/app:*` lets every
//! branch, tag and pull request of one repository in. The rule `oidc_trust_too_broad` calls
//! [`oidc_trust_breadth`] as a SQL function on the policy documents of `CreateRole` and
//! `UpdateAssumeRolePolicy`. Pure; a document that does not parse gives null.

use serde_json::Value;

/// How wide a trust is, from the widest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Breadth {
    /// Any repository or project of the provider: no `sub` condition, or `*`.
    Anyone,
    /// More than one repository (`repo:org/*`, `repo:*/app:*`).
    ManyRepositories,
    /// Every ref of one repository (branches, tags, pull requests).
    AnyRef,
}

impl Breadth {
    /// The score the rule gives it.
    pub fn score(self) -> u32 {
        match self {
            Breadth::Anyone => 90,
            Breadth::ManyRepositories => 80,
            Breadth::AnyRef => 60,
        }
    }
}

/// The widest problem of a trust policy's OIDC statements, as (breadth, explanation quoting the
/// condition); `None` when every OIDC statement is scoped to one repository and ref (or
/// environment), or the policy trusts no OIDC provider.
pub fn breadth(doc: &str) -> Option<(Breadth, String)> {
    let v = parse_policy(doc)?;
    let statements = match v.get("Statement")? {
        Value::Array(a) => a.clone(),
        o @ Value::Object(_) => vec![o.clone()],
        _ => return None,
    };
    let mut worst: Option<(Breadth, String)> = None;
    for st in &statements {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        if !allows_web_identity(st.get("Action")) {
            continue;
        }
        for provider in federated(st.get("Principal")) {
            let host = provider
                .rsplit_once(":oidc-provider/")
                .map_or(provider.as_str(), |(_, h)| h)
                .trim_end_matches('/')
                .to_string();
            // Cognito identity pools are scoped by `aud` (the pool), not `sub`.
            if host == "cognito-identity.amazonaws.com" || provider.contains("saml-provider/") {
                continue;
            }
            if let Some(p) = judge(&host, st.get("Condition"))
                && worst.as_ref().is_none_or(|w| p.0 < w.0)
            {
                worst = Some(p);
            }
        }
    }
    worst
}

/// [`breadth`]'s explanation, for SQL: `oidc_trust_breadth(policy_document)`.
pub fn oidc_trust_breadth(doc: &str) -> Option<String> {
    breadth(doc).map(|(b, why)| format!("{}: {why}", b.score()))
}

/// A policy document as CloudTrail carries it: JSON, JSON in a string, or URL-encoded JSON.
pub(super) fn parse_policy(doc: &str) -> Option<Value> {
    let t = doc.trim();
    let decoded;
    let t = if t.starts_with('%') {
        decoded = url::form_urlencoded::parse(format!("d={t}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())?;
        decoded.as_str()
    } else {
        t
    };
    match serde_json::from_str::<Value>(t).ok()? {
        Value::String(inner) => serde_json::from_str(&inner).ok(),
        v @ Value::Object(_) => Some(v),
        _ => None,
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

fn allows_web_identity(action: Option<&Value>) -> bool {
    strings(action).iter().any(|a| {
        let l = a.to_ascii_lowercase();
        l == "sts:assumerolewithwebidentity" || l == "sts:*" || l == "*"
    })
}

fn federated(principal: Option<&Value>) -> Vec<String> {
    match principal {
        Some(Value::Object(p)) => strings(p.get("Federated")),
        _ => vec![],
    }
}

/// The `sub` values a statement's conditions allow, each with whether it is a pattern
/// (`StringLike`) and the operator's name, for the quote.
fn sub_conditions(host: &str, cond: Option<&Value>) -> Vec<(String, bool, String)> {
    let key = format!("{host}:sub").to_ascii_lowercase();
    let mut out = vec![];
    let Some(Value::Object(ops)) = cond else {
        return out;
    };
    for (op, kv) in ops {
        let Value::Object(kv) = kv else { continue };
        let base = op.rsplit(':').next().unwrap_or(op).to_ascii_lowercase();
        // Negative operators and null checks do not scope who gets in.
        if base.contains("not") || base == "null" {
            continue;
        }
        let like = base.starts_with("stringlike");
        for (k, v) in kv {
            if k.to_ascii_lowercase() == key {
                for s in strings(Some(v)) {
                    out.push((s, like, op.clone()));
                }
            }
        }
    }
    out
}

fn judge(host: &str, cond: Option<&Value>) -> Option<(Breadth, String)> {
    let subs = sub_conditions(host, cond);
    if subs.is_empty() {
        return Some((
            Breadth::Anyone,
            format!(
                "the trust on {host} has no condition on {host}:sub, so any repository's workflow can assume the role"
            ),
        ));
    }
    let mut worst: Option<(Breadth, String)> = None;
    for (sub, like, op) in subs {
        let b = if like { pattern_breadth(&sub) } else { None };
        if let Some(b) = b {
            let what = match b {
                Breadth::Anyone => "any repository",
                Breadth::ManyRepositories => "more than one repository",
                Breadth::AnyRef => "every branch, tag and pull request of the repository",
            };
            let quote = format!("{op} {host}:sub = {sub:?} lets {what} in");
            if worst.as_ref().is_none_or(|w| b < w.0) {
                worst = Some((b, quote));
            }
        }
    }
    worst
}

/// How wide a `StringLike` pattern on `sub` is; `None` for one repository and one ref or
/// environment.
fn pattern_breadth(sub: &str) -> Option<Breadth> {
    let wild = |s: &str| s.contains('*') || s.contains('?');
    if !wild(sub) {
        return None;
    }
    // GitHub `repo:OWNER/REPO:<context>`, GitLab `project_path:GROUP/PROJECT:ref_type:...:ref:...`.
    let (repo, rest) = if let Some(r) = sub.strip_prefix("repo:") {
        r.split_once(':').unwrap_or((r, ""))
    } else if let Some(r) = sub.strip_prefix("project_path:") {
        r.split_once(':').unwrap_or((r, ""))
    } else {
        return Some(if sub.trim_matches('*').is_empty() {
            Breadth::Anyone
        } else {
            Breadth::ManyRepositories
        });
    };
    if repo.trim_matches(['*', '?', '/']).is_empty() {
        return Some(Breadth::Anyone);
    }
    if wild(repo) {
        return Some(Breadth::ManyRepositories);
    }
    // One repository. A wildcard in an environment name or a branch's name below a fixed
    // prefix (`ref:refs/heads/release/*`) is one family of refs, not every one.
    if rest.is_empty() || rest == "*" || rest.starts_with('*') || rest == "ref:*" {
        return Some(Breadth::AnyRef);
    }
    if let Some(r) = rest.strip_prefix("ref:")
        && (r == "refs/*" || r == "refs/heads/*" || r.starts_with("refs/*"))
    {
        return Some(Breadth::AnyRef);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trust(cond: Value) -> String {
        serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"},
            "Action": "sts:AssumeRoleWithWebIdentity", "Condition": cond}]})
        .to_string()
    }

    const GH: &str = "token.actions.githubusercontent.com";

    #[test]
    fn trust_breadth_table() {
        let aud = serde_json::json!({"StringEquals": {format!("{GH}:aud"): "sts.amazonaws.com"}});
        let like = |s: &str| {
            serde_json::json!({"StringEquals": {format!("{GH}:aud"): "sts.amazonaws.com"},
                "StringLike": {format!("{GH}:sub"): s}})
        };
        let eq = |s: &str| serde_json::json!({"StringEquals": {format!("{GH}:sub"): s}});
        let cases: &[(Value, Option<Breadth>)] = &[
            (aud, Some(Breadth::Anyone)),
            (like("*"), Some(Breadth::Anyone)),
            (like("repo:*"), Some(Breadth::Anyone)),
            (like("repo:acme/*"), Some(Breadth::ManyRepositories)),
            (
                like("repo:acme/*:ref:refs/heads/main"),
                Some(Breadth::ManyRepositories),
            ),
            (like("repo:acme/web:*"), Some(Breadth::AnyRef)),
            (
                like("repo:acme/web:ref:refs/heads/*"),
                Some(Breadth::AnyRef),
            ),
            (like("repo:acme/web:ref:refs/heads/release/*"), None),
            (like("repo:acme/web:environment:prod*"), None),
            (eq("repo:acme/web:ref:refs/heads/main"), None),
            (eq("repo:acme/web:environment:prod"), None),
            // StringEquals takes `*` literally: it matches no token.
            (eq("repo:acme/*"), None),
            (
                serde_json::json!({"ForAnyValue:StringLike": {format!("{GH}:sub"): ["repo:acme/web:ref:refs/heads/main", "repo:acme/*"]}}),
                Some(Breadth::ManyRepositories),
            ),
            (
                serde_json::json!({"StringNotLike": {format!("{GH}:sub"): "repo:acme/web:*"}}),
                Some(Breadth::Anyone),
            ),
        ];
        for (cond, want) in cases {
            let got = breadth(&trust(cond.clone())).map(|b| b.0);
            assert_eq!(got, *want, "{cond}");
        }
        let why = oidc_trust_breadth(&trust(like("repo:acme/*"))).unwrap();
        assert_eq!(
            why,
            "80: StringLike token.actions.githubusercontent.com:sub = \"repo:acme/*\" lets more than one repository in"
        );
    }

    #[test]
    fn gitlab_other_providers_and_encodings() {
        let doc = serde_json::json!({"Statement": {"Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/gitlab.com"},
            "Action": ["sts:AssumeRoleWithWebIdentity"],
            "Condition": {"StringLike": {"gitlab.com:sub": "project_path:acme/*:ref_type:branch:ref:main"}}}})
        .to_string();
        assert_eq!(breadth(&doc).unwrap().0, Breadth::ManyRepositories);
        // As a JSON string, and URL-encoded as IAM returns it.
        let quoted = serde_json::to_string(&doc).unwrap();
        assert_eq!(breadth(&quoted).unwrap().0, Breadth::ManyRepositories);
        let enc: String = url::form_urlencoded::byte_serialize(doc.as_bytes()).collect();
        assert_eq!(breadth(&enc).unwrap().0, Breadth::ManyRepositories);
        // Service and account trusts are not OIDC trusts; Cognito is scoped by aud.
        let svc = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(breadth(svc), None);
        let cognito = r#"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#;
        assert_eq!(breadth(cognito), None);
        // A Deny, or no web identity action, does not let anyone in.
        let deny = trust(serde_json::json!({})).replace("Allow", "Deny");
        assert_eq!(breadth(&deny), None);
        for bad in ["", "{", "[1]", "\"x\"", r#"{"Statement": 3}"#, "%ZZ"] {
            assert_eq!(breadth(bad), None, "{bad}");
        }
    }
}
