//! AWS Security Hub direct import: `--siem securityhub` sends the findings through
//! `aws-sdk-securityhub`'s `BatchImportFindings`, on the standard credential chain, into the
//! account and region of `--asff-account` and `--asff-region`.
//!
//! - Batches of at most 100 findings (the API's limit).
//! - The findings are the `asff` format's ([`super::formats::asff_finding`]), with `UpdatedAt`
//!   the time of the import: the same finding (the same stable `Id`) seen again updates the one
//!   Security Hub holds, its severity also in `FindingProviderFields`.
//! - A finding the API fails is reported with its error code; those whose failure is not the
//!   finding's own (anything but `InvalidInput` and access errors) are sent again, up to
//!   `attempts` times in all.
//! - Throttling (`ThrottlingException`, `TooManyRequestsException`) and transient errors are
//!   retried by the SDK's standard retry mode with backoff, up to `attempts` tries a request.

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, FindingProviderFields, FindingProviderSeverity, RecordState, Resource,
    ResourceDetails, Severity, SeverityLabel, Workflow, WorkflowStatus,
};
use serde_json::Value;

use super::siem::{Delivered, SinkError};
use crate::findings::Report;

/// The most findings one `BatchImportFindings` takes.
pub const MAX_BATCH: usize = 100;

/// Where the findings go.
#[derive(Debug, Clone)]
pub struct Target {
    /// The account receiving them (`AwsAccountId`, `ProductArn`).
    pub account: String,
    /// Its region.
    pub region: String,
    /// Tries per batch (and per request, for the SDK's retries).
    pub attempts: u32,
    /// Another endpoint (`AWS_ENDPOINT_URL_SECURITYHUB`, as the SDKs name it): `--endpoint-url`
    /// is S3's and does not apply here.
    pub endpoint: Option<String>,
}

/// The stack of the import's thread. The SDK's Security Hub types are large (`ResourceDetails`
/// alone is 31 KB, its serializer one function of 150 branches), and a debug build overflows
/// even an 8 MiB stack building and sending them; the pages are reserved, not used, until
/// touched.
const STACK: usize = 256 << 20;

/// Imports every finding of `r`, on a thread of its own with a 256 MiB stack (and its
/// own runtime), awaited without blocking the caller's.
pub async fn import(
    aws: &crate::aws::AwsContext,
    t: &Target,
    r: &Report,
) -> Result<Delivered, SinkError> {
    let (aws, t, r) = (aws.clone(), t.clone(), r.clone());
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("securityhub".into())
        .stack_size(STACK)
        .spawn(move || {
            let out = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(import_here(&aws, &t, &r)),
                Err(e) => Err(SinkError::Config(format!("cannot start a runtime: {e}"))),
            };
            let _ = tx.send(out);
        })
        .map_err(|e| SinkError::Config(format!("cannot start the Security Hub thread: {e}")))?;
    rx.await
        .unwrap_or_else(|_| Err(SinkError::Config("the Security Hub thread stopped".into())))
}

