//! SQL functions for analysts, registered in every session: the string surgery that CloudTrail
//! questions otherwise need, done once and tested.
//!
//! | function | returns | example |
//! |---|---|---|
//! | `access_key_type(key_id)` | `long_term` (AKIA), `temporary` (ASIA), `bearer_token` (ABIA), `context_specific` (ACCA), or the kind of other AWS unique ids (`user`, `role`, `group`, ...); null otherwise | `access_key_type('ASIAY34FZKBOKMUTVV7A')` → `temporary` |
//! | `access_key_account(key_id)` | the account that owns an access key, decoded from the key id (keys issued since 2019; null for older ones) | `access_key_account('ASIAY34FZKBOKMUTVV7A')` → `609629065308` |
//! | `arn_part(arn, part)` | `partition`, `service`, `region`, `account`, `resource`, `resource_type` or `resource_id` of an ARN | `arn_part('arn:aws:iam::111111111111:role/deploy', 'account')` → `111111111111` |
//! | `arn_role(arn)` | the role name of a role or assumed-role ARN | `arn_role('arn:aws:sts::1:assumed-role/deploy/gh-42')` → `deploy` |
//! | `ip_in_cidr(ip, cidr)` | whether an IPv4/IPv6 address is in a network; false for a service name such as `codebuild.amazonaws.com` | `ip_in_cidr(source_ip_address, '192.0.2.0/24')` |
//! | `hour_of_week(ts)` | 0 (Monday 00:00-00:59 UTC) to 167 (Sunday 23h) | `hour_of_week(TIMESTAMP '2026-09-28 15:02:00')` → `15` |
//! | `oidc_sub_part(sub, key)` | one claim of an OIDC subject (`repo`, `environment`, `ref`, `ref_type`, `pull_request`, `project_path`, `job_workflow_ref`, ...) | `oidc_sub_part('repo:acme/web:environment:prod', 'environment')` → `prod` |
//! | `definition_diff(before, after)` | what changed between two CodePipeline pipeline definitions (stages, actions) or CodeBuild project definitions (buildspec line diff, source, image, privileged mode, service role), as the `Create*`/`Update*` events carry them; null when nothing did ([`crate::detect::definitions`]) | `definition_diff(lag(def) OVER (...), def)` |
//! | `checks_removed(before, after)` | the approval, test and scan actions a pipeline definition lost or moved behind its first deploy; null when none | `checks_removed(old, new)` → `removed UnitTests (Test, CodeBuild) in stage Test` |
//! | `ci_issuer(url)` | the CI/CD system's OIDC issuer an identity provider URL names (GitHub Actions, GitLab, Terraform Cloud, CircleCI, Azure DevOps, Bitbucket, Buildkite; the whole host compared); null otherwise ([`crate::detect::iam::CI_ISSUERS`]) | `ci_issuer('https://token.actions.githubusercontent.com')` → `token.actions.githubusercontent.com` |
//! | `oidc_trust_breadth(policy)` | how far a trust policy's OIDC statements let in: `90: ...` any repository (no `sub` condition), `80: ...` more than one repository, `60: ...` every ref of one; null when scoped ([`crate::detect::trust`]) | `oidc_trust_breadth(json_get_str(request_parameters, 'policyDocument'))` |
//!
//! JSON columns (`request_parameters`, `response_elements`, `additional_event_data`,
//! `resources`, `raw`) are read with the functions of the `datafusion-functions-json` crate:
//! `json_get_str(request_parameters, 'roleArn')`, nested paths as further arguments
//! (`json_get_str(raw, 'userIdentity', 'sessionContext', 'sessionIssuer', 'arn')`, array
//! positions as integers), `json_contains`, `json_length`, `json_get_json`, and the operators
//! `->`, `->>`. Attribution's `credential_type(...)` and `ip_network(ip)` ([`crate::attribute`])
//! are registered with them, so every session (and every cluster process) knows the same set.

use std::net::IpAddr;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int32Array, StringArray};
use arrow::datatypes::{DataType, TimeUnit};
use datafusion::error::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};

