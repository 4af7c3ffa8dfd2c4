//! Log fields are attacker-controlled: this is where they are made safe to show.

/// At most `max` bytes of `s`, cut on a character boundary (never inside a character): the one
/// way to shorten log text.
pub fn cut(s: &str, max: usize) -> &str {
    &s[..s.floor_char_boundary(max)]
}

/// Makes text safe to print on a terminal: control characters (escape sequences, carriage
/// returns, bidi overrides) are shown as `\u{..}` escapes instead of being interpreted.
pub fn for_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || is_bidi_control(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Log text for a text file that may be shown in a terminal (CSV): as [`for_terminal`], but
/// line breaks and tabs, which a CSV reader needs and a terminal shows harmlessly, are kept.
pub fn inert_text(s: &str) -> String {
    if !s.chars().any(shown_escaped) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if shown_escaped(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// What text files show as `\u{..}`: control characters but line breaks and tabs, and bidi
/// controls (CSV, HTML and Markdown reports alike).
pub fn shown_escaped(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)
}

/// The Unicode bidirectional controls (embeddings, overrides, isolates, marks), which reorder
/// the text shown around them.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_sequences() {
        assert_eq!(for_terminal("ok"), "ok");
        assert_eq!(
            for_terminal("a\u{1b}[31mred\r\nb"),
            "a\\u{1b}[31mred\\u{d}\\u{a}b"
        );
        assert_eq!(for_terminal("x\u{202e}y"), "x\\u{202e}y");
    }

    #[test]
    fn cuts_never_split_a_character() {
        assert_eq!(cut("abc", 10), "abc");
        assert_eq!(cut("h\u{e9}llo", 2), "h");
        let cjk = format!("feature/x{}", "\u{6f22}".repeat(60));
        for max in 0..cjk.len() + 2 {
            let c = cut(&cjk, max);
            assert!(c.len() <= max && cjk.starts_with(c), "{max}");
        }
    }
}
