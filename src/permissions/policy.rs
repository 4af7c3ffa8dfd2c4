//! IAM policy documents: parsing (as CloudTrail and IAM carry them: JSON text, sometimes
//! URL-encoded), what their statements allow, and the least-privilege document for a set of
//! used actions. Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::catalog::Catalogue;

/// One statement of a policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// `Allow` (true) or `Deny`.
    pub allow: bool,
    /// Its `Action` (or `NotAction`) patterns.
    pub actions: Vec<String>,
    /// Whether the patterns are a `NotAction`.
    pub not_action: bool,
    /// Its `Resource` (or `NotResource`) patterns.
    pub resources: Vec<String>,
    /// Whether the resources are a `NotResource`.
    pub not_resource: bool,
    /// Whether a `Condition` narrows it.
    pub conditional: bool,
    /// Its `Principal` (trust policies), as written.
    pub principal: Option<Value>,
}

impl Statement {
    /// Whether it applies to every resource (`"*"`, no condition).
    pub fn any_resource(&self) -> bool {
        !self.not_resource && !self.conditional && self.resources.iter().any(|r| r == "*")
    }
}

/// A policy document's text as a JSON value: plain JSON, or URL-encoded JSON (IAM's API
/// returns documents URL-encoded).
pub fn parse_text(text: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("the policy document is not a JSON object".into()),
        Err(e) => {
            let decoded = url::form_urlencoded::parse(format!("d={text}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned());
            match decoded.as_deref().map(serde_json::from_str::<Value>) {
                Some(Ok(v @ Value::Object(_))) if decoded.as_deref() != Some(text) => Ok(v),
                _ => Err(format!("the policy document is not JSON: {e}")),
            }
        }
    }
}

/// A document as CloudTrail may record it: a JSON string holding the document, or the
/// document itself.
pub fn document_of(v: &Value) -> Result<Value, String> {
    match v {
        Value::String(s) => parse_text(s),
        Value::Object(_) => Ok(v.clone()),
        Value::Null => Err("no policy document".into()),
        _ => Err("the policy document is neither text nor an object".into()),
    }
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{what} holds a value that is not text"))
            })
            .collect(),
        _ => Err(format!("{what} is neither text nor a list of text")),
    }
}

/// The statements of a document; an error says what is malformed.
pub fn statements(doc: &Value) -> Result<Vec<Statement>, String> {
    let st = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(o @ Value::Object(_)) => vec![o.clone()],
        Some(_) => return Err("Statement is neither an object nor a list".into()),
        None => return Err("the document has no Statement".into()),
    };
    st.iter()
        .enumerate()
        .map(|(i, s)| {
            let at = |m: String| format!("statement {}: {m}", i + 1);
            if !s.is_object() {
                return Err(at("not an object".into()));
            }
            let allow = match s.get("Effect").and_then(Value::as_str) {
                Some("Allow") => true,
                Some("Deny") => false,
                _ => return Err(at("Effect is neither Allow nor Deny".into())),
            };
            let (actions, not_action) = match (s.get("Action"), s.get("NotAction")) {
                (Some(a), None) => (strings(a, "Action").map_err(at)?, false),
                (None, Some(a)) => (strings(a, "NotAction").map_err(at)?, true),
                (None, None) => (vec![], false),
                (Some(_), Some(_)) => {
                    return Err(at("both Action and NotAction".into()));
                }
            };
            let (resources, not_resource) = match (s.get("Resource"), s.get("NotResource")) {
                (Some(r), None) => (strings(r, "Resource").map_err(at)?, false),
                (None, Some(r)) => (strings(r, "NotResource").map_err(at)?, true),
                _ => (vec![], false),
            };
            Ok(Statement {
                allow,
                actions,
                not_action,
                resources,
                not_resource,
                conditional: s.get("Condition").is_some_and(|c| !c.is_null()),
                principal: s.get("Principal").cloned(),
            })
        })
        .collect()
}

