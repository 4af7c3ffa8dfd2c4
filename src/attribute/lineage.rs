//! Session lineage: every access key an STS call issued, linked to the key that made the call,
//! back to the identity where the chain starts.
//!
//! `responseElements.credentials.accessKeyId` of AssumeRole, AssumeRoleWithWebIdentity,
//! AssumeRoleWithSAML, GetSessionToken and GetFederationToken (the lake's `issued_access_key_id`)
//! is the `userIdentity.accessKeyId` of the calls made with those credentials. A session issued
//! to a caller who was itself a session is a hop of a role chain; the chain's root is the origin:
//! an OIDC subject, a SAML user, an IAM user's long-term key, root, or an AWS service. When the
//! caller's own session was issued before the loaded window, the chain stops there and is marked
//! `outside_window`.

use std::collections::HashMap;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::TimestampMicrosecondType;
use serde_json::Value;

/// One STS call that issued credentials, with what it says about its caller and its session.
#[derive(Debug, Clone, Default)]
pub struct Issued {
    /// The access key id issued.
    pub key: String,
    /// When (microseconds since the epoch).
    pub time: i64,
    /// The STS API (`AssumeRole`, `AssumeRoleWithWebIdentity`, ...).
    pub api: String,
    /// The caller's `userIdentity.type`.
    pub caller_type: Option<String>,
    /// The caller's ARN.
    pub caller_arn: Option<String>,
    /// The caller's access key (the parent session's key, for a chain hop).
    pub caller_key: Option<String>,
    /// The AWS service that made the call for the caller (`invokedBy`).
    pub caller_service: Option<String>,
    /// The caller's user name (an IAM user, or the OIDC subject of a WebIdentityUser).
    pub caller_name: Option<String>,
    /// The caller's role (session issuer ARN), for a caller that is a role session.
    pub caller_role: Option<String>,
    /// Role assumed (`requestParameters.roleArn`).
    pub role_arn: Option<String>,
    /// Session name (`roleSessionName`, or the federated user's name).
    pub session_name: Option<String>,
    /// `requestParameters.sourceIdentity`.
    pub source_identity: Option<String>,
    /// The OIDC or SAML subject.
    pub subject: Option<String>,
    /// The identity provider (OIDC provider ARN or host, SAML provider).
    pub provider: Option<String>,
    /// When the credentials expire (microseconds): `credentials.expiration`, else the request's
    /// `durationSeconds`, else the API's default lifetime ([`expiry`]).
    pub expires: i64,
}

impl Issued {
    /// The account of the role assumed (or of the caller).
    pub fn account(&self) -> Option<&str> {
        self.role_arn
            .as_deref()
            .or(self.caller_arn.as_deref())
            .and_then(|a| a.split(':').nth(4))
            .filter(|a| !a.is_empty())
    }

    /// The name of the role assumed.
    pub fn role_name(&self) -> Option<&str> {
        self.role_arn
            .as_deref()
            .and_then(|a| a.rsplit_once(":role/"))
            .map(|(_, r)| r.rsplit('/').next().unwrap_or(r))
    }
}

/// Where a chain starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OriginType {
    /// An OIDC web identity (GitHub Actions, GitLab CI, ...).
    Oidc,
    /// A SAML federated user.
    Saml,
    /// An IAM Identity Center (SSO) user's role session.
    Sso,
    /// An IAM user (long-term key, or its session token).
    IamUser,
    /// The root user.
    Root,
    /// An AWS service.
    AwsService,
    /// A federated user (GetFederationToken).
    Federated,
    /// A role session whose own issuance is not in the loaded data.
    RoleOutsideWindow,
    /// Nothing to go on.
    Unknown,
}

impl OriginType {
    /// The column spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OriginType::Oidc => "oidc",
            OriginType::Saml => "saml",
            OriginType::Sso => "sso",
            OriginType::IamUser => "iam_user",
            OriginType::Root => "root",
            OriginType::AwsService => "aws_service",
            OriginType::Federated => "federated",
            OriginType::RoleOutsideWindow => "role_outside_window",
            OriginType::Unknown => "unknown",
        }
    }
}

