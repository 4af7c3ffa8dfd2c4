//! Baseline detectors: each pipeline against its own history.
//!
//! Features come from SQL (`queries/detect/*.sql`); scoring is here, with statrs:
//!
//! - **Categorical** (principal, region, credential, environment, api, network, builds): the
//!   smoothed frequency of the value in the pipeline's history, `p = (b + ½) / (B + ½(K + 1))`
//!   over units (runs, or sessions), with `b` the value's units, `B` all units, `K` the distinct
//!   values (additive smoothing with a Jeffreys prior, and one slot for "never seen"). The score is
//!   the surprisal `-log10 p`, scaled, plus a little for repeated use in the window, times a
//!   confidence factor `sqrt(min(1, B / 30))`. One use in a history of three scores far lower than
//!   one in a history of a thousand; under 8 units a pipeline is reported as not scored.
//! - **Hour**: the same, over 48 bins (hour of day on weekdays and on weekends), after spreading
//!   each bin over the two hours either side (0.1, 0.2, 0.4, 0.2, 0.1) and blending in the other
//!   day type (30%), so a run at 19:10 next to a usual 18:00 is not news, and a 03:00 deploy is.
//!   A bin's probability is at least the share of the history that fell in bins rare for the
//!   pipeline (Good–Turing's reasoning for hours): a pipeline that often strays into odd hours
//!   is not surprised by one more.
//! - **Volume and errors**: calls and AccessDenied per run (per hour without runs) follow a
//!   negative binomial fitted to the history by moments (Poisson when not overdispersed); the
//!   score is the upper tail `-log10 P(X ≥ x)`. `errors` judges a pipeline run's busiest five
//!   minutes of AccessDenied the same way, against its earlier runs' busiest five minutes, and
//!   reports the more surprising of the count and the rate.

use std::collections::{BTreeMap, HashMap};

use statrs::distribution::{DiscreteCDF, NegativeBinomial, Poisson};

/// One feature row (a value of a subject in a period).
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// The subject: a pipeline, or an identity's `origin_type:origin` when `principal`.
    pub pipeline_id: String,
    /// The subject is an identity no pipeline claims, not a pipeline.
    pub principal: bool,
    /// Value of the dimension.
    pub value: String,
    /// In the scoring window (else the baseline).
    pub window: bool,
    /// Units (runs or sessions).
    pub units: u64,
    /// Events.
    pub events: u64,
    /// Write calls among them.
    pub writes: u64,
    /// First and last event (µs).
    pub first: i64,
    /// Last event (µs).
    pub last: i64,
    /// Evidence event ids (window only).
    pub event_ids: Vec<String>,
    /// Runs (window only).
    pub run_ids: Vec<String>,
    /// Environments touched (window only).
    pub environments: Vec<String>,
}

/// A scored departure, before it becomes a finding.
#[derive(Debug, Clone)]
pub struct Scored {
    /// Pipeline.
    pub pipeline_id: String,
    /// The value.
    pub value: String,
    /// Score 0-100 (before the detector's weight).
    pub score: f64,
    /// Sentence with the baseline numbers.
    pub explanation: String,
    /// Window row (evidence).
    pub row: Row,
    /// Baseline units of the pipeline.
    pub baseline_units: u64,
    /// Baseline units with this value.
    pub value_units: u64,
    /// Distinct values in the baseline.
    pub distinct: u64,
}

/// A pipeline without enough history for a detector.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Thin {
    /// Pipeline.
    pub pipeline_id: String,
    /// Detector.
    pub detector: String,
    /// Units in its history.
    pub units: u64,
}

/// Units of history below which a pipeline is not scored.
pub const MIN_UNITS: u64 = 8;

/// Units of history from which a baseline counts fully; below it, scores shrink by
/// `sqrt(units / FULL_UNITS)` (a thin history is weak evidence of what is normal).
pub const FULL_UNITS: f64 = 30.0;

/// The confidence factor of a history of `units`.
pub fn confidence(units: f64) -> f64 {
    (units / FULL_UNITS).clamp(0.0, 1.0).sqrt()
}

const ALPHA: f64 = 0.5;