/// Registers this module's functions, attribution's and the JSON functions on a session (or a
/// cluster process's registry).
pub fn register(registry: &mut dyn FunctionRegistry) -> Result<()> {
    for f in [
        unary_str("access_key_type", access_key_type),
        unary_str("access_key_account", access_key_account),
        unary_str("arn_role", arn_role),
        binary_str("arn_part", arn_part),
        binary_str("oidc_sub_part", oidc_sub_part),
        binary_str(
            "definition_diff",
            crate::detect::definitions::definition_diff,
        ),
        binary_str("checks_removed", crate::detect::definitions::checks_removed),
        unary_str(
            "oidc_trust_breadth",
            crate::detect::trust::oidc_trust_breadth,
        ),
        unary_str("policy_power", crate::detect::iam::policy_power),
        unary_str("world_open_ports", crate::detect::iam::world_open_ports),
        unary_str("ci_issuer", crate::detect::iam::ci_issuer),
        nary_str("trust_outside", 3, |a| {
            crate::detect::iam::trust_outside(a[0], a[1], a[2])
        }),
        nary_str("shared_outside", 4, |a| {
            crate::detect::iam::shared_outside(a[0], a[1], a[2], a[3])
        }),
        ip_in_cidr_udf(),
        hour_of_week_udf(),
        crate::attribute::credential::udf(),
        crate::attribute::pipelines::ip_network_udf(),
    ] {
        registry.register_udf(Arc::new(f))?;
    }
    datafusion_functions_json::register_all(registry)
}

/// Names of the functions [`register`] adds (for completion and the docs test).
pub const NAMES: &[&str] = &[
    "access_key_type",
    "access_key_account",
    "arn_part",
    "arn_role",
    "ip_in_cidr",
    "hour_of_week",
    "oidc_sub_part",
    "definition_diff",
    "checks_removed",
    "oidc_trust_breadth",
    "policy_power",
    "trust_outside",
    "shared_outside",
    "world_open_ports",
    "ci_issuer",
    "json_get_str",
    "json_get_json",
    "json_contains",
    "json_length",
    "credential_type",
    "ip_network",
];

fn strings(args: &[ColumnarValue]) -> Result<(Vec<ArrayRef>, usize)> {
    let arrays = ColumnarValue::values_to_arrays(args)?;
    let n = arrays.iter().map(|a| a.len()).max().unwrap_or(0);
    let cols = arrays
        .iter()
        .map(|a| arrow::compute::cast(a, &DataType::Utf8))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((cols, n))
}

/// `get(col, row)`: a string cell, broadcasting a one-row (scalar) column.
fn cell(a: &ArrayRef, i: usize) -> Option<&str> {
    let s = a.as_string::<i32>();
    let i = if s.len() == 1 { 0 } else { i };
    (!s.is_null(i)).then(|| s.value(i))
}

