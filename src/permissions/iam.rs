//! `--iam`: the live account's grants through aws-sdk-iam's `GetAccountAuthorizationDetails`
//! (every role, user, group and customer managed policy, paged) and `ListAccessKeys` for the
//! users a pipeline uses, on the standard credential chain. Read-only; the IAM policy it
//! needs is in the README.

use std::collections::BTreeSet;

use super::grants::{AccessKey, Customer, Grants, Inline, Key, PrincipalKind, Source, key_of};

/// Where IAM is (`--iam-endpoint-url`, or `AWS_ENDPOINT_URL_IAM`; AWS's otherwise).
#[derive(Debug, Clone, Default)]
pub struct IamOptions {
    /// Another endpoint than AWS's (moto, LocalStack).
    pub endpoint: Option<String>,
}

/// Records a role, user or group of the account with its inline and attached managed
/// policies (an inline document that cannot be read is a warning); its key.
fn principal(
    g: &mut Grants,
    arn: Option<&str>,
    inline: &[aws_sdk_iam::types::PolicyDetail],
    managed: &[aws_sdk_iam::types::AttachedPolicy],
) -> Option<Key> {
    let k = key_of(arn?)?;
    let mut docs = vec![];
    for p in inline {
        let name = p.policy_name().unwrap_or("").to_string();
        if let Some(d) = doc(g, &format!("{name} of {}", k.2), p.policy_document()) {
            docs.push((name, d));
        }
    }
    let p = g.principals.entry(k.clone()).or_default();
    p.arn = arn.map(str::to_string);
    p.complete = true;
    p.sources.insert(Source::Iam);
    for a in managed.iter().filter_map(|a| a.policy_arn()) {
        p.managed.insert(a.to_string(), [Source::Iam].into());
    }
    for (name, document) in docs {
        p.inline.insert(
            name,
            Inline {
                document,
                sources: [Source::Iam].into(),
            },
        );
    }
    Some(k)
}

fn doc(g: &mut Grants, what: &str, text: Option<&str>) -> Option<serde_json::Value> {
    match super::policy::parse_text(text?) {
        Ok(v) => Some(v),
        Err(e) => {
            g.warnings.push(format!(
                "IAM GetAccountAuthorizationDetails: {what}: {e}; skipped"
            ));
            None
        }
    }
}

/// Reads the account's grants; `users` are the user keys whose access keys to list.
pub async fn read(
    aws: &crate::aws::AwsContext,
    opts: &IamOptions,
    users: &BTreeSet<Key>,
) -> anyhow::Result<Grants> {
    let mut conf = aws_sdk_iam::config::Builder::from(&aws.sdk);
    // The lake's `--endpoint-url` is S3's: IAM gets its own, or AWS's.
    conf.set_endpoint_url(opts.endpoint.clone());
    let client = aws_sdk_iam::Client::from_conf(conf.build());
    let mut g = Grants::default();
    let mut pages = client
        .get_account_authorization_details()
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            anyhow::anyhow!(
                "IAM GetAccountAuthorizationDetails: {}",
                aws_sdk_iam::error::DisplayErrorContext(&e)
            )
        })?;
        for r in page.role_detail_list() {
            let Some(k) = principal(
                &mut g,
                r.arn(),
                r.role_policy_list(),
                r.attached_managed_policies(),
            ) else {
                continue;
            };
            let trust = doc(
                &mut g,
                &format!("trust policy of {}", k.2),
                r.assume_role_policy_document(),
            );
            g.principals.get_mut(&k).expect("added").trust = trust;
        }
        for u in page.user_detail_list() {
            if let Some(k) = principal(
                &mut g,
                u.arn(),
                u.user_policy_list(),
                u.attached_managed_policies(),
            ) {
                g.principals.get_mut(&k).expect("added").groups =
                    u.group_list().iter().cloned().collect();
            }
        }
        for gr in page.group_detail_list() {
            principal(
                &mut g,
                gr.arn(),
                gr.group_policy_list(),
                gr.attached_managed_policies(),
            );
        }
        for pol in page.policies() {
            let Some(arn) = pol.arn() else { continue };
            let mut c = Customer {
                default: pol.default_version_id().map(str::to_string),
                ..Default::default()
            };
            for v in pol.policy_version_list() {
                let vid = v.version_id().unwrap_or("").to_string();
                if let Some(d) = doc(&mut g, &format!("{arn} {vid}"), v.document()) {
                    if v.is_default_version() {
                        c.default = Some(vid.clone());
                    }
                    c.versions.insert(vid, d);
                }
            }
            g.customer.insert(arn.to_string(), c);
        }
    }
    for k in users.iter().filter(|k| k.1 == PrincipalKind::User) {
        if !g.principals.contains_key(k) {
            continue;
        }
        let out = client.list_access_keys().user_name(&k.2).send().await;
        match out {
            Ok(o) => {
                let p = g.principals.get_mut(k).expect("checked");
                for m in o.access_key_metadata() {
                    let Some(id) = m.access_key_id() else {
                        continue;
                    };
                    p.keys.insert(
                        id.to_string(),
                        AccessKey {
                            access_key_id: id.to_string(),
                            status: m
                                .status()
                                .map(|s| s.as_str().to_string())
                                .unwrap_or_else(|| "Active".into()),
                            created: m.create_date().map(|d| d.to_string()),
                            source: Source::Iam,
                        },
                    );
                }
            }
            Err(e) => g.warnings.push(format!(
                "IAM ListAccessKeys {}: {}",
                k.2,
                aws_sdk_iam::error::DisplayErrorContext(&e)
            )),
        }
    }
    Ok(g)
}