/// A session with its chain resolved.
#[derive(Debug, Clone)]
pub struct Session {
    /// The issuing call.
    pub issued: Issued,
    /// Index of the parent session (the caller's), when in the loaded data.
    pub parent: Option<usize>,
    /// Hops from the origin (0: issued straight to the origin identity).
    pub depth: u32,
    /// Where the chain starts.
    pub origin_type: OriginType,
    /// The origin identity (OIDC subject, user ARN, service name, ...).
    pub origin: String,
    /// Whether the chain reaches its origin within the loaded data.
    pub complete: bool,
    /// The OIDC subject at the root of the chain, if any.
    pub oidc_subject: Option<String>,
    /// The OIDC provider at the root of the chain, if any.
    pub oidc_provider: Option<String>,
    /// The chain this session belongs to, named by the access key of its first session in the
    /// loaded data (its own key at depth 0). Every hop of one role chain shares it; two sessions
    /// the same identity started separately do not.
    pub chain: String,
}

fn json_str(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(|x| x.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// When credentials issued at `t` (µs) expire: the response's `credentials.expiration` (CloudTrail
/// writes `Oct 3, 2026, 3:40:12 AM`; ISO 8601 is read too), else `t` plus the request's
/// `durationSeconds`, else plus the API's default (12 hours for `GetSessionToken` and
/// `GetFederationToken`, 1 hour for the `AssumeRole` calls). A lifetime is kept within 1 s to 36 h
/// of the issue: an expiration a log claims beyond that is not believed.
pub fn expiry(t: i64, api: &str, req: &Value, resp: &Value) -> i64 {
    const S: i64 = 1_000_000;
    let stated = resp
        .get("credentials")
        .and_then(|c| c.get("expiration"))
        .and_then(|e| e.as_str())
        .and_then(parse_expiration);
    let duration = req.get("durationSeconds").and_then(|d| {
        d.as_i64()
            .or_else(|| d.as_str().and_then(|s| s.trim().parse().ok()))
    });
    let default = match api {
        "GetSessionToken" | "GetFederationToken" => 12 * 3600,
        _ => 3600,
    };
    let e =
        stated.unwrap_or_else(|| t.saturating_add(duration.unwrap_or(default).saturating_mul(S)));
    e.clamp(t.saturating_add(S), t.saturating_add(36 * 3600 * S))
}

fn parse_expiration(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    chrono::NaiveDateTime::parse_from_str(s, "%b %d, %Y, %I:%M:%S %p")
        .ok()
        .map(|t| t.and_utc().timestamp_micros())
}

/// Reads issuing calls out of query results with the columns of [`sessions_sql`].
pub fn issued_from_batches(batches: &[RecordBatch]) -> Vec<Issued> {
    let mut out = vec![];
    for b in batches {
        let s = |name: &str| {
            b.column_by_name(name)
                .expect("projected")
                .as_string::<i32>()
        };
        let (key, api, ctype, carn, ckey, csvc, cname, crole, req, resp) = (
            s("issued_access_key_id"),
            s("event_name"),
            s("user_type"),
            s("user_arn"),
            s("user_access_key_id"),
            s("user_invoked_by"),
            s("user_name"),
            s("session_issuer_arn"),
            s("request_parameters"),
            s("response_elements"),
        );
        let provider = s("user_identity_provider");
        let time = b
            .column_by_name("event_time")
            .expect("projected")
            .as_primitive::<TimestampMicrosecondType>();
        let opt = |a: &arrow::array::StringArray, i: usize| {
            (!a.is_null(i) && !a.value(i).is_empty()).then(|| a.value(i).to_string())
        };
        for i in 0..b.num_rows() {
            let Some(k) = opt(key, i) else { continue };
            let req: Value = opt(req, i)
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null);
            let resp: Value = opt(resp, i)
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null);
            let api_name = opt(api, i).unwrap_or_default();
            let caller_name = opt(cname, i);
            let subject = json_str(&resp, "subjectFromWebIdentityToken")
                .or_else(|| json_str(&resp, "subject"))
                .or_else(|| {
                    matches!(
                        api_name.as_str(),
                        "AssumeRoleWithWebIdentity" | "AssumeRoleWithSAML"
                    )
                    .then(|| caller_name.clone())
                    .flatten()
                });
            let session_name = json_str(&req, "roleSessionName")
                .or_else(|| json_str(&req, "name"))
                .or_else(|| {
                    resp.get("assumedRoleUser")
                        .and_then(|u| u.get("arn"))
                        .and_then(|a| a.as_str())
                        .and_then(|a| a.rsplit('/').next())
                        .map(str::to_string)
                });
            let t = if time.is_null(i) { 0 } else { time.value(i) };
            let expires = expiry(t, &api_name, &req, &resp);
            out.push(Issued {
                key: k,
                time: t,
                expires,
                api: api_name,
                caller_type: opt(ctype, i),
                caller_arn: opt(carn, i),
                caller_key: opt(ckey, i),
                caller_service: opt(csvc, i),
                caller_name,
                caller_role: opt(crole, i),
                role_arn: json_str(&req, "roleArn"),
                session_name,
                source_identity: json_str(&req, "sourceIdentity")
                    .or_else(|| json_str(&resp, "sourceIdentity")),
                subject,
                provider: json_str(&resp, "provider").or_else(|| opt(provider, i)),
            });
        }
    }
    out
}

