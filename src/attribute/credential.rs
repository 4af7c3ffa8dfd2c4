//! What kind of credential made a call: the `credential_type` column and SQL function.
//!
//! From the record's `userIdentity` (type, access key prefix, session issuer, web identity
//! federation data), the event name, and, when the session index knows it, the STS API that
//! issued the access key.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::datatypes::DataType;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};

/// The kinds of credential, as written in `credential_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialType {
    /// An IAM user's long-term access key (`AKIA…`).
    IamUserKey,
    /// Temporary credentials from `AssumeRole`.
    AssumedRole,
    /// Temporary credentials from `AssumeRoleWithWebIdentity` (OIDC: GitHub Actions, GitLab CI).
    WebIdentity,
    /// SAML federation or IAM Identity Center (SSO).
    SamlSso,
    /// An IAM user's `GetSessionToken` credentials.
    SessionToken,
    /// `GetFederationToken` credentials.
    FederatedUser,
    /// The root user's long-term access key.
    RootKey,
    /// The root user's console or temporary session.
    RootSession,
    /// A console sign-in or a console session of an IAM user.
    ConsoleSession,
    /// An AWS service acting itself.
    AwsService,
    /// A principal of another account (`AWSAccount`).
    AwsAccount,
    /// Not enough evidence.
    Unknown,
}

impl CredentialType {
    /// The column spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialType::IamUserKey => "iam_user_key",
            CredentialType::AssumedRole => "assumed_role",
            CredentialType::WebIdentity => "web_identity",
            CredentialType::SamlSso => "saml_sso",
            CredentialType::SessionToken => "session_token",
            CredentialType::FederatedUser => "federated_user",
            CredentialType::RootKey => "root_key",
            CredentialType::RootSession => "root_session",
            CredentialType::ConsoleSession => "console_session",
            CredentialType::AwsService => "aws_service",
            CredentialType::AwsAccount => "aws_account",
            CredentialType::Unknown => "unknown",
        }
    }

    /// Whether this is a long-term credential (never expires by itself).
    pub fn long_term(self) -> bool {
        matches!(self, CredentialType::IamUserKey | CredentialType::RootKey)
    }
}

/// The identity fields `credential_type` looks at.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdentityFacts<'a> {
    /// `userIdentity.type`.
    pub user_type: Option<&'a str>,
    /// `userIdentity.accessKeyId`.
    pub access_key_id: Option<&'a str>,
    /// The STS API that issued the access key, when the session index knows it.
    pub issued_by: Option<&'a str>,
    /// `eventName`.
    pub event_name: Option<&'a str>,
    /// `sessionContext.sessionIssuer.userName` (the role name of a role session).
    pub role_name: Option<&'a str>,
    /// `sessionContext.webIdFederationData.federatedProvider`.
    pub web_id_provider: Option<&'a str>,
    /// `userAgent`.
    pub user_agent: Option<&'a str>,
}

fn console_agent(ua: Option<&str>) -> bool {
    ua.is_some_and(|u| {
        u.contains("console.amazonaws.com")
            || u.contains("signin.amazonaws.com")
            || u.starts_with("Mozilla/")
            || u == "AWS Internal"
            || u.contains("Console")
    })
}

/// Classifies one call's credential.
pub fn classify(f: IdentityFacts) -> CredentialType {
    use CredentialType::*;
    let key = f.access_key_id.unwrap_or("");
    let long_key = key.starts_with("AKIA");
    let console_login = f.event_name == Some("ConsoleLogin");
    match f.user_type.unwrap_or("") {
        "Root" if long_key && !console_login => RootKey,
        "Root" => RootSession,
        "IAMUser" if console_login => ConsoleSession,
        "IAMUser" if long_key => IamUserKey,
        "IAMUser" => match f.issued_by {
            Some("GetSessionToken") => SessionToken,
            _ if key.is_empty() || console_agent(f.user_agent) => ConsoleSession,
            _ => SessionToken,
        },
        "AssumedRole" => {
            let web = f.web_id_provider.is_some_and(|p| !p.is_empty())
                || f.issued_by == Some("AssumeRoleWithWebIdentity");
            let saml = f.issued_by == Some("AssumeRoleWithSAML")
                || f.role_name
                    .is_some_and(|r| r.starts_with("AWSReservedSSO_"));
            if web {
                WebIdentity
            } else if saml {
                SamlSso
            } else {
                AssumedRole
            }
        }
        "WebIdentityUser" => WebIdentity,
        "SAMLUser" | "IdentityCenterUser" => SamlSso,
        "FederatedUser" => FederatedUser,
        "AWSService" => AwsService,
        "AWSAccount" => AwsAccount,
        _ if console_login => ConsoleSession,
        _ => Unknown,
    }
}

