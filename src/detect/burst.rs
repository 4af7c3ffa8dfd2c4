//! Bursts from the first day: each active hour of a subject (a pipeline, or any other origin
//! identity) judged against the subject's trailing active hours, for calls and for data reads
//! (objects, decrypted keys, secrets, table items, log events), as CloudTrail Insights does for
//! rates. It needs no `--baseline` of history: an incident's export of a few days, or a new lake,
//! is judged from the hours it holds, and the confidence follows how many there are. Pure: the
//! hours come from `queries/detect/hourly.sql`.
//!
//! A third measure is AccessDenied other than from the console, CloudTrail Insights' error
//! rate, while the subject's history is too short for the `errors` detector (under
//! [`super::baseline::MIN_UNITS`] units before the window): a stolen key trying what it may do
//! is news from the first day. A fourth is the change of API mix: how many APIs the hour called
//! that the subject never called in an earlier hour, against how many new APIs its earlier hours met (a
//! discovery sweep of forty `List`/`Describe` calls by a key that used three APIs is news even
//! when its call rate is not).
//!
//! A key that made a few calls an hour and then thousands of reads in one hour is a high
//! finding: the tail probability of that count under the subject's hours (negative binomial
//! when they are overdispersed, else Poisson: [`super::baseline::count_tail`]), scaled by the
//! confidence of the history.

use std::collections::{BTreeMap, BTreeSet};

use super::baseline::{Departure, departure};

/// One subject's calls in one hour.
#[derive(Debug, Clone, Default)]
pub struct Hour {
    /// The pipeline, or `origin_type:origin`.
    pub subject: String,
    /// The pipeline, when the subject is one.
    pub pipeline_id: Option<String>,
    /// Start of the hour (µs).
    pub hour: i64,
    /// Calls.
    pub calls: u64,
    /// Data reads among them.
    pub reads: u64,
    /// AccessDenied among them, other than from the AWS console.
    pub denied: u64,
    /// Source networks.
    pub networks: Vec<String>,
    /// The APIs called (`eventSource:eventName`).
    pub apis: Vec<String>,
}

/// What a burst counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Data reads.
    Reads,
    /// All calls.
    Calls,
    /// APIs the subject never called in an earlier hour.
    NewApis,
    /// AccessDenied responses other than from the console (while the subject's history is too
    /// short for the `errors` detector).
    Denied,
}

impl Measure {
    /// In words.
    pub fn label(self) -> &'static str {
        match self {
            Measure::Reads => "data reads",
            Measure::Calls => "calls",
            Measure::NewApis => "APIs new to it",
            Measure::Denied => "AccessDenied responses",
        }
    }
}

/// A subject's worst hour in the window.
#[derive(Debug, Clone)]
pub struct Burst {
    /// The hour judged.
    pub hour: Hour,
    /// What it counted.
    pub measure: Measure,
    /// The hour's count.
    pub count: u64,
    /// Active hours of history before it.
    pub history_hours: usize,
    /// Days those hours span.
    pub history_days: f64,
    /// Their mean and standard deviation.
    pub mean: f64,
    /// Standard deviation.
    pub sd: f64,
    /// P(count ≥ this) under the history.
    pub tail: f64,
    /// How much the history is trusted (0.6 to 1).
    pub confidence: f64,
    /// Score 0-100.
    pub score: f64,
    /// The hour's networks the subject never used before.
    pub new_networks: Vec<String>,
    /// Other hours of the window that were bursts too.
    pub other_hours: usize,
    /// The hour's APIs the subject never called before (sorted).
    pub new_apis: Vec<String>,
}

/// New APIs in one hour, beyond the subject's usual, from which a change of mix is news.
pub const MIN_NEW_APIS: f64 = 10.0;

/// AccessDenied in one hour, beyond the subject's usual, from which a rate of refusals is news.
pub const MIN_DENIED: f64 = 20.0;

/// Active hours of history below which an hour is not judged.
pub const MIN_HOURS: usize = 3;
/// Active hours from which the history is trusted fully.
pub const FULL_HOURS: f64 = 24.0;

/// The confidence of `n` active hours of history: 0.6 at [`MIN_HOURS`], 1 from [`FULL_HOURS`].
pub fn confidence(n: usize) -> f64 {
    (0.6 + 0.4 * (n as f64 / FULL_HOURS)).min(1.0)
}