/// The query that reads issuing calls from `from`: the `cloudtrail` table, or the daily
/// extract of them (super::inputs), whose columns have the same names.
pub fn sessions_sql(from: &str) -> String {
    format!(
        "SELECT issued_access_key_id, event_time, event_name, user_type, \
         user_arn, user_access_key_id, user_invoked_by, user_name, session_issuer_arn, \
         user_identity_provider, request_parameters, response_elements \
         FROM {from} WHERE issued_access_key_id IS NOT NULL AND error_code IS NULL"
    )
}

/// Links every session to its parent and resolves its origin.
pub fn resolve(mut issued: Vec<Issued>) -> Vec<Session> {
    issued.sort_by(|a, b| (a.time, &a.key).cmp(&(b.time, &b.key)));
    issued.dedup_by(|a, b| a.key == b.key);
    let by_key: HashMap<&str, usize> = issued
        .iter()
        .enumerate()
        .map(|(i, s)| (s.key.as_str(), i))
        .collect();
    let parents: Vec<Option<usize>> = issued
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.caller_key
                .as_deref()
                .and_then(|k| by_key.get(k).copied())
                .filter(|&p| p != i)
        })
        .collect();
    let mut out: Vec<Option<Session>> = vec![None; issued.len()];
    for i in 0..issued.len() {
        resolve_one(i, &issued, &parents, &mut out, 0);
    }
    out.into_iter().map(|s| s.expect("resolved")).collect()
}

fn resolve_one(
    i: usize,
    issued: &[Issued],
    parents: &[Option<usize>],
    out: &mut Vec<Option<Session>>,
    guard: u32,
) {
    if out[i].is_some() {
        return;
    }
    let s = &issued[i];
    if let Some(p) = parents[i]
        && guard < 64
    {
        resolve_one(p, issued, parents, out, guard + 1);
        let parent = out[p].as_ref().expect("resolved");
        out[i] = Some(Session {
            issued: s.clone(),
            parent: Some(p),
            depth: parent.depth + 1,
            origin_type: parent.origin_type,
            origin: parent.origin.clone(),
            complete: parent.complete,
            oidc_subject: parent.oidc_subject.clone(),
            oidc_provider: parent.oidc_provider.clone(),
            chain: parent.chain.clone(),
        });
        return;
    }
    let (origin_type, origin, complete) = root_origin(s);
    let oidc = origin_type == OriginType::Oidc;
    out[i] = Some(Session {
        issued: s.clone(),
        parent: None,
        depth: 0,
        origin_type,
        origin,
        complete,
        oidc_subject: if oidc { s.subject.clone() } else { None },
        oidc_provider: if oidc { s.provider.clone() } else { None },
        chain: s.key.clone(),
    });
}

