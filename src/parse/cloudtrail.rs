//! Where one CloudTrail record becomes one Arrow row of the `cloudtrail` table.
//!
//! Every field is read leniently: a value of the wrong JSON type is kept as its JSON text and
//! counted as a warning, never a reason to drop the record. Only a record that is not a JSON
//! object, or whose `eventTime` is missing or unreadable, is rejected (and kept in `rejects`).
//! The whole record is always stored in `raw`, so nothing a log said is lost.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::record::{FieldWarnings, Position, RecordError, RecordSink, json_kind};
use super::time::parse_timestamp_micros;

/// Timezone of every timestamp column: CloudTrail times are UTC.
pub use super::record::UTC;

/// The Arrow schema of the `cloudtrail` table (the event date partition column is added by the lake).
pub fn schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let ts = || DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()));
        let s = |name: &str| Field::new(name, DataType::Utf8, true);
        let b = |name: &str| Field::new(name, DataType::Boolean, true);
        Arc::new(Schema::new(vec![
            Field::new("event_time", ts(), false),
            s("event_version"),
            s("event_id"),
            s("event_name"),
            s("event_source"),
            s("event_type"),
            s("event_category"),
            s("aws_region"),
            s("source_ip_address"),
            s("user_agent"),
            s("error_code"),
            s("error_message"),
            b("read_only"),
            b("management_event"),
            s("recipient_account_id"),
            s("request_id"),
            s("shared_event_id"),
            s("vpc_endpoint_id"),
            s("vpc_endpoint_account_id"),
            s("user_type"),
            s("user_principal_id"),
            s("user_arn"),
            s("user_account_id"),
            s("user_access_key_id"),
            s("user_name"),
            s("user_invoked_by"),
            s("user_identity_provider"),
            s("session_issuer_type"),
            s("session_issuer_principal_id"),
            s("session_issuer_arn"),
            s("session_issuer_user_name"),
            s("session_issuer_account_id"),
            b("session_mfa_authenticated"),
            Field::new("session_creation_date", ts(), true),
            s("source_identity"),
            s("web_id_federation_provider"),
            s("on_behalf_of_user_id"),
            s("on_behalf_of_identity_store_arn"),
            s("issued_access_key_id"),
            s("tls_version"),
            s("tls_cipher_suite"),
            s("tls_client_provided_host_header"),
            s("request_parameters"),
            s("response_elements"),
            s("additional_event_data"),
            s("resources"),
            s("service_event_details"),
            Field::new("raw", DataType::Utf8, false),
            Field::new("source_object", DataType::Utf8, false),
            Field::new("source_index", DataType::Int64, false),
            Field::new("source_line", DataType::Int64, true),
        ]))
    });
    SCHEMA.clone()
}