/// An hour departs from the subject's earlier hours from 3 times their mean and `min_excess`
/// more ([`departure`]).
fn judge(hist: &[f64], x: u64, min_excess: f64) -> Option<Departure> {
    departure(hist, x as f64, 3.0, min_excess)
}

/// Each subject's worst hour in `[window_start, ..)`, judged against its earlier active hours.
/// `pipelines`: whether pipeline subjects are judged (they are when the lake holds less history
/// than the baseline; otherwise their runs are, by the volume detector).
pub fn bursts(hours: &[Hour], window_start: i64, pipelines: bool) -> Vec<Burst> {
    let mut by_subject: BTreeMap<&str, Vec<&Hour>> = BTreeMap::new();
    for h in hours {
        by_subject.entry(&h.subject).or_default().push(h);
    }
    let mut out = vec![];
    for (_, mut hs) in by_subject {
        hs.sort_by_key(|h| h.hour);
        if hs[0].pipeline_id.is_some() && !pipelines {
            continue;
        }
        let (mut calls, mut reads, mut fresh, mut denied): (
            Vec<f64>,
            Vec<f64>,
            Vec<f64>,
            Vec<f64>,
        ) = (vec![], vec![], vec![], vec![]);
        // The `errors` detector judges refusals once the subject has its minimum of units
        // before the window (an identity's unit is an active hour; a pipeline is judged here
        // only while the lake is short): until then, they are judged here, from the first day.
        let errors_judges = hs.iter().filter(|h| h.hour < window_start).count()
            >= super::baseline::MIN_UNITS as usize;
        let mut seen_networks: BTreeSet<&str> = BTreeSet::new();
        let mut seen_apis: BTreeSet<&str> = BTreeSet::new();
        let mut found: Vec<Burst> = vec![];
        for h in &hs {
            let new_apis: Vec<String> = h
                .apis
                .iter()
                .filter(|a| !seen_apis.contains(a.as_str()))
                .cloned()
                .collect();
            if h.hour >= window_start && calls.len() >= MIN_HOURS {
                let n_new = new_apis.len() as u64;
                let judged = judge(&reads, h.reads, 50.0)
                    .map(|j| (Measure::Reads, h.reads, j))
                    .or_else(|| judge(&calls, h.calls, 100.0).map(|j| (Measure::Calls, h.calls, j)))
                    .or_else(|| {
                        judge(&denied, h.denied, MIN_DENIED)
                            .filter(|_| !errors_judges)
                            .map(|j| (Measure::Denied, h.denied, j))
                    })
                    .or_else(|| {
                        judge(&fresh, n_new, MIN_NEW_APIS).map(|j| (Measure::NewApis, n_new, j))
                    });
                if let Some((measure, count, Departure { mean, sd, tail })) = judged {
                    let c = confidence(calls.len());
                    let score = ((-tail.log10()) * 12.0).clamp(0.0, 100.0) * c;
                    found.push(Burst {
                        hour: (*h).clone(),
                        measure,
                        count,
                        history_hours: calls.len(),
                        history_days: (h.hour - hs[0].hour) as f64 / 86_400e6,
                        mean,
                        sd,
                        tail,
                        confidence: c,
                        score,
                        new_networks: h
                            .networks
                            .iter()
                            .filter(|n| !seen_networks.contains(n.as_str()))
                            .cloned()
                            .collect(),
                        other_hours: 0,
                        new_apis: new_apis.clone(),
                    });
                }
            }
            calls.push(h.calls as f64);
            reads.push(h.reads as f64);
            denied.push(h.denied as f64);
            fresh.push(new_apis.len() as f64);
            seen_networks.extend(h.networks.iter().map(String::as_str));
            seen_apis.extend(h.apis.iter().map(String::as_str));
        }
        let n = found.len();
        if let Some(mut worst) = found.into_iter().max_by(|a, b| {
            a.score
                .total_cmp(&b.score)
                .then(b.hour.hour.cmp(&a.hour.hour))
        }) {
            worst.other_hours = n - 1;
            out.push(worst);
        }
    }
    out
}

