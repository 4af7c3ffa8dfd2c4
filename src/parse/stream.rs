//! Objects too large to hold whole: their records are split from a reader in bounded memory.
//!
//! An object whose decompressed text is over [`STREAM_ABOVE`] bytes is read 1 MiB at a
//! time, and only the record being read is held:
//! - line-delimited text line by line, each line treated as [`super::split_records`] treats it;
//! - any other text with a byte scanner that finds the records of a delivery file's `Records`
//!   array (wherever the key sits in its object), of a top-level array, or of a sequence of
//!   top-level objects. The scanner finds only where records begin and end; each record is then
//!   parsed, and rejected with its reason, by the table's builder as usual.
//!
//! A record over [`MAX_RECORD`] bytes is read through to its end without being held, and
//! handed on as [`Piece::TooLarge`] with its head, for `rejects`.

use std::io::Read;

use super::json_scan;
use super::record::{FieldWarnings, Position};
use super::{MAX_RECORD, MAX_REJECT_RAW};

/// Objects whose decompressed text is larger than this are streamed, not held.
pub const STREAM_ABOVE: usize = 32 << 20;

/// Bytes read at a time.
const READ: usize = 1 << 20;

/// What the splitter hands on.
pub enum Piece<'a> {
    /// One record's text.
    Record(&'a str, Position),
    /// A record longer than [`MAX_RECORD`]: its first bytes and its length.
    TooLarge {
        /// The first [`MAX_REJECT_RAW`] bytes (or fewer, cut at a character).
        head: &'a str,
        /// Its length in bytes.
        len: u64,
        /// Where it sits.
        pos: Position,
    },
}

/// How reading went.
#[derive(Debug, Default)]
pub struct Streamed {
    /// Bytes read (decompressed).
    pub decoded: u64,
    /// Why reading stopped early (a damaged gzip stream, a read error, the size limit).
    pub read_error: Option<String>,
    /// Why the text is not (wholly) records: truncated, not JSON, a `Records` that is no array.
    pub shape_error: Option<String>,
}

/// A window on the reader: `data` holds the bytes from absolute offset `base` on.
struct Window<'r> {
    r: &'r mut dyn Read,
    chunk: usize,
    what: &'static str,
    data: Vec<u8>,
    base: u64,
    eof: bool,
    limit: u64,
    error: Option<String>,
}

impl Window<'_> {
    fn end(&self) -> u64 {
        self.base + self.data.len() as u64
    }

    /// Forgets the bytes before `keep` (absolute) when that frees at least half the window,
    /// then reads up to [`READ`] more. False at the end of the input.
    fn fill(&mut self, keep: u64) -> bool {
        if self.eof {
            return false;
        }
        let drop = keep.min(self.end()).saturating_sub(self.base) as usize;
        if drop > 0 && drop >= self.data.len() / 2 {
            self.data.drain(..drop);
            self.base += drop as u64;
        }
        let old = self.data.len();
        self.data.resize(old + self.chunk, 0);
        loop {
            match self.r.read(&mut self.data[old..]) {
                Ok(0) => {
                    self.data.truncate(old);
                    self.eof = true;
                    return false;
                }
                Ok(k) => {
                    self.data.truncate(old + k);
                    if self.end() > self.limit {
                        self.error = Some(format!(
                            "decompressed size exceeds the {} byte limit",
                            self.limit
                        ));
                        self.data.truncate(old);
                        self.eof = true;
                        return false;
                    }
                    return true;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.data.truncate(old);
                    self.error = Some(format!(
                        "{} after {} decompressed bytes: {e}",
                        self.what,
                        self.end()
                    ));
                    self.eof = true;
                    return false;
                }
            }
        }
    }

    fn at(&self, abs: u64) -> u8 {
        self.data[(abs - self.base) as usize]
    }

    fn slice(&self, from: u64, to: u64) -> &[u8] {
        &self.data[(from - self.base) as usize..(to - self.base) as usize]
    }
}

/// Text of a record's bytes; invalid UTF-8 is replaced and counted.
fn text_of<'a>(b: &'a [u8], warnings: &mut FieldWarnings, at: u64) -> std::borrow::Cow<'a, str> {
    match std::str::from_utf8(b) {
        Ok(t) => t.into(),
        Err(e) => {
            warnings.note(|| {
                format!(
                    "invalid UTF-8 at byte {} replaced with U+FFFD",
                    at + e.valid_up_to() as u64
                )
            });
            String::from_utf8_lossy(b)
        }
    }
}

