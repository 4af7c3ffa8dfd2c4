//! AWS access: one credential chain for everything.
//!
//! Credentials come only from aws-config's default chain (environment, profile, SSO, assumed
//! role, web identity, container and instance metadata). The same provider feeds aws-sdk-s3 (the
//! log source) and object_store (the lake, as DataFusion reads it), so a profile, SSO session or
//! role that works for one works for the other. No key is ever taken from the command line.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use object_store::CredentialProvider;
use object_store::aws::{AmazonS3, AmazonS3Builder, AwsCredential};

/// How to reach S3: everything but credentials, which always come from the chain.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// An S3-compatible endpoint (MinIO, moto, LocalStack); otherwise `AWS_ENDPOINT_URL` or AWS.
    pub endpoint_url: Option<String>,
    /// Path-style addressing; on by default when a custom endpoint is used.
    pub path_style: Option<bool>,
}

/// The loaded AWS configuration and the options derived from it.
#[derive(Clone, Debug)]
pub struct AwsContext {
    /// aws-config's shared configuration (region, credentials chain, endpoint).
    pub sdk: SdkConfig,
    /// The endpoint in use, if not AWS's.
    pub endpoint_url: Option<String>,
    /// Whether requests use path-style addressing.
    pub path_style: bool,
}

/// Region used when neither the environment nor the profile names one.
pub const FALLBACK_REGION: &str = "us-east-1";

impl AwsContext {
    /// Loads the standard chain (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, SSO, roles, ...).
    pub async fn load(opts: &S3Options) -> AwsContext {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(ep) = &opts.endpoint_url {
            loader = loader.endpoint_url(ep);
        }
        let mut sdk = loader.load().await;
        if sdk.region().is_none() {
            sdk = sdk
                .into_builder()
                .region(Region::new(FALLBACK_REGION))
                .build();
        }
        let endpoint_url = sdk.endpoint_url().map(str::to_string);
        let path_style = opts.path_style.unwrap_or(endpoint_url.is_some());
        AwsContext {
            sdk,
            endpoint_url,
            path_style,
        }
    }

    /// An aws-sdk-s3 client on this configuration.
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.sdk)
            .force_path_style(self.path_style)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// An object_store for `bucket` that signs with the same credential chain.
    pub fn object_store(&self, bucket: &str) -> object_store::Result<AmazonS3> {
        let region = self
            .sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| FALLBACK_REGION.into());
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(region)
            .with_virtual_hosted_style_request(!self.path_style);
        if let Some(ep) = &self.endpoint_url {
            b = b
                .with_endpoint(ep)
                .with_allow_http(ep.starts_with("http://"));
        }
        if let Some(p) = self.sdk.credentials_provider() {
            b = b.with_credentials(Arc::new(ChainCredentials::new(p)));
        }
        b.build()
    }
}

/// object_store's view of the aws-config credential chain, with refresh before expiry.
#[derive(Debug)]
pub struct ChainCredentials {
    provider: SharedCredentialsProvider,
    cached: tokio::sync::Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

/// Credentials are refreshed this long before they expire.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

impl ChainCredentials {
    /// Wraps a provider from aws-config.
    pub fn new(provider: SharedCredentialsProvider) -> Self {
        ChainCredentials {
            provider,
            cached: tokio::sync::Mutex::new(None),
        }
    }
}

#[async_trait::async_trait]
impl CredentialProvider for ChainCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cached = self.cached.lock().await;
        if let Some((c, exp)) = cached.as_ref() {
            let fresh = exp.is_none_or(|e| e > SystemTime::now() + REFRESH_MARGIN);
            if fresh {
                return Ok(c.clone());
            }
        }
        let creds = self.provider.provide_credentials().await.map_err(|e| {
            object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            }
        })?;
        let c = Arc::new(AwsCredential {
            key_id: creds.access_key_id().to_string(),
            secret_key: creds.secret_access_key().to_string(),
            token: creds.session_token().map(str::to_string),
        });
        *cached = Some((c.clone(), creds.expiry()));
        Ok(c)
    }
}
