//! Incidents: findings that tell one story, grouped. Two unsuppressed findings belong together
//! when they share a run, or a session chain ([`Finding::session_chains`]: their events were
//! made with credentials of one role chain, however far apart in time and whatever each finding
//! is about), or are about the same subject ([`Finding::subject`]: its pipeline, else the
//! identity that acted, else the value) and started within an hour of each other; an incident is
//! a connected group of two or more. Its combined score is a noisy-OR in which the strongest finding counts fully
//! and each other one at half weight: `100 × (1 − (1 − s₁)·Π(1 − sᵢ)^½)`, so five medium
//! findings from one run outrank any one of them, and many weak ones never make a critical one.
//! Pure: it reads ranked findings (their ids set) and leaves them as they are.

use std::collections::BTreeSet;

use crate::findings::{Finding, Incident, Severity, fnv1a};

const HOUR_US: i64 = 3_600_000_000;

fn subject(f: &Finding) -> &str {
    if f.subject.is_empty() {
        f.pipeline_id.as_deref().unwrap_or(&f.value)
    } else {
        &f.subject
    }
}

fn linked(a: &Finding, b: &Finding) -> Option<String> {
    if let Some(r) = a.run_ids.iter().find(|r| b.run_ids.contains(r)) {
        return Some(format!("run {r}"));
    }
    if let Some(c) = a
        .session_chains
        .iter()
        .find(|c| b.session_chains.contains(c))
    {
        return Some(format!("session chain {c}"));
    }
    // Started within the hour of each other: a finding that spans days does not pull in
    // everything its subject did in them.
    let near = (a.first_seen.micros() - b.first_seen.micros()).abs() <= HOUR_US;
    (subject(a) == subject(b) && near).then(|| format!("{} within an hour", subject(a)))
}

/// The combined score of some findings' scores.
pub fn combined(scores: &[u32]) -> u32 {
    let mut s: Vec<f64> = scores
        .iter()
        .map(|x| (*x as f64 / 100.0).clamp(0.0, 0.999))
        .collect();
    s.sort_by(|a, b| b.total_cmp(a));
    let Some((top, rest)) = s.split_first() else {
        return 0;
    };
    let quiet = (1.0 - top) * rest.iter().map(|x| (1.0 - x).sqrt()).product::<f64>();
    ((1.0 - quiet) * 100.0).round().clamp(0.0, 100.0) as u32
}