/// The head of an over-long record, for `rejects`.
fn head_of(b: &[u8]) -> String {
    let b = &b[..b.len().min(MAX_REJECT_RAW)];
    let s = String::from_utf8_lossy(b);
    crate::sanitize::cut(&s, MAX_REJECT_RAW).to_string()
}

/// Splits the records read from `r` (at most `limit` bytes), handing each to `each`; `what`
/// names the reader in errors ("gzip stream is damaged"). `each` returns false to stop.
pub fn split_reader(
    r: &mut dyn Read,
    what: &'static str,
    limit: usize,
    warnings: &mut FieldWarnings,
    each: &mut dyn FnMut(Piece) -> bool,
) -> Streamed {
    split_reader_chunked(r, what, limit, READ, warnings, each)
}

/// [`split_reader`], reading `chunk` bytes at a time (small ones test the seams; the fuzzer
/// uses them).
pub fn split_reader_chunked(
    r: &mut dyn Read,
    what: &'static str,
    limit: usize,
    chunk: usize,
    warnings: &mut FieldWarnings,
    each: &mut dyn FnMut(Piece) -> bool,
) -> Streamed {
    let mut w = Window {
        r,
        chunk: chunk.max(1),
        what,
        data: Vec::with_capacity(chunk.max(1)),
        base: 0,
        eof: false,
        limit: limit as u64,
        error: None,
    };
    // Enough to see the first line whole, and what follows it.
    loop {
        let b = &w.data;
        let s = skip_bom_ws(b);
        let seen_more =
            memchr::memchr(b'\n', &b[s..]).is_some_and(|k| json_scan::skip_ws(b, s + k) < b.len());
        if seen_more || b.len() > MAX_RECORD || !w.fill(0) {
            break;
        }
    }
    let b = &w.data;
    let s = skip_bom_ws(b);
    let mut out = Streamed::default();
    if s == b.len() {
        out.shape_error = Some(match w.error.take() {
            Some(e) => e,
            None => "object holds no JSON (empty or whitespace only)".into(),
        });
        return out;
    }
    let line_delimited = memchr::memchr(b'\n', &b[s..]).is_some_and(|k| {
        let nl = s + k;
        matches!(json_scan::value_end(b, s), Ok(e) if e <= nl)
            && json_scan::skip_ws(b, nl) < b.len()
    });
    out.shape_error = if line_delimited {
        lines(&mut w, warnings, each)
    } else {
        values(&mut w, s as u64, warnings, each)
    };
    out.decoded = w.end();
    out.read_error = w.error;
    out
}

fn skip_bom_ws(b: &[u8]) -> usize {
    let s = if b.starts_with(b"\xef\xbb\xbf") { 3 } else { 0 };
    json_scan::skip_ws(b, s)
}

/// Line-delimited text: each line as [`super::split_records`] treats it.
fn lines(
    w: &mut Window,
    warnings: &mut FieldWarnings,
    each: &mut dyn FnMut(Piece) -> bool,
) -> Option<String> {
    let mut index = 0i64;
    let mut line_no = 0i64;
    let mut line_start = w.base;
    let mut scanned = w.base;
    let mut too_large: Option<String> = None;
    let mut first_error: Option<String> = None;
    let mut go = true;
    loop {
        let nl = memchr::memchr(b'\n', w.slice(scanned, w.end())).map(|k| scanned + k as u64);
        let end = match nl {
            Some(nl) => nl,
            None => {
                scanned = w.end();
                if too_large.is_none() && w.end() - line_start > MAX_RECORD as u64 {
                    too_large = Some(head_of(w.slice(line_start, w.end())));
                }
                let keep = if too_large.is_some() {
                    w.end()
                } else {
                    line_start
                };
                if w.fill(keep) {
                    continue;
                }
                if line_start >= w.end() && too_large.is_none() {
                    break;
                }
                w.end()
            }
        };
        line_no += 1;
        if let Some(head) = too_large.take() {
            go = each(Piece::TooLarge {
                head: &head,
                len: end - line_start,
                pos: Position {
                    index,
                    line: Some(line_no),
                },
            });
            index += 1;
        } else {
            let text = text_of(w.slice(line_start, end), warnings, line_start);
            let mut handed = |t: &str, p: Position| {
                if go {
                    go = each(Piece::Record(t, p));
                }
            };
            if let Some(e) = super::one_line(&text, line_no, &mut index, &mut handed) {
                first_error.get_or_insert(e);
            }
        }
        if !go || nl.is_none() {
            break;
        }
        line_start = end + 1;
        scanned = line_start;
    }
    first_error
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An object or an array: ends with the bracket that closes it.
    Container,
    /// A string: ends with its closing quote.
    Str,
    /// A number or a literal: ends before the next delimiter.
    Scalar,
}