async fn import_here(
    aws: &crate::aws::AwsContext,
    t: &Target,
    r: &Report,
) -> Result<Delivered, SinkError> {
    let mut conf = aws_sdk_securityhub::config::Builder::from(&aws.sdk)
        .region(aws_sdk_securityhub::config::Region::new(t.region.clone()))
        .retry_config(
            aws_sdk_securityhub::config::retry::RetryConfig::standard()
                .with_max_attempts(t.attempts.max(1)),
        );
    // `--endpoint-url` is S3's: Security Hub gets its own, or AWS's.
    conf.set_endpoint_url(t.endpoint.clone());
    let conf = conf.build();
    let client = aws_sdk_securityhub::Client::from_conf(conf);
    let url = format!("Security Hub ({}, {})", t.account, t.region);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut done = Delivered::default();
    let mut refused: Vec<String> = vec![];
    for batch in r.findings.chunks(MAX_BATCH) {
        let mut todo: Vec<Value> = batch
            .iter()
            .map(|f| {
                let mut v = super::formats::asff_finding(r, f, &t.account, &t.region);
                v["UpdatedAt"] = Value::String(now.clone());
                v
            })
            .collect();
        let mut tries = 0;
        while !todo.is_empty() {
            tries += 1;
            let out = Box::pin(
                client
                    .batch_import_findings()
                    .set_findings(Some(todo.iter().map(sdk_finding).collect()))
                    .send(),
            )
            .await
            .map_err(|e| SinkError::GaveUp {
                url: url.clone(),
                attempts: t.attempts,
                last: crate::sanitize::for_terminal(
                    &aws_sdk_securityhub::error::DisplayErrorContext(&e).to_string(),
                ),
                delivered: done.findings,
                total: r.findings.len(),
            })?;
            let failed: Vec<_> = out.failed_findings().to_vec();
            let failed_ids: std::collections::HashSet<&str> =
                failed.iter().filter_map(|f| f.id()).collect();
            done.findings += todo
                .iter()
                .filter(|v| !failed_ids.contains(v["Id"].as_str().unwrap_or_default()))
                .count();
            let mut again = vec![];
            for f in &failed {
                let code = f.error_code().unwrap_or("unknown");
                let retryable = !matches!(code, "InvalidInput" | "AccessDeniedException")
                    && !code.contains("Invalid");
                let v = todo.iter().find(|v| v["Id"].as_str() == f.id()).cloned();
                match v {
                    Some(v) if retryable && tries < t.attempts => again.push(v),
                    _ => refused.push(crate::sanitize::for_terminal(&format!(
                        "{}: {code}: {}",
                        f.id().unwrap_or("?"),
                        f.error_message().unwrap_or_default()
                    ))),
                }
            }
            if !again.is_empty() {
                done.retries += 1;
            }
            todo = again;
        }
        done.batches += 1;
    }
    if !refused.is_empty() {
        return Err(SinkError::Refused {
            url,
            status: 200,
            body: format!(
                "{} finding(s) failed: {}",
                refused.len(),
                refused
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            delivered: done.findings,
            total: r.findings.len(),
        });
    }
    Ok(done)
}

/// The non-empty string values of a JSON object (a string map of ASFF's), by key.
fn string_pairs(v: &Value) -> impl Iterator<Item = (&str, &str)> {
    v.as_object().into_iter().flatten().filter_map(|(k, x)| {
        x.as_str()
            .filter(|x| !x.is_empty())
            .map(|x| (k.as_str(), x))
    })
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// The SDK's finding from the ASFF JSON of [`super::formats::asff_finding`] (one mapping of
/// fields to limits, for the file and the import alike).
fn sdk_finding(v: &Value) -> AwsSecurityFinding {
    let sev = &v["Severity"];
    let label = SeverityLabel::from(s(sev, "Label").unwrap_or("INFORMATIONAL"));
    let mut b = AwsSecurityFinding::builder()
        .set_schema_version(s(v, "SchemaVersion").map(Into::into))
        .set_id(s(v, "Id").map(Into::into))
        .set_product_arn(s(v, "ProductArn").map(Into::into))
        .set_product_name(s(v, "ProductName").map(Into::into))
        .set_company_name(s(v, "CompanyName").map(Into::into))
        .set_generator_id(s(v, "GeneratorId").map(Into::into))
        .set_aws_account_id(s(v, "AwsAccountId").map(Into::into))
        .set_first_observed_at(s(v, "FirstObservedAt").map(Into::into))
        .set_last_observed_at(s(v, "LastObservedAt").map(Into::into))
        .set_created_at(s(v, "CreatedAt").map(Into::into))
        .set_updated_at(s(v, "UpdatedAt").map(Into::into))
        .set_title(s(v, "Title").map(Into::into))
        .set_description(s(v, "Description").map(Into::into))
        .set_confidence(v["Confidence"].as_i64().map(|c| c as i32))
        .severity(
            Severity::builder()
                .label(label.clone())
                .set_normalized(sev["Normalized"].as_i64().map(|n| n as i32))
                .build(),
        )
        .finding_provider_fields(
            FindingProviderFields::builder()
                .severity(
                    FindingProviderSeverity::builder()
                        .label(label)
                        .set_original(
                            s(&v["FindingProviderFields"]["Severity"], "Original").map(Into::into),
                        )
                        .build(),
                )
                .build(),
        )
        .record_state(RecordState::from(s(v, "RecordState").unwrap_or("ACTIVE")))
        .workflow(
            Workflow::builder()
                .status(WorkflowStatus::from(
                    s(&v["Workflow"], "Status").unwrap_or("NEW"),
                ))
                .build(),
        );
    for t in v["Types"].as_array().into_iter().flatten() {
        if let Some(t) = t.as_str() {
            b = b.types(t);
        }
    }
    for r in v["Resources"].as_array().into_iter().flatten() {
        let mut d = ResourceDetails::builder();
        for (k, x) in string_pairs(&r["Details"]["Other"]) {
            d = d.other(k, x);
        }
        b = b.resources(
            Resource::builder()
                .set_type(s(r, "Type").map(Into::into))
                .set_id(s(r, "Id").map(Into::into))
                .set_region(s(r, "Region").map(Into::into))
                .details(d.build())
                .build(),
        );
    }
    for (k, x) in string_pairs(&v["ProductFields"]) {
        b = b.product_fields(k, x);
    }
    b.build()
}