/// The smoothed probability of a value seen in `b` of `total` units among `distinct` values.
pub fn smoothed(b: u64, total: u64, distinct: u64) -> f64 {
    (b as f64 + ALPHA) / (total as f64 + ALPHA * (distinct as f64 + 1.0))
}

/// The probability that a unit shows one given value never seen, when `once` of the history's
/// `total` units showed a value seen only once (Good–Turing's missing mass, `once / total`),
/// smoothed like [`smoothed`]: with no value seen once it is the old "one half-slot for never
/// seen".
pub fn unseen(once: u64, total: u64, distinct: u64) -> f64 {
    (once as f64 + ALPHA) / (total as f64 + ALPHA * (distinct as f64 + 1.0))
}

/// Surprisal score of a value with smoothed probability `p` used in `w` window units.
pub fn surprisal_score(p: f64, w: u64) -> f64 {
    let s = -p.max(1e-12).log10() * 35.0 + 10.0 * (w.max(1) as f64).log10();
    s.clamp(0.0, 100.0)
}

fn pct(x: f64) -> String {
    if x >= 0.995 {
        "100%".into()
    } else if x >= 0.1 {
        format!("{:.0}%", x * 100.0)
    } else {
        format!("{:.1}%", x * 100.0)
    }
}

/// Scores a categorical dimension. `label` names the dimension in explanations ("region"),
/// `unit` the units ("runs"), `days` the baseline length.
pub fn categorical(
    rows: &[Row],
    detector: &str,
    label: &str,
    days: i64,
    thin: &mut Vec<Thin>,
) -> Vec<Scored> {
    let mut base: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    let mut win: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    // Values met once: in one unit, within one day (a unit that lasts the whole history, such
    // as a runner's key, is not a one-off).
    let mut once: BTreeMap<&str, u64> = BTreeMap::new();
    for r in rows {
        if r.window {
            win.entry(&r.pipeline_id).or_default().push(r);
        } else {
            if r.units == 1 && r.last - r.first < 86_400_000_000 {
                *once.entry(&r.pipeline_id).or_default() += 1;
            }
            *base
                .entry(&r.pipeline_id)
                .or_default()
                .entry(&r.value)
                .or_default() += r.units;
        }
    }
    let mut out = vec![];
    for (pipeline, wrows) in win {
        let empty = BTreeMap::new();
        let hist = base.get(pipeline).unwrap_or(&empty);
        let total: u64 = hist.values().sum();
        if total < MIN_UNITS {
            // "Not scored" names pipelines: identities with little history are many on a trail.
            if !wrows[0].principal {
                thin.push(Thin {
                    pipeline_id: pipeline.to_string(),
                    detector: detector.to_string(),
                    units: total,
                });
            }
            continue;
        }
        let distinct = hist.len() as u64;
        // Good–Turing: how often this pipeline meets a new value is estimated by the values it
        // met once (their units over the history's); a pipeline that adds a new API every few
        // days is not surprised by one more.
        let once = once.get(pipeline).copied().unwrap_or(0);
        let (top, top_n) = hist
            .iter()
            .max_by_key(|(v, n)| (**n, std::cmp::Reverse(**v)))
            .map(|(v, n)| (*v, *n))
            .unwrap_or(("", 0));
        for r in wrows {
            let b = hist.get(r.value.as_str()).copied().unwrap_or(0);
            let p = if b == 0 {
                unseen(once, total, distinct)
            } else {
                smoothed(b, total, distinct)
            };
            if b as f64 / total as f64 >= 0.05 {
                continue;
            }
            let score = surprisal_score(p, r.units) * confidence(total as f64);
            let seen = if b == 0 {
                format!(
                    "first use of {label} {} in {days} days (new values met in {once} of {total} units, p {p:.3})",
                    r.value
                )
            } else {
                format!(
                    "rare {label} {}: {b} of {total} units in {days} days",
                    r.value
                )
            };
            let explanation = format!(
                "{seen} ({total} runs or sessions of history, {distinct} {label} value(s), {} {}); now {} run(s) or session(s), {} call(s)",
                top,
                pct(top_n as f64 / total as f64),
                r.units,
                r.events
            );
            out.push(Scored {
                pipeline_id: pipeline.to_string(),
                value: r.value.clone(),
                score,
                explanation,
                row: (*r).clone(),
                baseline_units: total,
                value_units: b,
                distinct,
            });
        }
    }
    out
}

