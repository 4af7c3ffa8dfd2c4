//! The pipeline principals' grants, made on day 0 by the platform team through IAM
//! (`CreateRole`, `AttachRolePolicy`, `PutRolePolicy`, `CreateUser`, `AttachUserPolicy`,
//! `PutUserPolicy`, `CreateAccessKey`): some tight, some broad, as real organisations have
//! them. The truth of the permissions review ([`truth`]) comes from this table and from the
//! calls each principal actually made, mapped by [`iam_action`], a table written by hand for
//! the generator's own vocabulary (not the review's bundled mapping).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::Day;
use super::org::{Env, Pipeline, pipelines};

/// A grant: policies attached (AWS managed, by name) and inline policies (name, statements).
pub struct Grant {
    /// Role (or, for Jenkins, the IAM user) name.
    pub name: &'static str,
    /// A user, not a role.
    pub user: bool,
    /// The accounts it lives in.
    pub envs: Vec<Env>,
    /// AWS managed policies attached (names under `arn:aws:iam::aws:policy/`).
    pub managed: &'static [&'static str],
    /// Inline policies: name and statements.
    pub inline: Vec<(&'static str, Value)>,
    /// The trust policy (roles).
    pub trust: Option<Value>,
}

fn allow(actions: &[&str], resources: &[&str]) -> Value {
    json!({"Effect": "Allow", "Action": actions, "Resource": resources})
}

fn github_trust(account: &str, repo: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                      "StringLike": {"token.actions.githubusercontent.com:sub": format!("repo:{repo}:ref:refs/heads/main")}}}]})
}

fn gitlab_trust(account: &str, project: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{account}:oidc-provider/gitlab.com")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringLike": {"gitlab.com:sub": format!("project_path:{project}:ref_type:branch:ref:main")}}}]})
}

fn service_trust(service: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})
}

