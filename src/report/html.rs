//! The HTML report: one self-contained file (inline CSS and SVG, no script, nothing fetched; a
//! Content-Security-Policy forbids anything else). It leads with the incidents, then ranks the
//! findings, then gives one section per subject (a pipeline or another identity), with plots
//! where a picture says more than a table: a pipeline's activity over time with the findings
//! marked, its hour-of-week heat map with the anomalous hours outlined, and history-versus-now
//! bars for rare values.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::activity::Activity;
use super::escape::html as h;
use crate::findings::{Finding, Report, Severity};

fn colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#b00020",
        Severity::High => "#d9480f",
        Severity::Medium => "#b8860b",
        Severity::Low => "#1971c2",
        Severity::Info => "#868e96",
    }
}

/// Activity over time: one bar per day, history grey, window blue, findings as red marks.
fn timeline(a: &Activity, findings: &[&Finding], window_start_day: i64) -> String {
    let (w, hgt, pad) = (720.0, 140.0, 24.0);
    let Some(first) = a.days.first().map(|d| d.0) else {
        return String::new();
    };
    let last = a.days.last().map(|d| d.0).unwrap_or(first);
    let n = (last - first + 1).max(1) as f64;
    let max = a.days.iter().map(|d| d.1).max().unwrap_or(1).max(1) as f64;
    let bw = (w - 2.0 * pad) / n;
    let mut s = format!(
        "<svg class=\"plot\" viewBox=\"0 0 {w} {hgt}\" role=\"img\" aria-label=\"calls per day\"><title>calls per day</title>"
    );
    for (day, count) in &a.days {
        let x = pad + (day - first) as f64 * bw;
        let bh = (*count as f64 / max) * (hgt - 2.0 * pad);
        let fill = if *day >= window_start_day {
            "#1c7ed6"
        } else {
            "#adb5bd"
        };
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{fill}\"><title>{}: {count} calls</title></rect>",
            hgt - pad - bh,
            (bw - 1.0).max(0.5),
            day_label(*day)
        );
    }
    for f in findings {
        if let Some(d) = f.first_seen.day() {
            let x = pad + (d - first) as f64 * bw + bw / 2.0;
            let _ = write!(
                s,
                "<path d=\"M{x:.1} {:.1} l-5 -9 h10 z\" fill=\"{}\"><title>#{} {}</title></path>",
                pad - 2.0,
                colour(f.severity),
                f.rank,
                h(&f.detector)
            );
        }
    }
    let _ = write!(
        s,
        "<text x=\"{pad}\" y=\"{}\" class=\"axis\">{}</text><text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"end\">{}</text><text x=\"{pad}\" y=\"12\" class=\"axis\">max {max:.0} calls/day</text></svg>",
        hgt - 6.0,
        day_label(first),
        w - pad,
        hgt - 6.0,
        day_label(last)
    );
    s
}