/// `(weekend, hour)` of an hour bin value (`weekday 03h`).
fn parse_bin(v: &str) -> Option<(usize, usize)> {
    let (kind, h) = v.split_once(' ')?;
    let h: usize = h.trim_end_matches('h').parse().ok()?;
    (h < 24).then_some((usize::from(kind == "weekend"), h))
}

/// Hour bins, `(weekend, hour)`, as people read them: `weekday 03h, weekend 12h-22h` (runs of
/// consecutive hours joined).
pub fn bin_ranges(bins: &[(usize, usize)]) -> String {
    let mut b = bins.to_vec();
    b.sort();
    b.dedup();
    let mut parts: Vec<String> = vec![];
    let mut i = 0;
    while i < b.len() {
        let mut j = i;
        while j + 1 < b.len() && b[j + 1].0 == b[i].0 && b[j + 1].1 == b[j].1 + 1 {
            j += 1;
        }
        let kind = if b[i].0 == 1 { "weekend" } else { "weekday" };
        parts.push(if i == j {
            format!("{kind} {:02}h", b[i].1)
        } else {
            format!("{kind} {:02}h-{:02}h", b[i].1, b[j].1)
        });
        i = j + 1;
    }
    parts.join(", ")
}

/// The hour bins of [`bin_ranges`]' text (an `hour` finding's value).
pub fn parse_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut out = vec![];
    for part in text.split(", ") {
        let Some((kind, hours)) = part.split_once(' ') else {
            continue;
        };
        let (a, b) = hours.split_once('-').unwrap_or((hours, hours));
        if let (Some((k, a)), Some((_, b))) = (
            parse_bin(&format!("{kind} {a}")),
            parse_bin(&format!("{kind} {b}")),
        ) {
            out.extend((a..=b).map(|h| (k, h)));
        }
    }
    out
}

/// Runs per day of history the hour model takes as evidence of a pipeline's hours, at most.
pub const HOUR_UNITS_PER_DAY: f64 = 4.0;