type Raw<'a> = Option<&'a RawValue>;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RecordFields<'a> {
    #[serde(borrow)]
    event_time: Raw<'a>,
    #[serde(borrow)]
    event_version: Raw<'a>,
    #[serde(borrow, rename = "eventID")]
    event_id: Raw<'a>,
    #[serde(borrow)]
    event_name: Raw<'a>,
    #[serde(borrow)]
    event_source: Raw<'a>,
    #[serde(borrow)]
    event_type: Raw<'a>,
    #[serde(borrow)]
    event_category: Raw<'a>,
    #[serde(borrow)]
    aws_region: Raw<'a>,
    #[serde(borrow, rename = "sourceIPAddress")]
    source_ip_address: Raw<'a>,
    #[serde(borrow)]
    user_agent: Raw<'a>,
    #[serde(borrow)]
    error_code: Raw<'a>,
    #[serde(borrow)]
    error_message: Raw<'a>,
    #[serde(borrow)]
    read_only: Raw<'a>,
    #[serde(borrow)]
    management_event: Raw<'a>,
    #[serde(borrow)]
    recipient_account_id: Raw<'a>,
    #[serde(borrow, rename = "requestID")]
    request_id: Raw<'a>,
    #[serde(borrow, rename = "sharedEventID")]
    shared_event_id: Raw<'a>,
    #[serde(borrow)]
    vpc_endpoint_id: Raw<'a>,
    #[serde(borrow)]
    vpc_endpoint_account_id: Raw<'a>,
    #[serde(borrow)]
    user_identity: Raw<'a>,
    #[serde(borrow)]
    tls_details: Raw<'a>,
    #[serde(borrow)]
    request_parameters: Raw<'a>,
    #[serde(borrow)]
    response_elements: Raw<'a>,
    #[serde(borrow)]
    additional_event_data: Raw<'a>,
    #[serde(borrow)]
    resources: Raw<'a>,
    #[serde(borrow)]
    service_event_details: Raw<'a>,
    // EventBridge envelope ("AWS API Call via CloudTrail"): the CloudTrail record is `detail`.
    #[serde(borrow)]
    detail: Raw<'a>,
    #[serde(borrow, rename = "detail-type")]
    detail_type: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct UserIdentity<'a> {
    #[serde(borrow, rename = "type")]
    kind: Raw<'a>,
    #[serde(borrow)]
    principal_id: Raw<'a>,
    #[serde(borrow)]
    arn: Raw<'a>,
    #[serde(borrow)]
    account_id: Raw<'a>,
    #[serde(borrow)]
    access_key_id: Raw<'a>,
    #[serde(borrow)]
    user_name: Raw<'a>,
    #[serde(borrow)]
    invoked_by: Raw<'a>,
    #[serde(borrow)]
    identity_provider: Raw<'a>,
    #[serde(borrow)]
    session_context: Raw<'a>,
    #[serde(borrow)]
    on_behalf_of: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SessionContext<'a> {
    #[serde(borrow)]
    attributes: Raw<'a>,
    #[serde(borrow)]
    session_issuer: Raw<'a>,
    #[serde(borrow)]
    source_identity: Raw<'a>,
    #[serde(borrow)]
    web_id_federation_data: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SessionAttributes<'a> {
    #[serde(borrow)]
    mfa_authenticated: Raw<'a>,
    #[serde(borrow)]
    creation_date: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer<'a> {
    #[serde(borrow, rename = "type")]
    kind: Raw<'a>,
    #[serde(borrow)]
    principal_id: Raw<'a>,
    #[serde(borrow)]
    arn: Raw<'a>,
    #[serde(borrow)]
    account_id: Raw<'a>,
    #[serde(borrow)]
    user_name: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WebIdFederationData<'a> {
    #[serde(borrow)]
    federated_provider: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct OnBehalfOf<'a> {
    #[serde(borrow)]
    user_id: Raw<'a>,
    #[serde(borrow)]
    identity_store_arn: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct TlsDetails<'a> {
    #[serde(borrow)]
    tls_version: Raw<'a>,
    #[serde(borrow)]
    cipher_suite: Raw<'a>,
    #[serde(borrow)]
    client_provided_host_header: Raw<'a>,
}

#[derive(Deserialize, Default)]
struct ResponseWithCredentials<'a> {
    #[serde(borrow)]
    credentials: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct IssuedCredentials<'a> {
    #[serde(borrow)]
    access_key_id: Raw<'a>,
}

/// Accumulates parsed records as Arrow columns.
pub struct CloudTrailBuilder {
    event_time: TimestampMicrosecondBuilder,
    strings: Vec<StringBuilder>,
    read_only: BooleanBuilder,
    management_event: BooleanBuilder,
    session_mfa: BooleanBuilder,
    session_creation: TimestampMicrosecondBuilder,
    source_index: Int64Builder,
    source_line: Int64Builder,
    rows: usize,
}

