//! Every string in a report may come from a log, and logs are attacker-controlled: these make
//! text inert where it is shown. HTML gets entity escaping (and control characters dropped),
//! CSV gets spreadsheet-formula neutralising, Markdown gets both HTML escaping and its own
//! punctuation escaped. The terminal's is [`crate::sanitize::for_terminal`].

/// Text safe inside HTML element content and quoted attribute values.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '`' => out.push_str("&#96;"),
            c if c.is_control() && c != '\n' && c != '\t' => {
                out.push_str(&format!("&#x{:x};", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// A CSV field: quoted when needed, and a leading `=`, `+`, `-`, `@`, tab or carriage return
/// (which spreadsheets run as a formula) neutralised with a leading `'`.
pub fn csv(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Text safe in a Markdown table cell: HTML-escaped (Markdown renders inline HTML), its own
/// punctuation escaped, line breaks folded.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in html(s).chars() {
        match c {
            '\\' | '|' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_inert() {
        assert_eq!(
            html("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(html("a\"b'c"), "a&quot;b&#39;c");
        assert_eq!(html("x\u{1b}[31m"), "x&#x1b;[31m");
        assert_eq!(csv("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(csv("+1"), "'+1");
        assert_eq!(csv("-2+3"), "'-2+3");
        assert_eq!(csv("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv("a,b"), "\"a,b\"");
        assert_eq!(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv("plain"), "plain");
        assert_eq!(
            markdown("a|b [x](javascript:y)"),
            "a\\|b \\[x\\]\\(javascript:y\\)"
        );
        assert_eq!(
            markdown("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert\\(1\\)&gt;"
        );
    }
}
