//! Log fields are attacker-controlled: this is where they are made safe to show.

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
    if !s
        .chars()
        .any(|c| (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c))
    {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_bidi_control(c: char) -> bool {
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
}