// Indexes into `strings`, in schema order of the string columns before `raw`.
#[derive(Clone, Copy)]
#[repr(usize)]
enum S {
    EventVersion,
    EventId,
    EventName,
    EventSource,
    EventType,
    EventCategory,
    AwsRegion,
    SourceIp,
    UserAgent,
    ErrorCode,
    ErrorMessage,
    RecipientAccount,
    RequestId,
    SharedEventId,
    VpcEndpointId,
    VpcEndpointAccountId,
    UserType,
    UserPrincipalId,
    UserArn,
    UserAccountId,
    UserAccessKeyId,
    UserName,
    UserInvokedBy,
    UserIdentityProvider,
    IssuerType,
    IssuerPrincipalId,
    IssuerArn,
    IssuerUserName,
    IssuerAccountId,
    SourceIdentity,
    WebIdProvider,
    OnBehalfOfUserId,
    OnBehalfOfStoreArn,
    IssuedAccessKeyId,
    TlsVersion,
    TlsCipherSuite,
    TlsHost,
    RequestParameters,
    ResponseElements,
    AdditionalEventData,
    Resources,
    ServiceEventDetails,
    Raw,
    SourceObject,
}
const N_STRINGS: usize = S::SourceObject as usize + 1;

impl RecordSink for CloudTrailBuilder {
    fn push(
        &mut self,
        text: &str,
        source_object: &str,
        pos: Position,
        warnings: &mut FieldWarnings,
    ) -> Result<(), RecordError> {
        CloudTrailBuilder::push(self, text, source_object, pos, warnings)
    }
    fn len(&self) -> usize {
        self.rows
    }
    fn finish(&mut self) -> RecordBatch {
        CloudTrailBuilder::finish(self)
    }
}

