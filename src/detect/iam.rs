//! What an IAM or resource-policy change grants, for the persistence, escalation and
//! exfiltration rules of `queries/rules/` (called as SQL functions; pure, and a document that
//! does not parse gives null, never an error):
//!
//! - [`policy_power`]: whether a policy (a document, or an AWS managed policy's ARN, read from
//!   the bundled managed-policy set) is administrator-equivalent: `Action "*"` on every
//!   resource, `NotAction` on every resource that leaves IAM allowed, or `iam:*` on every
//!   resource (which can grant itself the rest).
//! - [`trust_outside`]: whom outside the organisation a role's trust policy lets in: `*`
//!   (unless a condition pins the organisation or account), another account, or an OIDC or SAML
//!   provider in another account or an OIDC issuer nobody uses.
//! - [`shared_outside`]: with whom a resource was shared: an AMI's launch permission, an EBS
//!   snapshot's volume permission, an RDS snapshot's restore attribute, a Lambda function's
//!   resource policy; `all` (public) or an account outside the organisation.
//! - [`world_open_ports`]: which remote-access or database ports (or all ports) a security group
//!   rule opens to every address.
//!
//! "The organisation" is the event's own account plus the `known` list the SQL passes (the
//! accounts of `pipewarden.toml` and those pipelines deploy to, the OIDC issuers the history
//! used, comma-separated).

use serde_json::Value;

use super::trust::parse_policy;
use crate::permissions::policy::{Statement, statements};

/// OIDC issuers of CI/CD systems: trusting them is how pipelines get credentials (how *widely*
/// is `oidc_trust_too_broad`'s question).
pub const CI_ISSUERS: &[&str] = &[
    "token.actions.githubusercontent.com",
    "gitlab.com",
    "app.terraform.io",
    "oidc.circleci.com",
    "vstoken.dev.azure.com",
    "api.bitbucket.org",
    "agent.buildkite.com",
];