/// The explanation of a burst, with its numbers; `apis` is the hour's calls by API, most first.
pub fn explain(b: &Burst, hour: &str, apis: &[(String, u64)]) -> String {
    let p = if b.tail <= 1e-299 {
        "< 1e-300".to_string()
    } else {
        format!("= {:.1e}", b.tail)
    };
    let top: Vec<String> = apis
        .iter()
        .take(4)
        .map(|(a, n)| format!("{a} {n}"))
        .collect();
    let mut s = if b.measure == Measure::NewApis {
        let shown: Vec<&str> = b.new_apis.iter().take(8).map(String::as_str).collect();
        format!(
            "hour {hour} called {} APIs it never called before ({}{}) in {} calls; its {} earlier active hours over {:.1} days met {:.1} new APIs on average (sd {:.1}), P(≥ {}) {p}",
            b.count,
            shown.join(", "),
            if b.new_apis.len() > shown.len() {
                ", ..."
            } else {
                ""
            },
            b.hour.calls,
            b.history_hours,
            b.history_days,
            b.mean,
            b.sd,
            b.count,
        )
    } else {
        format!(
            "hour {hour} made {} {} ({}) of {} calls; its {} earlier active hours over {:.1} days averaged {:.1} {} (sd {:.1}), P(≥ {}) {p}",
            b.count,
            b.measure.label(),
            top.join(", "),
            b.hour.calls,
            b.history_hours,
            b.history_days,
            b.mean,
            b.measure.label(),
            b.sd,
            b.count,
        )
    };
    if !b.new_networks.is_empty() {
        s.push_str(&format!(
            "; from network(s) it never used before: {}",
            b.new_networks.join(", ")
        ));
    }
    if b.other_hours > 0 {
        s.push_str(&format!(
            "; {} other hour(s) of the window too",
            b.other_hours
        ));
    }
    s.push_str(&format!(
        "; confidence {:.2} ({} hours of history)",
        b.confidence, b.history_hours
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000;

    fn hour(subject: &str, i: i64, calls: u64, reads: u64, net: &str) -> Hour {
        Hour {
            subject: subject.into(),
            pipeline_id: None,
            hour: i * H,
            calls,
            reads,
            denied: 0,
            networks: vec![net.into()],
            apis: vec!["s3:GetObject".into()],
        }
    }

    #[test]
    fn refusals_are_judged_from_the_first_day_until_errors_can() {
        // A key that makes 20 calls an hour, one of them refused now and then; then an hour of
        // 40 calls, 32 refused: not a burst of calls, a burst of refusals.
        let subject = |before: i64| {
            let mut hs: Vec<Hour> = (0..before)
                .map(|i| {
                    let mut h = hour("iam_user:u", i, 20, 0, "n");
                    h.denied = (i % 2) as u64;
                    h
                })
                .collect();
            let mut h = hour("iam_user:u", 100, 40, 0, "n");
            h.denied = 32;
            hs.push(h);
            hs
        };
        let b = bursts(&subject(5), 100 * H, false);
        assert_eq!(b.len(), 1, "{b:#?}");
        assert_eq!((b[0].measure, b[0].count), (Measure::Denied, 32));
        assert!(b[0].score >= 60.0, "{}", b[0].score);
        let e = explain(&b[0], "1970-01-05T04:00Z", &[("ListUsers".into(), 32)]);
        assert!(
            e.contains("made 32 AccessDenied responses (ListUsers 32) of 40 calls"),
            "{e}"
        );
        assert!(e.contains("averaged 0.4 AccessDenied responses"), "{e}");
        // Eight hours before the window: the errors detector judges them, not burst.
        assert!(bursts(&subject(8), 100 * H, false).is_empty());
        // Two hours are too few to judge anything.
        assert!(bursts(&subject(2), 100 * H, false).is_empty());
    }

    #[test]
    fn a_quiet_key_reading_thousands_in_an_hour_is_high() {
        let mut hs: Vec<Hour> = (0..20)
            .map(|i| {
                hour(
                    "iam_user:u",
                    i * 5,
                    3 + (i % 3) as u64,
                    (i % 2) as u64,
                    "198.51.0.0/16",
                )
            })
            .collect();
        hs.push(hour("iam_user:u", 101, 4210, 4100, "203.0.0.0/16"));
        let b = bursts(&hs, 100 * H, false);
        assert_eq!(b.len(), 1);
        let b = &b[0];
        assert_eq!(
            (b.measure, b.count, b.history_hours),
            (Measure::Reads, 4100, 20)
        );
        assert!(b.score >= 70.0 && b.score < 100.0, "{}", b.score);
        assert_eq!(b.new_networks, vec!["203.0.0.0/16".to_string()]);
        let e = explain(
            b,
            "1970-01-05T05:00Z",
            &[("GetObject".into(), 3800), ("Decrypt".into(), 300)],
        );
        assert!(
            e.contains("made 4100 data reads (GetObject 3800, Decrypt 300) of 4210 calls"),
            "{e}"
        );
        assert!(e.contains("20 earlier active hours"), "{e}");
    }

    #[test]
    fn a_sweep_of_new_apis_is_a_change_of_mix() {
        let usual = |i: i64| {
            let mut h = hour("iam_user:u", i, 20, 0, "n");
            h.apis = vec!["s3:ListBuckets".into(), "s3:GetObject".into()];
            if i % 4 == 0 {
                h.apis.push(format!("s3:Api{i}"));
            }
            h
        };
        let mut hs: Vec<Hour> = (0..30).map(usual).collect();
        // 40 describe and list calls, one each, at its usual rate: not a burst of calls.
        let mut sweep = hour("iam_user:u", 100, 40, 0, "n");
        sweep.apis = (0..40).map(|i| format!("ec2:Describe{i:02}")).collect();
        hs.push(sweep);
        // Another identity meets 3 new APIs in an hour: its habit.
        for i in 0..30 {
            let mut h = hour("iam_user:v", i, 20, 0, "n");
            h.apis = (0..3).map(|k| format!("x:A{i}-{k}")).collect();
            hs.push(h);
        }
        let mut more = hour("iam_user:v", 100, 20, 0, "n");
        more.apis = (0..6).map(|k| format!("x:B{k}")).collect();
        hs.push(more);
        let b = bursts(&hs, 100 * H, false);
        assert_eq!(b.len(), 1, "{b:#?}");
        let b = &b[0];
        assert_eq!((b.measure, b.count), (Measure::NewApis, 40));
        assert!(b.score >= 70.0, "{}", b.score);
        let e = explain(b, "1970-01-05T04:00Z", &[]);
        assert!(
            e.contains("called 40 APIs it never called before (ec2:Describe00, ec2:Describe01"),
            "{e}"
        );
        assert!(
            e.contains("..., in 40 calls") || e.contains(", ...) in 40 calls"),
            "{e}"
        );
    }

    #[test]
    fn usual_hours_thin_history_and_pipelines_stay_quiet() {
        // A busy subject at its usual rate.
        let mut hs: Vec<Hour> = (0..30)
            .map(|i| hour("saml:a", i, 200 + (i % 7) as u64 * 30, 100, "n"))
            .collect();
        hs.push(hour("saml:a", 100, 380, 150, "n"));
        // Two hours of history are not enough.
        hs.push(hour("iam_user:new", 1, 2, 0, "n"));
        hs.push(hour("iam_user:new", 2, 2, 0, "n"));
        hs.push(hour("iam_user:new", 100, 5000, 5000, "n"));
        // Small numbers stay small.
        for i in 0..10 {
            hs.push(hour("iam_user:small", i, 1, 0, "n"));
        }
        hs.push(hour("iam_user:small", 100, 40, 30, "n"));
        // Pipelines are judged only when asked.
        let mut p: Vec<Hour> = (0..10).map(|i| hour("pipe", i, 5, 0, "n")).collect();
        p.push(hour("pipe", 100, 900, 0, "n"));
        for h in &mut p {
            h.pipeline_id = Some("pipe".into());
        }
        hs.extend(p.clone());
        assert!(bursts(&hs, 100 * H, false).is_empty());
        let b = bursts(&hs, 100 * H, true);
        assert_eq!(b.len(), 1);
        assert_eq!(
            (b[0].hour.subject.as_str(), b[0].measure),
            ("pipe", Measure::Calls)
        );
        // Confidence follows the history.
        assert!(confidence(3) < confidence(12) && confidence(12) < confidence(24));
        assert_eq!(confidence(100), 1.0);
    }
}
