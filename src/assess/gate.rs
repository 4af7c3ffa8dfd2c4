//! `pipewarden gate`: the step a pipeline runs before it deploys. It reads what the nightly job
//! saved (the lake's `findings` and `assessment` tables), never a fresh detect, and answers for
//! one pipeline: blocked (an unsuppressed finding at or above `--fail-on` in the window, or a
//! listed control that fails) or clear. Pure: the saved rows in, the [`Verdict`] out.

use super::{Control, Row, SavedFinding, Status};
use crate::findings::{Severity, Time};
use crate::sanitize::{cut, for_terminal};

/// What the gate judges.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The pipeline.
    pub pipeline: String,
    /// The lowest severity that blocks.
    pub fail_on: Severity,
    /// Findings last seen in `[from, to)` count.
    pub from: Time,
    /// End of the window.
    pub to: Time,
    /// Controls that block when they fail.
    pub controls: Vec<Control>,
}

/// The gate's answer.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// Findings that block.
    pub findings: Vec<SavedFinding>,
    /// Listed controls that fail.
    pub failed: Vec<Row>,
    /// Listed controls the assessment could not decide (reported, not blocking).
    pub unknown: Vec<Row>,
    /// Listed controls the saved assessment does not hold for this pipeline.
    pub missing: Vec<Control>,
    /// Findings of the pipeline in the window below `--fail-on` or suppressed (reported).
    pub below: usize,
}

impl Verdict {
    /// Whether the deploy must stop.
    pub fn blocked(&self) -> bool {
        !self.findings.is_empty() || !self.failed.is_empty()
    }
}

/// Judges `rules` against the saved findings and the pipeline's saved assessment rows.
pub fn judge(rules: &Rules, findings: &[SavedFinding], rows: &[Row]) -> Verdict {
    let mut v = Verdict::default();
    for f in findings {
        if f.pipeline_id.as_deref() != Some(rules.pipeline.as_str()) {
            continue;
        }
        if f.last_seen.is_some_and(|t| t < rules.from || t >= rules.to) {
            continue;
        }
        if !f.suppressed && f.severity.is_some_and(|s| s >= rules.fail_on) {
            v.findings.push(f.clone());
        } else {
            v.below += 1;
        }
    }
    v.findings
        .sort_by(|a, b| b.score.cmp(&a.score).then(a.id.cmp(&b.id)));
    for c in &rules.controls {
        match rows.iter().find(|r| r.control == *c) {
            Some(r) if r.status == Status::Fail => v.failed.push(r.clone()),
            Some(r) if r.status == Status::Unknown => v.unknown.push(r.clone()),
            Some(_) => {}
            None => v.missing.push(*c),
        }
    }
    v
}

/// The short block a CI log shows: the verdict first, then why.
pub fn text(rules: &Rules, v: &Verdict, assessed_at: Option<Time>) -> String {
    use std::fmt::Write;
    let p = for_terminal(cut(&rules.pipeline, 200));
    let mut s = if v.blocked() {
        format!(
            "pipewarden gate: BLOCKED {p}: {} finding(s) at or above {}, {} failing control(s)\n",
            v.findings.len(),
            rules.fail_on.as_str(),
            v.failed.len()
        )
    } else {
        format!(
            "pipewarden gate: clear {p}: no unsuppressed finding at or above {} and no listed control failing\n",
            rules.fail_on.as_str()
        )
    };
    let _ = writeln!(
        s,
        "  window {} .. {}; {} other finding(s) below the bar or suppressed",
        rules.from, rules.to, v.below
    );
    for f in v.findings.iter().take(10) {
        let _ = writeln!(
            s,
            "  - {} {} (score {}) {}: {}",
            f.severity.map(|x| x.as_str()).unwrap_or("?"),
            for_terminal(cut(&f.detector, 80)),
            f.score,
            for_terminal(cut(&f.id, 40)),
            for_terminal(cut(&f.explanation, 300))
        );
    }
    if v.findings.len() > 10 {
        let _ = writeln!(s, "  - ... and {} more", v.findings.len() - 10);
    }
    for r in &v.failed {
        let _ = writeln!(
            s,
            "  - control {} FAIL: {}",
            r.control.id(),
            for_terminal(cut(&r.detail, 300))
        );
    }
    for r in &v.unknown {
        let _ = writeln!(
            s,
            "  - control {} unknown (not blocking): {}",
            r.control.id(),
            for_terminal(cut(&r.detail, 300))
        );
    }
    if let Some(t) = assessed_at
        && !rules.controls.is_empty()
    {
        let _ = writeln!(s, "  controls from the assessment of {t}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::Evidence;

    fn rules(controls: Vec<Control>) -> Rules {
        Rules {
            pipeline: "p".into(),
            fail_on: Severity::High,
            from: Time::from_micros(10_000_000),
            to: Time::from_micros(20_000_000),
            controls,
        }
    }

    fn f(id: &str, sev: Severity, at: i64, suppressed: bool) -> SavedFinding {
        SavedFinding {
            id: id.into(),
            detector: "d".into(),
            pipeline_id: Some("p".into()),
            severity: Some(sev),
            score: 80,
            suppressed,
            last_seen: Some(Time::from_micros(at)),
            ..Default::default()
        }
    }

    #[test]
    fn a_high_finding_in_the_window_blocks_and_others_do_not() {
        let fs = [
            f("in", Severity::High, 15_000_000, false),
            f("early", Severity::Critical, 5_000_000, false),
            f("low", Severity::Medium, 15_000_000, false),
            f("muted", Severity::Critical, 15_000_000, true),
            SavedFinding {
                pipeline_id: Some("other".into()),
                ..f("other", Severity::Critical, 15_000_000, false)
            },
        ];
        let v = judge(&rules(vec![]), &fs, &[]);
        assert!(v.blocked());
        assert_eq!(v.findings.len(), 1);
        assert_eq!(v.findings[0].id, "in");
        assert_eq!(v.below, 2);
        let v = judge(&rules(vec![]), &fs[1..], &[]);
        assert!(!v.blocked());
        assert!(text(&rules(vec![]), &v, None).starts_with("pipewarden gate: clear p"));
    }

    #[test]
    fn a_failing_listed_control_blocks_an_unknown_one_does_not() {
        let row = |c, status| Row {
            control: c,
            status,
            detail: "why".into(),
            evidence: Evidence::default(),
        };
        let rows = [
            row(Control::LongTermCredentials, Status::Fail),
            row(Control::TrailIntegrity, Status::Unknown),
        ];
        let r = rules(vec![Control::TrailIntegrity, Control::StateEmitted]);
        let v = judge(&r, &[], &rows);
        assert!(!v.blocked());
        assert_eq!(v.unknown.len(), 1);
        assert_eq!(v.missing, [Control::StateEmitted]);
        let r = rules(vec![Control::LongTermCredentials]);
        let v = judge(&r, &[], &rows);
        assert!(v.blocked());
        assert!(text(&r, &v, None).contains("control long_term_credentials FAIL: why"));
    }
}