impl Default for CloudTrailBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl CloudTrailBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        CloudTrailBuilder {
            event_time: TimestampMicrosecondBuilder::new().with_timezone(UTC),
            strings: (0..N_STRINGS).map(|_| StringBuilder::new()).collect(),
            read_only: BooleanBuilder::new(),
            management_event: BooleanBuilder::new(),
            session_mfa: BooleanBuilder::new(),
            session_creation: TimestampMicrosecondBuilder::new().with_timezone(UTC),
            source_index: Int64Builder::new(),
            source_line: Int64Builder::new(),
            rows: 0,
        }
    }

    /// Rows appended since the last `finish`.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no rows are pending.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Parses one record and appends it as a row.
    ///
    /// `text` is the record's JSON. On error nothing is appended.
    pub fn push(
        &mut self,
        text: &str,
        source_object: &str,
        pos: Position,
        warnings: &mut FieldWarnings,
    ) -> Result<(), RecordError> {
        let outer: RecordFields = match text.as_bytes().first() {
            Some(b'{') => {
                serde_json::from_str(text).map_err(|e| RecordError(format!("invalid JSON: {e}")))?
            }
            _ => {
                return Err(RecordError(format!(
                    "record is {}, not a JSON object",
                    json_kind(text)
                )));
            }
        };
        // An EventBridge envelope carries the record in `detail`; keep the envelope as `raw`.
        let unwrapped;
        let rec = if outer.event_time.is_none() && outer.detail_type.is_some() {
            match outer.detail {
                Some(d) if d.get().starts_with('{') => {
                    unwrapped = serde_json::from_str::<RecordFields>(d.get()).map_err(|e| {
                        RecordError(format!("invalid JSON in EventBridge detail: {e}"))
                    })?;
                    &unwrapped
                }
                _ => {
                    return Err(RecordError(
                        "EventBridge envelope without a detail object".into(),
                    ));
                }
            }
        } else {
            &outer
        };

        let event_time = match rec.event_time {
            None => return Err(RecordError("eventTime is missing".into())),
            Some(raw) => match string_of(raw) {
                Some(s) => parse_timestamp_micros(&s).ok_or_else(|| {
                    RecordError(format!(
                        "eventTime {:?} is not an ISO 8601 UTC time",
                        crate::sanitize::cut(&s, 64)
                    ))
                })?,
                None => {
                    return Err(RecordError(format!(
                        "eventTime is {}, not a string",
                        json_kind(raw.get())
                    )));
                }
            },
        };

        let w = warnings;
        let ui: UserIdentity = sub_object(rec.user_identity, "userIdentity", w)?;
        let sc: SessionContext = sub_object(ui.session_context, "userIdentity.sessionContext", w)?;
        let attrs: SessionAttributes = sub_object(sc.attributes, "sessionContext.attributes", w)?;
        let issuer: SessionIssuer =
            sub_object(sc.session_issuer, "sessionContext.sessionIssuer", w)?;
        let webid: WebIdFederationData = sub_object(
            sc.web_id_federation_data,
            "sessionContext.webIdFederationData",
            w,
        )?;
        let obo: OnBehalfOf = sub_object(ui.on_behalf_of, "userIdentity.onBehalfOf", w)?;
        let tls: TlsDetails = sub_object(rec.tls_details, "tlsDetails", w)?;
        let issued_key = issued_access_key(rec);

        self.event_time.append_value(event_time);
        let creation = attrs.creation_date.and_then(|raw| match string_of(raw) {
            Some(s) => {
                let t = parse_timestamp_micros(&s);
                if t.is_none() {
                    w.push(
                        "sessionContext.attributes.creationDate",
                        "an ISO 8601 time",
                        raw,
                    );
                }
                t
            }
            None => {
                w.push("sessionContext.attributes.creationDate", "a string", raw);
                None
            }
        });
        self.session_creation.append_option(creation);
        self.read_only
            .append_option(boolean(rec.read_only, "readOnly", w));
        self.management_event
            .append_option(boolean(rec.management_event, "managementEvent", w));
        self.session_mfa.append_option(boolean(
            attrs.mfa_authenticated,
            "sessionContext.attributes.mfaAuthenticated",
            w,
        ));

        let text_fields: [(S, Raw, &str); 37] = [
            (S::EventVersion, rec.event_version, "eventVersion"),
            (S::EventId, rec.event_id, "eventID"),
            (S::EventName, rec.event_name, "eventName"),
            (S::EventSource, rec.event_source, "eventSource"),
            (S::EventType, rec.event_type, "eventType"),
            (S::EventCategory, rec.event_category, "eventCategory"),
            (S::AwsRegion, rec.aws_region, "awsRegion"),
            (S::SourceIp, rec.source_ip_address, "sourceIPAddress"),
            (S::UserAgent, rec.user_agent, "userAgent"),
            (S::ErrorCode, rec.error_code, "errorCode"),
            (S::ErrorMessage, rec.error_message, "errorMessage"),
            (
                S::RecipientAccount,
                rec.recipient_account_id,
                "recipientAccountId",
            ),
            (S::RequestId, rec.request_id, "requestID"),
            (S::SharedEventId, rec.shared_event_id, "sharedEventID"),
            (S::VpcEndpointId, rec.vpc_endpoint_id, "vpcEndpointId"),
            (
                S::VpcEndpointAccountId,
                rec.vpc_endpoint_account_id,
                "vpcEndpointAccountId",
            ),
            (S::UserType, ui.kind, "userIdentity.type"),
            (
                S::UserPrincipalId,
                ui.principal_id,
                "userIdentity.principalId",
            ),
            (S::UserArn, ui.arn, "userIdentity.arn"),
            (S::UserAccountId, ui.account_id, "userIdentity.accountId"),
            (
                S::UserAccessKeyId,
                ui.access_key_id,
                "userIdentity.accessKeyId",
            ),
            (S::UserName, ui.user_name, "userIdentity.userName"),
            (S::UserInvokedBy, ui.invoked_by, "userIdentity.invokedBy"),
            (
                S::UserIdentityProvider,
                ui.identity_provider,
                "userIdentity.identityProvider",
            ),
            (S::IssuerType, issuer.kind, "sessionIssuer.type"),
            (
                S::IssuerPrincipalId,
                issuer.principal_id,
                "sessionIssuer.principalId",
            ),
            (S::IssuerArn, issuer.arn, "sessionIssuer.arn"),
            (
                S::IssuerUserName,
                issuer.user_name,
                "sessionIssuer.userName",
            ),
            (
                S::IssuerAccountId,
                issuer.account_id,
                "sessionIssuer.accountId",
            ),
            (
                S::SourceIdentity,
                sc.source_identity,
                "sessionContext.sourceIdentity",
            ),
            (
                S::WebIdProvider,
                webid.federated_provider,
                "webIdFederationData.federatedProvider",
            ),
            (S::OnBehalfOfUserId, obo.user_id, "onBehalfOf.userId"),
            (
                S::OnBehalfOfStoreArn,
                obo.identity_store_arn,
                "onBehalfOf.identityStoreArn",
            ),
            (
                S::IssuedAccessKeyId,
                issued_key,
                "responseElements.credentials.accessKeyId",
            ),
            (S::TlsVersion, tls.tls_version, "tlsDetails.tlsVersion"),
            (
                S::TlsCipherSuite,
                tls.cipher_suite,
                "tlsDetails.cipherSuite",
            ),
            (
                S::TlsHost,
                tls.client_provided_host_header,
                "tlsDetails.clientProvidedHostHeader",
            ),
        ];
        for (col, raw, name) in text_fields {
            let v = raw.map(|r| match string_of(r) {
                Some(s) => s,
                None => {
                    w.push(name, "a string", r);
                    Cow::Borrowed(r.get())
                }
            });
            self.strings[col as usize].append_option(v);
        }
        for (col, raw) in [
            (S::RequestParameters, rec.request_parameters),
            (S::ResponseElements, rec.response_elements),
            (S::AdditionalEventData, rec.additional_event_data),
            (S::Resources, rec.resources),
            (S::ServiceEventDetails, rec.service_event_details),
        ] {
            self.strings[col as usize].append_option(raw.map(|r| r.get()));
        }
        self.strings[S::Raw as usize].append_value(text);
        self.strings[S::SourceObject as usize].append_value(source_object);
        self.source_index.append_value(pos.index);
        self.source_line.append_option(pos.line);
        self.rows += 1;
        Ok(())
    }

    /// Takes the pending rows as a batch in [`schema`] order.
    pub fn finish(&mut self) -> RecordBatch {
        // The next chunk is about as big as this one: size the builders now instead of growing
        // (and copying) them value by value.
        let rows = self.rows;
        let mut strings: Vec<ArrayRef> = self
            .strings
            .iter_mut()
            .map(|b| {
                let bytes = b.values_slice().len();
                let a = Arc::new(b.finish()) as ArrayRef;
                *b = StringBuilder::with_capacity(rows, bytes + bytes / 8);
                a
            })
            .collect();
        let mut s = |i: S| {
            std::mem::replace(
                &mut strings[i as usize],
                Arc::new(arrow::array::NullArray::new(0)),
            )
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.event_time.finish()),
            s(S::EventVersion),
            s(S::EventId),
            s(S::EventName),
            s(S::EventSource),
            s(S::EventType),
            s(S::EventCategory),
            s(S::AwsRegion),
            s(S::SourceIp),
            s(S::UserAgent),
            s(S::ErrorCode),
            s(S::ErrorMessage),
            Arc::new(self.read_only.finish()),
            Arc::new(self.management_event.finish()),
            s(S::RecipientAccount),
            s(S::RequestId),
            s(S::SharedEventId),
            s(S::VpcEndpointId),
            s(S::VpcEndpointAccountId),
            s(S::UserType),
            s(S::UserPrincipalId),
            s(S::UserArn),
            s(S::UserAccountId),
            s(S::UserAccessKeyId),
            s(S::UserName),
            s(S::UserInvokedBy),
            s(S::UserIdentityProvider),
            s(S::IssuerType),
            s(S::IssuerPrincipalId),
            s(S::IssuerArn),
            s(S::IssuerUserName),
            s(S::IssuerAccountId),
            Arc::new(self.session_mfa.finish()),
            Arc::new(self.session_creation.finish()),
            s(S::SourceIdentity),
            s(S::WebIdProvider),
            s(S::OnBehalfOfUserId),
            s(S::OnBehalfOfStoreArn),
            s(S::IssuedAccessKeyId),
            s(S::TlsVersion),
            s(S::TlsCipherSuite),
            s(S::TlsHost),
            s(S::RequestParameters),
            s(S::ResponseElements),
            s(S::AdditionalEventData),
            s(S::Resources),
            s(S::ServiceEventDetails),
            s(S::Raw),
            s(S::SourceObject),
            Arc::new(self.source_index.finish()),
            Arc::new(self.source_line.finish()),
        ];
        self.rows = 0;
        RecordBatch::try_new(schema(), columns).expect("builder columns match the schema")
    }
}

