//! CloudTrail records as AWS writes them, for the identities the organisation uses.
//!
//! Session chains are consistent: the `credentials.accessKeyId` returned by an AssumeRole* call is
//! the `userIdentity.accessKeyId` of every call made with that session.

use serde_json::{Value, json};

use super::rng::Rng;

/// A generated CloudTrail event.
#[derive(Debug, Clone)]
pub struct Event {
    /// Seconds since the epoch.
    pub time: i64,
    /// Recipient account.
    pub account: String,
    /// Region.
    pub region: String,
    /// eventID.
    pub id: String,
    /// The record.
    pub record: Value,
}

/// Who makes a call.
#[derive(Debug, Clone)]
pub enum Who {
    /// A role session.
    Role(Session),
    /// An IAM user with a long-term key.
    IamUser {
        account: String,
        user: String,
        key: String,
    },
    /// The account root.
    Root {
        account: String,
        key: Option<String>,
    },
    /// An OIDC identity before it has a session (AssumeRoleWithWebIdentity).
    WebIdentity { provider: String, subject: String },
    /// A SAML (IAM Identity Center) user before it has a session.
    Saml { provider_arn: String, user: String },
    /// An AWS service acting for the account.
    Service(String),
}

/// An assumed-role session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Account of the role.
    pub account: String,
    /// Role name.
    pub role: String,
    /// Session name.
    pub name: String,
    /// ASIA... key of the session.
    pub key: String,
    /// RoleId (AROA...).
    pub role_id: String,
    /// When it was created.
    pub created: i64,
    /// OIDC provider ARN, for web identity sessions.
    pub web_provider: Option<String>,
    /// MFA on the session.
    pub mfa: bool,
    /// sourceIdentity, when set.
    pub source_identity: Option<String>,
    /// The service that acts with this session (`codepipeline.amazonaws.com`), if any.
    pub invoked_by: Option<String>,
}

impl Session {
    /// A new session of `role` in `account` issued at `created`, with a fresh ASIA key; no MFA,
    /// web identity, source identity or acting service until set.
    pub fn new(rng: &mut Rng, account: &str, role: &str, name: String, created: i64) -> Session {
        Session {
            account: account.to_string(),
            role: role.to_string(),
            name,
            key: session_key(rng),
            role_id: role_id(account, role),
            created,
            web_provider: None,
            mfa: false,
            source_identity: None,
            invoked_by: None,
        }
    }
}

/// ISO 8601 UTC time of epoch seconds.
pub fn iso(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// A stable role id for a role name (AROA + 17 characters).
pub fn role_id(account: &str, role: &str) -> String {
    let mut r = Rng::new(crate::lake::manifest::hash_str(&format!("{account}/{role}")) ^ 0x5eed);
    format!("AROA{}", r.upper_alnum(17))
}

/// A stable principal id for an IAM user (AIDA + 17 characters).
pub fn user_id(account: &str, user: &str) -> String {
    let mut r =
        Rng::new(crate::lake::manifest::hash_str(&format!("{account}/user/{user}")) ^ 0x5eed);
    format!("AIDA{}", r.upper_alnum(17))
}

fn user_identity(who: &Who) -> Value {
    match who {
        Who::Role(s) => {
            let mut ctx = json!({
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": s.role_id,
                    "arn": format!("arn:aws:iam::{}:role/{}", s.account, s.role),
                    "accountId": s.account,
                    "userName": s.role,
                },
                "attributes": {"creationDate": iso(s.created), "mfaAuthenticated": if s.mfa { "true" } else { "false" }},
            });
            if let Some(p) = &s.web_provider {
                ctx["webIdFederationData"] = json!({"federatedProvider": p, "attributes": {}});
            } else {
                ctx["webIdFederationData"] = json!({});
            }
            if let Some(si) = &s.source_identity {
                ctx["sourceIdentity"] = json!(si);
            }
            let mut ui = json!({
                "type": "AssumedRole",
                "principalId": format!("{}:{}", s.role_id, s.name),
                "arn": format!("arn:aws:sts::{}:assumed-role/{}/{}", s.account, s.role, s.name),
                "accountId": s.account,
                "accessKeyId": s.key,
                "sessionContext": ctx,
            });
            if let Some(by) = &s.invoked_by {
                ui["invokedBy"] = json!(by);
            }
            ui
        }
        Who::IamUser { account, user, key } => json!({
            "type": "IAMUser",
            "principalId": user_id(account, user),
            "arn": format!("arn:aws:iam::{account}:user/{user}"),
            "accountId": account,
            "accessKeyId": key,
            "userName": user,
        }),
        Who::Root { account, key } => {
            let mut ui = json!({"type": "Root", "principalId": account, "arn": format!("arn:aws:iam::{account}:root"), "accountId": account});
            if let Some(k) = key {
                ui["accessKeyId"] = json!(k);
            }
            ui
        }
        Who::WebIdentity { provider, subject } => json!({
            "type": "WebIdentityUser",
            "principalId": format!("{provider}:sts.amazonaws.com:{subject}"),
            "userName": subject,
            "identityProvider": provider,
        }),
        Who::Saml { provider_arn, user } => json!({
            "type": "SAMLUser",
            "principalId": format!("{}:{user}", crate::lake::manifest::hash_str(provider_arn) % 1_000_000_007),
            "userName": user,
            "identityProvider": provider_arn,
        }),
        Who::Service(s) => json!({"type": "AWSService", "invokedBy": s}),
    }
}

