//! The terminal table of a detect report. Every log-derived string goes through
//! [`crate::sanitize::for_terminal`]; colour only when `colour` (stdout is a terminal).

use crate::findings::{Finding, Report, Severity};
use crate::sanitize::for_terminal;

fn paint(s: &str, sev: Severity, colour: bool) -> String {
    if !colour {
        return s.to_string();
    }
    let code = match sev {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Info => "2",
    };
    format!("\u{1b}[{code}m{s}\u{1b}[0m")
}

/// Renders the incidents, then the findings grouped by subject (subjects in the order of their
/// best-ranked finding, findings by rank within), then the pipelines without enough history.
pub fn render(r: &Report, colour: bool) -> String {
    let mut out = format!(
        "pipewarden detect: window {} .. {}, history from {}: {} finding(s)\n",
        r.window_start,
        r.window_end,
        r.baseline_start,
        r.findings.len()
    );
    if !r.incidents.is_empty() {
        out.push_str(&format!(
            "\n{} incident(s): findings that tell one story, by combined score\n",
            r.incidents.len()
        ));
        for i in &r.incidents {
            let ranks = r.incident_ranks(i);
            let sev = format!("{:<8}", i.severity.as_str());
            out.push_str(&format!(
                "  {:>3} {} {} finding(s) {}: {}\n",
                i.score,
                paint(&sev, i.severity, colour),
                i.finding_ids.len(),
                ranks.join(" "),
                for_terminal(&i.detectors.join(", "))
            ));
            out.push_str(&format!(
                "      {} .. {}; {}; tied by {}\n",
                i.first_seen,
                i.last_seen,
                if i.pipelines.is_empty() {
                    "(no pipeline)".to_string()
                } else {
                    for_terminal(&i.pipelines.join(", "))
                },
                for_terminal(&i.why)
            ));
        }
    }
    let groups = crate::findings::by_subject(&r.findings);
    for (subject, fs) in &groups {
        if groups.len() > 1 {
            out.push_str(&format!(
                "\n== {}: {} finding(s)\n",
                for_terminal(subject),
                fs.len()
            ));
        }
        for f in fs {
            finding(&mut out, f, colour);
        }
    }
    if !r.insufficient_history.is_empty() {
        out.push_str("\nnot scored (too little history):");
        for t in &r.insufficient_history {
            out.push_str(&format!(
                " {} [{}: {} units];",
                for_terminal(&t.pipeline_id),
                t.detector,
                t.units
            ));
        }
        out.push('\n');
    }
    out
}

/// One finding: rank, score, severity, detector and pipeline; its explanation; its numbers.
fn finding(out: &mut String, f: &Finding, colour: bool) {
    let sev = format!("{:<8}", f.severity.as_str());
    out.push_str(&format!(
        "\n#{:<3} {:>3} {} {}  {}\n",
        f.rank,
        f.score,
        paint(&sev, f.severity, colour),
        for_terminal(&f.detector),
        for_terminal(f.pipeline_id.as_deref().unwrap_or("(no pipeline)")),
    ));
    out.push_str(&format!("     {}\n", for_terminal(&f.explanation)));
    let mut meta = format!(
        "     {} event(s) {} .. {}; {} {}",
        f.count, f.first_seen, f.last_seen, f.mitre.id, f.mitre.name
    );
    if !f.run_ids.is_empty() {
        meta.push_str(&format!("; runs {}", for_terminal(&f.run_ids.join(", "))));
    }
    if !f.environments.is_empty() {
        meta.push_str(&format!(
            "; env {}",
            for_terminal(&f.environments.join(", "))
        ));
    }
    out.push_str(&meta);
    out.push('\n');
    if let Some(s) = &f.suppressed {
        out.push_str(&format!(
            "     suppressed until {}: {}\n",
            s.expires,
            for_terminal(&s.reason)
        ));
    }
}
