//! HTTP delivery to SIEMs: Splunk HTTP Event Collector and a generic JSON webhook.
//!
//! Findings go in batches. A batch that fails with a timeout, a connection error, 429 or a 5xx
//! is sent again, unchanged, after an exponential backoff (0.2 s, 0.4 s, 0.8 s, ...) or the
//! `Retry-After` the endpoint asks for (seconds or an HTTP date, at most [`MAX_RETRY_AFTER`]),
//! whichever is longer, up to `attempts` times. A delivery that stops says how many findings
//! went before it, and one endpoint's failure does not keep the others from theirs
//! ([`deliver_all`]). Every request carries an `Idempotency-Key` (a hash of the batch's finding
//! ids) and every finding its stable id, so a receiver that saw a batch whose answer was lost can
//! drop the repeat: nothing is lost, nothing need count twice. Any other refusal (401, 403, 400)
//! stops with the endpoint's status and the start of its answer (for HEC, its status code
//! explained: [`hec_code`]). Tokens come from the environment, never from flags, and are never
//! printed.
//!
//! Splunk HEC with indexer acknowledgement on: a 200 only means "received". Every request has a
//! channel; a batch counts once `/services/collector/ack` says it was indexed, and one whose ack
//! does not come within `ack_timeout` is sent again, up to `attempts` times; what is never
//! acknowledged fails the delivery, by name and count ([`SinkError::Unacknowledged`]).

use std::time::Duration;

use serde_json::json;

use crate::findings::{Finding, Report};

/// Which protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkKind {
    /// Splunk HEC (`/services/collector/event`); token from `PIPEWARDEN_HEC_TOKEN`.
    SplunkHec,
    /// A JSON webhook; optional bearer token from `PIPEWARDEN_WEBHOOK_TOKEN`.
    Webhook,
    /// AWS Security Hub's `BatchImportFindings` ([`super::securityhub`]), on the standard
    /// credential chain.
    SecurityHub,
}

/// Where and how to send. Its `Debug` never shows the token.
#[derive(Clone)]
pub struct Sink {
    /// Protocol.
    pub kind: SinkKind,
    /// Endpoint URL.
    pub url: String,
    /// Findings per request.
    pub batch: usize,
    /// Tries per batch.
    pub attempts: u32,
    /// Per-request timeout.
    pub timeout: Duration,
    /// First backoff.
    pub backoff: Duration,
    /// Splunk HEC with indexer acknowledgement: how long a batch may wait for its ack before it
    /// is sent again.
    pub ack_timeout: Duration,
    /// Splunk HEC: the first pause between ack polls (it doubles, up to 5 s).
    pub ack_poll: Duration,
    /// The token, read from the environment by [`Sink::token_from_env`] (never from a flag).
    pub token: Option<String>,
    /// For Security Hub: the receiving account and region (from `--asff-account`,
    /// `--asff-region`).
    pub hub: Option<super::securityhub::Target>,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("kind", &self.kind)
            .field("url", &self.shown_url())
            .field("batch", &self.batch)
            .field("attempts", &self.attempts)
            .field("timeout", &self.timeout)
            .field("backoff", &self.backoff)
            .field("ack_timeout", &self.ack_timeout)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Sink {
    /// Parses `splunk-hec=URL`, `webhook=URL` or `securityhub`.
    pub fn parse(spec: &str) -> Result<Sink, String> {
        if matches!(spec, "securityhub" | "security-hub") {
            return Ok(Sink {
                kind: SinkKind::SecurityHub,
                url: "Security Hub".into(),
                batch: super::securityhub::MAX_BATCH,
                attempts: 5,
                timeout: Duration::from_secs(30),
                backoff: Duration::from_millis(200),
                ack_timeout: Duration::ZERO,
                ack_poll: Duration::ZERO,
                token: None,
                hub: None,
            });
        }
        let (kind, url) = spec
            .split_once('=')
            .ok_or_else(|| format!("{spec:?}: expected splunk-hec=URL or webhook=URL"))?;
        let kind = match kind {
            "splunk-hec" | "hec" | "splunk" => SinkKind::SplunkHec,
            "webhook" | "http" => SinkKind::Webhook,
            k => {
                return Err(format!(
                    "{k:?}: unknown SIEM kind (splunk-hec=URL, webhook=URL, securityhub)"
                ));
            }
        };
        let shown = shown_url(url);
        let u = url::Url::parse(url).map_err(|e| format!("{shown:?}: not a URL: {e}"))?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(format!("{shown:?}: only http and https are supported"));
        }
        Ok(Sink {
            kind,
            url: url.to_string(),
            batch: 100,
            attempts: 5,
            timeout: Duration::from_secs(10),
            backoff: Duration::from_millis(200),
            ack_timeout: Duration::from_secs(120),
            ack_poll: Duration::from_millis(500),
            token: None,
            hub: None,
        })
    }

