//! The detector `checks_bypassed`: a run that deployed while one of its pipeline's required
//! checks was skipped, failed, cancelled or missing (SEC11-BP07: "security tests that can be
//! bypassed by builders").
//!
//! A pipeline's required checks are the jobs, stages, actions or phases that were present and
//! successful in at least [`REQUIRED_SHARE`] of its deploying runs in the history (at least
//! [`MIN_DEPLOYS`] of them), or the ones `required_checks` in `pipewarden.toml` declares, which
//! win. Names are normalised ([`normalise`]) so that matrix variants (`test (3.11)`, `test
//! (3.12)`) are one check, concluding with the worst of them. A check's conclusion is the latest
//! attempt's, so a re-run that passes before the deploy is not a bypass. Deploy jobs themselves
//! (a name with `deploy`, or a job with an environment) are never required.
//!
//! The rows come from `queries/detect/checks.sql`; the judgement here is pure.

use std::collections::{BTreeMap, BTreeSet};

/// Share of deploying runs a check must have passed in to be required.
pub const REQUIRED_SHARE: f64 = 0.95;
/// Deploying runs of history needed before checks are learned.
pub const MIN_DEPLOYS: usize = 5;

/// A check's name as one key: lower case, parenthesised matrix values dropped, spaces collapsed.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.extend(c.to_lowercase()),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// How a check ended in one run, from the best to the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Passed.
    Success,
    /// Still running, or no conclusion recorded.
    Unknown,
    /// Skipped.
    Skipped,
    /// Cancelled.
    Cancelled,
    /// Failed (or timed out).
    Failed,
}

impl Outcome {
    /// From a normalised conclusion.
    pub fn of(conclusion: Option<&str>) -> Outcome {
        match conclusion {
            Some("success") => Outcome::Success,
            Some("skipped") | Some("neutral") => Outcome::Skipped,
            Some("cancelled") | Some("superseded") => Outcome::Cancelled,
            Some("failure") | Some("timed_out") | Some("unstable") => Outcome::Failed,
            _ => Outcome::Unknown,
        }
    }

    /// The word a report uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "passed",
            Outcome::Unknown => "had no conclusion",
            Outcome::Skipped => "was skipped",
            Outcome::Cancelled => "was cancelled",
            Outcome::Failed => "failed",
        }
    }
}

/// One run, with its checks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Run {
    /// Pipeline.
    pub pipeline_id: String,
    /// Run id.
    pub run_id: String,
    /// Start (µs).
    pub started: i64,
    /// In the judged window (else history).
    pub in_window: bool,
    /// Deployed: a deployment record, or writes in an environment.
    pub deployed: bool,
    /// Where it deployed.
    pub env: Option<String>,
    /// CloudTrail writes in an environment.
    pub writes: i64,
    /// Who triggered it.
    pub actor: Option<String>,
    /// Its branch.
    pub branch: Option<String>,
    /// Normalised check name → (outcome, one event id of it).
    pub checks: BTreeMap<String, (Outcome, Option<String>)>,
}

impl Run {
    /// Adds one check row (merging matrix variants to the worst outcome).
    pub fn add(
        &mut self,
        name: &str,
        conclusion: Option<&str>,
        event_id: Option<String>,
        deploys: bool,
    ) {
        let key = normalise(name);
        if key.is_empty() || deploys || key.contains("deploy") {
            return;
        }
        let o = Outcome::of(conclusion);
        let e = self.checks.entry(key).or_insert((o, event_id.clone()));
        if o > e.0 {
            *e = (o, event_id);
        }
    }
}

/// A required check, and how often the history's deploying runs passed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Required {
    /// Normalised name.
    pub name: String,
    /// Deploying runs of history that passed it.
    pub passed: usize,
    /// Deploying runs of history.
    pub deploys: usize,
    /// Declared in `pipewarden.toml`.
    pub declared: bool,
}

/// The required checks of one pipeline from its history's deploying runs, or `declared`.
pub fn required(history: &[&Run], declared: Option<&[String]>) -> Vec<Required> {
    let deploys: Vec<&&Run> = history.iter().filter(|r| r.deployed).collect();
    let passed = |name: &str| {
        deploys
            .iter()
            .filter(|r| r.checks.get(name).is_some_and(|c| c.0 == Outcome::Success))
            .count()
    };
    if let Some(d) = declared {
        let names: BTreeSet<String> = d.iter().map(|n| normalise(n)).collect();
        return names
            .into_iter()
            .map(|name| Required {
                passed: passed(&name),
                deploys: deploys.len(),
                declared: true,
                name,
            })
            .collect();
    }
    if deploys.len() < MIN_DEPLOYS {
        return vec![];
    }
    let names: BTreeSet<&String> = deploys.iter().flat_map(|r| r.checks.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let p = passed(name);
            (p as f64 >= REQUIRED_SHARE * deploys.len() as f64).then(|| Required {
                name: name.clone(),
                passed: p,
                deploys: deploys.len(),
                declared: false,
            })
        })
        .collect()
}

/// One required check a deploying run did not pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Bypass {
    /// The check.
    pub check: Required,
    /// How it ended; `None` when the run has no record of it.
    pub outcome: Option<Outcome>,
}

/// The required checks `run` deployed without. A run with no check records at all is not judged:
/// its jobs were not delivered, which says nothing about what ran.
pub fn bypasses(run: &Run, required: &[Required]) -> Vec<Bypass> {
    if !run.deployed || run.checks.is_empty() {
        return vec![];
    }
    required
        .iter()
        .filter_map(|r| match run.checks.get(&r.name) {
            Some((Outcome::Success, _)) => None,
            Some((o, _)) => Some(Bypass {
                check: r.clone(),
                outcome: Some(*o),
            }),
            None => Some(Bypass {
                check: r.clone(),
                outcome: None,
            }),
        })
        .collect()
}

