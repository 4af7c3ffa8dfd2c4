//! A structural JSON scanner: finds where values begin and end without building them.
//!
//! Log objects are split into records with this scanner before any record is parsed, so one
//! malformed record costs only itself, a truncated object still yields every record that came
//! before the cut, and the expensive full parse runs once per record on a small slice.

use std::fmt;

/// Why the scanner could not find the end of a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanError {
    /// The input ended inside a value (a truncated object).
    Truncated { offset: usize },
    /// A byte that cannot appear here.
    Unexpected { offset: usize, byte: u8 },
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::Truncated { offset } => {
                write!(f, "input ends inside a JSON value (at byte {offset})")
            }
            ScanError::Unexpected { offset, byte } => {
                write!(
                    f,
                    "unexpected byte {} at offset {offset}",
                    describe_byte(*byte)
                )
            }
        }
    }
}

fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("0x{b:02x}")
    }
}

/// Index of the first byte at or after `i` that is not JSON whitespace.
pub fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\n' | b'\r' | b'\t') {
        i += 1;
    }
    i
}

/// Given `b[i]` is the first byte of a value, returns the index just past its end.
pub fn value_end(b: &[u8], i: usize) -> Result<usize, ScanError> {
    match b.get(i) {
        None => Err(ScanError::Truncated { offset: i }),
        Some(b'"') => string_end(b, i),
        Some(b'{') | Some(b'[') => container_end(b, i),
        Some(c) if c.is_ascii_alphanumeric() || *c == b'-' => {
            let mut j = i;
            while j < b.len()
                && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'-' | b'+' | b'.'))
            {
                j += 1;
            }
            Ok(j)
        }
        Some(c) => Err(ScanError::Unexpected {
            offset: i,
            byte: *c,
        }),
    }
}

/// `b[i]` is a quote; returns the index just past the closing quote.
pub fn string_end(b: &[u8], i: usize) -> Result<usize, ScanError> {
    let mut j = i + 1;
    loop {
        match memchr::memchr2(b'"', b'\\', &b[j..]) {
            None => return Err(ScanError::Truncated { offset: b.len() }),
            Some(k) => {
                let at = j + k;
                if b[at] == b'"' {
                    return Ok(at + 1);
                }
                j = at + 2;
                if j > b.len() {
                    return Err(ScanError::Truncated { offset: b.len() });
                }
            }
        }
    }
}

fn container_end(b: &[u8], i: usize) -> Result<usize, ScanError> {
    // Brackets must match by kind, or a corrupted record could swallow its neighbours.
    let mut stack: Vec<u8> = Vec::with_capacity(16);
    let mut j = i;
    while j < b.len() {
        match b[j] {
            b'"' => {
                j = string_end(b, j)?;
                continue;
            }
            open @ (b'{' | b'[') => stack.push(if open == b'{' { b'}' } else { b']' }),
            close @ (b'}' | b']') => {
                if stack.pop() != Some(close) {
                    return Err(ScanError::Unexpected {
                        offset: j,
                        byte: close,
                    });
                }
                if stack.is_empty() {
                    return Ok(j + 1);
                }
            }
            _ => {}
        }
        j += 1;
    }
    Err(ScanError::Truncated { offset: b.len() })
}

/// One element found inside a JSON array, or one top-level value of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset just past the last byte.
    pub end: usize,
}

/// Splits the elements of the array whose `[` is at `b[i]`.
///
/// Calls `each` for every complete element. Returns the index past the closing `]`, or the error
/// that stopped the scan (every element before it has been delivered).
pub fn array_elements(b: &[u8], i: usize, mut each: impl FnMut(Span)) -> Result<usize, ScanError> {
    debug_assert_eq!(b.get(i), Some(&b'['));
    let mut j = skip_ws(b, i + 1);
    if b.get(j) == Some(&b']') {
        return Ok(j + 1);
    }
    loop {
        let end = value_end(b, j)?;
        each(Span { start: j, end });
        j = skip_ws(b, end);
        match b.get(j) {
            Some(b',') => j = skip_ws(b, j + 1),
            Some(b']') => return Ok(j + 1),
            Some(&c) => return Err(ScanError::Unexpected { offset: j, byte: c }),
            None => return Err(ScanError::Truncated { offset: j }),
        }
    }
}