/// Scores the hour-of-week dimension: of the calls (`hour`, `verb` "active") or of the runs'
/// starts (`builds:hour`, "started").
pub fn hours(
    rows: &[Row],
    detector: &str,
    verb: &str,
    days: i64,
    thin: &mut Vec<Thin>,
) -> Vec<Scored> {
    let mut base: BTreeMap<&str, [[f64; 24]; 2]> = BTreeMap::new();
    let mut win: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        if r.window {
            win.entry(&r.pipeline_id).or_default().push(r);
        } else if let Some((k, h)) = parse_bin(&r.value) {
            base.entry(&r.pipeline_id).or_insert([[0.0; 24]; 2])[k][h] += r.units as f64;
        }
    }
    let mut out = vec![];
    for (pipeline, wrows) in win {
        let hist = base.get(pipeline).copied().unwrap_or([[0.0; 24]; 2]);
        let total: f64 = hist.iter().flatten().sum();
        if total < MIN_UNITS as f64 {
            if !wrows[0].principal {
                thin.push(Thin {
                    pipeline_id: pipeline.to_string(),
                    detector: detector.into(),
                    units: total as u64,
                });
            }
            continue;
        }
        // Spread each bin over its neighbours, then blend in the other day type.
        let mut smooth = [[0.0f64; 24]; 2];
        for (k, row) in hist.iter().enumerate() {
            for h in 0..24 {
                smooth[k][h] = 0.4 * row[h]
                    + 0.2 * (row[(h + 23) % 24] + row[(h + 1) % 24])
                    + 0.1 * (row[(h + 22) % 24] + row[(h + 2) % 24]);
            }
        }
        let mut blended = [[0.0f64; 24]; 2];
        for k in 0..2 {
            for h in 0..24 {
                blended[k][h] = 0.7 * smooth[k][h] + 0.3 * smooth[1 - k][h];
            }
        }
        let usual: Vec<String> = (0..24)
            .filter(|&h| hist[0][h] > 0.0)
            .map(|h| format!("{h:02}"))
            .collect();
        // A pipeline that runs 17 times a day does not know its hours 17 times better: the
        // history counts at most HOUR_UNITS_PER_DAY runs a day as evidence of its hours.
        let cap = (HOUR_UNITS_PER_DAY * days.max(1) as f64).min(total);
        // Good–Turing for hours: how often the history itself landed in hours that are rare for
        // this pipeline (under 1% each, the bar below). A pipeline whose runs often stray into
        // odd hours is not surprised by one more; one that never strays keeps the bin's own
        // probability.
        let rare_units: f64 = (0..2)
            .flat_map(|k| (0..24).map(move |h| (k, h)))
            .filter(|&(k, h)| blended[k][h] / total < 0.01)
            .map(|(k, h)| hist[k][h])
            .sum();
        let stray = (rare_units * cap / total + ALPHA) / (cap + ALPHA * 48.0);
        // The window's unusual hours of this pipeline: (weekend, hour, score, history, row).
        let mut odd: Vec<(usize, usize, f64, f64, &Row)> = vec![];
        for r in wrows {
            let Some((k, h)) = parse_bin(&r.value) else {
                continue;
            };
            let b = blended[k][h];
            if b / total >= 0.01 {
                continue;
            }
            let p = ((b * cap / total + ALPHA) / (cap + ALPHA * 48.0)).max(stray);
            let score = surprisal_score(p, r.units) * confidence(total);
            odd.push((k, h, score, hist[k][h], r));
        }
        // One finding per pipeline, however many of its hours were unusual: a run that lasts
        // twelve hours is one departure, not twelve. Its score is the worst hour's; its evidence
        // that hour's calls and every unusual hour's runs.
        let Some(worst) = odd
            .iter()
            .max_by(|a, b| a.2.total_cmp(&b.2).then(b.0.cmp(&a.0)).then(b.1.cmp(&a.1)))
        else {
            continue;
        };
        let mut row = worst.4.clone();
        for (_, _, _, _, r) in &odd {
            row.first = row.first.min(r.first);
            row.last = row.last.max(r.last);
            row.run_ids.extend(r.run_ids.iter().cloned());
            row.environments.extend(r.environments.iter().cloned());
        }
        row.events = odd.iter().map(|o| o.4.events).sum();
        row.writes = odd.iter().map(|o| o.4.writes).sum();
        row.run_ids.sort();
        row.run_ids.dedup();
        row.environments.sort();
        row.environments.dedup();
        let bins: Vec<(usize, usize)> = odd.iter().map(|o| (o.0, o.1)).collect();
        let value = bin_ranges(&bins);
        let most = odd.iter().map(|o| o.3).fold(0.0, f64::max);
        let explanation = format!(
            "{verb} at {value} UTC, where its {} runs of {days} days had {} (usual weekday hours: {}; {:.0} of those runs were in hours that are rare for it)",
            total,
            if odd.len() == 1 {
                format!("{most:.0}")
            } else {
                format!("at most {most:.0} in any of these {} hours", odd.len())
            },
            if usual.is_empty() {
                "none".to_string()
            } else {
                usual.join(", ")
            },
            rare_units
        );
        out.push(Scored {
            pipeline_id: pipeline.to_string(),
            value,
            score: worst.2,
            explanation,
            row,
            baseline_units: total as u64,
            value_units: most as u64,
            distinct: 48,
        });
    }
    out
}

/// `P(X ≥ x)` under a negative binomial (or Poisson) fitted to `counts` by moments.
pub fn count_tail(counts: &[f64], x: f64) -> f64 {
    let n = counts.len() as f64;
    if n == 0.0 {
        return 1.0;
    }
    let mean = counts.iter().sum::<f64>() / n;
    let var = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    // A little mass everywhere: an all-zero history must not make one event impossible.
    let mean = mean.max(0.5);
    let k = x.floor();
    if k <= 0.0 {
        return 1.0;
    }
    let cdf = if var > mean * 1.05 {
        let r = mean * mean / (var - mean);
        let p = r / (r + mean);
        match NegativeBinomial::new(r, p) {
            Ok(d) => d.cdf(k as u64 - 1),
            Err(_) => 0.0,
        }
    } else {
        match Poisson::new(mean) {
            Ok(d) => d.cdf(k as u64 - 1),
            Err(_) => 0.0,
        }
    };
    (1.0 - cdf).max(1e-300)
}