/// The string a raw JSON value holds, borrowed when it has no escapes; `None` if not a string.
fn string_of(raw: &RawValue) -> Option<Cow<'_, str>> {
    let t = raw.get();
    if t.len() >= 2 && t.starts_with('"') {
        let inner = &t[1..t.len() - 1];
        if !inner.contains('\\') {
            return Some(Cow::Borrowed(inner));
        }
        return serde_json::from_str::<String>(t).ok().map(Cow::Owned);
    }
    None
}

fn boolean(raw: Raw, name: &str, w: &mut FieldWarnings) -> Option<bool> {
    let raw = raw?;
    match raw.get() {
        "true" => Some(true),
        "false" => Some(false),
        // CloudTrail itself writes mfaAuthenticated as a string.
        "\"true\"" => Some(true),
        "\"false\"" => Some(false),
        _ => {
            w.push(name, "a boolean", raw);
            None
        }
    }
}

/// A nested object of the record. One whose fields have the wrong types is kept empty, with a
/// warning; one that repeats a key is rejected, since which value CloudTrail meant (which
/// identity acted, whether MFA was used) is then ambiguous, and readers disagree on it.
fn sub_object<'a, T: Deserialize<'a> + Default>(
    raw: Raw<'a>,
    name: &str,
    w: &mut FieldWarnings,
) -> Result<T, RecordError> {
    match raw {
        None => Ok(T::default()),
        Some(r) if r.get().starts_with('{') => match serde_json::from_str(r.get()) {
            Ok(v) => Ok(v),
            Err(e) if e.to_string().starts_with("duplicate field") => Err(RecordError(format!(
                "{name} has a {e}: an ambiguous record is rejected"
            ))),
            Err(_) => {
                w.push(name, "an object with the documented fields", r);
                Ok(T::default())
            }
        },
        Some(r) => {
            w.push(name, "an object", r);
            Ok(T::default())
        }
    }
}

