//! What each IAM role, user and group was granted: the trail's IAM changes replayed in time
//! order (`CreateRole`, `AttachRolePolicy`, `PutRolePolicy`, `CreatePolicyVersion`, … and the
//! user and group equivalents), or the live account's `GetAccountAuthorizationDetails`
//! ([`super::iam`]). Pure: the rows come in, the state comes out.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::policy::document_of;

/// Where a grant is known from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The trail's IAM events in the lake.
    Trail,
    /// The live account (`--iam`).
    Iam,
}

/// An IAM principal kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// A role.
    Role,
    /// A user.
    User,
    /// A group.
    Group,
}

/// A principal's key: account, kind and name (names are unique per account and kind,
/// whatever the path).
pub type Key = (String, PrincipalKind, String);

/// The key of an IAM ARN (`arn:aws:iam::1:role/path/name`, `arn:aws:iam::1:user/name`,
/// and an STS assumed-role ARN's role).
pub fn key_of(arn: &str) -> Option<Key> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" {
        return None;
    }
    let account = parts[4].to_string();
    let (kind, rest) = parts[5].split_once('/')?;
    let name = rest.rsplit('/').next()?.to_string();
    match (parts[2], kind) {
        ("iam", "role") => Some((account, PrincipalKind::Role, name)),
        ("iam", "user") => Some((account, PrincipalKind::User, name)),
        ("iam", "group") => Some((account, PrincipalKind::Group, name)),
        ("sts", "assumed-role") => {
            let role = rest.split('/').next()?.to_string();
            Some((account, PrincipalKind::Role, role))
        }
        _ => None,
    }
}

/// An inline policy.
#[derive(Debug, Clone)]
pub struct Inline {
    /// Its document (parsed).
    pub document: Value,
    /// Where it is known from.
    pub sources: BTreeSet<Source>,
}

/// An access key of a user.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccessKey {
    /// The key id.
    pub access_key_id: String,
    /// `Active` or `Inactive`, as last set.
    pub status: String,
    /// When it was created, where known.
    pub created: Option<String>,
    /// Where it is known from (`trail`: created, changed or used in the lake).
    pub source: Source,
}

/// What one principal was granted.
#[derive(Debug, Clone, Default)]
pub struct Principal {
    /// Its ARN, where known.
    pub arn: Option<String>,
    /// Attached managed policy ARNs and where each is known from.
    pub managed: BTreeMap<String, BTreeSet<Source>>,
    /// Inline policies by name.
    pub inline: BTreeMap<String, Inline>,
    /// The role's trust policy.
    pub trust: Option<Value>,
    /// The user's groups.
    pub groups: BTreeSet<String>,
    /// The user's access keys.
    pub keys: BTreeMap<String, AccessKey>,
    /// Whether its whole grant is known: created inside the lake, or read from the account.
    pub complete: bool,
    /// Sources that said anything about it.
    pub sources: BTreeSet<Source>,
    /// Deleted (by the last event seen).
    pub deleted: bool,
    /// The trail events that changed it, in time order.
    pub event_ids: Vec<String>,
}

/// A customer managed policy: its versions' documents and the default.
#[derive(Debug, Clone, Default)]
pub struct Customer {
    /// Version id → document.
    pub versions: BTreeMap<String, Value>,
    /// The default version.
    pub default: Option<String>,
}

impl Customer {
    /// The default version's document.
    pub fn document(&self) -> Option<&Value> {
        self.default.as_ref().and_then(|v| self.versions.get(v))
    }
}

/// Every principal's grants and the customer managed policies.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// Principals by key.
    pub principals: BTreeMap<Key, Principal>,
    /// Customer managed policies by ARN.
    pub customer: BTreeMap<String, Customer>,
    /// Changes that could not be applied, naming the event id.
    pub warnings: Vec<String>,
}

/// One IAM event of the trail, in time order.
#[derive(Debug, Clone)]
pub struct IamEvent {
    /// eventID.
    pub event_id: String,
    /// eventName.
    pub event_name: String,
    /// The account the change was made in.
    pub account: String,
    /// The caller's user name (for calls on one's own user).
    pub caller_user: Option<String>,
    /// requestParameters (JSON text).
    pub request: Option<String>,
    /// responseElements (JSON text).
    pub response: Option<String>,
}