/// One unit's counts.
#[derive(Debug, Clone, Default)]
pub struct UnitCount {
    /// The subject, as [`Row::pipeline_id`].
    pub pipeline_id: String,
    /// The subject is an identity, as [`Row::principal`].
    pub principal: bool,
    /// Run id or hour.
    pub unit: String,
    /// In the window.
    pub window: bool,
    /// Calls.
    pub events: u64,
    /// AccessDenied and similar.
    pub denied: u64,
    /// First and last call (µs).
    pub first: i64,
    /// Last call.
    pub last: i64,
    /// The most AccessDenied within five minutes (a pipeline's units only).
    pub peak: u64,
    /// When those five minutes ended (µs).
    pub peak_end: i64,
    /// The refused calls of those five minutes (window only): the evidence of a rate.
    pub peak_ids: Vec<String>,
    /// Environments.
    pub environments: Vec<String>,
    /// Run id, when the unit is a run.
    pub run_id: Option<String>,
}

/// A count that departs from its history ([`departure`]).
#[derive(Debug, Clone, Copy)]
pub struct Departure {
    /// The history's mean.
    pub mean: f64,
    /// Its standard deviation.
    pub sd: f64,
    /// `P(X ≥ x)` under the history ([`count_tail`]).
    pub tail: f64,
}