/// Finds the value of a top-level key of the object whose `{` is at `b[i]`.
///
/// Returns the span of the value, or `None` when the key is absent. Only the unescaped spelling of
/// the key is recognised, as every producer of CloudTrail files writes it.
pub fn object_key(b: &[u8], i: usize, key: &str) -> Result<Option<Span>, ScanError> {
    debug_assert_eq!(b.get(i), Some(&b'{'));
    let quoted_len = key.len() + 2;
    let mut j = skip_ws(b, i + 1);
    if b.get(j) == Some(&b'}') {
        return Ok(None);
    }
    loop {
        if b.get(j) != Some(&b'"') {
            return match b.get(j) {
                None => Err(ScanError::Truncated { offset: j }),
                Some(&c) => Err(ScanError::Unexpected { offset: j, byte: c }),
            };
        }
        let key_end = string_end(b, j)?;
        let is_key = key_end - j == quoted_len && &b[j + 1..key_end - 1] == key.as_bytes();
        j = skip_ws(b, key_end);
        match b.get(j) {
            Some(b':') => j = skip_ws(b, j + 1),
            Some(&c) => return Err(ScanError::Unexpected { offset: j, byte: c }),
            None => return Err(ScanError::Truncated { offset: j }),
        }
        if is_key {
            // Only the start matters to callers that stream the value; the end may be missing.
            let end = value_end(b, j).unwrap_or(b.len());
            return Ok(Some(Span { start: j, end }));
        }
        let end = value_end(b, j)?;
        j = skip_ws(b, end);
        match b.get(j) {
            Some(b',') => j = skip_ws(b, j + 1),
            Some(b'}') => return Ok(None),
            Some(&c) => return Err(ScanError::Unexpected { offset: j, byte: c }),
            None => return Err(ScanError::Truncated { offset: j }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elems(s: &str) -> (Vec<&str>, Result<usize, ScanError>) {
        let b = s.as_bytes();
        let mut out = vec![];
        let r = array_elements(b, 0, |sp| out.push(&s[sp.start..sp.end]));
        (out, r)
    }

    #[test]
    fn splits_array_elements() {
        let (e, r) = elems(r#"[ {"a":"x]}"}, [1,2] ,"s\"]", 3, null ]"#);
        assert_eq!(e, vec![r#"{"a":"x]}"}"#, "[1,2]", r#""s\"]""#, "3", "null"]);
        assert!(r.is_ok());
    }

    #[test]
    fn empty_array() {
        let (e, r) = elems("[ ]");
        assert!(e.is_empty());
        assert_eq!(r, Ok(3));
    }

    #[test]
    fn truncated_array_keeps_complete_elements() {
        let (e, r) = elems(r#"[{"a":1},{"b":2},{"c":"#);
        assert_eq!(e, vec![r#"{"a":1}"#, r#"{"b":2}"#]);
        assert!(matches!(r, Err(ScanError::Truncated { .. })));
    }

    #[test]
    fn mismatched_brackets_are_errors() {
        let (e, r) = elems(r#"[{"a":1],{"b":2}]"#);
        assert!(e.is_empty());
        assert!(matches!(r, Err(ScanError::Unexpected { byte: b']', .. })));
    }

    #[test]
    fn finds_records_key_after_other_keys() {
        let s = r#"{"x":{"Records":1},"Records" : [1]}"#;
        let sp = object_key(s.as_bytes(), 0, "Records").unwrap().unwrap();
        assert_eq!(&s[sp.start..sp.end], "[1]");
        assert_eq!(object_key(br#"{"a":1}"#, 0, "Records").unwrap(), None);
    }
}