    /// The URL as messages show it: without the user and password a URL may carry.
    pub fn shown_url(&self) -> String {
        shown_url(&self.url)
    }

    /// `text` with every secret of this sink (the token, a password in the URL, and the Basic
    /// credential the client sends for it, `base64(user:password)`) replaced by `<redacted>`:
    /// an endpoint may echo the Authorization header in its error body.
    pub fn redact(&self, text: &str) -> String {
        use base64::Engine as _;
        let mut out = text.to_string();
        let mut secrets: Vec<String> = self.token.iter().cloned().collect();
        if let Ok(u) = url::Url::parse(&self.url)
            && let Some(p) = u.password()
        {
            let user = percent_decode(u.username());
            let pass = percent_decode(p);
            secrets
                .push(base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}")));
            secrets.push(pass);
            secrets.push(p.to_string());
        }
        for secret in &secrets {
            if !secret.is_empty() {
                out = out.replace(secret.as_str(), "<redacted>");
            }
        }
        out
    }

    /// Reads the token from the environment: `PIPEWARDEN_HEC_TOKEN` (required for Splunk HEC) or
    /// `PIPEWARDEN_WEBHOOK_TOKEN` (optional for webhooks).
    pub fn token_from_env(mut self) -> Result<Sink, SinkError> {
        self.token = match self.kind {
            SinkKind::SplunkHec => Some(std::env::var("PIPEWARDEN_HEC_TOKEN").map_err(|_| {
                SinkError::Config(
                    "PIPEWARDEN_HEC_TOKEN is not set: the Splunk HEC token comes from the environment"
                        .into(),
                )
            })?),
            SinkKind::Webhook => std::env::var("PIPEWARDEN_WEBHOOK_TOKEN").ok(),
            SinkKind::SecurityHub => None,
        };
        Ok(self)
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

/// What a delivery did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// Batches accepted.
    pub batches: usize,
    /// Findings in them.
    pub findings: usize,
    /// Requests repeated after a failure.
    pub retries: usize,
}

/// A delivery that failed.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The endpoint said no.
    #[error(
        "{url} refused the findings: HTTP {status}: {body} ({delivered} of {total} finding(s) were delivered before)"
    )]
    Refused {
        /// Endpoint.
        url: String,
        /// Status code.
        status: u16,
        /// Start of the answer.
        body: String,
        /// Findings accepted before this batch.
        delivered: usize,
        /// Findings in the report.
        total: usize,
    },
    /// Retries ran out.
    #[error(
        "{url}: gave up after {attempts} tries: {last} ({delivered} of {total} finding(s) were delivered before)"
    )]
    GaveUp {
        /// Endpoint.
        url: String,
        /// Tries.
        attempts: u32,
        /// The last failure.
        last: String,
        /// Findings accepted before this batch.
        delivered: usize,
        /// Findings in the report.
        total: usize,
    },
    /// Splunk HEC with indexer acknowledgement: batches received but never acknowledged as
    /// indexed, after every resend.
    #[error(
        "{url}: {batches} batch(es) ({findings} finding(s)) received but never acknowledged as indexed after {attempts} tries ({delivered} of {total} finding(s) were acknowledged)"
    )]
    Unacknowledged {
        /// Endpoint.
        url: String,
        /// Batches never acknowledged.
        batches: usize,
        /// Their findings.
        findings: usize,
        /// Tries per batch.
        attempts: u32,
        /// Findings acknowledged.
        delivered: usize,
        /// Findings in the report.
        total: usize,
    },
    /// Configuration (a missing token).
    #[error("{0}")]
    Config(String),
}

/// What Splunk HEC's status codes mean, for a message (Splunk's "Troubleshoot HTTP Event
/// Collector" table); None for codes it does not name.
pub fn hec_code(code: i64) -> Option<&'static str> {
    Some(match code {
        1 => "the HEC token is disabled",
        2 => "a token is required: set PIPEWARDEN_HEC_TOKEN",
        3 => "invalid authorization: check PIPEWARDEN_HEC_TOKEN",
        4 => "invalid token: check PIPEWARDEN_HEC_TOKEN",
        5 => "no data",
        6 => "invalid data format",
        7 => "incorrect index: the token may not write the index",
        8 => "internal server error",
        9 => "server is busy (retried)",
        10 => "data channel is missing: indexer acknowledgement needs a channel",
        11 => "invalid data channel",
        12 => "event field is required",
        13 => "event field cannot be blank",
        14 => "indexer acknowledgement is disabled for this token",
        15 => "error in handling indexed fields",
        16 => "query string authorization is not enabled",
        _ => return None,
    })
}