fn unary_str(name: &str, f: fn(&str) -> Option<String>) -> ScalarUDF {
    create_udf(
        name,
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let (c, n) = strings(args)?;
            let out: StringArray = (0..n).map(|i| cell(&c[0], i).and_then(f)).collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

/// A function of `arity` strings, null when any argument is null.
fn nary_str(
    name: &str,
    arity: usize,
    f: impl Fn(&[&str]) -> Option<String> + Send + Sync + 'static,
) -> ScalarUDF {
    create_udf(
        name,
        vec![DataType::Utf8; arity],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let (c, n) = strings(args)?;
            let out: StringArray = (0..n)
                .map(|i| {
                    let a: Option<Vec<&str>> = c.iter().map(|col| cell(col, i)).collect();
                    a.and_then(|a| f(&a))
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

fn binary_str(name: &str, f: fn(&str, &str) -> Option<String>) -> ScalarUDF {
    create_udf(
        name,
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let (c, n) = strings(args)?;
            let out: StringArray = (0..n)
                .map(|i| match (cell(&c[0], i), cell(&c[1], i)) {
                    (Some(a), Some(b)) => f(a, b),
                    _ => None,
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

/// The kind of credential or unique id an AWS identifier's prefix says it is.
pub fn access_key_type(id: &str) -> Option<String> {
    let kind = match id.get(..4)? {
        "AKIA" => "long_term",
        "ASIA" => "temporary",
        "ABIA" => "bearer_token",
        "ACCA" => "context_specific",
        "AIDA" => "user",
        "AROA" => "role",
        "AGPA" => "group",
        "AIPA" => "instance_profile",
        "ANPA" => "managed_policy",
        "ANVA" => "managed_policy_version",
        "APKA" => "public_key",
        "ASCA" => "certificate",
        _ => return None,
    };
    Some(kind.to_string())
}

/// The account id encoded in an access key id issued since 2019 (the 10 bytes after the
/// prefix, base32; bits 1..40 of the first six bytes). Older key ids (fifth character `I` or
/// `J`) carry no account and give null.
pub fn access_key_account(id: &str) -> Option<String> {
    if id.len() != 20 || !id.is_ascii() || matches!(&id[4..5], "I" | "J") {
        return None;
    }
    let mut bits: u128 = 0;
    for c in id[4..].bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        bits = (bits << 5) | v as u128;
    }
    // 16 characters are 80 bits; the first 48 hold the account.
    let first6 = (bits >> 32) as u64;
    let account = (first6 & 0x7fff_ffff_ff80) >> 7;
    Some(format!("{account:012}"))
}

/// One part of an ARN (`arn:partition:service:region:account:resource`).
pub fn arn_part(arn: &str, part: &str) -> Option<String> {
    let mut it = arn.splitn(6, ':');
    if it.next()? != "arn" {
        return None;
    }
    let (partition, service, region, account, resource) =
        (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    let split = resource.find(['/', ':']);
    let v = match part.to_ascii_lowercase().as_str() {
        "partition" => partition,
        "service" => service,
        "region" => region,
        "account" => account,
        "resource" => resource,
        "resource_type" => &resource[..split?],
        "resource_id" => split.map_or(resource, |i| &resource[i + 1..]),
        _ => return None,
    };
    (!v.is_empty()).then(|| v.to_string())
}

/// The role name of `arn:…:iam::…:role/path/Name` or `arn:…:sts::…:assumed-role/Name/session`.
pub fn arn_role(arn: &str) -> Option<String> {
    let resource = arn_part(arn, "resource")?;
    if let Some(r) = resource.strip_prefix("assumed-role/") {
        return r.split('/').next().map(str::to_string);
    }
    resource
        .strip_prefix("role/")
        .and_then(|r| r.rsplit('/').next())
        .map(str::to_string)
}

/// Claim keys that stand alone in a subject (no value follows).
const BARE_CLAIMS: &[&str] = &["pull_request"];

/// One claim of an OIDC subject such as `repo:acme/web:environment:prod` (GitHub) or
/// `project_path:group/app:ref_type:branch:ref:main` (GitLab). `pull_request` gives an empty
/// string when present.
pub fn oidc_sub_part(sub: &str, key: &str) -> Option<String> {
    let mut parts = sub.split(':');
    while let Some(k) = parts.next() {
        if BARE_CLAIMS.contains(&k) {
            if k == key {
                return Some(String::new());
            }
            continue;
        }
        let v = parts.next()?;
        if k == key {
            return Some(v.to_string());
        }
    }
    None
}

/// Whether `ip` lies in `cidr` (`a.b.c.d/n` or IPv6; a bare address means `/32` or `/128`).
pub fn ip_in_cidr(ip: &str, cidr: &str) -> Option<bool> {
    let (net, len) = match cidr.split_once('/') {
        Some((n, l)) => (
            n.trim().parse::<IpAddr>().ok()?,
            Some(l.trim().parse::<u32>().ok()?),
        ),
        None => (cidr.trim().parse::<IpAddr>().ok()?, None),
    };
    let Ok(ip) = ip.trim().parse::<IpAddr>() else {
        return Some(false);
    };
    let (a, b, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        (IpAddr::V6(a), IpAddr::V4(b)) => match a.to_ipv4_mapped() {
            Some(a) => (u32::from(a) as u128, u32::from(b) as u128, 32),
            None => return Some(false),
        },
        (IpAddr::V4(_), IpAddr::V6(_)) => return Some(false),
    };
    let len = len.unwrap_or(width);
    if len > width {
        return None;
    }
    let shift = width - len;
    Some(shift >= width || (a >> shift) == (b >> shift))
}

fn ip_in_cidr_udf() -> ScalarUDF {
    create_udf(
        "ip_in_cidr",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let (c, n) = strings(args)?;
            let out: BooleanArray = (0..n)
                .map(|i| match (cell(&c[0], i), cell(&c[1], i)) {
                    (Some(ip), Some(net)) => ip_in_cidr(ip, net),
                    _ => None,
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

const HOUR_US: i64 = 3_600_000_000;

/// Hour of the week of a UTC time in microseconds: Monday 00h is 0, Sunday 23h is 167.
pub fn hour_of_week(us: i64) -> i32 {
    let hours = us.div_euclid(HOUR_US);
    // 1970-01-01 was a Thursday: three days after a Monday.
    ((hours + 3 * 24).rem_euclid(7 * 24)) as i32
}

fn hour_of_week_udf() -> ScalarUDF {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    create_udf(
        "hour_of_week",
        vec![ts.clone()],
        DataType::Int32,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let a = ColumnarValue::values_to_arrays(args)?;
            let a = arrow::compute::cast(&a[0], &ts)?;
            let t = a.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
            let out: Int32Array = t.iter().map(|v| v.map(hour_of_week)).collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_keys() {
        let t = |k| access_key_type(k);
        assert_eq!(t("AKIAIOSFODNN7EXAMPLE").as_deref(), Some("long_term"));
        assert_eq!(t("ASIAY34FZKBOKMUTVV7A").as_deref(), Some("temporary"));
        assert_eq!(t("AROAEXAMPLEID").as_deref(), Some("role"));
        assert_eq!(t("xyz"), None);
        assert_eq!(t(""), None);
        // Published example of the encoding (Aidan Steele, 2020; Tal Be'ery).
        assert_eq!(
            access_key_account("ASIAY34FZKBOKMUTVV7A").as_deref(),
            Some("609629065308")
        );
        assert_eq!(
            access_key_account("AKIAIOSFODNN7EXAMPLE"),
            None,
            "legacy format"
        );
        assert_eq!(access_key_account("AKIA!!!!!!!!!!!!!!!!"), None);
        assert_eq!(access_key_account("AKIA"), None);
        assert_eq!(access_key_account("ASIAY34FZKBOKMUTVV7Aé"), None);
    }

    #[test]
    fn arns() {
        let role = "arn:aws:iam::111111111111:role/ci/deploy-prod";
        let sts = "arn:aws:sts::222222222222:assumed-role/deploy/gh-42";
        let cases = [
            (role, "partition", Some("aws")),
            (role, "service", Some("iam")),
            (role, "region", None),
            (role, "account", Some("111111111111")),
            (role, "resource", Some("role/ci/deploy-prod")),
            (role, "resource_type", Some("role")),
            (role, "resource_id", Some("ci/deploy-prod")),
            (sts, "account", Some("222222222222")),
            (
                "arn:aws:s3:::bucket/key:with:colons",
                "resource",
                Some("bucket/key:with:colons"),
            ),
            ("arn:aws:sns:us-east-1:1:topic", "resource_type", None),
            (
                "arn:aws:sns:us-east-1:1:topic",
                "resource_id",
                Some("topic"),
            ),
            (
                "arn:aws:lambda:eu-west-1:1:function:f",
                "resource_type",
                Some("function"),
            ),
            ("not an arn", "account", None),
            ("arn:aws:iam", "account", None),
            (role, "nonsense", None),
        ];
        for (arn, part, want) in cases {
            assert_eq!(arn_part(arn, part).as_deref(), want, "{arn} {part}");
        }
        assert_eq!(arn_role(role).as_deref(), Some("deploy-prod"));
        assert_eq!(arn_role(sts).as_deref(), Some("deploy"));
        assert_eq!(arn_role("arn:aws:iam::1:user/bob"), None);
    }

    #[test]
    fn oidc_subjects() {
        let gh = "repo:acme/web:environment:prod";
        assert_eq!(oidc_sub_part(gh, "repo").as_deref(), Some("acme/web"));
        assert_eq!(oidc_sub_part(gh, "environment").as_deref(), Some("prod"));
        assert_eq!(oidc_sub_part(gh, "ref"), None);
        let pr = "repo:acme/web:pull_request";
        assert_eq!(oidc_sub_part(pr, "pull_request").as_deref(), Some(""));
        assert_eq!(oidc_sub_part(pr, "repo").as_deref(), Some("acme/web"));
        let r = "repo:acme/web:ref:refs/heads/main";
        assert_eq!(oidc_sub_part(r, "ref").as_deref(), Some("refs/heads/main"));
        let gl = "project_path:platform/billing:ref_type:branch:ref:main";
        assert_eq!(
            oidc_sub_part(gl, "project_path").as_deref(),
            Some("platform/billing")
        );
        assert_eq!(oidc_sub_part(gl, "ref_type").as_deref(), Some("branch"));
        assert_eq!(oidc_sub_part(gl, "ref").as_deref(), Some("main"));
        assert_eq!(oidc_sub_part("", "repo"), None);
    }

    #[test]
    fn cidrs() {
        let cases = [
            ("192.0.2.7", "192.0.2.0/24", Some(true)),
            ("192.0.3.7", "192.0.2.0/24", Some(false)),
            ("10.1.2.3", "0.0.0.0/0", Some(true)),
            ("10.1.2.3", "10.1.2.3", Some(true)),
            ("2001:db8::1", "2001:db8::/32", Some(true)),
            ("2001:db9::1", "2001:db8::/32", Some(false)),
            ("::ffff:192.0.2.7", "192.0.2.0/24", Some(true)),
            ("192.0.2.7", "2001:db8::/32", Some(false)),
            ("codebuild.amazonaws.com", "10.0.0.0/8", Some(false)),
            ("192.0.2.7", "192.0.2.0/33", None),
            ("192.0.2.7", "garbage", None),
        ];
        for (ip, net, want) in cases {
            assert_eq!(ip_in_cidr(ip, net), want, "{ip} in {net}");
        }
    }

    #[test]
    fn hours_of_week() {
        let at = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_micros()
        };
        assert_eq!(hour_of_week(at("2026-09-28T15:02:00Z")), 15, "a Monday");
        assert_eq!(hour_of_week(at("2026-09-27T23:59:59Z")), 167, "a Sunday");
        assert_eq!(hour_of_week(at("1970-01-01T00:00:00Z")), 72, "a Thursday");
        assert_eq!(
            hour_of_week(at("1969-12-29T01:00:00Z")),
            1,
            "before the epoch"
        );
    }
}