/// Every pipeline principal's grant.
pub fn grants() -> Vec<Grant> {
    let ps = pipelines();
    let p = |id: &str| -> &Pipeline { ps.iter().find(|p| p.id == id).expect("pipeline") };
    let tooling = Env::Tooling.account();
    let trust_of = |p: &Pipeline, account: &str| match p.kind {
        super::org::Kind::GithubActions => github_trust(account, p.repo),
        super::org::Kind::GitlabCi => gitlab_trust(account, p.repo),
        super::org::Kind::CodeBuild => service_trust("codebuild.amazonaws.com"),
        super::org::Kind::CodePipeline => service_trust("codepipeline.amazonaws.com"),
        super::org::Kind::Jenkins => Value::Null,
    };
    let g = |id: &str, managed: &'static [&'static str], inline: Vec<(&'static str, Value)>| {
        let pl = p(id);
        // CodeBuild's and CodePipeline's service roles live in the tooling account.
        let envs = match pl.kind {
            super::org::Kind::CodeBuild | super::org::Kind::CodePipeline => vec![Env::Tooling],
            _ => pl.envs.to_vec(),
        };
        Grant {
            name: pl.role,
            user: false,
            envs,
            managed,
            inline,
            trust: Some(trust_of(pl, "ACCOUNT")),
        }
    };
    let doc = |st: Vec<Value>| json!({"Version": "2012-10-17", "Statement": st});
    vec![
        g(
            "github:acme/web:deploy.yml",
            &[],
            vec![(
                "deploy-site",
                doc(vec![
                    allow(
                        &["s3:PutObject", "s3:GetObject"],
                        &["arn:aws:s3:::acme-web-*/*"],
                    ),
                    allow(&["s3:ListBucket"], &["arn:aws:s3:::acme-web-*"]),
                    allow(&["cloudfront:CreateInvalidation"], &["*"]),
                ]),
            )],
        ),
        g(
            "github:acme/api:deploy.yml",
            &["AmazonEC2ContainerRegistryPowerUser"],
            vec![(
                "ecs-deploy",
                doc(vec![
                    allow(&["ecs:*"], &["*"]),
                    allow(&["iam:PassRole"], &["*"]),
                ]),
            )],
        ),
        g(
            "github:acme/infra:terraform.yml",
            &["AdministratorAccess"],
            vec![],
        ),
        g(
            "github:acme/mobile-backend:release.yml",
            &["AWSLambda_FullAccess"],
            vec![],
        ),
        g(
            "github:acme/docs:publish.yml",
            &["AmazonS3FullAccess"],
            vec![(
                "invalidate",
                doc(vec![allow(&["cloudfront:CreateInvalidation"], &["*"])]),
            )],
        ),
        g(
            "codebuild:111111111111:us-east-1:payments-build",
            &[],
            vec![(
                "build",
                doc(vec![
                    allow(
                        &["logs:CreateLogStream", "logs:PutLogEvents"],
                        &[
                            "arn:aws:logs:us-east-1:111111111111:log-group:/aws/codebuild/payments-build:*",
                        ],
                    ),
                    allow(
                        &["s3:GetObject", "s3:PutObject"],
                        &["arn:aws:s3:::payments-build-111111111111/*"],
                    ),
                    allow(&["ecr:GetAuthorizationToken"], &["*"]),
                    allow(
                        &["ecr:BatchGetImage", "ecr:PutImage"],
                        &["arn:aws:ecr:us-east-1:111111111111:repository/payments-build"],
                    ),
                    allow(
                        &["secretsmanager:GetSecretValue"],
                        &["arn:aws:secretsmanager:us-east-1:111111111111:secret:payments-build/*"],
                    ),
                ]),
            )],
        ),
        g(
            "codebuild:111111111111:eu-west-1:data-etl-build",
            &["service-role/AWSGlueServiceRole"],
            vec![(
                "artifacts",
                doc(vec![allow(
                    &["s3:GetObject", "s3:PutObject"],
                    &["arn:aws:s3:::data-etl-build-111111111111/*"],
                )]),
            )],
        ),
        g(
            "codepipeline:111111111111:us-east-1:payments-release",
            &[],
            vec![(
                "release",
                doc(vec![
                    allow(
                        &["codebuild:StartBuild", "codebuild:BatchGetBuilds"],
                        &["*"],
                    ),
                    allow(&["s3:GetObject", "s3:PutObject"], &["*"]),
                    allow(&["cloudformation:*"], &["*"]),
                    allow(&["iam:PassRole"], &["*"]),
                ]),
            )],
        ),
        g(
            "codepipeline:111111111111:eu-west-1:data-platform",
            &[],
            vec![(
                "release",
                doc(vec![
                    allow(
                        &["codebuild:StartBuild", "codebuild:BatchGetBuilds"],
                        &["arn:aws:codebuild:eu-west-1:111111111111:project/data-platform"],
                    ),
                    allow(
                        &["s3:GetObject", "s3:PutObject"],
                        &["arn:aws:s3:::codepipeline-eu-west-1-111111111111/*"],
                    ),
                    allow(
                        &[
                            "cloudformation:DescribeStacks",
                            "cloudformation:CreateChangeSet",
                            "cloudformation:DescribeChangeSet",
                            "cloudformation:ExecuteChangeSet",
                        ],
                        &["arn:aws:cloudformation:eu-west-1:*:stack/data-platform-stack/*"],
                    ),
                ]),
            )],
        ),
        Grant {
            name: "jenkins-legacy",
            user: true,
            envs: vec![Env::Tooling],
            managed: &["AdministratorAccess-AWSElasticBeanstalk"],
            inline: vec![(
                "assume-deploy",
                doc(vec![allow(
                    &["sts:AssumeRole"],
                    &["arn:aws:iam::222222222222:role/jenkins-deploy"],
                )]),
            )],
            trust: None,
        },
        Grant {
            name: "jenkins-deploy",
            user: false,
            envs: vec![Env::Dev],
            managed: &[],
            inline: vec![(
                "deploy",
                doc(vec![allow(&["elasticbeanstalk:*", "s3:*"], &["*"])]),
            )],
            trust: Some(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{tooling}:user/jenkins-legacy")},
                "Action": "sts:AssumeRole"}]}),
            ),
        },
        g(
            "gitlab:platform/billing",
            &[
                "AmazonECS_FullAccess",
                "AmazonEC2ContainerRegistryPowerUser",
            ],
            vec![],
        ),
        g(
            "gitlab:platform/search",
            &[],
            vec![(
                "deploy-functions",
                doc(vec![
                    allow(
                        &[
                            "lambda:GetFunction",
                            "lambda:UpdateFunctionCode",
                            "lambda:UpdateFunctionConfiguration",
                            "lambda:PublishVersion",
                        ],
                        &["arn:aws:lambda:eu-west-1:*:function:search-*"],
                    ),
                    allow(&["s3:PutObject"], &["arn:aws:s3:::search-artifacts-*/*"]),
                ]),
            )],
        ),
    ]
}