/// The CI/CD issuer ([`CI_ISSUERS`]) an OIDC provider's URL names, or `None` (the SQL function
/// `ci_issuer(url)`): the URL's host, compared whole, so `https://gitlab.com.example.net` is not
/// GitLab.
pub fn ci_issuer(url: &str) -> Option<String> {
    let rest = url.trim();
    let rest = match rest.get(..8) {
        Some(p) if p.eq_ignore_ascii_case("https://") => &rest[8..],
        _ => rest,
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    CI_ISSUERS
        .iter()
        .find(|i| i.eq_ignore_ascii_case(host))
        .map(|i| i.to_string())
}

/// Conditions that keep a `*` principal inside the organisation or one account.
const PINNING_KEYS: &[&str] = &[
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:sourceaccount",
    "aws:sourceorgid",
    "aws:sourcearn",
];

fn document(text: &str) -> Option<Vec<Statement>> {
    statements(&parse_policy(text)?).ok()
}

/// Why a policy is administrator-equivalent, or `None`. `text` is a policy document or an AWS
/// managed policy's ARN (other ARNs: `None`, their document is not in the event).
pub fn policy_power(text: &str) -> Option<String> {
    let t = text.trim();
    if t.starts_with("arn:") {
        let m = crate::permissions::catalog::managed_policy(t)?;
        let sts = statements(&m.document).ok()?;
        let name = t.rsplit('/').next().unwrap_or(t);
        return power_of(&sts).map(|why| format!("{name}: {why}"));
    }
    power_of(&document(t)?)
}

fn power_of(sts: &[Statement]) -> Option<String> {
    for s in sts.iter().filter(|s| s.allow && s.any_resource()) {
        if s.not_action {
            let iam_left = !s.actions.iter().any(|a| {
                crate::permissions::catalog::glob_match(
                    &a.to_ascii_lowercase(),
                    "iam:putrolepolicy",
                )
            });
            if iam_left {
                return Some(format!(
                    "NotAction {} on Resource \"*\": everything else is allowed",
                    s.actions.join(", ")
                ));
            }
            continue;
        }
        if s.actions.iter().any(|a| a == "*" || a == "*:*") {
            return Some("Action \"*\" on Resource \"*\"".into());
        }
        if let Some(a) = s
            .actions
            .iter()
            .find(|a| a.eq_ignore_ascii_case("iam:*") || a.eq_ignore_ascii_case("iam:put*"))
        {
            return Some(format!(
                "{a} on Resource \"*\": it can grant itself everything else"
            ));
        }
    }
    None
}

fn known_list(known: &str) -> Vec<&str> {
    known
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// The account of a principal (`arn:aws:iam::ACCT:...`, `arn:aws:sts::ACCT:...`, or a bare
/// 12-digit account id).
fn account_of(principal: &str) -> Option<&str> {
    if principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()) {
        return Some(principal);
    }
    let acct = principal.strip_prefix("arn:")?.split(':').nth(3)?;
    (acct.len() == 12 && acct.bytes().all(|b| b.is_ascii_digit())).then_some(acct)
}

fn texts(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

fn pinned(condition: Option<&Value>) -> bool {
    let Some(Value::Object(ops)) = condition else {
        return false;
    };
    ops.values().any(|keys| match keys {
        Value::Object(k) => k
            .keys()
            .any(|k| PINNING_KEYS.contains(&k.to_ascii_lowercase().as_str())),
        _ => false,
    })
}

/// Whom outside the organisation a trust policy lets assume the role, or `None`. `own` is the
/// role's account; `known` the organisation's other accounts and the OIDC issuers in use.
pub fn trust_outside(doc: &str, own: &str, known: &str) -> Option<String> {
    let known = known_list(known);
    let inside = |acct: &str| acct == own || known.contains(&acct);
    let v = parse_policy(doc)?;
    let raw: Vec<Value> = match v.get("Statement")? {
        Value::Array(a) => a.clone(),
        o @ Value::Object(_) => vec![o.clone()],
        _ => return None,
    };
    let mut out: Vec<String> = vec![];
    for st in &raw {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let cond = st.get("Condition");
        let principals: Vec<(String, String)> = match st.get("Principal") {
            Some(Value::String(s)) => vec![("AWS".into(), s.clone())],
            Some(Value::Object(m)) => m
                .iter()
                .flat_map(|(k, v)| texts(v).into_iter().map(move |p| (k.clone(), p)))
                .collect(),
            _ => vec![],
        };
        for (kind, p) in principals {
            let why = match kind.as_str() {
                "AWS" if p == "*" => (!pinned(cond)).then(|| "Principal \"*\"".to_string()),
                "AWS" => account_of(&p)
                    .filter(|a| !inside(a))
                    .map(|a| format!("account {a} ({p})")),
                "Federated" => {
                    if let Some((arn, host)) = p.split_once(":oidc-provider/") {
                        let acct = account_of(arn).unwrap_or("");
                        let host = host.trim_end_matches('/');
                        if !acct.is_empty() && !inside(acct) {
                            Some(format!("OIDC provider {host} of account {acct}"))
                        } else if !CI_ISSUERS.contains(&host)
                            && !known.iter().any(|k| k.eq_ignore_ascii_case(host))
                        {
                            Some(format!("OIDC provider {host}, which no history uses"))
                        } else {
                            None
                        }
                    } else if p.contains(":saml-provider/") {
                        account_of(&p)
                            .filter(|a| !inside(a))
                            .map(|a| format!("SAML provider of account {a} ({p})"))
                    } else {
                        None
                    }
                }
                _ => None,
            };
            if let Some(w) = why
                && !out.contains(&w)
            {
                out.push(w);
            }
        }
    }
    (!out.is_empty()).then(|| out.join("; "))
}

/// With whom a resource was shared outside the organisation, from a sharing call's request
/// parameters, or `None`.
pub fn shared_outside(event_name: &str, params: &str, own: &str, known: &str) -> Option<String> {
    let known = known_list(known);
    let v: Value = serde_json::from_str(params).ok()?;
    let outside = |a: &str| a != own && !known.contains(&a);
    let mut out: Vec<String> = vec![];
    let items = |out: &mut Vec<String>, what: &str, add: Option<&Value>| {
        for it in add
            .and_then(|a| a.get("items"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if it.get("group").and_then(Value::as_str) == Some("all") {
                out.push(format!("{what} made public (group all)"));
            }
            if let Some(u) = it.get("userId").and_then(Value::as_str)
                && account_of(u).is_some_and(outside)
            {
                out.push(format!("{what} shared with account {u}"));
            }
        }
    };
    match event_name {
        "ModifyImageAttribute" => {
            items(
                &mut out,
                &format!("AMI {}", v.get("imageId").and_then(Value::as_str)?),
                v.get("launchPermission").and_then(|l| l.get("add")),
            );
        }
        "ModifySnapshotAttribute" => {
            items(
                &mut out,
                &format!(
                    "EBS snapshot {}",
                    v.get("snapshotId").and_then(Value::as_str)?
                ),
                v.get("createVolumePermission").and_then(|l| l.get("add")),
            );
        }
        "ModifyDBSnapshotAttribute" | "ModifyDBClusterSnapshotAttribute" => {
            if v.get("attributeName").and_then(Value::as_str) != Some("restore") {
                return None;
            }
            let id = v
                .get("dBSnapshotIdentifier")
                .or_else(|| v.get("dBClusterSnapshotIdentifier"))
                .and_then(Value::as_str)?;
            for a in texts(v.get("valuesToAdd").unwrap_or(&Value::Null)) {
                if a.eq_ignore_ascii_case("all") {
                    out.push(format!("RDS snapshot {id} made public (all)"));
                } else if account_of(&a).is_some_and(outside) {
                    out.push(format!("RDS snapshot {id} shared with account {a}"));
                }
            }
        }
        n if n.starts_with("AddPermission") => {
            let f = v.get("functionName").and_then(Value::as_str)?;
            let p = v.get("principal").and_then(Value::as_str)?;
            let pinned = v.get("sourceAccount").is_some()
                || v.get("sourceArn").is_some()
                || v.get("principalOrgID").is_some();
            if p == "*" && !pinned {
                out.push(format!(
                    "Lambda function {f} may be invoked by anyone (principal *)"
                ));
            } else if let Some(a) = account_of(p).filter(|a| outside(a)) {
                out.push(format!("Lambda function {f} may be invoked by account {a}"));
            }
        }
        _ => return None,
    }
    (!out.is_empty()).then(|| out.join("; "))
}

/// Ports that should never face the whole internet.
const SENSITIVE_PORTS: &[(i64, &str)] = &[
    (22, "SSH"),
    (23, "Telnet"),
    (445, "SMB"),
    (1433, "SQL Server"),
    (2375, "Docker"),
    (2376, "Docker"),
    (3306, "MySQL"),
    (3389, "RDP"),
    (5432, "PostgreSQL"),
    (5900, "VNC"),
    (6379, "Redis"),
    (9200, "Elasticsearch"),
    (27017, "MongoDB"),
];

/// One ingress permission: protocol, from port, to port, address ranges.
type Permission = (String, Option<i64>, Option<i64>, Vec<String>);

/// What an `AuthorizeSecurityGroupIngress` opens to every address (a `/0` range) among the
/// sensitive ports or all ports, or `None`.
pub fn world_open_ports(params: &str) -> Option<String> {
    let v: Value = serde_json::from_str(params).ok()?;
    // (protocol, from, to, ranges) of the call's top-level form and of each `ipPermissions` item.
    let mut perms: Vec<Permission> = vec![];
    let ranges_of = |p: &Value| -> Vec<String> {
        let mut r: Vec<String> = ["cidrIp", "cidrIpv6"]
            .iter()
            .filter_map(|k| p.get(*k).and_then(Value::as_str).map(str::to_string))
            .collect();
        for (list, key) in [("ipRanges", "cidrIp"), ("ipv6Ranges", "cidrIpv6")] {
            for it in p
                .get(list)
                .and_then(|l| l.get("items").or(Some(l)))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(c) = it.get(key).and_then(Value::as_str) {
                    r.push(c.to_string());
                }
            }
        }
        r
    };
    let port = |p: &Value, k: &str| {
        p.get(k).and_then(|x| {
            x.as_i64()
                .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
        })
    };
    let proto = |p: &Value| {
        p.get("ipProtocol")
            .map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .unwrap_or_default()
    };
    perms.push((
        proto(&v),
        port(&v, "fromPort"),
        port(&v, "toPort"),
        ranges_of(&v),
    ));
    for it in v
        .get("ipPermissions")
        .and_then(|l| l.get("items").or(Some(l)))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        perms.push((
            proto(it),
            port(it, "fromPort"),
            port(it, "toPort"),
            ranges_of(it),
        ));
    }
    let mut out: Vec<String> = vec![];
    for (proto, from, to, ranges) in perms {
        let Some(world) = ranges.iter().find(|r| r.ends_with("/0")) else {
            continue;
        };
        let all = proto == "-1"
            || proto.eq_ignore_ascii_case("all")
            || (from.is_none_or(|f| f <= 0)
                && to.is_none_or(|t| !(0..65535).contains(&t))
                && proto != "icmp");
        if all && from.is_none_or(|f| f <= 0) {
            out.push(format!("every port open to {world}"));
            continue;
        }
        let (Some(f), Some(t)) = (from, to) else {
            continue;
        };
        let hit: Vec<String> = SENSITIVE_PORTS
            .iter()
            .filter(|(p, _)| f <= *p && *p <= t)
            .map(|(p, n)| format!("{proto} {p} ({n})"))
            .collect();
        if !hit.is_empty() {
            out.push(format!("{} open to {world}", hit.join(", ")));
        }
    }
    (!out.is_empty()).then(|| out.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn administrator_equivalent_policies() {
        let admin = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        assert!(policy_power(admin).unwrap().contains("Action \"*\""));
        // As CloudTrail records it: a JSON string holding the document.
        assert!(policy_power(&serde_json::to_string(admin).unwrap()).is_some());
        assert!(policy_power("arn:aws:iam::aws:policy/AdministratorAccess").is_some());
        assert!(
            policy_power("arn:aws:iam::aws:policy/IAMFullAccess")
                .unwrap()
                .contains("iam:*")
        );
        for quiet in [
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "arn:aws:iam::aws:policy/PowerUserAccess",
            "arn:aws:iam::123456789012:policy/Mine",
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/*"}]}"#,
            r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#,
            "not json",
        ] {
            assert_eq!(policy_power(quiet), None, "{quiet}");
        }
    }

    #[test]
    fn trust_opened_outside_the_organisation() {
        let doc = |p: &str| {
            format!(
                r#"{{"Statement":[{{"Effect":"Allow","Principal":{p},"Action":"sts:AssumeRole"}}]}}"#
            )
        };
        let own = "111122223333";
        assert!(
            trust_outside(&doc(r#"{"AWS":"arn:aws:iam::193672423079:root"}"#), own, "")
                .unwrap()
                .contains("account 193672423079")
        );
        assert!(trust_outside(&doc(r#""*""#), own, "").is_some());
        assert!(trust_outside(&doc(r#"{"AWS":["*"]}"#), own, "").is_some());
        assert!(
            trust_outside(
                &doc(r#"{"Federated":"arn:aws:iam::111122223333:oidc-provider/evil.example.com"}"#),
                own,
                ""
            )
            .unwrap()
            .contains("no history uses")
        );
        for quiet in [
            doc(r#"{"Service":"ec2.amazonaws.com"}"#),
            doc(r#"{"AWS":"arn:aws:iam::111122223333:root"}"#),
            doc(r#"{"AWS":"arn:aws:iam::444455556666:role/deployer"}"#),
            doc(
                r#"{"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"}"#,
            ),
            doc(r#"{"Federated":"arn:aws:iam::111122223333:oidc-provider/idp.example.com"}"#),
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}}]}"#.to_string(),
            "{}".to_string(),
        ] {
            assert_eq!(
                trust_outside(&quiet, own, "444455556666,idp.example.com"),
                None,
                "{quiet}"
            );
        }
    }

    #[test]
    fn ports_opened_to_every_address() {
        // Stratus Red Team's detonation (its addresses scrambled, the /0 kept).
        let stratus = r#"{"cidrIp":"208.236.235.254/0","fromPort":22,"groupId":"sg-1","ipPermissions":{},"ipProtocol":"tcp","toPort":22}"#;
        assert_eq!(
            world_open_ports(stratus).as_deref(),
            Some("tcp 22 (SSH) open to 208.236.235.254/0")
        );
        let nested = r#"{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"-1","ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}"#;
        assert!(world_open_ports(nested).unwrap().contains("every port"));
        let v6 = r#"{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":3389,"toPort":3389,"ipv6Ranges":{"items":[{"cidrIpv6":"::/0"}]}}]}}"#;
        assert!(world_open_ports(v6).unwrap().contains("RDP"));
        for quiet in [
            r#"{"cidrIp":"0.0.0.0/0","fromPort":443,"toPort":443,"ipProtocol":"tcp"}"#,
            r#"{"cidrIp":"10.0.0.0/8","fromPort":22,"toPort":22,"ipProtocol":"tcp"}"#,
            r#"{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"groups":{"items":[{"groupId":"sg-2"}]}}]}}"#,
            "nonsense",
        ] {
            assert_eq!(world_open_ports(quiet), None, "{quiet}");
        }
    }

    #[test]
    fn resources_shared_outside_the_organisation() {
        let own = "123456789012";
        let ami = |item: &str| {
            format!(
                r#"{{"attributeType":"launchPermission","imageId":"ami-1","launchPermission":{{"add":{{"items":[{item}]}}}}}}"#
            )
        };
        assert!(
            shared_outside("ModifyImageAttribute", &ami(r#"{"group":"all"}"#), own, "").is_some()
        );
        assert!(
            shared_outside(
                "ModifyImageAttribute",
                &ami(r#"{"userId":"012345678901"}"#),
                own,
                ""
            )
            .is_some()
        );
        for quiet in [
            r#"{"group":"not-all"}"#,
            r#"{"userId":"bob"}"#,
            r#"{"userId":"123456789012"}"#,
        ] {
            assert_eq!(
                shared_outside("ModifyImageAttribute", &ami(quiet), own, ""),
                None
            );
        }
        assert_eq!(
            shared_outside(
                "ModifyImageAttribute",
                &ami(r#"{"userId":"210987654321"}"#),
                own,
                "210987654321"
            ),
            None
        );
        let rds = r#"{"dBSnapshotIdentifier":"x","attributeName":"restore","valuesToAdd":["193672423079"]}"#;
        assert!(shared_outside("ModifyDBSnapshotAttribute", rds, own, "").is_some());
        let none = r#"{"dBSnapshotIdentifier":"x","attributeName":"restore","valuesToAdd":[]}"#;
        assert_eq!(
            shared_outside("ModifyDBSnapshotAttribute", none, own, ""),
            None
        );
        let lambda = r#"{"action":"lambda:InvokeFunction","functionName":"f","principal":"*","statementId":"s"}"#;
        assert!(shared_outside("AddPermission20150331v2", lambda, own, "").is_some());
        let pinned =
            r#"{"functionName":"f","principal":"s3.amazonaws.com","sourceAccount":"123456789012"}"#;
        assert_eq!(
            shared_outside("AddPermission20150331v2", pinned, own, ""),
            None
        );
    }

    #[test]
    fn ci_issuers_are_matched_by_their_whole_host() {
        assert_eq!(
            ci_issuer("https://token.actions.githubusercontent.com").as_deref(),
            Some("token.actions.githubusercontent.com")
        );
        assert_eq!(
            ci_issuer("HTTPS://GitLab.com/").as_deref(),
            Some("gitlab.com")
        );
        assert_eq!(ci_issuer("https://gitlab.com.example.net"), None);
        assert_eq!(ci_issuer("https://oidc.example.com"), None);
        assert_eq!(ci_issuer(""), None);
    }
}