fn root_origin(s: &Issued) -> (OriginType, String, bool) {
    let arn = || s.caller_arn.clone().unwrap_or_default();
    match s.api.as_str() {
        "AssumeRoleWithWebIdentity" => {
            return (
                OriginType::Oidc,
                s.subject
                    .clone()
                    .unwrap_or_else(|| "unknown subject".into()),
                true,
            );
        }
        "AssumeRoleWithSAML" => {
            return (
                OriginType::Saml,
                s.subject
                    .clone()
                    .or(s.caller_name.clone())
                    .unwrap_or_default(),
                true,
            );
        }
        _ => {}
    }
    match s.caller_type.as_deref() {
        Some("IAMUser") => (OriginType::IamUser, arn(), true),
        Some("Root") => (OriginType::Root, arn(), true),
        Some("AWSService") => (
            OriginType::AwsService,
            s.caller_service
                .clone()
                .unwrap_or_else(|| "aws-service".into()),
            true,
        ),
        Some("FederatedUser") => (OriginType::Federated, arn(), true),
        Some("AssumedRole")
            if s.caller_role
                .as_deref()
                .is_some_and(|r| r.contains("/AWSReservedSSO_")) =>
        {
            (OriginType::Sso, arn(), true)
        }
        Some("AssumedRole") => (OriginType::RoleOutsideWindow, arn(), false),
        Some("SAMLUser") | Some("IdentityCenterUser") => (
            OriginType::Saml,
            s.caller_name.clone().unwrap_or_else(arn),
            true,
        ),
        Some("WebIdentityUser") => (
            OriginType::Oidc,
            s.caller_name.clone().unwrap_or_else(arn),
            true,
        ),
        _ if s.caller_service.is_some() => (
            OriginType::AwsService,
            s.caller_service.clone().unwrap_or_default(),
            true,
        ),
        _ => (OriginType::Unknown, arn(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iss(key: &str, t: i64, api: &str, caller_type: &str, caller_key: Option<&str>) -> Issued {
        Issued {
            key: key.into(),
            time: t,
            api: api.into(),
            caller_type: Some(caller_type.into()),
            caller_arn: Some(format!("arn:{caller_type}")),
            caller_key: caller_key.map(str::to_string),
            role_arn: Some(format!("arn:aws:iam::111122223333:role/r-{key}")),
            subject: (api == "AssumeRoleWithWebIdentity")
                .then(|| "repo:acme/web:ref:refs/heads/main".to_string()),
            ..Default::default()
        }
    }

    #[test]
    fn expiry_reads_cloudtrail_dates_durations_and_defaults() {
        use serde_json::json;
        let t = 1_790_000_000_000_000; // 2026-09-21T14:13:20Z
        let m = 1_000_000;
        let at = |s: &str| json!({"credentials": {"expiration": s}});
        assert_eq!(
            expiry(
                t,
                "AssumeRole",
                &Value::Null,
                &at("Sep 21, 2026, 3:13:20 PM")
            ),
            t + 3600 * m
        );
        assert_eq!(
            expiry(t, "AssumeRole", &Value::Null, &at("2026-09-21T16:13:20Z")),
            t + 7200 * m
        );
        let d = json!({"durationSeconds": 900});
        assert_eq!(expiry(t, "AssumeRole", &d, &at("not a date")), t + 900 * m);
        assert_eq!(
            expiry(t, "AssumeRoleWithWebIdentity", &Value::Null, &Value::Null),
            t + 3600 * m
        );
        assert_eq!(
            expiry(t, "GetSessionToken", &Value::Null, &Value::Null),
            t + 12 * 3600 * m
        );
        // A log cannot stretch a session past 36 hours, nor end it before it began.
        assert_eq!(
            expiry(t, "AssumeRole", &Value::Null, &at("2099-01-01T00:00:00Z")),
            t + 36 * 3600 * m
        );
        assert_eq!(
            expiry(t, "AssumeRole", &Value::Null, &at("2000-01-01T00:00:00Z")),
            t + m
        );
        assert_eq!(
            expiry(
                i64::MAX,
                "AssumeRole",
                &json!({"durationSeconds": i64::MAX}),
                &Value::Null
            ),
            i64::MAX
        );
    }

    #[test]
    fn chains_resolve_to_their_origin() {
        let s = resolve(vec![
            iss("K3", 30, "AssumeRole", "AssumedRole", Some("K2")),
            iss(
                "K1",
                10,
                "AssumeRoleWithWebIdentity",
                "WebIdentityUser",
                None,
            ),
            iss("K2", 20, "AssumeRole", "AssumedRole", Some("K1")),
            iss("K9", 5, "AssumeRole", "AssumedRole", Some("KX")),
            iss("K8", 6, "GetSessionToken", "IAMUser", Some("AKIA1")),
        ]);
        let by: HashMap<&str, &Session> = s.iter().map(|x| (x.issued.key.as_str(), x)).collect();
        assert_eq!(by["K3"].depth, 2);
        assert_eq!(by["K3"].origin_type, OriginType::Oidc);
        assert_eq!(by["K3"].origin, "repo:acme/web:ref:refs/heads/main");
        assert!(by["K3"].complete);
        assert_eq!(by["K9"].origin_type, OriginType::RoleOutsideWindow);
        assert!(!by["K9"].complete);
        assert_eq!(by["K8"].origin_type, OriginType::IamUser);
        assert_eq!(by["K1"].issued.role_name(), Some("r-K1"));
        assert_eq!(by["K1"].issued.account(), Some("111122223333"));
    }

    #[test]
    fn a_cycle_does_not_hang() {
        let s = resolve(vec![
            iss("A", 1, "AssumeRole", "AssumedRole", Some("B")),
            iss("B", 2, "AssumeRole", "AssumedRole", Some("A")),
        ]);
        assert_eq!(s.len(), 2);
    }
}