/// The principal's ARN in an account.
pub fn arn(g: &Grant, env: Env) -> String {
    format!(
        "arn:aws:iam::{}:{}/{}",
        env.account(),
        if g.user { "user" } else { "role" },
        g.name
    )
}

/// Day 0: the platform team creates each principal and grants it, in every account it lives
/// in (Jenkins' user also gets its access key).
pub fn history(day: &mut Day) {
    let t0 = day.midnight + 8 * 3600;
    for (i, g) in grants().iter().enumerate() {
        for env in &g.envs {
            let account = env.account();
            let t = t0 + i as i64 * 120;
            let (who, ip, ua) = super::anomalies::human(
                day,
                "dave",
                account,
                "AWSReservedSSO_AdministratorAccess_5e0c1b2a3d4f6789",
                t,
            );
            let principal_arn = arn(g, *env);
            let (kind, field) = if g.user {
                ("User", "userName")
            } else {
                ("Role", "roleName")
            };
            // The calls, in order: create, attach each managed policy, put each inline one,
            // and a user's access key.
            let mut calls: Vec<(String, Value, Value)> = vec![];
            if g.user {
                calls.push((
                    "CreateUser".into(),
                    json!({"userName": g.name}),
                    json!({"user": {"userName": g.name, "arn": principal_arn, "path": "/"}}),
                ));
            } else {
                let trust = g
                    .trust
                    .as_ref()
                    .map(|t| t.to_string().replace("ACCOUNT", account))
                    .unwrap_or_default();
                calls.push((
                    "CreateRole".into(),
                    json!({"roleName": g.name, "assumeRolePolicyDocument": trust}),
                    json!({"role": {"roleName": g.name, "arn": principal_arn, "path": "/"}}),
                ));
            }
            for m in g.managed {
                calls.push((
                    format!("Attach{kind}Policy"),
                    json!({field: g.name, "policyArn": format!("arn:aws:iam::aws:policy/{m}")}),
                    Value::Null,
                ));
            }
            for (pn, d) in &g.inline {
                calls.push((
                    format!("Put{kind}Policy"),
                    json!({field: g.name, "policyName": pn, "policyDocument": d.to_string()}),
                    Value::Null,
                ));
            }
            let at = |k: usize| t + 10 + k as i64 * 5;
            if g.user {
                calls.push((
                    "CreateAccessKey".into(),
                    json!({"userName": g.name}),
                    json!({"accessKey": {"userName": g.name, "accessKeyId": super::jenkins_key(), "status": "Active",
                        "createDate": super::trail::iso(at(calls.len()))}}),
                ));
            }
            for (k, (name, request, response)) in calls.into_iter().enumerate() {
                super::bypasses::call(
                    day,
                    &who,
                    &ip,
                    &ua,
                    at(k),
                    ("iam.amazonaws.com", &name, "us-east-1", account),
                    request,
                    response,
                );
            }
        }
    }
}