/// An HEC answer's `text` and `code`, explained.
fn hec_explained(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let code = v.get("code")?.as_i64()?;
    let what = hec_code(code)?;
    Some(format!("HEC code {code}: {what}"))
}

/// The first `max` bytes of a response's body, as text: an error body is read no further, so a
/// huge or endless one costs neither memory nor time.
async fn capped_text(mut resp: reqwest::Response, max: usize) -> String {
    let mut body: Vec<u8> = vec![];
    while body.len() < max {
        match resp.chunk().await {
            Ok(Some(c)) => body.extend_from_slice(&c[..c.len().min(max - body.len())]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// A URL without its userinfo (`https://user:password@host/` → `https://host/`).
pub fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        // Not a URL: show only what comes after an `@`, if any.
        Err(_) => url.rsplit('@').next().unwrap_or(url).to_string(),
    }
}

/// The idempotency key of a batch: FNV-1a of its finding ids.
pub fn batch_key(findings: &[Finding]) -> String {
    let h = crate::findings::fnv1a(findings.iter().map(|f| f.id.as_str()));
    format!("pw-batch-{h:016x}")
}

fn body(kind: SinkKind, r: &Report, batch: &[Finding]) -> Vec<u8> {
    match kind {
        SinkKind::SplunkHec => {
            let mut out = vec![];
            for f in batch {
                let time = f.last_seen.secs();
                let ev = json!({
                    "time": time, "host": "pipewarden", "source": "pipewarden",
                    "sourcetype": "pipewarden:finding", "event": f,
                });
                serde_json::to_writer(&mut out, &ev).expect("serialisable");
                out.push(b'\n');
            }
            out
        }
        // (Security Hub never gets here: `deliver` refuses it.)
        SinkKind::Webhook | SinkKind::SecurityHub => serde_json::to_vec(&json!({
            "schema": crate::findings::SCHEMA_VERSION,
            "window_start": r.window_start, "window_end": r.window_end,
            "findings": batch,
        }))
        .expect("serialisable"),
    }
}

/// The longest `Retry-After` honoured: a longer one is waited for this long (the run's time
/// stays bounded by `attempts` times this).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The wait a 429 or 503 asks for: `Retry-After` in seconds or as an HTTP date.
fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp.headers().get("retry-after")?.to_str().ok()?.trim();
    let d = match v.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
            (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
                .to_std()
                .unwrap_or_default()
        }
    };
    Some(d.min(MAX_RETRY_AFTER))
}

/// Sends every finding of `r` to each sink in turn; one that fails does not stop the others.
/// Returns each sink's outcome, in order.
/// Security Hub needs `aws` (the standard chain, loaded by the caller).
pub async fn deliver_all(
    sinks: &[Sink],
    r: &Report,
    aws: Option<&crate::aws::AwsContext>,
) -> Vec<Result<Delivered, SinkError>> {
    let mut out = Vec::with_capacity(sinks.len());
    for s in sinks {
        out.push(match (s.kind, aws, &s.hub) {
            (SinkKind::SecurityHub, Some(aws), Some(t)) => {
                Box::pin(super::securityhub::import(aws, t, r)).await
            }
            (SinkKind::SecurityHub, _, _) => Err(SinkError::Config(
                "Security Hub needs --asff-account and AWS credentials".into(),
            )),
            _ => deliver(s, r).await,
        });
    }
    out
}

/// A channel id for HEC (a GUID): indexer acknowledgement is per channel.
fn channel_id(r: &Report) -> String {
    let h = crate::findings::fnv1a(r.findings.iter().map(|f| f.id.as_str()));
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ u64::from(std::process::id());
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (h >> 32) as u32,
        (h >> 16) as u16,
        h & 0xfff,
        t & 0xfff,
        (t >> 12) & 0xffff_ffff_ffff
    )
}