/// One named policy of a principal, with where it came from.
#[derive(Debug, Clone)]
pub struct Named {
    /// The managed policy ARN, or the inline policy's name.
    pub name: String,
    /// `managed` or `inline`.
    pub kind: &'static str,
    /// Its document (`None` when unknown: a customer managed policy created before the lake).
    pub document: Option<Value>,
}

/// What a set of policies allows.
#[derive(Debug, Clone, Default)]
pub struct Allowed {
    /// The `Action` patterns of its Allow statements, as written.
    pub patterns: BTreeSet<String>,
    /// Its `NotAction` patterns (each allows everything but them).
    pub not_actions: BTreeSet<String>,
    /// The catalogue actions it allows (explicit, unconditional denies on `*` removed).
    pub actions: BTreeSet<String>,
}

/// What `policies` allow, expanded against the catalogue.
pub fn allowed(c: &Catalogue, policies: &[(&Named, &[Statement])]) -> Allowed {
    let mut out = Allowed::default();
    let mut denied: BTreeSet<String> = BTreeSet::new();
    let every = || c.expand("*");
    for (_, sts) in policies {
        for s in sts.iter() {
            let acts: BTreeSet<String> = if s.not_action {
                let except: BTreeSet<String> = s.actions.iter().flat_map(|p| c.expand(p)).collect();
                every()
                    .into_iter()
                    .filter(|a| !except.contains(a))
                    .collect()
            } else {
                s.actions.iter().flat_map(|p| c.expand(p)).collect()
            };
            if s.allow {
                if s.not_action {
                    out.not_actions.extend(s.actions.iter().cloned());
                } else {
                    out.patterns.extend(s.actions.iter().cloned());
                }
                out.actions.extend(acts);
            } else if s.any_resource() {
                denied.extend(acts);
            }
        }
    }
    out.actions.retain(|a| !denied.contains(a));
    out
}

/// Why a grant is too wide.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Broad {
    /// `administrator`, `service_wildcard`, `write_on_any_resource`, `pass_role_any`,
    /// `trust_open`, `self_modify`, `mostly_unused`.
    pub reason: &'static str,
    /// What, in words and numbers.
    pub detail: String,
    /// The policy (ARN or inline name) that grants it.
    pub policy: Option<String>,
}

/// IAM actions by which a role changes its own permissions.
const ROLE_SELF_MODIFY: &[&str] = &[
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
];

/// IAM actions by which a user changes its own permissions.
const USER_SELF_MODIFY: &[&str] = &[
    "iam:PutUserPolicy",
    "iam:AttachUserPolicy",
    "iam:AddUserToGroup",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
];

fn matches_any(patterns: &[String], text: &str) -> bool {
    patterns.iter().any(|p| super::catalog::glob_match(p, text))
}