/// The IAM action a call of the simulated organisation needs, written by hand for the
/// generator's own vocabulary from the AWS Service Authorization Reference (`None`: no
/// permission is needed). Calls not listed need `service:EventName`.
pub fn iam_action(source: &str, name: &str) -> Option<String> {
    let ns = source.strip_suffix(".amazonaws.com").unwrap_or(source);
    match (ns, name) {
        ("sts", "GetCallerIdentity") => None,
        ("s3", "HeadObject") => Some("s3:GetObject".into()),
        ("s3", "ListBuckets") => Some("s3:ListAllMyBuckets".into()),
        ("s3", "ListObjects" | "ListObjectsV2") => Some("s3:ListBucket".into()),
        ("monitoring", n) => Some(format!("cloudwatch:{n}")),
        _ => Some(format!("{ns}:{name}")),
    }
}

/// Calls per principal: `(principal ARN, eventSource, eventName, denied)` → calls.
pub type Usage = BTreeMap<(String, String, String, bool), u64>;

/// The principal whose permissions a record used (the role of a session, or the IAM user),
/// and whether it was refused, for the usage truth.
pub fn usage_key(record: &Value) -> Option<(String, String, String, bool)> {
    let u = &record["userIdentity"];
    let who = match u["type"].as_str()? {
        "AssumedRole" => u["sessionContext"]["sessionIssuer"]["arn"].as_str()?,
        "IAMUser" => u["arn"].as_str()?,
        _ => return None,
    };
    let denied = record["errorCode"]
        .as_str()
        .is_some_and(|e| e.contains("AccessDenied") || e.contains("Unauthorized"));
    Some((
        who.to_string(),
        record["eventSource"].as_str()?.to_string(),
        record["eventName"].as_str()?.to_string(),
        denied,
    ))
}

/// `truth/permissions.json`: per pipeline principal, the policies granted (managed ARNs and
/// inline names, as the anomalies left them), the inline policies' action patterns, and the
/// actions used (calls not refused) and refused over the whole history.
pub fn truth(usage: &Usage, broadened: &[(String, String, String)]) -> Value {
    let mut out = BTreeMap::new();
    for g in grants() {
        for env in &g.envs {
            let arn = arn(&g, *env);
            let mut managed: BTreeSet<String> = g
                .managed
                .iter()
                .map(|m| format!("arn:aws:iam::aws:policy/{m}"))
                .collect();
            let mut inline: BTreeMap<String, Value> = g
                .inline
                .iter()
                .map(|(n, d)| (n.to_string(), d.clone()))
                .collect();
            for (role_arn, kind, value) in broadened {
                if *role_arn == arn {
                    if kind == "managed" {
                        managed.insert(value.clone());
                    } else if let Ok(d) = serde_json::from_str::<Value>(value) {
                        inline.insert(
                            d["name"].as_str().unwrap_or("").to_string(),
                            d["document"].clone(),
                        );
                    }
                }
            }
            let mut patterns = BTreeSet::new();
            for d in inline.values() {
                for s in d["Statement"].as_array().into_iter().flatten() {
                    match &s["Action"] {
                        Value::String(a) => {
                            patterns.insert(a.clone());
                        }
                        Value::Array(a) => {
                            patterns.extend(a.iter().filter_map(|x| x.as_str().map(str::to_string)))
                        }
                        _ => {}
                    }
                }
            }
            let mut used = BTreeSet::new();
            let mut denied = BTreeSet::new();
            for ((who, source, name, refused), _) in
                usage.range((arn.clone(), String::new(), String::new(), false)..)
            {
                if *who != arn {
                    break;
                }
                if let Some(a) = iam_action(source, name) {
                    if *refused {
                        denied.insert(a);
                    } else {
                        used.insert(a);
                    }
                }
            }
            out.insert(
                arn.clone(),
                json!({
                    "managed": managed,
                    "inline": inline.keys().collect::<Vec<_>>(),
                    "inline_patterns": patterns,
                    "used": used,
                    "denied": denied,
                }),
            );
        }
    }
    json!(out)
}
