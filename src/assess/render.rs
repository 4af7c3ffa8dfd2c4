//! The assessment for people (terminal table, Markdown, a self-contained HTML matrix of pipelines
//! × controls for a review) and machines (JSON `pipewarden.assessment/v1`; OCSF Compliance
//! Findings, class 2003, one per pipeline and control). Every string that came from a log is made
//! inert for where it is shown ([`crate::report::escape`], [`crate::sanitize`]).

use std::fmt::Write;

use serde_json::{Value, json};

use super::{Assessment, Control, Row, Status};
use crate::report::escape::{html as h, markdown as md};
use crate::report::formats::OcsfVersion;
use crate::sanitize::{cut, for_terminal};

/// Where the assessment goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for the terminal.
    Table,
    /// `pipewarden.assessment/v1`.
    Json,
    /// A Markdown document.
    Markdown,
    /// A self-contained HTML matrix.
    Html,
    /// OCSF Compliance Findings (NDJSON; `--ocsf-version`, 1.7.0 by default).
    Ocsf,
}

impl Format {
    /// From a name (`table`, `json`, `markdown`, `html`, `ocsf`).
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "table" | "terminal" => Some(Format::Table),
            "json" => Some(Format::Json),
            "markdown" | "md" => Some(Format::Markdown),
            "html" => Some(Format::Html),
            "ocsf" => Some(Format::Ocsf),
            _ => None,
        }
    }
}

/// The assessment in `format` (OCSF events declare `ocsf_version`).
pub fn render(a: &Assessment, format: Format, ocsf_version: OcsfVersion) -> Vec<u8> {
    match format {
        Format::Table => table(a).into_bytes(),
        Format::Json => json(a),
        Format::Markdown => markdown(a).into_bytes(),
        Format::Html => html(a).into_bytes(),
        Format::Ocsf => ocsf(a, ocsf_version),
    }
}

/// JSON: `{"schema": "pipewarden.assessment/v1", ..., "pipelines": [...]}`.
pub fn json(a: &Assessment) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(a).expect("serialisable");
    v.push(b'\n');
    v
}

fn mark(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Unknown => "unknown",
    }
}

fn period(a: &Assessment) -> String {
    let mut s = format!(
        "period {} .. {}",
        a.period_start.sql_date(),
        a.period_end.rfc3339()
    );
    match a.findings_window {
        Some((from, to)) => {
            let _ = write!(s, "; saved findings of the window {from} .. {to}");
        }
        None => s.push_str("; no saved findings"),
    }
    s
}

/// The terminal table: per pipeline, one line per control.
pub fn table(a: &Assessment) -> String {
    let mut s = format!(
        "SEC11-BP07 assessment, {} ({} pipeline(s))\n",
        period(a),
        a.pipelines.len()
    );
    for p in &a.pipelines {
        let fails = p
            .controls
            .iter()
            .filter(|r| r.status == Status::Fail)
            .count();
        let _ = writeln!(
            s,
            "\n{}  ({fails} failing)",
            for_terminal(cut(&p.pipeline_id, 200))
        );
        for r in &p.controls {
            let _ = writeln!(
                s,
                "  {:<8} {:<28} {}",
                mark(r.status),
                r.control.id(),
                for_terminal(cut(&r.detail, 400))
            );
        }
    }
    s
}

fn evidence_md(r: &Row) -> String {
    let e = &r.evidence;
    let mut parts = vec![];
    if !e.findings.is_empty() {
        parts.push(format!("findings {}", md(&e.findings.join(", "))));
    }
    if !e.runs.is_empty() {
        parts.push(format!("runs {}", md(&e.runs.join(", "))));
    }
    if !e.events.is_empty() {
        parts.push(format!("events {}", md(&e.events.join(", "))));
    }
    parts.join("; ")
}

/// Markdown: a summary matrix, then each pipeline's rows with detail and evidence.
pub fn markdown(a: &Assessment) -> String {
    let mut s = format!("# SEC11-BP07 assessment\n\n{}\n\n", md(&period(a)));
    s.push_str("| pipeline |");
    for c in Control::ALL {
        let _ = write!(s, " {} |", md(c.id()));
    }
    s.push_str("\n|---|");
    for _ in Control::ALL {
        s.push_str("---|");
    }
    s.push('\n');
    for p in &a.pipelines {
        let _ = write!(s, "| {} |", md(&p.pipeline_id));
        for r in &p.controls {
            let _ = write!(s, " {} |", mark(r.status));
        }
        s.push('\n');
    }
    for p in &a.pipelines {
        let _ = write!(
            s,
            "\n## {}\n\n| control | status | detail | evidence |\n|---|---|---|---|\n",
            md(&p.pipeline_id)
        );
        for r in &p.controls {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                md(r.control.id()),
                mark(r.status),
                md(&r.detail),
                evidence_md(r)
            );
        }
    }
    s
}