/// The SQL function `credential_type(user_type, access_key_id, issued_by, event_name, role_name,
/// web_id_provider, user_agent)`: every argument a string (null allowed).
pub fn udf() -> ScalarUDF {
    create_udf(
        "credential_type",
        vec![DataType::Utf8; 7],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let cols: Vec<ArrayRef> = arrays
                .iter()
                .map(|a| arrow::compute::cast(a, &DataType::Utf8))
                .collect::<std::result::Result<_, _>>()?;
            let s: Vec<&StringArray> = cols.iter().map(|a| a.as_string::<i32>()).collect();
            let get = |c: usize, i: usize| (!s[c].is_null(i)).then(|| s[c].value(i));
            let n = s.first().map(|a| a.len()).unwrap_or(0);
            let out: StringArray = (0..n)
                .map(|i| {
                    Some(
                        classify(IdentityFacts {
                            user_type: get(0, i),
                            access_key_id: get(1, i),
                            issued_by: get(2, i),
                            event_name: get(3, i),
                            role_name: get(4, i),
                            web_id_provider: get(5, i),
                            user_agent: get(6, i),
                        })
                        .as_str(),
                    )
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

/// [`classify`] for one access key id alone: `long_term` (AKIA), `temporary` (ASIA), or null.
pub fn key_kind(key: &str) -> Option<&'static str> {
    if key.starts_with("AKIA") {
        Some("long_term")
    } else if key.starts_with("ASIA") {
        Some("temporary")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CredentialType::*;

    fn c(user_type: &str, key: &str) -> CredentialType {
        classify(IdentityFacts {
            user_type: Some(user_type),
            access_key_id: (!key.is_empty()).then_some(key),
            ..Default::default()
        })
    }

    #[test]
    fn classes() {
        assert_eq!(c("IAMUser", "AKIAIOSFODNN7EXAMPLE"), IamUserKey);
        assert_eq!(c("Root", "AKIAIOSFODNN7EXAMPLE"), RootKey);
        assert_eq!(c("Root", ""), RootSession);
        assert_eq!(c("Root", "ASIAEXAMPLE"), RootSession);
        assert_eq!(c("AssumedRole", "ASIAEXAMPLE"), AssumedRole);
        assert_eq!(c("FederatedUser", "ASIAEXAMPLE"), FederatedUser);
        assert_eq!(c("AWSService", ""), AwsService);
        assert_eq!(c("WebIdentityUser", ""), WebIdentity);
        assert_eq!(c("SAMLUser", ""), SamlSso);
        assert_eq!(c("AWSAccount", ""), AwsAccount);
        let sso = classify(IdentityFacts {
            user_type: Some("AssumedRole"),
            access_key_id: Some("ASIAX"),
            role_name: Some("AWSReservedSSO_Admin_0123456789abcdef"),
            ..Default::default()
        });
        assert_eq!(sso, SamlSso);
        let oidc = classify(IdentityFacts {
            user_type: Some("AssumedRole"),
            access_key_id: Some("ASIAX"),
            web_id_provider: Some(
                "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com",
            ),
            ..Default::default()
        });
        assert_eq!(oidc, WebIdentity);
        let gst = classify(IdentityFacts {
            user_type: Some("IAMUser"),
            access_key_id: Some("ASIAX"),
            issued_by: Some("GetSessionToken"),
            ..Default::default()
        });
        assert_eq!(gst, SessionToken);
        let console = classify(IdentityFacts {
            user_type: Some("IAMUser"),
            event_name: Some("ConsoleLogin"),
            ..Default::default()
        });
        assert_eq!(console, ConsoleSession);
        assert!(IamUserKey.long_term() && !AssumedRole.long_term());
        assert_eq!(key_kind("AKIA1"), Some("long_term"));
    }
}