/// The reasons `policies` (of the principal `arn`, in `account`) are too broad, each naming
/// the policy; `trust` is the role's trust policy, and a trust in an account outside
/// `known_accounts` (the ones the trail covers) or in `*` is open.
pub fn broad(
    c: &Catalogue,
    arn: &str,
    account: &str,
    policies: &[(&Named, &[Statement])],
    trust: Option<&[Statement]>,
    known_accounts: &BTreeSet<String>,
) -> Vec<Broad> {
    let mut out = vec![];
    for (p, sts) in policies {
        let name = Some(p.name.clone());
        for s in sts.iter().filter(|s| s.allow) {
            let wide_res = s.any_resource();
            if s.not_action && wide_res {
                out.push(Broad {
                    reason: "administrator",
                    detail: format!(
                        "NotAction {} on Resource \"*\": everything else in AWS is allowed",
                        s.actions.join(", ")
                    ),
                    policy: name.clone(),
                });
                continue;
            }
            for a in &s.actions {
                if a == "*" || a == "*:*" {
                    out.push(Broad {
                        reason: "administrator",
                        detail: format!(
                            "Action \"*\" on {}",
                            if wide_res {
                                "Resource \"*\"".to_string()
                            } else {
                                s.resources.join(", ")
                            }
                        ),
                        policy: name.clone(),
                    });
                } else if let Some((ns, "*")) = a.split_once(':') {
                    out.push(Broad {
                        reason: "service_wildcard",
                        detail: format!("{a}: all {} actions of {ns}", c.namespace_len(ns)),
                        policy: name.clone(),
                    });
                }
            }
            if wide_res {
                let writes: Vec<String> = s
                    .actions
                    .iter()
                    .filter(|p| {
                        !s.not_action
                            && c.expand(p)
                                .iter()
                                .any(|x| c.get(x).is_some_and(|(_, acc)| acc.writes()))
                    })
                    .cloned()
                    .collect();
                if !writes.is_empty() && !s.actions.iter().any(|a| a == "*") {
                    out.push(Broad {
                        reason: "write_on_any_resource",
                        detail: format!("write actions on Resource \"*\": {}", writes.join(", ")),
                        policy: name.clone(),
                    });
                }
            }
            let allows = |action: &str| {
                if s.not_action {
                    !matches_any(&s.actions, action)
                } else {
                    matches_any(&s.actions, action)
                }
            };
            if allows("iam:PassRole") && s.resources.iter().any(|r| r == "*") && !s.not_resource {
                out.push(Broad {
                    reason: "pass_role_any",
                    detail: "iam:PassRole on Resource \"*\": it can hand any role to a service"
                        .into(),
                    policy: name.clone(),
                });
            }
            let own = s
                .resources
                .iter()
                .any(|r| !s.not_resource && (r == "*" || super::catalog::glob_match(r, arn)));
            let own_actions = if arn.contains(":role/") {
                ROLE_SELF_MODIFY
            } else {
                USER_SELF_MODIFY
            };
            let selfmod: Vec<&str> = own_actions.iter().copied().filter(|a| allows(a)).collect();
            if own && !selfmod.is_empty() && (s.not_action || !s.actions.iter().any(|a| a == "*")) {
                out.push(Broad {
                    reason: "self_modify",
                    detail: format!("it may change its own permissions: {}", selfmod.join(", ")),
                    policy: name.clone(),
                });
            }
        }
    }
    for s in trust.unwrap_or(&[]).iter().filter(|s| s.allow) {
        for who in trust_principals(s.principal.as_ref()) {
            let other = |a: &str| a != account && !known_accounts.contains(a);
            let open = who == "*"
                || (who.starts_with("arn:") && who.split(':').nth(4).is_some_and(other))
                || (who.len() == 12 && who.bytes().all(|b| b.is_ascii_digit()) && other(&who));
            if open && !who.contains(".amazonaws.com") {
                out.push(Broad {
                    reason: "trust_open",
                    detail: if who == "*" {
                        format!(
                            "the trust policy lets any principal assume it{}",
                            if s.conditional {
                                " (with a condition)"
                            } else {
                                ""
                            }
                        )
                    } else {
                        format!("the trust policy lets another account assume it: {who}")
                    },
                    policy: Some("trust policy".into()),
                });
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The AWS principals (ARNs, account ids, `*`) a trust statement names.
fn trust_principals(p: Option<&Value>) -> Vec<String> {
    match p {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Object(m)) => m
            .get("AWS")
            .map(|v| strings(v, "AWS").unwrap_or_default())
            .unwrap_or_default(),
        _ => vec![],
    }
}

/// An action the principal used, with the resources it touched.
#[derive(Debug, Clone)]
pub struct UsedAction {
    /// `ns:Action`.
    pub action: String,
    /// Resource ARNs (or patterns) it touched; empty when the trail names none.
    pub resources: Vec<String>,
}

/// The least-privilege IAM policy document for `used`: one statement per service and set of
/// resources, the used actions only, resource ARNs where the trail named them and `"*"`
/// where it did not. No wildcard action.
pub fn suggested_policy(used: &[UsedAction]) -> Value {
    // service → resource set → actions
    let mut by: BTreeMap<String, BTreeMap<Vec<String>, BTreeSet<String>>> = BTreeMap::new();
    for u in used {
        let Some((ns, _)) = u.action.split_once(':') else {
            continue;
        };
        let mut res = u.resources.clone();
        res.sort();
        res.dedup();
        if res.is_empty() {
            res = vec!["*".into()];
        }
        by.entry(ns.to_string())
            .or_default()
            .entry(res)
            .or_default()
            .insert(u.action.clone());
    }
    let mut statements = vec![];
    for (ns, groups) in by {
        let base: String = ns
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect();
        let n = groups.len();
        for (i, (res, acts)) in groups.into_iter().enumerate() {
            let sid = if n == 1 {
                base.clone()
            } else {
                format!("{base}{}", i + 1)
            };
            let actions: Vec<String> = acts.into_iter().collect();
            statements.push(json!({
                "Sid": sid,
                "Effect": "Allow",
                "Action": actions,
                "Resource": if res.len() == 1 { json!(res[0]) } else { json!(res) },
            }));
        }
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Generalises resource ARNs to at most `limit` patterns: the last path segment becomes `*`,
/// level by level, until they fit (`arn:aws:s3:::b/r/1/x` … → `arn:aws:s3:::b/r/*`), and
/// `*` if even the resource type cannot be kept.
pub fn generalise(arns: &BTreeSet<String>, limit: usize) -> Vec<String> {
    let mut cur: BTreeSet<String> = arns.clone();
    while cur.len() > limit {
        let next: BTreeSet<String> = cur.iter().map(|a| up_one(a)).collect();
        if next == cur {
            return vec!["*".into()];
        }
        cur = next;
    }
    cur.into_iter().collect()
}

/// One level up: `…/a/b` → `…/a/*`, `…/a/*` → `…/*`; an ARN with no path keeps its
/// service, region and account and ends in `*`.
fn up_one(arn: &str) -> String {
    let trimmed = arn.strip_suffix("/*").unwrap_or(arn);
    let parts: Vec<&str> = trimmed.splitn(6, ':').collect();
    if parts.len() < 6 {
        return "*".into();
    }
    let resource = parts[5];
    match resource.rfind('/') {
        Some(i) => format!("{}:{}/*", parts[..5].join(":"), &resource[..i]),
        None if resource == "*" => "*".into(),
        None => format!("{}:*", parts[..5].join(":")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::catalog::catalogue;
    use super::*;

    fn named(doc: Value) -> (Named, Vec<Statement>) {
        let st = statements(&doc).expect("valid");
        (
            Named {
                name: "p".into(),
                kind: "inline",
                document: Some(doc),
            },
            st,
        )
    }

    #[test]
    fn documents_parse_from_cloudtrail_text_and_url_encoding() {
        let d = parse_text(r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#)
            .expect("json");
        assert_eq!(statements(&d).expect("ok")[0].actions, ["s3:*"]);
        let enc = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%5B%22s3%3AGetObject%22%5D%2C%22Resource%22%3A%22*%22%7D%5D%7D";
        let d = parse_text(enc).expect("url-encoded");
        assert_eq!(statements(&d).expect("ok")[0].actions, ["s3:GetObject"]);
        for bad in ["{", "[1]", "nope", ""] {
            assert!(parse_text(bad).is_err(), "{bad}");
        }
        for bad in [
            json!({"Statement": 3}),
            json!({"Statement": [{"Effect": "Maybe", "Action": "*"}]}),
            json!({"Statement": [{"Effect": "Allow", "Action": [1]}]}),
            json!({"Version": "2012-10-17"}),
        ] {
            assert!(statements(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn broad_grants_are_named_with_their_reason() {
        let c = catalogue();
        let cases = [
            (
                json!({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}),
                "administrator",
            ),
            (
                json!({"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}),
                "administrator",
            ),
            (
                json!({"Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"arn:aws:ecs:*:1:service/x"}]}),
                "service_wildcard",
            ),
            (
                json!({"Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":"*"}]}),
                "write_on_any_resource",
            ),
            (
                json!({"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}),
                "pass_role_any",
            ),
            (
                json!({"Statement":[{"Effect":"Allow","Action":"iam:PutRolePolicy","Resource":"arn:aws:iam::1:role/me"}]}),
                "self_modify",
            ),
        ];
        for (doc, want) in cases {
            let (n, st) = named(doc.clone());
            let b = broad(
                c,
                "arn:aws:iam::1:role/me",
                "1",
                &[(&n, &st)],
                None,
                &BTreeSet::new(),
            );
            assert!(b.iter().any(|x| x.reason == want), "{doc}: {b:?}");
        }
        let (n, st) = named(
            json!({"Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/*"}]}),
        );
        assert!(
            broad(
                c,
                "arn:aws:iam::1:role/me",
                "1",
                &[(&n, &st)],
                None,
                &BTreeSet::new()
            )
            .is_empty()
        );
        let trust = statements(&json!({"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]})).expect("ok");
        let b = broad(
            c,
            "arn:aws:iam::1:role/me",
            "1",
            &[],
            Some(&trust),
            &BTreeSet::new(),
        );
        let known: BTreeSet<String> = ["999999999999".to_string()].into();
        assert!(broad(c, "arn:aws:iam::1:role/me", "1", &[], Some(&trust), &known).is_empty());
        assert_eq!(b[0].reason, "trust_open");
        let own = statements(&json!({"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"sts:AssumeRole"}]})).expect("ok");
        assert!(
            broad(
                c,
                "arn:aws:iam::1:role/me",
                "1",
                &[],
                Some(&own),
                &BTreeSet::new()
            )
            .is_empty()
        );
    }

    #[test]
    fn allowed_expands_and_honours_denies() {
        let c = catalogue();
        let (n, st) = named(json!({"Statement":[
            {"Effect":"Allow","Action":"s3:Get*","Resource":"*"},
            {"Effect":"Deny","Action":"s3:GetObjectAcl","Resource":"*"}]}));
        let a = allowed(c, &[(&n, &st)]);
        assert!(a.actions.contains("s3:GetObject"));
        assert!(!a.actions.contains("s3:GetObjectAcl"));
        assert_eq!(a.patterns.iter().collect::<Vec<_>>(), ["s3:Get*"]);
    }

    #[test]
    fn suggested_policy_groups_by_service_without_wildcard_actions() {
        let p = suggested_policy(&[
            UsedAction {
                action: "s3:PutObject".into(),
                resources: vec!["arn:aws:s3:::b/*".into()],
            },
            UsedAction {
                action: "s3:GetObject".into(),
                resources: vec!["arn:aws:s3:::b/*".into()],
            },
            UsedAction {
                action: "s3:ListBucket".into(),
                resources: vec!["arn:aws:s3:::b".into()],
            },
            UsedAction {
                action: "ecs:UpdateService".into(),
                resources: vec![],
            },
        ]);
        let st = p["Statement"].as_array().expect("list");
        assert_eq!(st.len(), 3);
        assert_eq!(st[0]["Sid"], "Ecs");
        assert_eq!(st[0]["Resource"], "*");
        assert_eq!(st[2]["Action"], json!(["s3:GetObject", "s3:PutObject"]));
        assert_eq!(st[2]["Resource"], "arn:aws:s3:::b/*");
        assert!(!p.to_string().contains(":*\""));
    }

    #[test]
    fn many_resources_generalise_level_by_level() {
        let arns: BTreeSet<String> = (0..30)
            .map(|i| format!("arn:aws:s3:::b/releases/{i}/x.tar"))
            .collect();
        assert_eq!(generalise(&arns, 10), ["arn:aws:s3:::b/releases/*"]);
        assert_eq!(generalise(&arns, 40).len(), 30);
        let fns: BTreeSet<String> = (0..3)
            .map(|i| format!("arn:aws:lambda:us-east-1:1:function:f{i}"))
            .collect();
        assert_eq!(generalise(&fns, 1), ["arn:aws:lambda:us-east-1:1:*"]);
    }
}
