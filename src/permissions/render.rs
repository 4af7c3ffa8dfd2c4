//! The permissions review for the review meeting (a terminal table, Markdown, a
//! self-contained HTML page with one section per pipeline, granted against used and a bar of
//! the fraction used) and for machines (`pipewarden.permissions/v1` JSON). Every string from
//! a log is made inert for where it is shown.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Entry, Review};
use crate::report::escape::{html as h, markdown as md};
use crate::sanitize::for_terminal as t;

/// An output format of `permissions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for the terminal.
    Table,
    /// `pipewarden.permissions/v1`.
    Json,
    /// Markdown, one section per pipeline.
    Markdown,
    /// Self-contained HTML, one section per pipeline.
    Html,
}

impl Format {
    /// From a name (`table`, `json`, `markdown`, `html`).
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "table" | "terminal" => Some(Format::Table),
            "json" => Some(Format::Json),
            "markdown" | "md" => Some(Format::Markdown),
            "html" => Some(Format::Html),
            _ => None,
        }
    }
}

/// The review in `format`.
pub fn render(r: &Review, format: Format) -> Vec<u8> {
    match format {
        Format::Table => table(r).into_bytes(),
        Format::Json => {
            let mut v = serde_json::to_vec_pretty(r).unwrap_or_default();
            v.push(b'\n');
            v
        }
        Format::Markdown => markdown(r).into_bytes(),
        Format::Html => html(r).into_bytes(),
    }
}

fn pct(e: &Entry) -> String {
    match e.fraction_used {
        Some(f) => format!("{:.1}%", f * 100.0),
        None => "unknown".into(),
    }
}

fn period(r: &Review) -> String {
    format!(
        "{} to {} ({} days of history in the lake; data: {})",
        r.since.sql_date(),
        r.until.sql_date(),
        r.history_days,
        r.data_version
    )
}

/// Entries grouped by pipeline (an entry used by two pipelines shows under both).
fn by_pipeline(r: &Review) -> BTreeMap<&str, Vec<&Entry>> {
    let mut out: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for e in &r.entries {
        for p in &e.pipelines {
            out.entry(p.as_str()).or_default().push(e);
        }
    }
    out
}

/// A table for the terminal: one line per principal.
pub fn table(r: &Review) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "permissions review, {}", t(&period(r)));
    let _ = writeln!(
        s,
        "{:<58} {:>8} {:>6} {:>8}  {:<10} broad",
        "principal (pipelines)", "granted", "used", "used %", "source"
    );
    for e in &r.entries {
        let reasons: Vec<&str> = e.broad.iter().map(|b| b.reason).collect();
        let mut reasons = reasons;
        reasons.dedup();
        let _ = writeln!(
            s,
            "{:<58} {:>8} {:>6} {:>8}  {:<10} {}",
            t(&e.role_arn),
            if e.granted.source == "unknown" {
                "?".to_string()
            } else {
                e.granted.action_count.to_string()
            },
            e.used.len(),
            pct(e),
            e.granted.source,
            reasons.join(", ")
        );
        let _ = writeln!(s, "    pipelines: {}", t(&e.pipelines.join(", ")));
        if !e.denied.is_empty() {
            let _ = writeln!(
                s,
                "    denied: {}",
                t(&e.denied
                    .iter()
                    .map(|d| format!("{} ×{}", d.action, d.calls))
                    .collect::<Vec<_>>()
                    .join(", "))
            );
        }
    }
    for w in &r.warnings {
        let _ = writeln!(s, "warning: {}", t(w));
    }
    s
}

fn bar_svg(f: Option<f64>) -> String {
    let w = (f.unwrap_or(0.0).clamp(0.0, 1.0) * 200.0).round();
    format!(
        "<svg class=\"bar\" width=\"204\" height=\"14\" role=\"img\" aria-label=\"{}\">\
         <rect x=\"0\" y=\"0\" width=\"204\" height=\"14\" fill=\"#f1f3f5\"/>\
         <rect x=\"2\" y=\"2\" width=\"{w}\" height=\"10\" fill=\"{}\"/></svg>",
        f.map_or("grant unknown".to_string(), |f| format!(
            "{:.1}% used",
            f * 100.0
        )),
        if f.unwrap_or(1.0) < 0.10 {
            "#e03131"
        } else {
            "#2f9e44"
        }
    )
}