/// A record being read.
struct Open {
    start: u64,
    line: i64,
    kind: Kind,
    /// The depth its first byte is at.
    depth: u32,
    /// A top-level object: it may turn out to be a delivery file's envelope.
    candidate: bool,
    /// Set once it is longer than [`MAX_RECORD`]: its head, its bytes no longer held.
    too_large: Option<String>,
}

/// The first byte to keep in the window: an open record's start, unless it has grown past
/// [`MAX_RECORD`] (then it is marked too large and only `cur` on is kept).
fn keep_point(rec: &mut Option<Open>, w: &Window, cur: u64) -> u64 {
    match rec {
        Some(r) if r.too_large.is_none() => {
            if w.end() - r.start > MAX_RECORD as u64 {
                r.too_large = Some(head_of(w.slice(r.start, w.end())));
                cur
            } else {
                r.start
            }
        }
        _ => cur,
    }
}

/// The end (absolute, past the closing quote) of the string whose quote is at `from`, its first
/// bytes in `small`; None when the input ends inside it.
fn string_end(
    w: &mut Window,
    rec: &mut Option<Open>,
    from: u64,
    small: &mut Vec<u8>,
) -> Option<u64> {
    let mut j = from + 1;
    loop {
        if j >= w.end() {
            let keep = keep_point(rec, w, j);
            if !w.fill(keep) {
                return None;
            }
            continue;
        }
        let rest = w.slice(j, w.end());
        let k = memchr::memchr2(b'"', b'\\', rest);
        let upto = k.unwrap_or(rest.len());
        if small.len() < 16 {
            small.extend_from_slice(&rest[..upto.min(16 - small.len())]);
        }
        match k {
            Some(k) if rest[k] == b'\\' => {
                small.push(b'\\');
                j += k as u64 + 2;
            }
            Some(k) => return Some(j + k as u64 + 1),
            None => j = w.end(),
        }
    }
}