/// The incidents among ranked findings, highest combined score first.
pub fn group(findings: &[Finding]) -> Vec<Incident> {
    let live: Vec<&Finding> = findings.iter().filter(|f| f.suppressed.is_none()).collect();
    let n = live.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    let mut reasons: Vec<Vec<String>> = vec![vec![]; n];
    for i in 0..n {
        for j in i + 1..n {
            if let Some(why) = linked(live[i], live[j]) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                if a != b {
                    parent[b] = a;
                }
                reasons[i].push(why);
            }
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..n {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut out: Vec<Incident> = groups
        .into_values()
        .filter(|g| g.len() >= 2)
        .map(|g| {
            let fs: Vec<&Finding> = g.iter().map(|&i| live[i]).collect();
            let score = combined(&fs.iter().map(|f| f.score).collect::<Vec<_>>());
            let ids: Vec<String> = fs.iter().map(|f| f.id.clone()).collect();
            let mut detectors: Vec<String> = vec![];
            for f in &fs {
                if !detectors.contains(&f.detector) {
                    detectors.push(f.detector.clone());
                }
            }
            let why: BTreeSet<String> = g.iter().flat_map(|&i| reasons[i].clone()).collect();
            let pipelines: BTreeSet<String> =
                fs.iter().filter_map(|f| f.pipeline_id.clone()).collect();
            Incident {
                id: format!("pwi-{:016x}", fnv1a(ids.iter().map(String::as_str))),
                score,
                severity: Severity::of(score),
                pipelines: pipelines.into_iter().collect(),
                first_seen: fs.iter().map(|f| f.first_seen).min().expect("two or more"),
                last_seen: fs.iter().map(|f| f.last_seen).max().expect("two or more"),
                finding_ids: ids,
                detectors,
                why: why.into_iter().take(5).collect::<Vec<_>>().join("; "),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.first_seen.micros().cmp(&b.first_seen.micros()))
            .then(a.id.cmp(&b.id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Kind, Technique, Time};

    fn f(
        id: &str,
        pipeline: Option<&str>,
        value: &str,
        runs: &[&str],
        t: i64,
        score: u32,
    ) -> Finding {
        Finding {
            id: id.into(),
            rank: 0,
            detector: format!("d-{id}"),
            kind: Kind::Baseline,
            pipeline_id: pipeline.map(str::to_string),
            value: value.into(),
            environments: vec![],
            run_ids: runs.iter().map(|r| r.to_string()).collect(),
            first_seen: Time::from_micros(t),
            last_seen: Time::from_micros(t + 60_000_000),
            count: 1,
            score,
            severity: Severity::of(score),
            mitre: Technique {
                id: "T1078".into(),
                name: "x".into(),
            },
            event_ids: vec![],
            explanation: String::new(),
            baseline: None,
            suppressed: None,
            session_chains: vec![],
            incident_id: None,
            subject: String::new(),
        }
    }

    #[test]
    fn one_run_one_subject_within_the_hour() {
        let h = HOUR_US;
        let fs = vec![
            // New actor, new branch, manual trigger, 19h, prod: all from one run.
            f("a", Some("p"), "actor x", &["r1"], 0, 70),
            f("b", Some("p"), "branch y", &["r1"], 0, 65),
            f("c", Some("p"), "weekday 19h", &["r1"], 0, 60),
            // The same pipeline three hours later: another story.
            f("d", Some("p"), "prod", &["r2"], 3 * h, 70),
            // One identity twice within the hour, no pipeline.
            f("e", None, "iam_user:u", &[], 10 * h, 80),
            f("g", None, "iam_user:u", &[], 10 * h + h / 2, 55),
            // Alone.
            f("k", None, "account 1", &[], 0, 95),
        ];
        let inc = group(&fs);
        assert_eq!(inc.len(), 2, "{inc:#?}");
        let one_run = inc
            .iter()
            .find(|i| i.finding_ids.contains(&"a".to_string()))
            .unwrap();
        assert_eq!(one_run.finding_ids, vec!["a", "b", "c"]);
        assert!(one_run.why.contains("run r1"), "{}", one_run.why);
        assert!(
            one_run.score > 70 && one_run.score <= 100,
            "{}",
            one_run.score
        );
        let user = inc
            .iter()
            .find(|i| i.finding_ids.contains(&"e".to_string()))
            .unwrap();
        assert_eq!(user.finding_ids, vec!["e", "g"]);
        assert!(user.pipelines.is_empty());
        // Highest first.
        assert!(inc[0].score >= inc[1].score);
    }

    #[test]
    fn one_session_chain_whatever_the_subject_and_time() {
        let h = HOUR_US;
        let chained = |id: &str, value: &str, chains: &[&str], t: i64| Finding {
            session_chains: chains.iter().map(|c| c.to_string()).collect(),
            ..f(id, None, value, &[], t, 70)
        };
        let fs = vec![
            // A burst of reads by a user's session, and five hours later an administrator
            // policy attached from a role that session assumed: one chain, two subjects.
            chained("a", "iam_user:u", &["ASIA1"], 0),
            chained("b", "role admin attached", &["ASIA1", "ASIA2"], 5 * h),
            // Another session of the same user, the next day: not tied by the chain.
            chained("c", "role other", &["ASIA3"], 30 * h),
            // No chain (a long-term key's calls).
            chained("d", "role third", &[], 40 * h),
        ];
        let inc = group(&fs);
        assert_eq!(inc.len(), 1, "{inc:#?}");
        assert_eq!(inc[0].finding_ids, vec!["a", "b"]);
        assert_eq!(inc[0].why, "session chain ASIA1");
    }

    #[test]
    fn combined_scores() {
        assert_eq!(combined(&[70]), 70);
        // Five medium findings outrank any one of them, and stay below certainty.
        let five = combined(&[50, 50, 50, 50, 50]);
        assert!(five > 80 && five < 95, "{five}");
        assert!(combined(&[70, 65, 60, 60, 70]) > combined(&[70]));
        assert_eq!(combined(&[]), 0);
    }
}