/// A Markdown document: one section per pipeline, granted against used.
pub fn markdown(r: &Review) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Permissions review\n\n{}\n", md(&period(r)));
    for (p, entries) in by_pipeline(r) {
        let _ = writeln!(s, "## {}\n", md(p));
        for e in entries {
            let _ = writeln!(
                s,
                "### {}\n\nGranted: {} action(s) (source: {}{}); used: {}; fraction used: {}; environments: {}\n",
                md(&e.role_arn),
                e.granted.action_count,
                e.granted.source,
                if e.granted.complete { "" } else { ", partial" },
                e.used.len(),
                pct(e),
                md(&e.environments.join(", "))
            );
            for b in &e.broad {
                let _ = writeln!(
                    s,
                    "- **{}**: {}{}",
                    b.reason,
                    md(&b.detail),
                    b.policy
                        .as_ref()
                        .map(|p| format!(" ({})", md(p)))
                        .unwrap_or_default()
                );
            }
            s.push_str(
                "\n| action | granted | calls | last used | resources |\n|---|---|---|---|---|\n",
            );
            for u in &e.used {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    md(&u.action),
                    match u.granted {
                        Some(true) => "yes",
                        Some(false) => "no",
                        None => "?",
                    },
                    u.calls,
                    md(&u.last_used.to_string()),
                    md(&u.resources.join(", "))
                );
            }
            if !e.unused.is_empty() {
                let shown: Vec<String> = e.unused.iter().take(40).map(|a| md(a)).collect();
                let _ = writeln!(
                    s,
                    "\nUnused ({}): {}{}",
                    e.unused_count,
                    shown.join(", "),
                    if e.unused.len() > 40 { ", …" } else { "" }
                );
            }
            let _ = writeln!(
                s,
                "\nSuggested policy:\n\n```json\n{}\n```\n",
                serde_json::to_string_pretty(&e.suggested_policy)
                    .unwrap_or_default()
                    .replace("```", "`\u{200b}``")
            );
        }
    }
    for w in &r.warnings {
        let _ = writeln!(s, "- warning: {}", md(w));
    }
    s
}

/// A self-contained HTML page (no script, a strict Content-Security-Policy).
pub fn html(r: &Review) -> String {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    s.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>pipewarden permissions review</title>\n<style>\n");
    s.push_str("body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;color:#212529;padding:0 1em}\n\
table{border-collapse:collapse;width:100%;margin:.5em 0 1em}td,th{border-bottom:1px solid #dee2e6;padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}\n\
.no{color:#c92a2a;font-weight:700}.yes{color:#2b8a3e}.reason{color:#c92a2a}pre{background:#f8f9fa;padding:.5em;overflow:auto;font-size:12px}\n\
h3{font-size:15px;margin-top:1.5em}.meta{color:#495057}\n</style></head><body>\n");
    let _ = writeln!(
        s,
        "<h1>Permissions review</h1>\n<p class=\"meta\">{}</p>",
        h(&period(r))
    );
    for (p, entries) in by_pipeline(r) {
        let _ = writeln!(s, "<section><h2>{}</h2>", h(p));
        for e in entries {
            let _ = writeln!(
                s,
                "<h3>{}</h3>\n<p class=\"meta\">{} {} granted action(s), source {}{}; {} used; environments {}</p>",
                h(&e.role_arn),
                bar_svg(e.fraction_used),
                e.granted.action_count,
                h(&e.granted.source),
                if e.granted.complete { "" } else { " (partial)" },
                h(&pct(e)),
                h(&e.environments.join(", "))
            );
            if !e.broad.is_empty() {
                s.push_str("<ul>");
                for b in &e.broad {
                    let _ = write!(
                        s,
                        "<li><span class=\"reason\">{}</span>: {}{}</li>",
                        h(b.reason),
                        h(&b.detail),
                        b.policy
                            .as_ref()
                            .map(|p| format!(" ({})", h(p)))
                            .unwrap_or_default()
                    );
                }
                s.push_str("</ul>\n");
            }
            s.push_str("<table><thead><tr><th>action</th><th>granted</th><th>calls</th><th>last used</th><th>resources</th></tr></thead><tbody>\n");
            for u in &e.used {
                let (cls, g) = match u.granted {
                    Some(true) => ("yes", "yes"),
                    Some(false) => ("no", "no"),
                    None => ("", "?"),
                };
                let _ = writeln!(
                    s,
                    "<tr><td><code>{}</code></td><td class=\"{cls}\">{g}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    h(&u.action),
                    u.calls,
                    h(&u.last_used.to_string()),
                    h(&u.resources.join(", "))
                );
            }
            s.push_str("</tbody></table>\n");
            if !e.unused.is_empty() {
                let shown: Vec<String> = e.unused.iter().take(60).map(|a| h(a)).collect();
                let _ = writeln!(
                    s,
                    "<p>Unused ({}): <code>{}</code>{}</p>",
                    e.unused_count,
                    shown.join(", "),
                    if e.unused.len() > 60 { " …" } else { "" }
                );
            }
            let _ = writeln!(
                s,
                "<details><summary>Suggested policy</summary><pre>{}</pre></details>",
                h(&serde_json::to_string_pretty(&e.suggested_policy).unwrap_or_default())
            );
        }
        s.push_str("</section>\n");
    }
    if !r.warnings.is_empty() {
        s.push_str("<h2>Warnings</h2><ul>");
        for w in &r.warnings {
            let _ = write!(s, "<li>{}</li>", h(w));
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</body></html>\n");
    s
}