/// Any other text: top-level values, and the records found inside them by depth.
fn values(
    w: &mut Window,
    start: u64,
    warnings: &mut FieldWarnings,
    each: &mut dyn FnMut(Piece) -> bool,
) -> Option<String> {
    let mut i = start;
    let mut depth = 0u32;
    let mut line = 1 + memchr::memchr_iter(b'\n', w.slice(w.base, start)).count() as i64;
    let mut index = 0i64;
    // Records are the elements at this depth (a top-level array: 1, a `Records` array: 2).
    let mut elements: Option<u32> = None;
    let mut rec: Option<Open> = None;
    // Inside a top-level object at depth 1: whether the last string was "Records", and whether
    // the colon after that key was just read.
    let (mut records_key, mut records_colon) = (false, false);
    let mut truncated = false;
    let mut small = Vec::with_capacity(32);
    loop {
        if i >= w.end() {
            let keep = keep_point(&mut rec, w, i);
            if !w.fill(keep) {
                break;
            }
        }
        let c = w.at(i);
        if let Some(r) = &rec
            && r.kind == Kind::Scalar
            && depth == r.depth
            && matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n')
        {
            let r = rec.take().expect("open record");
            if !hand(w, r, i, &mut index, warnings, each) {
                return None;
            }
        }
        let candidate = depth == 1 && rec.as_ref().is_some_and(|r| r.candidate);
        match c {
            b'\n' => {
                line += 1;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b':' => {
                records_colon = candidate && records_key;
                records_key = false;
                i += 1;
                continue;
            }
            _ => {}
        }
        if records_colon {
            records_colon = false;
            if c != b'[' {
                return Some(format!(
                    "Records is {}, not an array",
                    match c {
                        b'{' => "an object",
                        b'"' => "a string",
                        b'n' => "null",
                        _ => "a scalar",
                    }
                ));
            }
            // A delivery file: the top-level object is an envelope, its Records the records.
            rec = None;
            elements = Some(2);
            depth = 2;
            i += 1;
            continue;
        }
        records_key = false;
        let opens = rec.is_none() && (depth == 0 || Some(depth) == elements);
        let open = |kind, candidate| Open {
            start: i,
            line,
            kind,
            depth,
            candidate,
            too_large: None,
        };
        match c {
            b'"' => {
                if opens && depth > 0 {
                    rec = Some(open(Kind::Str, false));
                }
                small.clear();
                let Some(end) = string_end(w, &mut rec, i, &mut small) else {
                    truncated = true;
                    break;
                };
                records_key = candidate && small == b"Records";
                i = end;
                if rec
                    .as_ref()
                    .is_some_and(|r| r.kind == Kind::Str && r.depth == depth)
                {
                    let r = rec.take().expect("open record");
                    if !hand(w, r, end, &mut index, warnings, each) {
                        return None;
                    }
                }
                if depth == 0 {
                    return Some(format!(
                        "not JSON: a string at the top level (byte {})",
                        end
                    ));
                }
                continue;
            }
            b'[' if depth == 0 => {
                elements = Some(1);
                depth = 1;
            }
            b'{' | b'[' => {
                if opens {
                    rec = Some(open(Kind::Container, depth == 0 && c == b'{'));
                }
                depth += 1;
            }
            b'}' | b']' => {
                if depth == 0 {
                    return Some(format!(
                        "malformed JSON: unexpected '{}' at byte {i}",
                        c as char
                    ));
                }
                depth -= 1;
                if c == b']' && elements == Some(depth + 1) {
                    elements = None;
                } else if rec
                    .as_ref()
                    .is_some_and(|r| r.kind == Kind::Container && r.depth == depth)
                {
                    let r = rec.take().expect("open record");
                    if !hand(w, r, i + 1, &mut index, warnings, each) {
                        return None;
                    }
                }
            }
            _ if depth == 0 => {
                return Some(format!(
                    "not JSON: unexpected {} at byte {i}",
                    if c.is_ascii_graphic() {
                        format!("'{}'", c as char)
                    } else {
                        format!("byte 0x{c:02x}")
                    }
                ));
            }
            _ => {
                if opens {
                    rec = Some(open(Kind::Scalar, false));
                }
            }
        }
        i += 1;
    }
    if truncated || depth > 0 {
        return Some(format!(
            "truncated JSON: input ends inside a JSON value (at byte {})",
            w.end()
        ));
    }
    None
}

/// Hands on the record `r` that ends at `end` (absolute, exclusive).
fn hand(
    w: &Window,
    r: Open,
    end: u64,
    index: &mut i64,
    warnings: &mut FieldWarnings,
    each: &mut dyn FnMut(Piece) -> bool,
) -> bool {
    let pos = Position {
        index: *index,
        line: Some(r.line),
    };
    *index += 1;
    match r.too_large {
        Some(head) => each(Piece::TooLarge {
            head: &head,
            len: end - r.start,
            pos,
        }),
        None => {
            let text = text_of(w.slice(r.start, end), warnings, r.start);
            each(Piece::Record(&text, pos))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (text, index) of each record, and whether there was a shape error.
    fn whole(text: &str) -> (Vec<(String, i64)>, bool) {
        let mut v = vec![];
        let e = super::super::split_records(text, |t, p| v.push((t.to_string(), p.index)));
        (v, e.is_some())
    }

    fn streamed(text: &str, chunk: usize) -> (Vec<(String, i64)>, bool, Streamed) {
        let mut v = vec![];
        let mut w = FieldWarnings::default();
        let s = split_reader_chunked(
            &mut text.as_bytes(),
            "cannot read",
            usize::MAX,
            chunk,
            &mut w,
            &mut |p| {
                match p {
                    Piece::Record(t, pos) => v.push((t.to_string(), pos.index)),
                    Piece::TooLarge { len, pos, .. } => v.push((format!("<{len}>"), pos.index)),
                }
                true
            },
        );
        let err = s.shape_error.is_some() || s.read_error.is_some();
        (v, err, s)
    }

    /// Every shape the whole-object splitter knows gives the same records when streamed, at
    /// every seam (chunks of 1, 2, 3, 7 and 64 bytes).
    #[test]
    fn streamed_records_equal_the_whole_object_split() {
        let cases = [
            r#"{"Records":[{"a":1},{"b":"x,]}"},{"c":[1,{"d":2}]}]}"#,
            r#"{"x":{"Records":1},"Records":[{"a":"\"]"}, {"b":2}],"y":[]}"#,
            "[\n  {\"a\": 1},\n  {\"b\": \"\\\\\"}\n]\n",
            "{\"a\":1}\n{\"b\":\n{\"c\":3}\n\n[{\"d\":4}]\n",
            "{\n\"a\": 1\n}\n{\n\"b\": 2\n}",
            "\u{feff}{\"Records\":[{\"a\":1}]}",
            r#"[1, "s", {"a":1}, null, [2]]"#,
            r#"{"Records":[{"a":1},{"b":2},{"c""#,
            r#"{"Records":{"a":1}}"#,
            "{\"eventName\":\"x\"} {\"eventName\":\"y\"}",
            "123 456\n789\n",
            "   ",
        ];
        for case in cases {
            let (want, want_err) = whole(case.trim_start_matches('\u{feff}'));
            for chunk in [1, 2, 3, 7, 64] {
                let (got, got_err, _) = streamed(case, chunk);
                assert_eq!(got, want, "{case:?} in chunks of {chunk}");
                assert_eq!(got_err, want_err, "{case:?} in chunks of {chunk}");
            }
        }
    }

    #[test]
    fn records_not_an_array_is_named() {
        let (_, _, s) = streamed(r#"{"Records":{"a":1}}"#, 4);
        assert_eq!(
            s.shape_error.as_deref(),
            Some("Records is an object, not an array")
        );
        let (v, _, s) = streamed(r#"{"Records":[{"a":1},{"b":2},{"c""#, 5);
        assert_eq!(v.len(), 2);
        assert!(s.shape_error.unwrap().starts_with("truncated JSON"));
    }

    /// A record past [`MAX_RECORD`] (and the read after it) is skipped to its end, not held;
    /// its neighbours land.
    #[test]
    fn a_record_too_large_to_hold_is_skipped_to_its_end() {
        let big = "a".repeat(MAX_RECORD + 3 * READ);
        for text in [
            format!(r#"{{"Records":[{{"a":1}},{{"u":"{big}"}},{{"b":2}}]}}"#),
            format!("{{\"a\":1}}\n{{\"u\":\"{big}\"}}\n{{\"b\":2}}\n"),
        ] {
            // (record text, or the too-large record's length and index); never the big text.
            let mut got: Vec<String> = vec![];
            let mut w = FieldWarnings::default();
            let mut held = 0usize;
            let s = split_reader(
                &mut text.as_bytes(),
                "cannot read",
                usize::MAX,
                &mut w,
                &mut |p| {
                    match p {
                        Piece::Record(t, _) if t.len() < 100 => got.push(t.to_string()),
                        Piece::Record(t, _) => got.push(format!("held {} bytes", t.len())),
                        Piece::TooLarge { head, len, pos } => {
                            held = head.len();
                            got.push(format!("{len}@{}", pos.index));
                        }
                    }
                    true
                },
            );
            assert_eq!(s.shape_error, None);
            let n = big.len() + 8;
            assert_eq!(
                got,
                vec![
                    r#"{"a":1}"#.to_string(),
                    format!("{n}@1"),
                    r#"{"b":2}"#.into()
                ]
            );
            assert_eq!(held, MAX_REJECT_RAW);
        }
    }

    #[test]
    fn the_limit_and_read_errors_are_reported() {
        let text = "{\"a\":1}\n".repeat(1000);
        let mut w = FieldWarnings::default();
        let mut n = 0;
        let s = split_reader_chunked(&mut text.as_bytes(), "x", 100, 10, &mut w, &mut |_| {
            n += 1;
            true
        });
        assert!(s.read_error.unwrap().contains("exceeds the 100 byte limit"));
        assert!(n < 20);
    }

    #[test]
    fn invalid_utf8_in_a_record_is_repaired_and_counted() {
        let mut w = FieldWarnings::default();
        let mut got = vec![];
        split_reader_chunked(
            &mut &b"{\"a\":\"\xff\"}\n{\"b\":1}\n"[..],
            "x",
            usize::MAX,
            3,
            &mut w,
            &mut |p| {
                if let Piece::Record(t, _) = p {
                    got.push(t.to_string());
                }
                true
            },
        );
        assert_eq!(got, vec!["{\"a\":\"\u{fffd}\"}", "{\"b\":1}"]);
        assert_eq!(w.count, 1);
    }
}
