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
            // An entity would be decoded back into the character: a bidi override would still
            // reorder the text around it. Shown as its escape, as text.
            c if crate::sanitize::shown_escaped(c) => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

/// A CSV field: terminal controls, NUL and bidi marks shown as `\u{..}`
/// ([`crate::sanitize::inert_text`]), quoted when needed, and a leading `=`, `+`, `-`, `@`, tab
/// or carriage return (which spreadsheets run as a formula) neutralised with a leading `'`.
pub fn csv(s: &str) -> String {
    let s = crate::sanitize::inert_text(s);
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    };
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Text safe in a Markdown table cell: the characters that open HTML as entities (Markdown
/// renders inline HTML), its own punctuation backslash-escaped (each character once: an
/// apostrophe stays an apostrophe), line breaks folded, controls and bidi marks shown as
/// `\u{..}`.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '|' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '~' | '`' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c if crate::sanitize::shown_escaped(c) => out.push_str(&c.escape_unicode().to_string()),
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
        assert_eq!(html("x\u{1b}[31m"), "x\\u{1b}[31m");
        // Regression (hardening, also weak): bidi marks passed raw into CSV, Markdown and HTML,
        // terminal controls and NUL into detect's CSV, and Markdown escaped `'` and a backtick
        // twice (`&\#39;`).
        for hostile in [
            "ab\u{202e}cd",
            "x\u{1b}]8;;http://e\u{7}y",
            "n\u{0}ul",
            "\u{2066}i",
        ] {
            for (name, shown) in [
                ("html", html(hostile)),
                ("csv", csv(hostile)),
                ("markdown", markdown(hostile)),
            ] {
                assert!(
                    !shown
                        .chars()
                        .any(|c| c.is_control() || crate::sanitize::is_bidi_control(c)),
                    "{name}: {shown:?}"
                );
                assert!(shown.contains("\\u{"), "{name}: {shown:?}");
            }
        }
        assert_eq!(markdown("it's `x`"), "it's \\`x\\`");
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