/// The ack endpoint next to an HEC event endpoint: `/services/collector/ack`.
fn ack_url(url: &str) -> Option<String> {
    let mut u = url::Url::parse(url).ok()?;
    let path = u.path().to_string();
    let base = match path.find("/services/collector") {
        Some(i) => &path[..i],
        None => path.trim_end_matches('/'),
    };
    u.set_path(&format!("{base}/services/collector/ack"));
    u.set_query(None);
    Some(u.to_string())
}

/// One batch on the way: sent, waiting for HEC's acknowledgement.
struct Pending<'a> {
    batch: &'a [Finding],
    ack: u64,
    since: std::time::Instant,
    tries: u32,
}

/// Sends every finding of `r`.
///
/// For Splunk HEC every request carries a channel (`X-Splunk-Request-Channel`). When the
/// answer holds an `ackId`, indexer acknowledgement is on and a 200 only means "received": the
/// batch counts as delivered once `/services/collector/ack` says it was indexed, and one whose
/// ack does not come within `ack_timeout` is sent again (up to `attempts` times), after which
/// the delivery fails naming what was never acknowledged.
pub async fn deliver(sink: &Sink, r: &Report) -> Result<Delivered, SinkError> {
    if sink.kind == SinkKind::SecurityHub {
        return Err(SinkError::Config(
            "Security Hub is not an HTTP endpoint: deliver it with deliver_all".into(),
        ));
    }
    if sink.kind == SinkKind::SplunkHec && sink.token.is_none() {
        return Err(SinkError::Config(
            "no Splunk HEC token: set PIPEWARDEN_HEC_TOKEN".into(),
        ));
    }
    let client = reqwest::Client::builder()
        .timeout(sink.timeout)
        // A redirect turns the POST into a body-less GET: the findings would be lost while the
        // delivery looked done. Redirects are refused, never followed.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| SinkError::Config(format!("cannot build an HTTP client: {e}")))?;
    let channel = (sink.kind == SinkKind::SplunkHec).then(|| channel_id(r));
    let mut done = Delivered::default();
    let mut pending: Vec<Pending> = vec![];
    for batch in r.findings.chunks(sink.batch.max(1)) {
        match send_batch(&client, sink, r, batch, channel.as_deref(), &mut done).await? {
            Some(ack) => pending.push(Pending {
                batch,
                ack,
                since: std::time::Instant::now(),
                tries: 1,
            }),
            None => {
                done.batches += 1;
                done.findings += batch.len();
            }
        }
    }
    let (Some(channel), Some(ack_url)) = (channel, ack_url(&sink.url)) else {
        return Ok(done);
    };
    let mut pause = sink.ack_poll;
    let mut lost: Vec<Pending> = vec![];
    while !pending.is_empty() {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
        let acked = poll_acks(&client, sink, &ack_url, &channel, &pending).await;
        let mut still = vec![];
        for mut p in pending {
            if acked.contains(&p.ack) {
                done.batches += 1;
                done.findings += p.batch.len();
            } else if p.since.elapsed() < sink.ack_timeout {
                still.push(p);
            } else if p.tries < sink.attempts {
                // Received, never indexed: sent again, with a new ack id.
                done.retries += 1;
                match send_batch(&client, sink, r, p.batch, Some(&channel), &mut done).await? {
                    Some(ack) => {
                        p.ack = ack;
                        p.since = std::time::Instant::now();
                        p.tries += 1;
                        pause = sink.ack_poll;
                        still.push(p);
                    }
                    None => {
                        done.batches += 1;
                        done.findings += p.batch.len();
                    }
                }
            } else {
                lost.push(p);
            }
        }
        pending = still;
    }
    if !lost.is_empty() {
        return Err(SinkError::Unacknowledged {
            url: sink.shown_url(),
            batches: lost.len(),
            findings: lost.iter().map(|p| p.batch.len()).sum(),
            attempts: sink.attempts,
            delivered: done.findings,
            total: r.findings.len(),
        });
    }
    Ok(done)
}