fn day_label(day: i64) -> String {
    chrono::DateTime::from_timestamp(day * 86_400, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The history's hour-of-week heat map; hours a finding called unusual are outlined.
fn heatmap(a: &Activity, findings: &[&Finding]) -> String {
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let max = a.hours.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let (cw, ch, left, top) = (26.0, 16.0, 36.0, 18.0);
    let mut marked = [[false; 24]; 7];
    for f in findings.iter().filter(|f| f.detector == "hour") {
        for (kind, hour) in crate::detect::baseline::parse_ranges(&f.value) {
            for (d, row) in marked.iter_mut().enumerate() {
                let weekend = d == 0 || d == 6;
                if weekend == (kind == 1) {
                    row[hour] = true;
                }
            }
        }
    }
    let mut s = format!(
        "<svg class=\"plot\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"hour of week\"><title>history by hour of week (UTC)</title>",
        left + 24.0 * cw + 4.0,
        top + 7.0 * ch + 4.0
    );
    for hour in (0..24).step_by(3) {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"12\" class=\"axis\">{hour:02}</text>",
            left + hour as f64 * cw + 4.0
        );
    }
    for (d, name) in days.iter().enumerate() {
        let y = top + d as f64 * ch;
        let _ = write!(
            s,
            "<text x=\"2\" y=\"{:.1}\" class=\"axis\">{name}</text>",
            y + 12.0
        );
        for (hour, &v) in a.hours[d].iter().enumerate() {
            let alpha = if v == 0 {
                0.04
            } else {
                0.15 + 0.85 * v as f64 / max
            };
            let stroke = if marked[d][hour] {
                " stroke=\"#b00020\" stroke-width=\"2\""
            } else {
                ""
            };
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#1c7ed6\" fill-opacity=\"{alpha:.2}\"{stroke}><title>{name} {hour:02}h: {v} runs</title></rect>",
                left + hour as f64 * cw,
                cw - 2.0,
                ch - 2.0
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// History-versus-now bars for the rare values of baseline findings.
fn rare_bars(findings: &[&Finding]) -> String {
    let rows: Vec<&&Finding> = findings
        .iter()
        .filter(|f| f.baseline.as_ref().is_some_and(|b| b.distinct_values > 0))
        .take(8)
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let (w, rh) = (720.0, 34.0);
    let mut s = format!(
        "<svg class=\"plot\" viewBox=\"0 0 {w} {}\" role=\"img\" aria-label=\"history versus now\"><title>share of history versus now</title>",
        rows.len() as f64 * rh + 8.0
    );
    for (i, f) in rows.iter().enumerate() {
        let b = f.baseline.as_ref().expect("filtered");
        let share = if b.units == 0 {
            0.0
        } else {
            b.value_units as f64 / b.units as f64
        };
        let y = i as f64 * rh + 4.0;
        let label: String = format!("{} {}", f.detector, f.value)
            .chars()
            .take(48)
            .collect();
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{:.1}\" class=\"axis\">{}</text>\
             <rect x=\"300\" y=\"{:.1}\" width=\"{:.1}\" height=\"10\" fill=\"#adb5bd\"><title>history: {} of {} units</title></rect>\
             <rect x=\"300\" y=\"{:.1}\" width=\"400\" height=\"10\" fill=\"{}\"><title>now: {} calls</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\">history {:.1}%</text>",
            y + 14.0,
            h(&label),
            y,
            (share * 400.0).max(1.0),
            b.value_units,
            b.units,
            y + 12.0,
            colour(f.severity),
            f.count,
            300.0 + (share * 400.0).max(1.0) + 4.0,
            y + 9.0,
            share * 100.0
        );
    }
    s.push_str("</svg>");
    s
}

/// Renders the report.
pub fn render(r: &Report, activity: &[Activity]) -> Vec<u8> {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    s.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>pipewarden findings</title>\n<style>\n");
    s.push_str("body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1000px;color:#212529;padding:0 1em}\n\
table{border-collapse:collapse;width:100%;margin:1em 0;table-layout:fixed}.inc th{width:auto!important}td,th{border-bottom:1px solid #dee2e6;padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}\n\
th:nth-child(1){width:3%}th:nth-child(2){width:5%}th:nth-child(3){width:9%}th:nth-child(4){width:15%}th:nth-child(5){width:18%}th:nth-child(6){width:16%}th:nth-child(7){width:34%}\n\
th{background:#f1f3f5}.sev{color:#fff;border-radius:3px;padding:1px 6px;font-size:12px}.plot{width:100%;height:auto;margin:.5em 0}\n\
.axis{font-size:10px;fill:#495057}.explain{margin:.2em 0 .8em}.meta{color:#495057;font-size:12px}code{font-size:12px;overflow-wrap:anywhere}\n\
section{border-top:2px solid #e9ecef;margin-top:2em}.sup{color:#868e96}\n</style></head><body>\n");
    let _ = writeln!(
        s,
        "<h1>pipewarden findings</h1><p>Window <b>{}</b> to <b>{}</b>, judged against history from {}. {} finding(s).</p>",
        h(&r.window_start.to_string()),
        h(&r.window_end.to_string()),
        h(&r.baseline_start.to_string()),
        r.findings.len()
    );
    if !r.incidents.is_empty() {
        let _ = writeln!(
            s,
            "<h2>Incidents</h2><p>{} group(s) of findings that tell one story, by combined score.</p>",
            r.incidents.len()
        );
        s.push_str("<table class=\"inc\"><thead><tr><th>score</th><th>severity</th><th>findings</th><th>detectors</th><th>pipelines</th><th>when</th><th>tied by</th></tr></thead><tbody>\n");
        for i in &r.incidents {
            let ranks = r.incident_ranks(i);
            let _ = writeln!(
                s,
                "<tr id=\"{}\"><td>{}</td><td><span class=\"sev\" style=\"background:{}\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{} to {}</td><td>{}</td></tr>",
                h(&i.id),
                i.score,
                colour(i.severity),
                i.severity.as_str(),
                h(&ranks.join(" ")),
                h(&i.detectors.join(", ")),
                h(&if i.pipelines.is_empty() {
                    "-".to_string()
                } else {
                    i.pipelines.join(", ")
                }),
                h(&i.first_seen.to_string()),
                h(&i.last_seen.to_string()),
                h(&i.why)
            );
        }
        s.push_str("</tbody></table>\n<h2>Findings, ranked</h2>\n");
    }
    s.push_str("<table><thead><tr><th>#</th><th>score</th><th>severity</th><th>detector</th><th>pipeline</th><th>value</th><th>explanation</th></tr></thead><tbody>\n");
    for f in &r.findings {
        let _ = writeln!(
            s,
            "<tr{}><td>{}</td><td>{}</td><td><span class=\"sev\" style=\"background:{}\">{}</span>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            if f.suppressed.is_some() {
                " class=\"sup\""
            } else {
                ""
            },
            f.rank,
            f.score,
            colour(f.severity),
            f.severity.as_str(),
            if f.suppressed.is_some() {
                " suppressed"
            } else {
                ""
            },
            h(&f.detector),
            h(f.pipeline_id.as_deref().unwrap_or("-")),
            h(&f.value),
            h(&f.explanation)
        );
    }
    s.push_str("</tbody></table>\n");
    let window_start_day = r.window_start.day().unwrap_or(0);
    let activity_of: BTreeMap<&str, &Activity> = activity
        .iter()
        .map(|a| (a.pipeline_id.as_str(), a))
        .collect();
    // One section per subject, in the order of its best-ranked finding; then the pipelines
    // with activity but no finding.
    let mut sections = crate::findings::by_subject(&r.findings);
    for a in activity {
        if !sections.iter().any(|(k, _)| *k == a.pipeline_id) {
            sections.push((a.pipeline_id.as_str(), vec![]));
        }
    }
    for (subject, fs) in &sections {
        let _ = writeln!(s, "<section><h2>{}</h2>", h(subject));
        if let Some(a) = activity_of.get(subject) {
            s.push_str("<h3>Calls per day (history grey, window blue; marks are findings)</h3>\n");
            s.push_str(&timeline(a, fs, window_start_day));
            s.push_str(
                "\n<h3>History by hour of week, UTC (outlined: hours a finding calls unusual)</h3>\n",
            );
            s.push_str(&heatmap(a, fs));
        }
        let bars = rare_bars(fs);
        if !bars.is_empty() {
            s.push_str("\n<h3>Rare values: share of the history versus use now</h3>\n");
            s.push_str(&bars);
        }
        for f in fs {
            let _ = write!(
                s,
                "\n<p class=\"explain\"><b>#{} {}</b> {}<br><span class=\"meta\">{} event(s), {} to {}; {} {}{}{}{}</span></p>",
                f.rank,
                h(&f.detector),
                h(&f.explanation),
                f.count,
                h(&f.first_seen.to_string()),
                h(&f.last_seen.to_string()),
                h(&f.mitre.id),
                h(&f.mitre.name),
                if f.run_ids.is_empty() {
                    String::new()
                } else {
                    format!("; runs {}", h(&f.run_ids.join(", ")))
                },
                match &f.incident_id {
                    Some(i) => format!("; incident <a href=\"#{0}\">{0}</a>", h(i)),
                    None => String::new(),
                },
                match &f.suppressed {
                    Some(x) => format!("; suppressed until {}: {}", h(&x.expires), h(&x.reason)),
                    None => String::new(),
                }
            );
        }
        s.push_str("</section>\n");
    }
    if !r.insufficient_history.is_empty() {
        s.push_str("<section><h2>Not scored (too little history)</h2><ul>");
        for t in &r.insufficient_history {
            let _ = write!(
                s,
                "<li>{} ({}: {} units)</li>",
                h(&t.pipeline_id),
                h(&t.detector),
                t.units
            );
        }
        s.push_str("</ul></section>\n");
    }
    s.push_str("</body></html>\n");
    s.into_bytes()
}