fn issued_access_key<'a>(rec: &RecordFields<'a>) -> Raw<'a> {
    let src = rec.event_source.map(|r| r.get()).unwrap_or("");
    if !src.starts_with("\"sts.") {
        return None;
    }
    let resp: ResponseWithCredentials = rec
        .response_elements
        .filter(|r| r.get().starts_with('{'))
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or_default();
    let creds: IssuedCredentials = resp
        .credentials
        .filter(|r| r.get().starts_with('{'))
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or_default();
    creds.access_key_id
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a repeated key inside `userIdentity` nulled the identity columns behind a
    /// misleading "coerced field" warning, which could hide a Root actor from `root_activity`.
    #[test]
    fn a_repeated_identity_key_rejects_the_record() {
        let rec = r#"{"eventTime":"2024-01-01T00:00:00Z","eventID":"e1","eventName":"CreateUser",
            "eventSource":"iam.amazonaws.com",
            "userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root","type":"IAMUser"}}"#;
        let mut b = CloudTrailBuilder::new();
        let mut w = FieldWarnings::default();
        let pos = Position {
            index: 0,
            line: None,
        };
        let e = b.push(rec, "k", pos, &mut w).unwrap_err();
        assert!(
            e.0.starts_with("userIdentity has a duplicate field `type`"),
            "{}",
            e.0
        );
        assert_eq!((b.len(), w.count), (0, 0));
    }
    use arrow::array::{Array, AsArray};

    fn one(text: &str) -> (Result<(), RecordError>, RecordBatch, FieldWarnings) {
        let mut b = CloudTrailBuilder::new();
        let mut w = FieldWarnings::default();
        let r = b.push(
            text,
            "obj",
            Position {
                index: 0,
                line: None,
            },
            &mut w,
        );
        (r, b.finish(), w)
    }

    fn col<'a>(batch: &'a RecordBatch, name: &str) -> &'a arrow::array::StringArray {
        batch.column_by_name(name).unwrap().as_string::<i32>()
    }

    #[test]
    fn flattens_an_assumed_role_record() {
        let text = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA:s","arn":"arn:aws:sts::1:assumed-role/r/s","accountId":"1","accessKeyId":"ASIA1","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA","arn":"arn:aws:iam::1:role/r","accountId":"1","userName":"r"},"webIdFederationData":{"federatedProvider":"arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"},"attributes":{"creationDate":"2024-01-02T03:04:05Z","mfaAuthenticated":"false"},"sourceIdentity":"alice"}},"eventTime":"2024-01-02T03:04:06Z","eventSource":"s3.amazonaws.com","eventName":"PutObject","readOnly":false,"requestParameters":{"bucketName":"b"},"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"b.s3.amazonaws.com"}}"#;
        let (r, batch, w) = one(text);
        r.unwrap();
        assert_eq!(w.count, 0);
        assert_eq!(col(&batch, "user_type").value(0), "AssumedRole");
        assert_eq!(
            col(&batch, "session_issuer_arn").value(0),
            "arn:aws:iam::1:role/r"
        );
        assert_eq!(col(&batch, "source_identity").value(0), "alice");
        assert_eq!(col(&batch, "tls_version").value(0), "TLSv1.3");
        assert_eq!(
            col(&batch, "request_parameters").value(0),
            r#"{"bucketName":"b"}"#
        );
        assert!(col(&batch, "response_elements").is_null(0));
        assert_eq!(col(&batch, "raw").value(0), text);
        let mfa = batch
            .column_by_name("session_mfa_authenticated")
            .unwrap()
            .as_boolean();
        assert!(!mfa.value(0));
        let ro = batch.column_by_name("read_only").unwrap().as_boolean();
        assert!(!ro.value(0) && ro.is_valid(0));
    }

    #[test]
    fn rejects_missing_or_bad_event_time() {
        assert_eq!(
            one(r#"{"eventName":"X"}"#).0,
            Err(RecordError("eventTime is missing".into()))
        );
        assert!(
            one(r#"{"eventTime":"yesterday"}"#)
                .0
                .unwrap_err()
                .0
                .contains("not an ISO 8601")
        );
        assert!(
            one(r#"{"eventTime":17}"#)
                .0
                .unwrap_err()
                .0
                .contains("a number, not a string")
        );
        assert!(one(r#"[1]"#).0.unwrap_err().0.contains("not a JSON object"));
    }

    #[test]
    fn keeps_wrong_types_as_text_and_warns() {
        let (r, batch, w) = one(
            r#"{"eventTime":"2024-01-01T00:00:00Z","eventName":42,"readOnly":"yes","userIdentity":"root"}"#,
        );
        r.unwrap();
        assert_eq!(col(&batch, "event_name").value(0), "42");
        assert!(batch.column_by_name("read_only").unwrap().is_null(0));
        assert_eq!(w.count, 3);
        assert_eq!(
            w.first.as_deref(),
            Some("field userIdentity: expected an object, found a string")
        );
    }

    #[test]
    fn unwraps_eventbridge_envelopes() {
        let text = r#"{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":{"eventTime":"2024-05-06T07:08:09Z","eventName":"PutObject","eventSource":"s3.amazonaws.com"}}"#;
        let (r, batch, _) = one(text);
        r.unwrap();
        assert_eq!(col(&batch, "event_name").value(0), "PutObject");
        assert_eq!(col(&batch, "raw").value(0), text);
    }

    #[test]
    fn extracts_issued_session_keys() {
        let (r, batch, _) = one(
            r#"{"eventTime":"2024-01-01T00:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","responseElements":{"credentials":{"accessKeyId":"ASIANEW","expiration":"x"}}}"#,
        );
        r.unwrap();
        assert_eq!(col(&batch, "issued_access_key_id").value(0), "ASIANEW");
    }

    #[test]
    fn escaped_strings_are_decoded() {
        let (r, batch, _) =
            one(r#"{"eventTime":"2024-01-01T00:00:00Z","userAgent":"a\"b\u001b[31m"}"#);
        r.unwrap();
        assert_eq!(col(&batch, "user_agent").value(0), "a\"b\u{1b}[31m");
    }
}