/// Which of `pending`'s ack ids HEC says were indexed; a failed poll says none (the next poll,
/// or the resend after `ack_timeout`, follows).
async fn poll_acks(
    client: &reqwest::Client,
    sink: &Sink,
    url: &str,
    channel: &str,
    pending: &[Pending<'_>],
) -> std::collections::HashSet<u64> {
    let ids: Vec<u64> = pending.iter().map(|p| p.ack).collect();
    let mut req = client
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Splunk-Request-Channel", channel)
        .body(json!({ "acks": ids }).to_string());
    if let Some(t) = &sink.token {
        req = req.header("Authorization", format!("Splunk {t}"));
    }
    let Ok(resp) = req.send().await else {
        return Default::default();
    };
    if !resp.status().is_success() {
        return Default::default();
    }
    let text = capped_text(resp, 1 << 20).await;
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    v.get("acks")
        .and_then(|a| a.as_object())
        .map(|m| {
            m.iter()
                .filter(|(_, ok)| ok.as_bool() == Some(true))
                .filter_map(|(id, _)| id.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Sends one batch, retrying as the module says; returns HEC's `ackId` when acknowledgement is
/// on.
async fn send_batch(
    client: &reqwest::Client,
    sink: &Sink,
    r: &Report,
    batch: &[Finding],
    channel: Option<&str>,
    done: &mut Delivered,
) -> Result<Option<u64>, SinkError> {
    let key = batch_key(batch);
    let payload = body(sink.kind, r, batch);
    let mut wait = sink.backoff;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut asked = None;
        let mut req = client
            .post(&sink.url)
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", &key)
            .body(payload.clone());
        if let Some(c) = channel {
            req = req.header("X-Splunk-Request-Channel", c);
        }
        if let Some(t) = &sink.token {
            req = match sink.kind {
                SinkKind::SplunkHec => req.header("Authorization", format!("Splunk {t}")),
                _ => req.bearer_auth(t),
            };
        }
        let failure = match req.send().await {
            Ok(resp) if resp.status().is_success() => {
                if sink.kind != SinkKind::SplunkHec {
                    return Ok(None);
                }
                let text = capped_text(resp, 64 << 10).await;
                let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                return Ok(v.get("ackId").and_then(|a| a.as_u64()));
            }
            Ok(resp) if resp.status().is_redirection() => {
                let to = resp
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .map(|l| crate::sanitize::for_terminal(&shown_url(l)))
                    .unwrap_or_else(|| "nowhere".into());
                return Err(SinkError::Refused {
                    url: sink.shown_url(),
                    status: resp.status().as_u16(),
                    body: format!(
                        "redirect to {to} not followed: findings are never re-sent elsewhere; give the final URL"
                    ),
                    delivered: done.findings,
                    total: r.findings.len(),
                });
            }
            Ok(resp) => {
                let status = resp.status().as_u16();
                asked = retry_after(&resp);
                let raw = sink.redact(&capped_text(resp, 4096).await);
                let explained = match sink.kind {
                    SinkKind::SplunkHec => hec_explained(&raw),
                    _ => None,
                };
                let text: String = crate::sanitize::for_terminal(&raw)
                    .chars()
                    .take(300)
                    .collect();
                let text = match explained {
                    Some(e) => format!("{e} ({text})"),
                    None => text,
                };
                if status != 429 && status != 408 && status < 500 {
                    return Err(SinkError::Refused {
                        url: sink.shown_url(),
                        status,
                        body: text,
                        delivered: done.findings,
                        total: r.findings.len(),
                    });
                }
                format!("HTTP {status}: {text}")
            }
            Err(e) if e.is_timeout() => format!("timed out after {:?}", sink.timeout),
            Err(e) => sink.redact(&e.without_url().to_string()),
        };
        if attempt >= sink.attempts {
            return Err(SinkError::GaveUp {
                url: sink.shown_url(),
                attempts: attempt,
                last: failure,
                delivered: done.findings,
                total: r.findings.len(),
            });
        }
        done.retries += 1;
        tokio::time::sleep(asked.map_or(wait, |a| a.max(wait))).await;
        wait *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: `--siem webhook=http://user:password@host/...` printed the password in every
    /// message, and an endpoint that echoed the Authorization header got the token printed.
    #[test]
    fn credentials_never_reach_a_message() {
        let mut s = Sink::parse("webhook=https://ci:s3cret@siem.example.com/hook?x=1").unwrap();
        s.token = Some("tok-123".into());
        assert_eq!(s.shown_url(), "https://siem.example.com/hook?x=1");
        let echoed = s.redact("bad auth: Bearer tok-123 for ci:s3cret");
        assert!(
            !echoed.contains("tok-123") && !echoed.contains("s3cret"),
            "{echoed}"
        );
        // The Basic credential the client builds from the URL, echoed back base64-encoded.
        let basic = s.redact("you sent authorization: Basic Y2k6czNjcmV0");
        assert!(!basic.contains("Y2k6czNjcmV0"), "{basic}");
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("tok-123") && !dbg.contains("s3cret"), "{dbg}");
        assert_eq!(shown_url("https://h/p"), "https://h/p");
    }
}