/// The IAM event names the replay reads.
pub const EVENT_NAMES: &[&str] = &[
    "CreateRole",
    "DeleteRole",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "PutRolePolicy",
    "DeleteRolePolicy",
    "UpdateAssumeRolePolicy",
    "CreateUser",
    "DeleteUser",
    "AttachUserPolicy",
    "DetachUserPolicy",
    "PutUserPolicy",
    "DeleteUserPolicy",
    "CreateGroup",
    "DeleteGroup",
    "AttachGroupPolicy",
    "DetachGroupPolicy",
    "PutGroupPolicy",
    "DeleteGroupPolicy",
    "AddUserToGroup",
    "RemoveUserFromGroup",
    "CreatePolicy",
    "DeletePolicy",
    "CreatePolicyVersion",
    "DeletePolicyVersion",
    "SetDefaultPolicyVersion",
    "CreateAccessKey",
    "UpdateAccessKey",
    "DeleteAccessKey",
];

fn json(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// The kind of principal an IAM event changes, and the request parameter naming it.
fn target_of(event_name: &str) -> (PrincipalKind, &'static str) {
    if event_name.contains("Role") {
        (PrincipalKind::Role, "roleName")
    } else if event_name.contains("Group") {
        (PrincipalKind::Group, "groupName")
    } else {
        (PrincipalKind::User, "userName")
    }
}

/// The user whose access key an event creates, changes or deletes: the one named, else the
/// caller (a call on one's own user names none).
fn key_user(e: &IamEvent, req: &Value, resp: &Value) -> Option<String> {
    s(req, "userName")
        .or_else(|| resp.get("accessKey").and_then(|k| s(k, "userName")))
        .map(str::to_string)
        .or(e.caller_user.clone())
}

impl Grants {
    fn principal(&mut self, account: &str, kind: PrincipalKind, name: &str) -> &mut Principal {
        self.principals
            .entry((account.to_string(), kind, name.to_string()))
            .or_default()
    }

    /// Applies one IAM event of the trail (events must come in time order). A change whose
    /// policy document is malformed is skipped with a warning naming the event.
    pub fn apply(&mut self, e: &IamEvent) {
        let req = json(e.request.as_deref());
        let resp = json(e.response.as_deref());
        let n = e.event_name.as_str();
        let (kind, key) = target_of(n);
        let touched = match n {
            "AddUserToGroup" | "RemoveUserFromGroup" => {
                s(&req, "userName").map(|u| (PrincipalKind::User, u.to_string()))
            }
            "CreateAccessKey" | "UpdateAccessKey" | "DeleteAccessKey" => {
                key_user(e, &req, &resp).map(|u| (PrincipalKind::User, u))
            }
            _ if n.ends_with("Policy") && (n.contains("Create") || n.contains("Version")) => None,
            _ => s(&req, key).map(|t| (kind, t.to_string())),
        };
        let before = self.warnings.len();
        self.replay(e, &req, &resp);
        if self.warnings.len() == before
            && let Some((k, name)) = touched
            && let Some(p) = self.principals.get_mut(&(e.account.clone(), k, name))
        {
            p.event_ids.push(e.event_id.clone());
        }
    }

    fn replay(&mut self, e: &IamEvent, req: &Value, resp: &Value) {
        use PrincipalKind::*;
        let n = e.event_name.as_str();
        let acct = e.account.as_str();
        let (kind, target_key) = target_of(n);
        let name_of = |k: &str| s(req, k).map(str::to_string);
        let target = name_of(target_key);
        let warn = |g: &mut Grants, m: String| {
            g.warnings.push(format!(
                "event {} ({}): {m}; skipped",
                e.event_id, e.event_name
            ));
        };
        let doc = |field: &str| document_of(req.get(field).unwrap_or(&Value::Null));
        match n {
            "CreateRole" | "CreateUser" | "CreateGroup" => {
                let Some(t) = target else {
                    return warn(self, format!("no {target_key}"));
                };
                let trust = if kind == Role {
                    match doc("assumeRolePolicyDocument") {
                        Ok(d) => Some(d),
                        Err(m) => {
                            warn(self, format!("trust policy: {m}"));
                            None
                        }
                    }
                } else {
                    None
                };
                let arn = ["role", "user", "group"]
                    .iter()
                    .find_map(|k| resp.get(k).and_then(|v| s(v, "arn")))
                    .map(str::to_string);
                let p = self.principal(acct, kind, &t);
                *p = Principal {
                    arn: arn.or(p.arn.take()),
                    trust,
                    complete: true,
                    ..Default::default()
                };
                p.sources.insert(Source::Trail);
            }
            "DeleteRole" | "DeleteUser" | "DeleteGroup" => {
                if let Some(t) = target {
                    let p = self.principal(acct, kind, &t);
                    *p = Principal {
                        arn: p.arn.take(),
                        deleted: true,
                        complete: true,
                        ..Default::default()
                    };
                    p.sources.insert(Source::Trail);
                }
            }
            "AttachRolePolicy" | "AttachUserPolicy" | "AttachGroupPolicy" | "DetachRolePolicy"
            | "DetachUserPolicy" | "DetachGroupPolicy" => {
                let (Some(t), Some(arn)) = (target, name_of("policyArn")) else {
                    return warn(self, format!("no {target_key} or policyArn"));
                };
                let p = self.principal(acct, kind, &t);
                p.sources.insert(Source::Trail);
                if n.starts_with("Attach") {
                    p.managed.entry(arn).or_default().insert(Source::Trail);
                } else {
                    p.managed.remove(&arn);
                }
            }
            "PutRolePolicy" | "PutUserPolicy" | "PutGroupPolicy" => {
                let (Some(t), Some(pn)) = (target, name_of("policyName")) else {
                    return warn(self, format!("no {target_key} or policyName"));
                };
                match doc("policyDocument") {
                    Ok(d) if super::policy::statements(&d).is_ok() => {
                        let p = self.principal(acct, kind, &t);
                        p.sources.insert(Source::Trail);
                        p.inline.insert(
                            pn,
                            Inline {
                                document: d,
                                sources: [Source::Trail].into(),
                            },
                        );
                    }
                    Ok(d) => {
                        let m = super::policy::statements(&d).err().unwrap_or_default();
                        warn(self, format!("malformed policy document of {pn}: {m}"))
                    }
                    Err(m) => warn(self, format!("malformed policy document of {pn}: {m}")),
                }
            }
            "DeleteRolePolicy" | "DeleteUserPolicy" | "DeleteGroupPolicy" => {
                if let (Some(t), Some(pn)) = (target, name_of("policyName")) {
                    let p = self.principal(acct, kind, &t);
                    p.sources.insert(Source::Trail);
                    p.inline.remove(&pn);
                }
            }
            "UpdateAssumeRolePolicy" => {
                let Some(t) = target else {
                    return warn(self, "no roleName".into());
                };
                match doc("policyDocument") {
                    Ok(d) => {
                        let p = self.principal(acct, Role, &t);
                        p.sources.insert(Source::Trail);
                        p.trust = Some(d);
                    }
                    Err(m) => warn(self, format!("malformed trust policy: {m}")),
                }
            }
            "AddUserToGroup" | "RemoveUserFromGroup" => {
                if let (Some(u), Some(g)) = (name_of("userName"), name_of("groupName")) {
                    let p = self.principal(acct, User, &u);
                    p.sources.insert(Source::Trail);
                    if n == "AddUserToGroup" {
                        p.groups.insert(g);
                    } else {
                        p.groups.remove(&g);
                    }
                }
            }
            "CreatePolicy" => {
                let arn = resp
                    .get("policy")
                    .and_then(|p| s(p, "arn"))
                    .map(str::to_string)
                    .or_else(|| {
                        name_of("policyName").map(|pn| {
                            let path = name_of("path").unwrap_or_else(|| "/".into());
                            format!("arn:aws:iam::{acct}:policy{path}{pn}")
                        })
                    });
                let Some(arn) = arn else {
                    return warn(self, "no policy name".into());
                };
                match doc("policyDocument") {
                    Ok(d) => {
                        self.customer.insert(
                            arn,
                            Customer {
                                versions: [("v1".to_string(), d)].into(),
                                default: Some("v1".into()),
                            },
                        );
                    }
                    Err(m) => warn(self, format!("malformed policy document of {arn}: {m}")),
                }
            }
            "DeletePolicy" => {
                if let Some(arn) = name_of("policyArn") {
                    self.customer.remove(&arn);
                }
            }
            "CreatePolicyVersion" => {
                let Some(arn) = name_of("policyArn") else {
                    return warn(self, "no policyArn".into());
                };
                let vid = resp
                    .get("policyVersion")
                    .and_then(|v| s(v, "versionId"))
                    .map(str::to_string);
                let default = req
                    .get("setAsDefault")
                    .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"));
                match doc("policyDocument") {
                    Ok(d) => {
                        let c = self.customer.entry(arn).or_default();
                        let vid = vid.unwrap_or_else(|| format!("v{}", c.versions.len() + 2));
                        c.versions.insert(vid.clone(), d);
                        if default || c.default.is_none() && c.versions.len() == 1 {
                            c.default = Some(vid);
                        }
                    }
                    Err(m) => warn(self, format!("malformed policy document of {arn}: {m}")),
                }
            }
            "DeletePolicyVersion" => {
                if let (Some(arn), Some(v)) = (name_of("policyArn"), name_of("versionId"))
                    && let Some(c) = self.customer.get_mut(&arn)
                {
                    c.versions.remove(&v);
                }
            }
            "SetDefaultPolicyVersion" => {
                if let (Some(arn), Some(v)) = (name_of("policyArn"), name_of("versionId")) {
                    self.customer.entry(arn).or_default().default = Some(v);
                }
            }
            "CreateAccessKey" | "UpdateAccessKey" | "DeleteAccessKey" => {
                let key = resp.get("accessKey").cloned().unwrap_or(Value::Null);
                let Some(user) = key_user(e, req, resp) else {
                    return warn(self, "no userName".into());
                };
                let Some(id) = s(&key, "accessKeyId")
                    .or(s(req, "accessKeyId"))
                    .map(str::to_string)
                else {
                    return warn(self, "no accessKeyId".into());
                };
                let p = self.principal(acct, User, &user);
                p.sources.insert(Source::Trail);
                match n {
                    "DeleteAccessKey" => {
                        p.keys.remove(&id);
                    }
                    "CreateAccessKey" => {
                        p.keys.insert(
                            id.clone(),
                            AccessKey {
                                access_key_id: id,
                                status: s(&key, "status").unwrap_or("Active").to_string(),
                                created: s(&key, "createDate").map(str::to_string),
                                source: Source::Trail,
                            },
                        );
                    }
                    _ => {
                        let status = s(req, "status").unwrap_or("Active").to_string();
                        p.keys
                            .entry(id.clone())
                            .or_insert_with(|| AccessKey {
                                access_key_id: id,
                                status: String::new(),
                                created: None,
                                source: Source::Trail,
                            })
                            .status = status;
                    }
                }
            }
            _ => {}
        }
    }

    /// The policy documents in force for `key`: its own managed and inline policies, and for a
    /// user its groups' too. A managed policy whose document neither the bundle nor the
    /// trail knows is listed with no document.
    pub fn effective(&self, key: &Key) -> Vec<super::policy::Named> {
        let mut out = vec![];
        let mut add = |p: &Principal, via: Option<&str>| {
            let label = |n: &str| match via {
                Some(g) => format!("{n} (group {g})"),
                None => n.to_string(),
            };
            for arn in p.managed.keys() {
                let document = super::catalog::managed_policy(arn)
                    .map(|m| m.document.clone())
                    .or_else(|| self.customer.get(arn).and_then(|c| c.document().cloned()));
                out.push(super::policy::Named {
                    name: label(arn),
                    kind: "managed",
                    document,
                });
            }
            for (name, i) in &p.inline {
                out.push(super::policy::Named {
                    name: label(name),
                    kind: "inline",
                    document: Some(i.document.clone()),
                });
            }
        };
        let Some(p) = self.principals.get(key) else {
            return out;
        };
        add(p, None);
        if key.1 == PrincipalKind::User {
            for g in &p.groups {
                if let Some(gp) =
                    self.principals
                        .get(&(key.0.clone(), PrincipalKind::Group, g.clone()))
                {
                    add(gp, Some(g));
                }
            }
        }
        out
    }

    /// Merges the live account's grants (`--iam`) over the trail's: the live state is what
    /// is granted now; a grant the trail also shows keeps both sources.
    pub fn merge_live(&mut self, live: Grants) {
        for (k, mut p) in live.principals {
            if let Some(old) = self.principals.get(&k) {
                for (arn, src) in p.managed.iter_mut() {
                    if old.managed.contains_key(arn) {
                        src.insert(Source::Trail);
                    }
                }
                for (name, i) in p.inline.iter_mut() {
                    if old
                        .inline
                        .get(name)
                        .is_some_and(|o| o.document == i.document)
                    {
                        i.sources.insert(Source::Trail);
                    }
                }
                for (id, key) in &old.keys {
                    p.keys.entry(id.clone()).or_insert_with(|| key.clone());
                }
                p.sources.extend(old.sources.iter().copied());
                if p.trust.is_none() {
                    p.trust = old.trust.clone();
                }
            }
            self.principals.insert(k, p);
        }
        for (arn, c) in live.customer {
            self.customer.insert(arn, c);
        }
        self.warnings.extend(live.warnings);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, name: &str, req: Value, resp: Value) -> IamEvent {
        IamEvent {
            event_id: id.into(),
            event_name: name.into(),
            account: "111111111111".into(),
            caller_user: Some("admin".into()),
            request: Some(req.to_string()),
            response: Some(resp.to_string()),
        }
    }

    #[test]
    fn arns_key_roles_users_and_sessions() {
        let r = |a: &str| key_of(a).map(|k| (k.1, k.2));
        assert_eq!(
            r("arn:aws:iam::1:role/service-role/ci"),
            Some((PrincipalKind::Role, "ci".into()))
        );
        assert_eq!(
            r("arn:aws:sts::1:assumed-role/ci/session"),
            Some((PrincipalKind::Role, "ci".into()))
        );
        assert_eq!(
            r("arn:aws:iam::1:user/jenkins"),
            Some((PrincipalKind::User, "jenkins".into()))
        );
        assert_eq!(r("arn:aws:s3:::bucket"), None);
        assert_eq!(r("not an arn"), None);
    }

    #[test]
    fn the_trail_replays_in_order_and_skips_malformed_documents() {
        use serde_json::json;
        let mut g = Grants::default();
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
        for e in [
            ev(
                "e1",
                "CreateRole",
                json!({"roleName":"ci","assumeRolePolicyDocument":"{\"Statement\":[]}"}),
                json!({"role":{"arn":"arn:aws:iam::111111111111:role/ci"}}),
            ),
            ev(
                "e2",
                "AttachRolePolicy",
                json!({"roleName":"ci","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}),
                Value::Null,
            ),
            ev(
                "e3",
                "PutRolePolicy",
                json!({"roleName":"ci","policyName":"read","policyDocument":doc}),
                Value::Null,
            ),
            ev(
                "e4",
                "PutRolePolicy",
                json!({"roleName":"ci","policyName":"bad","policyDocument":"{not json"}),
                Value::Null,
            ),
            ev(
                "e5",
                "DetachRolePolicy",
                json!({"roleName":"ci","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}),
                Value::Null,
            ),
            ev(
                "e6",
                "CreateAccessKey",
                json!({}),
                json!({"accessKey":{"accessKeyId":"AKIAEXAMPLE","status":"Active","userName":"admin"}}),
            ),
        ] {
            g.apply(&e);
        }
        let k = (
            "111111111111".to_string(),
            PrincipalKind::Role,
            "ci".to_string(),
        );
        let p = &g.principals[&k];
        assert!(p.complete);
        assert!(p.managed.is_empty());
        assert_eq!(p.inline.keys().collect::<Vec<_>>(), ["read"]);
        assert_eq!(g.warnings.len(), 1);
        assert!(g.warnings[0].contains("event e4"), "{:?}", g.warnings);
        let u = (
            "111111111111".to_string(),
            PrincipalKind::User,
            "admin".to_string(),
        );
        assert!(g.principals[&u].keys.contains_key("AKIAEXAMPLE"));
        assert_eq!(g.effective(&k).len(), 1);
    }
}