/// HTML: one self-contained page (no script, a Content-Security-Policy that forbids anything
/// fetched) with the pipelines × controls matrix and each pipeline's rows.
pub fn html(a: &Assessment) -> String {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    s.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>pipewarden assessment</title>\n<style>\n");
    s.push_str("body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;color:#212529;padding:0 1em}\n\
table{border-collapse:collapse;width:100%;margin:1em 0}td,th{border-bottom:1px solid #dee2e6;padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}\n\
th.c{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;font-weight:600}\n\
.pass{background:#d3f9d8;color:#2b8a3e}.fail{background:#ffe3e3;color:#c92a2a;font-weight:700}.unknown{background:#f1f3f5;color:#495057}\n\
td.s{text-align:center;white-space:nowrap}code{font-size:12px}\n</style></head><body>\n");
    let _ = writeln!(
        s,
        "<h1>SEC11-BP07 assessment</h1>\n<p>{}</p>",
        h(&period(a))
    );
    s.push_str("<table class=\"matrix\"><thead><tr><th>pipeline</th>");
    for c in Control::ALL {
        let _ = write!(
            s,
            "<th class=\"c\" title=\"{}\">{}</th>",
            h(c.title()),
            h(c.id())
        );
    }
    s.push_str("</tr></thead><tbody>\n");
    for (i, p) in a.pipelines.iter().enumerate() {
        let _ = write!(
            s,
            "<tr><th><a href=\"#p{i}\">{}</a></th>",
            h(&p.pipeline_id)
        );
        for r in &p.controls {
            let _ = write!(
                s,
                "<td class=\"s {}\" title=\"{}\">{}</td>",
                r.status.as_str(),
                h(&r.detail),
                mark(r.status)
            );
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table>\n");
    for (i, p) in a.pipelines.iter().enumerate() {
        let _ = writeln!(
            s,
            "<h2 id=\"p{i}\">{}</h2>\n<table><thead><tr><th>control</th><th>status</th><th>detail</th><th>evidence</th></tr></thead><tbody>",
            h(&p.pipeline_id)
        );
        for r in &p.controls {
            let e = &r.evidence;
            let mut ev = String::new();
            for (label, ids) in [
                ("findings", &e.findings),
                ("runs", &e.runs),
                ("events", &e.events),
            ] {
                if !ids.is_empty() {
                    let _ = write!(ev, "{label}: <code>{}</code><br>", h(&ids.join(", ")));
                }
            }
            let _ = writeln!(
                s,
                "<tr><td>{}<br><small>{}</small></td><td class=\"s {}\">{}</td><td>{}</td><td>{ev}</td></tr>",
                h(r.control.id()),
                h(r.control.title()),
                r.status.as_str(),
                mark(r.status),
                h(&r.detail)
            );
        }
        s.push_str("</tbody></table>\n");
    }
    s.push_str("</body></html>\n");
    s
}

/// OCSF Compliance Findings (class 2003), one per pipeline and control, NDJSON, valid for
/// `version` (validated in the tests with pydantic-ocsf's model of it).
pub fn ocsf(a: &Assessment, version: OcsfVersion) -> Vec<u8> {
    let mut out = vec![];
    for p in &a.pipelines {
        for r in &p.controls {
            let v = ocsf_finding(a, &p.pipeline_id, r, version);
            serde_json::to_writer(&mut out, &v).expect("serialisable");
            out.push(b'\n');
        }
    }
    out
}

fn ocsf_finding(a: &Assessment, pipeline: &str, r: &Row, version: OcsfVersion) -> Value {
    // Compliance status: 1 Pass, 3 Fail, 0 Unknown.
    let (cs_id, cs) = match r.status {
        Status::Pass => (1, "Pass"),
        Status::Fail => (3, "Fail"),
        // The compliance status enum has no Unknown (0): Other, named.
        Status::Unknown => (99, "Unknown"),
    };
    let (sev_id, sev) = match r.status {
        Status::Fail => (4, "High"),
        _ => (1, "Informational"),
    };
    let uid = format!(
        "pw-assess-{:016x}",
        crate::findings::fnv1a([pipeline, r.control.id()])
    );
    let time = a.assessed_at.millis();
    json!({
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2003,
        "class_name": "Compliance Finding",
        "type_uid": 200301,
        "type_name": "Compliance Finding: Create",
        "time": time,
        "severity_id": sev_id,
        "severity": sev,
        "status_id": 1,
        "status": "New",
        "message": format!("{}: {}: {}", r.control.id(), r.status.as_str(), r.detail),
        "metadata": {
            "version": version.as_str(),
            "product": {"name": "pipewarden", "vendor_name": "pipewarden", "version": env!("CARGO_PKG_VERSION")},
            "uid": uid,
            "correlation_uid": pipeline,
        },
        "finding_info": {
            "uid": uid,
            "title": format!("{} ({})", r.control.title(), pipeline),
            "desc": r.detail,
            "types": ["SEC11-BP07", r.control.id()],
            "created_time": time,
            "first_seen_time": a.period_start.millis(),
            "last_seen_time": a.period_end.millis(),
            "related_events": r.evidence.events.iter().map(|e| json!({"uid": e})).collect::<Vec<_>>(),
        },
        "compliance": {
            "standards": ["AWS Well-Architected Framework, Security Pillar"],
            "requirements": ["SEC11-BP07"],
            "control": r.control.id(),
            "status_id": cs_id,
            "status": cs,
            "status_detail": r.detail,
        },
        "unmapped": {
            "pipeline_id": pipeline,
            "finding_ids": r.evidence.findings,
            "run_ids": r.evidence.runs,
        },
    })
}