/// Everything about one call.
pub struct Call<'a> {
    /// When.
    pub time: i64,
    /// Who.
    pub who: &'a Who,
    /// eventSource.
    pub source: &'a str,
    /// eventName.
    pub name: &'a str,
    /// awsRegion.
    pub region: &'a str,
    /// recipientAccountId.
    pub account: &'a str,
    /// sourceIPAddress.
    pub ip: &'a str,
    /// userAgent.
    pub ua: &'a str,
    /// requestParameters.
    pub request: Value,
    /// responseElements.
    pub response: Value,
    /// readOnly.
    pub read_only: bool,
    /// errorCode, errorMessage.
    pub error: Option<(String, String)>,
}

/// Builds the record of a call.
pub fn record(rng: &mut Rng, c: Call) -> Event {
    let id = rng.uuid();
    let management = !matches!(
        (c.source, c.name),
        (
            "s3.amazonaws.com",
            "GetObject" | "PutObject" | "HeadObject" | "DeleteObject"
        ) | ("lambda.amazonaws.com", "Invoke")
            | (
                "dynamodb.amazonaws.com",
                "PutItem" | "DeleteItem" | "GetItem"
            )
    );
    let mut r = json!({
        "eventVersion": "1.09",
        "userIdentity": user_identity(c.who),
        "eventTime": iso(c.time),
        "eventSource": c.source,
        "eventName": c.name,
        "awsRegion": c.region,
        "sourceIPAddress": c.ip,
        "userAgent": c.ua,
        "requestParameters": c.request,
        "responseElements": c.response,
        "requestID": rng.uuid(),
        "eventID": id,
        "readOnly": c.read_only,
        "eventType": if c.source == "signin.amazonaws.com" { "AwsConsoleSignIn" } else { "AwsApiCall" },
        "managementEvent": management,
        "recipientAccountId": c.account,
        "eventCategory": if management { "Management" } else { "Data" },
    });
    if !c.ip.ends_with(".amazonaws.com") && c.source != "signin.amazonaws.com" {
        let host = format!(
            "{}.{}.amazonaws.com",
            c.source.trim_end_matches(".amazonaws.com"),
            c.region
        );
        r["tlsDetails"] = json!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": host});
    }
    if let Some((code, msg)) = c.error {
        r["errorCode"] = json!(code);
        r["errorMessage"] = json!(msg);
        r["responseElements"] = Value::Null;
    }
    Event {
        time: c.time,
        account: c.account.to_string(),
        region: c.region.to_string(),
        id,
        record: r,
    }
}

/// A new ASIA session key.
pub fn session_key(rng: &mut Rng) -> String {
    format!("ASIA{}", rng.upper_alnum(16))
}