/// The explanation of a run's bypasses, with the numbers.
pub fn explain(run: &Run, b: &[Bypass]) -> String {
    let parts: Vec<String> = b
        .iter()
        .map(|x| {
            let how = x.outcome.map_or("was missing", Outcome::as_str);
            let why = if x.check.declared {
                format!(
                    "declared required in pipewarden.toml; passed before {} of {} deploying runs",
                    x.check.passed, x.check.deploys
                )
            } else {
                format!(
                    "it passed in {} of the pipeline's {} deploying runs before",
                    x.check.passed, x.check.deploys
                )
            };
            format!("required check `{}` {how} ({why})", x.check.name)
        })
        .collect();
    format!(
        "{}: run {} deployed{}{} while {}",
        run.pipeline_id,
        run.run_id,
        run.env
            .as_deref()
            .map(|e| format!(" to {e}"))
            .unwrap_or_default(),
        if run.writes > 0 {
            format!(" ({} CloudTrail write(s))", run.writes)
        } else {
            String::new()
        },
        parts.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, deployed: bool, checks: &[(&str, &str)]) -> Run {
        let mut r = Run {
            pipeline_id: "p".into(),
            run_id: id.into(),
            deployed,
            env: deployed.then(|| "prod".into()),
            ..Default::default()
        };
        for (n, c) in checks {
            r.add(n, Some(c), Some(format!("{id}-{n}")), false);
        }
        r
    }

    #[test]
    fn names_merge_matrix_variants() {
        assert_eq!(normalise("Test (3.12, ubuntu-latest)"), "test");
        assert_eq!(normalise("build / test [linux]"), "build / test");
        assert_eq!(normalise("  Security  Scan "), "security scan");
        assert_eq!(normalise("((("), "");
        let r = run(
            "1",
            true,
            &[("test (3.11)", "success"), ("test (3.12)", "failure")],
        );
        assert_eq!(r.checks["test"].0, Outcome::Failed);
        // Deploy jobs are never checks.
        let r = run("1", true, &[("Deploy to prod", "skipped")]);
        assert!(r.checks.is_empty());
    }

    #[test]
    fn learned_checks_and_their_bypasses() {
        let mut history: Vec<Run> = (0..20)
            .map(|i| {
                run(
                    &i.to_string(),
                    true,
                    &[
                        ("test (3.11)", "success"),
                        ("test (3.12)", "success"),
                        ("scan", "success"),
                        ("lint", "success"),
                    ],
                )
            })
            .collect();
        // Lint failed once before a deploy: 19 of 20 is still required; a flaky check at 18 is not.
        history[0]
            .checks
            .insert("lint".into(), (Outcome::Failed, None));
        history[1]
            .checks
            .insert("docs".into(), (Outcome::Success, None));
        for r in history.iter_mut().take(2) {
            r.checks.insert("flaky".into(), (Outcome::Failed, None));
        }
        for r in history.iter_mut().skip(2) {
            r.checks.insert("flaky".into(), (Outcome::Success, None));
        }
        // Runs that did not deploy do not count.
        history.push(run("x", false, &[("test", "failure")]));
        let h: Vec<&Run> = history.iter().collect();
        let req = required(&h, None);
        let names: Vec<&str> = req.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["lint", "scan", "test"]);
        assert_eq!((req[0].passed, req[0].deploys), (19, 20));

        let bad = run(
            "w1",
            true,
            &[
                ("test (3.11)", "success"),
                ("test (3.12)", "success"),
                ("scan", "skipped"),
                ("lint", "success"),
            ],
        );
        let b = bypasses(&bad, &req);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].outcome, Some(Outcome::Skipped));
        let e = explain(&bad, &b);
        assert_eq!(
            e,
            "p: run w1 deployed to prod while required check `scan` was skipped (it passed in 20 of the pipeline's 20 deploying runs before)"
        );
        let missing = run("w2", true, &[("test", "success"), ("lint", "success")]);
        assert_eq!(bypasses(&missing, &req)[0].outcome, None);
        assert!(explain(&missing, &bypasses(&missing, &req)).contains("`scan` was missing"));

        // Quiet: a failed test and no deploy; all passed; no check records at all.
        assert!(bypasses(&run("q1", false, &[("test", "failure")]), &req).is_empty());
        assert!(
            bypasses(
                &run(
                    "q2",
                    true,
                    &[
                        ("test", "success"),
                        ("scan", "success"),
                        ("lint", "success")
                    ]
                ),
                &req
            )
            .is_empty()
        );
        assert!(bypasses(&run("q3", true, &[]), &req).is_empty());
        // Too little history: nothing learned.
        assert!(required(&h[..4], None).is_empty());
    }

    #[test]
    fn declared_checks_win() {
        let history: Vec<Run> = (0..3)
            .map(|i| run(&i.to_string(), true, &[("unit", "success")]))
            .collect();
        let h: Vec<&Run> = history.iter().collect();
        let req = required(&h, Some(&["Security-Scan".to_string()]));
        assert_eq!(req.len(), 1);
        assert_eq!(
            (req[0].name.as_str(), req[0].passed, req[0].declared),
            ("security-scan", 0, true)
        );
        let b = bypasses(&run("w", true, &[("unit", "success")]), &req);
        assert!(
            explain(&run("w", true, &[("unit", "success")]), &b)
                .contains("declared required in pipewarden.toml")
        );
    }
}