/// Count `x` against the counts of its history, when it departs: clearly more than usual (at
/// least `times` the mean) and enough to matter (at least `excess` more).
pub fn departure(hist: &[f64], x: f64, times: f64, excess: f64) -> Option<Departure> {
    let n = hist.len() as f64;
    let mean = hist.iter().sum::<f64>() / n;
    let sd = (hist.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    if x < times * mean || x - mean < excess {
        return None;
    }
    Some(Departure {
        mean,
        sd,
        tail: count_tail(hist, x),
    })
}

/// The five minutes of a rate.
const FIVE_MINUTES_US: i64 = 5 * 60 * 1_000_000;

/// Scores calls per unit (`errors`: AccessDenied per unit) against the subject's history.
/// `errors` also judges a pipeline unit's busiest five minutes of AccessDenied against its
/// earlier units' busiest five minutes (a unit with none counts 0), and reports the more
/// surprising of the two: 60 refusals within minutes inside a run whose hundreds over hours
/// are usual is someone trying what the credentials may do.
pub fn volume(units: &[UnitCount], errors: bool, thin: &mut Vec<Thin>) -> Vec<Scored> {
    let name = if errors { "errors" } else { "volume" };
    let get = |u: &UnitCount| if errors { u.denied } else { u.events } as f64;
    let mut base: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut peaks: HashMap<&str, Vec<f64>> = HashMap::new();
    for u in units.iter().filter(|u| !u.window) {
        base.entry(&u.pipeline_id).or_default().push(get(u));
        if errors {
            peaks.entry(&u.pipeline_id).or_default().push(u.peak as f64);
        }
    }
    let mut out = vec![];
    let mut thin_seen = std::collections::BTreeSet::new();
    // An identity's call rate is burst's to judge (from the first day); its errors are judged here.
    for u in units
        .iter()
        .filter(|u| u.window && (errors || !u.principal))
    {
        let hist = base
            .get(u.pipeline_id.as_str())
            .cloned()
            .unwrap_or_default();
        if hist.len() < 8 {
            if !u.principal && thin_seen.insert(u.pipeline_id.clone()) {
                thin.push(Thin {
                    pipeline_id: u.pipeline_id.clone(),
                    detector: name.into(),
                    units: hist.len() as u64,
                });
            }
            continue;
        }
        // Clearly more than usual (twice the mean) and enough to matter (10 more).
        let by_count = departure(&hist, get(u), 2.0, 10.0);
        let by_rate = match peaks.get(u.pipeline_id.as_str()) {
            Some(p) if !u.principal => departure(p, u.peak as f64, 2.0, 10.0),
            _ => None,
        };
        let rate = match (by_count, by_rate) {
            (Some(c), Some(r)) => r.tail < c.tail,
            (_, r) => r.is_some(),
        };
        let Some(Departure { mean, sd, tail }) = (if rate { by_rate } else { by_count }) else {
            continue;
        };
        let x = if rate { u.peak as f64 } else { get(u) };
        let score = (-tail.log10() * 12.0).clamp(0.0, 100.0);
        let what = if errors {
            "AccessDenied responses"
        } else {
            "calls"
        };
        let unit = match &u.run_id {
            Some(r) => format!("run {r}"),
            None => format!("hour {}", u.unit),
        };
        let p = if tail <= 1e-299 {
            "< 1e-300".to_string()
        } else {
            format!("= {tail:.1e}")
        };
        let earlier = if u.run_id.is_some() {
            "runs"
        } else {
            "active hours"
        };
        let explanation = if rate {
            let end = chrono::DateTime::from_timestamp_micros(u.peak_end)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default();
            let of = if u.run_id.is_some() { "run" } else { "hour" };
            format!(
                "{unit} made {x:.0} {what} within five minutes (up to {end}; {} in the {of}); \
                 its {} earlier {earlier}' busiest five minutes averaged {mean:.1} (sd {sd:.1}), \
                 P(≥ {x:.0}) {p}",
                u.denied,
                hist.len()
            )
        } else {
            format!(
                "{unit} made {x:.0} {what}; its {} earlier {earlier} averaged {mean:.1} (sd {sd:.1}), P(≥ {x:.0}) {p}",
                hist.len()
            )
        };
        let (first, last) = if rate {
            (u.first.max(u.peak_end - FIVE_MINUTES_US), u.peak_end)
        } else {
            (u.first, u.last)
        };
        out.push(Scored {
            pipeline_id: u.pipeline_id.clone(),
            value: unit,
            score,
            explanation,
            row: Row {
                pipeline_id: u.pipeline_id.clone(),
                value: u.unit.clone(),
                window: true,
                units: 1,
                events: x as u64,
                writes: 0,
                first,
                last,
                // A rate's evidence is its five minutes; a count's is found by the detector's
                // evidence query.
                event_ids: if rate { u.peak_ids.clone() } else { vec![] },
                run_ids: u.run_id.iter().cloned().collect(),
                environments: u.environments.clone(),
                principal: u.principal,
            },
            baseline_units: hist.len() as u64,
            value_units: mean.round() as u64,
            distinct: 0,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_histories_are_less_surprising() {
        let thin_history = surprisal_score(smoothed(0, 3, 1), 1);
        let long_history = surprisal_score(smoothed(0, 1000, 1), 1);
        assert!(thin_history < 40.0, "{thin_history}");
        assert!(long_history > 90.0, "{long_history}");
        assert!(surprisal_score(smoothed(0, 60, 1), 1) > 60.0);
    }

    #[test]
    fn count_tails() {
        let hist: Vec<f64> = (0..30).map(|i| 20.0 + (i % 5) as f64).collect();
        assert!(count_tail(&hist, 22.0) > 0.1);
        assert!(count_tail(&hist, 500.0) < 1e-50);
        let over: Vec<f64> = (0..30)
            .map(|i| if i % 3 == 0 { 60.0 } else { 10.0 })
            .collect();
        // Overdispersed history: a big count is less surprising than under a Poisson.
        assert!(count_tail(&over, 100.0) > count_tail(&[26.7; 30], 100.0));
    }

    /// An hour-bin row of pipeline `p`.
    fn row(p: &str, v: &str, units: u64, window: bool) -> Row {
        Row {
            pipeline_id: p.into(),
            value: v.into(),
            window,
            units,
            events: units,
            ..Default::default()
        }
    }

    #[test]
    fn busy_pipelines_do_not_know_their_hours_better_per_run() {
        let mut rows = vec![];
        // 20 days of weekday hours 08h to 17h: one pipeline runs 4 times a day, another with
        // the same habits 40 times a day. Both run once at 21h.
        for h in 8..18 {
            rows.push(row("calm", &format!("weekday {h:02}h"), 8, false));
            rows.push(row("busy", &format!("weekday {h:02}h"), 80, false));
        }
        rows.push(row("calm", "weekday 21h", 1, true));
        rows.push(row("busy", "weekday 21h", 1, true));
        let out = hours(&rows, "hour", "active", 20, &mut vec![]);
        let score = |p: &str| out.iter().find(|s| s.pipeline_id == p).unwrap().score;
        // Ten times the runs is not ten times the evidence about its hours.
        assert!(
            (score("busy") - score("calm")).abs() < 0.5,
            "{} {}",
            score("busy"),
            score("calm")
        );
        assert!(score("calm") >= 60.0, "{}", score("calm"));
    }

    #[test]
    fn pipelines_that_stray_into_odd_hours_are_not_surprised_by_one_more() {
        let mut rows = vec![];
        // 20 days of weekday hours 08h to 17h for both; one of them also ran once at each of
        // twelve night and weekend hours. Both run once at 03h on a weekday.
        for h in 8..18 {
            rows.push(row("strict", &format!("weekday {h:02}h"), 8, false));
            rows.push(row("stray", &format!("weekday {h:02}h"), 8, false));
        }
        for h in [0, 1, 5, 22] {
            rows.push(row("stray", &format!("weekday {h:02}h"), 1, false));
        }
        for h in [0, 2, 3, 4, 6, 19, 21, 23] {
            rows.push(row("stray", &format!("weekend {h:02}h"), 1, false));
        }
        rows.push(row("strict", "weekday 03h", 1, true));
        rows.push(row("stray", "weekday 03h", 1, true));
        let out = hours(&rows, "hour", "active", 20, &mut vec![]);
        let f = |p: &str| out.iter().find(|s| s.pipeline_id == p).unwrap();
        assert!(f("strict").score >= 60.0, "{}", f("strict").score);
        assert!(
            f("stray").score < f("strict").score - 15.0,
            "{} {}",
            f("stray").score,
            f("strict").score
        );
        assert!(
            f("stray")
                .explanation
                .contains("12 of those runs were in hours that are rare for it"),
            "{}",
            f("stray").explanation
        );
    }

    #[test]
    fn a_long_run_is_one_hour_finding() {
        let row = |v: &str, units: u64, window: bool, run: &str| Row {
            pipeline_id: "p".into(),
            value: v.into(),
            window,
            units,
            events: 10,
            run_ids: vec![run.into()],
            ..Default::default()
        };
        let mut rows = vec![];
        for h in 8..12 {
            rows.push(row(&format!("weekday {h:02}h"), 40, false, "old"));
        }
        // One run from 14h to 22h (13h is next to the usual hours), and another at 03h on a
        // weekend.
        for h in 14..23 {
            rows.push(row(&format!("weekday {h:02}h"), 1, true, "long"));
        }
        rows.push(row("weekend 03h", 1, true, "night"));
        let out = hours(&rows, "hour", "active", 20, &mut vec![]);
        assert_eq!(out.len(), 1, "{out:#?}");
        let f = &out[0];
        assert_eq!(f.value, "weekday 14h-22h, weekend 03h");
        assert_eq!(f.row.run_ids, ["long", "night"]);
        assert_eq!(f.row.events, 100);
        assert!(
            f.explanation.contains("at most 0 in any of these 10 hours"),
            "{}",
            f.explanation
        );
        assert_eq!(parse_ranges(&f.value).len(), 10);
        assert_eq!(parse_ranges("weekday 03h"), [(0, 3)]);
        assert!(parse_ranges("x, weekday 3h-zz").is_empty());
    }

    #[test]
    fn hour_bins() {
        assert_eq!(parse_bin("weekday 03h"), Some((0, 3)));
        assert_eq!(parse_bin("weekend 23h"), Some((1, 23)));
        assert_eq!(parse_bin("x"), None);
    }
}