/// The response of an AssumeRole* call that issued `s`.
pub fn assume_response(rng: &mut Rng, s: &Session, extra: Value) -> Value {
    let mut v = json!({
        "credentials": {"accessKeyId": s.key, "sessionToken": format!("IQoJb3JpZ2luX2Vj{}", rng.alnum(40)), "expiration": iso(s.created + 3600)},
        "assumedRoleUser": {"assumedRoleId": format!("{}:{}", s.role_id, s.name), "arn": format!("arn:aws:sts::{}:assumed-role/{}/{}", s.account, s.role, s.name)},
    });
    if let (Some(obj), Some(add)) = (v.as_object_mut(), extra.as_object()) {
        for (k, val) in add {
            obj.insert(k.clone(), val.clone());
        }
    }
    v
}

/// Request parameters that look like the real ones for common operations.
pub fn request_for(
    rng: &mut Rng,
    source: &str,
    name: &str,
    account: &str,
    region: &str,
    resource: &str,
) -> Value {
    match (source, name) {
        ("s3.amazonaws.com", "PutObject" | "GetObject" | "HeadObject") => json!({
            "bucketName": format!("{resource}-{account}"),
            "Host": format!("{resource}-{account}.s3.{region}.amazonaws.com"),
            "key": format!("releases/{}/{}.tar.gz", rng.hex(7), rng.alnum(8)),
        }),
        ("s3.amazonaws.com", _) => {
            json!({"bucketName": format!("{resource}-{account}"), "list-type": "2", "prefix": "releases/"})
        }
        ("ecs.amazonaws.com", _) => {
            json!({"cluster": format!("{resource}-cluster"), "service": resource})
        }
        ("ecr.amazonaws.com", "GetAuthorizationToken") => json!({}),
        ("ecr.amazonaws.com", _) => json!({"repositoryName": resource, "registryId": account}),
        ("lambda.amazonaws.com", _) => json!({"functionName": format!("{resource}-handler")}),
        ("iam.amazonaws.com", _) => json!({"roleName": format!("{resource}-role")}),
        ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress") => {
            json!({"groupId": format!("sg-{}", rng.hex(17)), "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]}}]}})
        }
        ("ec2.amazonaws.com", _) => json!({"filterSet": {}, "maxResults": 1000}),
        ("cloudformation.amazonaws.com", _) => json!({"stackName": format!("{resource}-stack")}),
        // CodePipeline starts its build actions with the source artifact and the execution's
        // variables as overrides: the pipeline's own overrides, not a bypass.
        ("codebuild.amazonaws.com", "StartBuild") => json!({
            "projectName": resource,
            "sourceTypeOverride": "S3",
            "sourceLocationOverride": format!("codepipeline-{region}-{account}/{resource}/SourceArti/artifact.zip"),
            "environmentVariablesOverride": [{"name": "CODEPIPELINE_STAGE", "value": "Build", "type": "PLAINTEXT"}],
        }),
        ("codebuild.amazonaws.com", _) => json!({"projectName": resource}),
        ("glue.amazonaws.com", _) => json!({"jobName": format!("{resource}-job")}),
        ("logs.amazonaws.com", _) => {
            json!({"logGroupName": format!("/aws/codebuild/{resource}"), "logStreamName": rng.uuid()})
        }
        ("dynamodb.amazonaws.com", _) => {
            json!({"tableName": "terraform-locks", "key": {"LockID": {"S": format!("{resource}/terraform.tfstate")}}})
        }
        ("secretsmanager.amazonaws.com", _) => json!({"secretId": format!("{resource}/ci-token")}),
        ("elasticbeanstalk.amazonaws.com", _) => {
            json!({"applicationName": resource, "environmentName": format!("{resource}-env")})
        }
        ("cloudfront.amazonaws.com", _) => {
            json!({"distributionId": format!("E{}", rng.upper_alnum(13)), "invalidationBatch": {"paths": {"quantity": 1, "items": ["/*"]}, "callerReference": rng.uuid()}})
        }
        _ => Value::Null,
    }
}
