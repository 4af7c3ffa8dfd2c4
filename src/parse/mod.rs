//! Parse: the bytes of one log object become rows, rejects and an outcome for the manifest.
//!
//! The shape of an object is detected from its content, not its name: gzip or plain; a CloudTrail
//! delivery file (`{"Records":[...]}`), a JSON array of events (Stratus, exports), newline-delimited
//! events, or concatenated JSON values; each event either a CloudTrail record or an EventBridge
//! envelope around one. Records are split with [`json_scan`] first and parsed one by one
//! ([`cloudtrail`]), so a bad record or a truncated tail never costs the records around it.

pub mod builds;
pub mod cloudtrail;
pub mod json_scan;
pub mod record;
pub mod stream;
pub mod time;

use std::borrow::Cow;
use std::io::Read;

use json_scan::{ScanError, Span};
pub use record::{FieldWarnings, Position, RecordError, RecordSink};

/// The largest record text kept in `rejects`; longer ones are cut (the object can be re-read).
pub const MAX_REJECT_RAW: usize = 1 << 20;

/// The largest record parsed into a row: more than any CloudTrail event, and than GitHub's
/// 25 MB webhook payload cap. A larger one is rejected (its head kept in `rejects`), so one
/// huge field does not become several copies of itself in the row, the raw column and Parquet.
pub const MAX_RECORD: usize = 32 << 20;

/// Limits that protect memory from hostile objects.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest decompressed size of one object, in bytes.
    pub max_decompressed: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed: 1 << 30,
        }
    }
}

/// How an object fared as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectStatus {
    /// Every byte was read; individual records may still have been rejected.
    Ok,
    /// Some records landed, then the object broke off (truncated gzip or JSON).
    Partial,
    /// Nothing usable: not gzip, not JSON, wrong shape, or empty.
    Failed,
}

impl ObjectStatus {
    /// The manifest spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectStatus::Ok => "ok",
            ObjectStatus::Partial => "partial",
            ObjectStatus::Failed => "failed",
        }
    }
}

/// A record that could not become a row, kept with its reason.
#[derive(Debug, Clone)]
pub struct RejectedRecord {
    /// 0-based record position in the object.
    pub index: i64,
    /// 1-based line number, for line-delimited objects.
    pub line: Option<i64>,
    /// Why it was rejected.
    pub reason: String,
    /// The record's text, cut at [`MAX_REJECT_RAW`] bytes.
    pub raw: String,
}

/// What parsing one object produced, besides the rows.
#[derive(Debug)]
pub struct ObjectOutcome {
    /// Rows appended to the builder.
    pub events: u64,
    /// Records rejected, all of them.
    pub rejected: u64,
    /// The rejected records not yet handed on (through a [`Flush`]).
    pub rejects: Vec<RejectedRecord>,
    /// Fields kept with a coerced type, and text repairs.
    pub warnings: FieldWarnings,
    /// The object as a whole.
    pub status: ObjectStatus,
    /// Why the object is partial or failed.
    pub error: Option<String>,
    /// Decompressed size.
    pub decoded_bytes: u64,
}

impl ObjectOutcome {
    fn failed(reason: String) -> Self {
        ObjectOutcome {
            events: 0,
            rejected: 0,
            rejects: vec![],
            warnings: FieldWarnings::default(),
            status: ObjectStatus::Failed,
            error: Some(reason),
            decoded_bytes: 0,
        }
    }
}

/// Rejects' text held before they are handed on, at most.
const REJECT_BYTES_PER_CHUNK: usize = 16 << 20;

/// Hands rows and rejects on while an object is still being read, so that memory follows a
/// chunk, not the object: after every `rows` rows (or as many rejects, or 16 MiB of their text)
/// `f` is called with the builder and the outcome so far, and takes what it wants of them
/// (the builder's rows, `rejects`). It returns false to stop reading the object.
pub struct Flush<'f, B: ?Sized> {
    /// Rows (or rejects) after which `f` is called.
    pub rows: usize,
    /// The hand-over.
    pub f: &'f mut dyn FnMut(&mut B, &mut ObjectOutcome) -> bool,
}

/// Where an object's records go: the builder, the rejects, the counts.
struct Intake<'a, 'f, B: ?Sized> {
    builder: &'a mut B,
    source: &'a str,
    out: ObjectOutcome,
    /// Records that were JSON objects (the others are numbers, strings, arrays).
    objects: u64,
    reject_bytes: usize,
    flush: Option<Flush<'f, B>>,
    stopped: bool,
}

impl<B: RecordSink + ?Sized> Intake<'_, '_, B> {
    fn record(&mut self, text: &str, pos: Position) -> bool {
        if self.stopped {
            return false;
        }
        self.objects += u64::from(text.trim_start().starts_with('{'));
        let pushed = if text.len() > MAX_RECORD {
            Err(RecordError(too_large(text.len() as u64)))
        } else {
            self.builder
                .push(text, self.source, pos, &mut self.out.warnings)
        };
        match pushed {
            Ok(()) => self.out.events += 1,
            Err(e) => self.reject(pos, e.0, crate::sanitize::cut(text, MAX_REJECT_RAW)),
        }
        self.maybe_flush()
    }

    fn too_large(&mut self, head: &str, len: u64, pos: Position) -> bool {
        if self.stopped {
            return false;
        }
        self.objects += u64::from(head.trim_start().starts_with('{'));
        self.reject(pos, too_large(len), head);
        self.maybe_flush()
    }

    fn reject(&mut self, pos: Position, reason: String, raw: &str) {
        self.reject_bytes += raw.len();
        self.out.rejected += 1;
        self.out.rejects.push(RejectedRecord {
            index: pos.index,
            line: pos.line,
            reason,
            raw: raw.to_string(),
        });
    }

    fn maybe_flush(&mut self) -> bool {
        if let Some(f) = &mut self.flush
            && (self.builder.len() >= f.rows
                || self.out.rejects.len() >= f.rows
                || self.reject_bytes >= REJECT_BYTES_PER_CHUNK)
        {
            self.reject_bytes = 0;
            if !(f.f)(self.builder, &mut self.out) {
                self.stopped = true;
            }
        }
        !self.stopped
    }

    /// The outcome, from what reading and splitting said.
    fn conclude(self, decode_error: Option<String>, shape_error: Option<String>) -> ObjectOutcome {
        let mut out = self.out;
        // Numbers, strings or arrays and not one object (`123 456`, a CSV whose first cell is
        // a number): not a log file, rather than an `ok` object whose every record "is a
        // number".
        let error = decode_error.or(shape_error);
        if error.is_none() && self.objects == 0 && out.rejected > 0 {
            let n = out.rejected;
            out.rejects.clear();
            out.rejected = 0;
            out.status = ObjectStatus::Failed;
            out.error = Some(format!(
                "not a log file: none of its {n} JSON value(s) is an object (a record)"
            ));
            return out;
        }
        if let Some(e) = error {
            let salvaged = out.events > 0 || out.rejected > 0;
            out.status = if salvaged {
                ObjectStatus::Partial
            } else {
                ObjectStatus::Failed
            };
            out.error = Some(e);
        }
        out
    }
}

fn too_large(len: u64) -> String {
    format!("record is {len} bytes, more than the {MAX_RECORD}-byte limit of one record")
}

/// Parses one whole object into `builder`.
pub fn parse_object<B: RecordSink + ?Sized>(
    bytes: &[u8],
    source_object: &str,
    builder: &mut B,
    limits: Limits,
) -> ObjectOutcome {
    parse_object_with(bytes, source_object, builder, limits, &mut Vec::new(), None)
}

/// [`parse_object`] with a reusable decompression buffer (one per worker thread) and,
/// optionally, a [`Flush`] that takes rows and rejects while the object is read.
pub fn parse_object_with<B: RecordSink + ?Sized>(
    bytes: &[u8],
    source_object: &str,
    builder: &mut B,
    limits: Limits,
    scratch: &mut Vec<u8>,
    flush: Option<Flush<'_, B>>,
) -> ObjectOutcome {
    if bytes.is_empty() {
        return ObjectOutcome::failed("object is empty".into());
    }
    let intake = Intake::new(builder, source_object, flush);
    match decode(bytes, limits, scratch) {
        Err(e) => ObjectOutcome::failed(e),
        Ok(Decoded::Whole(decoded, decode_error)) => intake.whole(&decoded, decode_error),
        Ok(Decoded::Stream { gzip: true }) => intake.stream(
            &mut flate2::read::MultiGzDecoder::new(bytes),
            "gzip stream is damaged",
            limits,
        ),
        Ok(Decoded::Stream { gzip: false }) => {
            intake.stream(&mut &bytes[..], "cannot read the object", limits)
        }
    }
}

/// Parses the file at `path` into `builder`; one larger than [`stream::STREAM_ABOVE`] is read
/// in pieces, never whole. An error is one of reading the file (the object is unreadable).
pub fn parse_file<B: RecordSink + ?Sized>(
    path: &std::path::Path,
    source_object: &str,
    builder: &mut B,
    limits: Limits,
    scratch: &mut Vec<u8>,
    flush: Option<Flush<'_, B>>,
) -> std::io::Result<(ObjectOutcome, u64)> {
    let size = std::fs::metadata(path)?.len();
    let mut open = || -> std::io::Result<Box<dyn Read>> {
        Ok(Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            std::fs::File::open(path)?,
        )))
    };
    let out = parse_opened(
        &mut open,
        size,
        source_object,
        builder,
        limits,
        scratch,
        flush,
    )?;
    Ok((out, size))
}

/// Parses an object of `size` bytes that `open` reads from its start (a file, an S3 GET); one
/// larger than [`stream::STREAM_ABOVE`] is read in pieces, never whole (a gzip twice: once to
/// measure it, once to parse it). An error is one of reading the object.
pub fn parse_opened<B: RecordSink + ?Sized>(
    open: &mut dyn FnMut() -> std::io::Result<Box<dyn Read>>,
    size: u64,
    source_object: &str,
    builder: &mut B,
    limits: Limits,
    scratch: &mut Vec<u8>,
    flush: Option<Flush<'_, B>>,
) -> std::io::Result<ObjectOutcome> {
    if size <= stream::STREAM_ABOVE as u64 {
        let mut bytes = Vec::with_capacity(size as usize);
        open()?.read_to_end(&mut bytes)?;
        return Ok(parse_object_with(
            &bytes,
            source_object,
            builder,
            limits,
            scratch,
            flush,
        ));
    }
    let mut first = open()?;
    let mut magic = [0u8; 2];
    first.read_exact(&mut magic)?;
    let intake = Intake::new(builder, source_object, flush);
    let out = if magic == [0x1f, 0x8b] {
        let n = inflated_len((&magic[..]).chain(first), limits.max_decompressed);
        if n > limits.max_decompressed {
            ObjectOutcome::failed(over_limit(limits))
        } else {
            intake.stream(
                &mut flate2::read::MultiGzDecoder::new(open()?),
                "gzip stream is damaged",
                limits,
            )
        }
    } else if size > limits.max_decompressed as u64 {
        ObjectOutcome::failed(format!(
            "object is larger than the {} byte limit",
            limits.max_decompressed
        ))
    } else {
        intake.stream(
            &mut (&magic[..]).chain(first),
            "cannot read the object",
            limits,
        )
    };
    Ok(out)
}

impl<'a, 'f, B: RecordSink + ?Sized> Intake<'a, 'f, B> {
    fn new(builder: &'a mut B, source: &'a str, flush: Option<Flush<'f, B>>) -> Self {
        Intake {
            builder,
            source,
            out: ObjectOutcome {
                events: 0,
                rejected: 0,
                rejects: vec![],
                warnings: FieldWarnings::default(),
                status: ObjectStatus::Ok,
                error: None,
                decoded_bytes: 0,
            },
            objects: 0,
            reject_bytes: 0,
            flush,
            stopped: false,
        }
    }

    /// An object held whole, decompressed.
    fn whole(mut self, decoded: &[u8], decode_error: Option<String>) -> ObjectOutcome {
        let text: Cow<str> = match std::str::from_utf8(decoded) {
            Ok(t) => Cow::Borrowed(t),
            Err(e) => {
                self.out.warnings.note(|| {
                    format!(
                        "invalid UTF-8 at byte {} replaced with U+FFFD",
                        e.valid_up_to()
                    )
                });
                Cow::Owned(String::from_utf8_lossy(decoded).into_owned())
            }
        };
        self.out.decoded_bytes = decoded.len() as u64;
        let text = text.trim_start_matches('\u{feff}');
        let shape_error = split_records(text, |rec_text, pos| {
            self.record(rec_text, pos);
        });
        self.conclude(decode_error, shape_error)
    }

    /// An object read in pieces ([`stream`]).
    fn stream(mut self, r: &mut dyn Read, what: &'static str, limits: Limits) -> ObjectOutcome {
        let mut warnings = std::mem::take(&mut self.out.warnings);
        let s =
            stream::split_reader(
                r,
                what,
                limits.max_decompressed,
                &mut warnings,
                &mut |p| match p {
                    stream::Piece::Record(text, pos) => self.record(text, pos),
                    stream::Piece::TooLarge { head, len, pos } => self.too_large(head, len, pos),
                },
            );
        // Warnings noted while splitting (text repairs) come first, as in a whole object.
        let mut w = warnings;
        w.count += self.out.warnings.count;
        if w.first.is_none() {
            w.first = self.out.warnings.first.take();
        }
        self.out.warnings = w;
        self.out.decoded_bytes = s.decoded;
        self.conclude(s.read_error, s.shape_error)
    }
}

fn over_limit(limits: Limits) -> String {
    format!(
        "decompressed size exceeds the {} byte limit",
        limits.max_decompressed
    )
}

/// What [`decode`] makes of an object's bytes.
enum Decoded<'a> {
    /// The whole text, and for a damaged gzip stream the error after what could be read.
    Whole(Cow<'a, [u8]>, Option<String>),
    /// Too large to hold decompressed: to be read in pieces.
    Stream { gzip: bool },
}

/// Decompresses gzip (detected by its magic bytes) or passes plain bytes through; text larger
/// than [`stream::STREAM_ABOVE`] is left to be streamed.
fn decode<'a>(
    bytes: &'a [u8],
    limits: Limits,
    scratch: &'a mut Vec<u8>,
) -> Result<Decoded<'a>, String> {
    if bytes.len() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b {
        if bytes.len() > limits.max_decompressed {
            return Err(format!(
                "object is larger than the {} byte limit",
                limits.max_decompressed
            ));
        }
        if bytes.len() > stream::STREAM_ABOVE {
            return Ok(Decoded::Stream { gzip: false });
        }
        return Ok(Decoded::Whole(Cow::Borrowed(bytes), None));
    }
    // Fast path: libdeflate into a buffer sized from the gzip trailer (ISIZE, size mod 2^32).
    let n = bytes.len();
    let isize_hint = if n >= 18 {
        u32::from_le_bytes([bytes[n - 4], bytes[n - 3], bytes[n - 2], bytes[n - 1]]) as usize
    } else {
        0
    };
    if isize_hint > 0 && isize_hint <= limits.max_decompressed.min(stream::STREAM_ABOVE) {
        // The buffer only grows, so it is zeroed once, not per object.
        if scratch.len() < isize_hint {
            scratch.resize(isize_hint, 0);
        }
        let mut d = libdeflater::Decompressor::new();
        // libdeflate stops after the first member. The trailer read above is the last member's:
        // only when its CRC is that of what was decoded is the first member the whole stream
        // (two members of equal length and different content fail this and are read whole below).
        let crc = u32::from_le_bytes([bytes[n - 8], bytes[n - 7], bytes[n - 6], bytes[n - 5]]);
        if let Ok(written) = d.gzip_decompress(bytes, &mut scratch[..isize_hint])
            && written == isize_hint
            && libdeflater::crc32(&scratch[..written]) == crc
        {
            return Ok(Decoded::Whole(Cow::Borrowed(&scratch[..written]), None));
        }
    }
    // Multi-member, damaged, large or unsized streams are measured by inflating into nothing
    // first: a bomb is refused without its bytes ever being held, on every worker at once.
    let inflated = inflated_len(bytes, limits.max_decompressed);
    if inflated > limits.max_decompressed {
        return Err(over_limit(limits));
    }
    if inflated > stream::STREAM_ABOVE {
        return Ok(Decoded::Stream { gzip: true });
    }
    let mut out = Vec::with_capacity(inflated);
    // The measure read to the end (or the damage): the same stream, read again, fits.
    let mut dec = flate2::read::MultiGzDecoder::new(bytes);
    let err = match dec.read_to_end(&mut out) {
        Ok(_) => None,
        Err(e) => Some(format!(
            "gzip stream is damaged after {} decompressed bytes: {e}",
            out.len()
        )),
    };
    if out.is_empty()
        && let Some(e) = err
    {
        return Err(e);
    }
    Ok(Decoded::Whole(Cow::Owned(out), err))
}

/// Bytes a worker keeps in its decompression buffer between objects; a larger one is freed.
pub const KEEP_SCRATCH: usize = 64 << 20;

/// How many bytes `gz` inflates to (every member), counting up to `limit + 1`, in 64 KiB
/// pieces; a damaged stream counts what decoded before the damage.
fn inflated_len(gz: impl Read, limit: usize) -> usize {
    let mut dec = flate2::read::MultiGzDecoder::new(gz);
    let mut buf = vec![0u8; 64 << 10];
    let mut n = 0usize;
    while n <= limit {
        match dec.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

/// Calls `each` with the text and position of every record; returns the shape error, if any.
pub fn split_records(text: &str, mut each: impl FnMut(&str, Position)) -> Option<String> {
    let b = text.as_bytes();
    let start = json_scan::skip_ws(b, 0);
    if start == b.len() {
        return Some("object holds no JSON (empty or whitespace only)".into());
    }
    let mut index: i64 = 0;
    // Line-delimited when the first line is a whole value and more follows.
    if let Some(nl) = memchr::memchr(b'\n', &b[start..]).map(|k| start + k) {
        let first_end = json_scan::value_end(b, start);
        let rest = json_scan::skip_ws(b, nl);
        if matches!(first_end, Ok(e) if e <= nl) && rest < b.len() {
            return split_lines(text, &mut index, &mut each);
        }
    }
    let mut i = start;
    let mut line = 1i64;
    let mut line_at = 0usize;
    // Line numbers matter only when several values share a multi-line document; a delivery file
    // is one line, so the scan for a second value is skipped there.
    let multiple = memchr::memchr(b'\n', &b[start..]).is_some() && has_second_value(b, start);
    while i < b.len() {
        let pos_line = if multiple {
            line += memchr::memchr_iter(b'\n', &b[line_at..i]).count() as i64;
            line_at = i;
            Some(line)
        } else {
            None
        };
        match top_level_value(text, i, pos_line, &mut index, &mut each) {
            Ok(end) => i = json_scan::skip_ws(b, end),
            Err(e) => return Some(e),
        }
    }
    None
}

fn has_second_value(b: &[u8], start: usize) -> bool {
    match json_scan::value_end(b, start) {
        Ok(e) => json_scan::skip_ws(b, e) < b.len(),
        Err(_) => false,
    }
}

fn split_lines(
    text: &str,
    index: &mut i64,
    each: &mut impl FnMut(&str, Position),
) -> Option<String> {
    let mut first_error = None;
    for (n, line) in text.split('\n').enumerate() {
        if let Some(e) = one_line(line, n as i64 + 1, index, each) {
            first_error.get_or_insert(e);
        }
    }
    first_error
}

/// One line (1-based `line_no`) of a line-delimited object; returns its shape error.
fn one_line(
    line: &str,
    line_no: i64,
    index: &mut i64,
    each: &mut impl FnMut(&str, Position),
) -> Option<String> {
    let line = line.trim_end_matches('\r');
    let b = line.as_bytes();
    let s = json_scan::skip_ws(b, 0);
    if s == b.len() {
        return None;
    }
    let pos = Position {
        index: *index,
        line: Some(line_no),
    };
    // The common case, one event per line: straight to the record parser, which rejects a
    // damaged line with its reason; the next line starts afresh.
    if b[s] == b'{' && memchr::memmem::find(&b[s..], b"\"Records\"").is_none() {
        each(line[s..].trim_end(), pos);
        *index += 1;
        return None;
    }
    match json_scan::value_end(b, s) {
        Ok(e) if json_scan::skip_ws(b, e) == b.len() && matches!(b[s], b'{' | b'[') => {
            top_level_value(line, s, Some(line_no), index, each)
                .err()
                .map(|err| format!("line {line_no}: {err}"))
        }
        _ => {
            each(line, pos);
            *index += 1;
            None
        }
    }
}

/// Handles one top-level value at `i`; returns the index past it.
fn top_level_value(
    text: &str,
    i: usize,
    line: Option<i64>,
    index: &mut i64,
    each: &mut impl FnMut(&str, Position),
) -> Result<usize, String> {
    let b = text.as_bytes();
    match b[i] {
        b'{' => {
            // Fast path: serde splits a well-formed object in one pass. Anything it rejects is
            // split again by the scanner below, which salvages and explains.
            let mut it = serde_json::Deserializer::from_str(&text[i..]).into_iter::<Outer>();
            if let Some(Ok(outer)) = it.next() {
                let end = i + it.byte_offset();
                match outer.records {
                    Some(records) => {
                        for r in records {
                            each(
                                r.get(),
                                Position {
                                    index: *index,
                                    line,
                                },
                            );
                            *index += 1;
                        }
                        return Ok(end);
                    }
                    None if memchr::memmem::find(&b[i..end], b"\"Records\"").is_none() => {
                        each(
                            &text[i..end],
                            Position {
                                index: *index,
                                line,
                            },
                        );
                        *index += 1;
                        return Ok(end);
                    }
                    None => {}
                }
            }
            let records = json_scan::object_key(b, i, "Records").map_err(|e| scan_msg(&e))?;
            match records {
                Some(sp) if b.get(sp.start) == Some(&b'[') => {
                    let r = json_scan::array_elements(b, sp.start, |el: Span| {
                        each(
                            &text[el.start..el.end],
                            Position {
                                index: *index,
                                line,
                            },
                        );
                        *index += 1;
                    });
                    r.map_err(|e| format!("Records array: {}", scan_msg(&e)))?;
                    // Finish the enclosing object (other keys may follow Records).
                    json_scan::value_end(b, i).map_err(|e| scan_msg(&e))
                }
                Some(sp) => Err(format!(
                    "Records is {}, not an array",
                    match b.get(sp.start) {
                        Some(b'{') => "an object",
                        Some(b'"') => "a string",
                        Some(b'n') => "null",
                        Some(_) => "a scalar",
                        None => "missing (the object ends after its key)",
                    }
                )),
                None => {
                    let end = json_scan::value_end(b, i).map_err(|e| scan_msg(&e))?;
                    each(
                        &text[i..end],
                        Position {
                            index: *index,
                            line,
                        },
                    );
                    *index += 1;
                    Ok(end)
                }
            }
        }
        b'[' => json_scan::array_elements(b, i, |el: Span| {
            each(
                &text[el.start..el.end],
                Position {
                    index: *index,
                    line,
                },
            );
            *index += 1;
        })
        .map_err(|e| scan_msg(&e)),
        c => Err(format!(
            "not JSON: unexpected {} at byte {i}",
            if c.is_ascii_graphic() {
                format!("'{}'", c as char)
            } else {
                format!("byte 0x{c:02x}")
            }
        )),
    }
}

/// The envelope of a delivery file; other keys are skipped.
#[derive(serde::Deserialize)]
struct Outer<'a> {
    #[serde(borrow, rename = "Records", default)]
    records: Option<Vec<&'a serde_json::value::RawValue>>,
}

fn scan_msg(e: &ScanError) -> String {
    match e {
        ScanError::Truncated { .. } => format!("truncated JSON: {e}"),
        ScanError::Unexpected { .. } => format!("malformed JSON: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::cloudtrail::CloudTrailBuilder;

    /// Record text, index and line of each record found, and the shape error.
    type Split = (Vec<(String, i64, Option<i64>)>, Option<String>);

    fn records(text: &str) -> Split {
        let mut v = vec![];
        let e = split_records(text, |t, p| v.push((t.to_string(), p.index, p.line)));
        (v, e)
    }

    #[test]
    fn delivery_file() {
        let (v, e) = records(r#"{"Records":[{"a":1},{"b":2}]}"#);
        assert_eq!(e, None);
        assert_eq!(
            v.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            vec![r#"{"a":1}"#, r#"{"b":2}"#]
        );
        assert_eq!(v[1].1, 1);
        assert_eq!(v[1].2, None);
    }

    #[test]
    fn records_not_an_array() {
        let (v, e) = records(r#"{"Records":{"a":1}}"#);
        assert!(v.is_empty());
        assert_eq!(e.as_deref(), Some("Records is an object, not an array"));
    }

    #[test]
    fn ndjson_with_a_broken_line_keeps_the_others() {
        let (v, e) = records("{\"a\":1}\n{\"b\":\n{\"c\":3}\n\n[{\"d\":4}]\n");
        assert_eq!(e, None);
        let texts: Vec<_> = v.iter().map(|r| (r.0.as_str(), r.2)).collect();
        assert_eq!(
            texts,
            vec![
                ("{\"a\":1}", Some(1)),
                ("{\"b\":", Some(2)),
                ("{\"c\":3}", Some(3)),
                ("{\"d\":4}", Some(5))
            ]
        );
    }

    #[test]
    fn pretty_printed_array_is_not_line_split() {
        let (v, e) = records("[\n  {\"a\": 1},\n  {\"b\": 2}\n]\n");
        assert_eq!(e, None);
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn concatenated_pretty_objects_get_line_numbers() {
        let (v, e) = records("{\n\"a\": 1\n}\n{\n\"b\": 2\n}");
        assert_eq!(e, None);
        assert_eq!(
            v.iter().map(|r| r.2).collect::<Vec<_>>(),
            vec![Some(1), Some(4)]
        );
    }

    #[test]
    fn truncated_delivery_file_keeps_the_head() {
        let (v, e) = records(r#"{"Records":[{"a":1},{"b":2},{"c""#);
        assert_eq!(v.len(), 2);
        assert!(e.unwrap().starts_with("Records array: truncated JSON"));
    }

    /// Regression: two gzip members of equal uncompressed length landed the first member's
    /// records only, with the object marked `ok`.
    #[test]
    fn every_gzip_member_is_read() {
        use std::io::Write;
        let member = |id: &str| {
            let body = format!(
                r#"{{"eventTime":"2024-01-01T00:00:00Z","eventID":"{id}","eventName":"GetObject"}}"#
            );
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(body.as_bytes()).unwrap();
            enc.write_all(b"\n").unwrap();
            enc.finish().unwrap()
        };
        let mut gz = member("aaaa");
        gz.extend(member("bbbb"));
        let mut b = CloudTrailBuilder::new();
        let out = parse_object(&gz, "k", &mut b, Limits::default());
        assert_eq!(
            (out.status, out.events),
            (ObjectStatus::Ok, 2),
            "{:?}",
            out.error
        );
    }

    #[test]
    fn gzip_truncated_is_partial() {
        use std::io::Write;
        let mut body = String::from(r#"{"Records":["#);
        for i in 0..2000 {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&format!(
                r#"{{"eventTime":"2024-01-01T00:00:00Z","eventID":"{i}","eventName":"GetObject"}}"#
            ));
        }
        body.push_str("]}");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(body.as_bytes()).unwrap();
        let gz = enc.finish().unwrap();
        let mut b = CloudTrailBuilder::new();
        let full = parse_object(&gz, "k", &mut b, Limits::default());
        assert_eq!((full.status, full.events), (ObjectStatus::Ok, 2000));
        let cut_gz = &gz[..gz.len() / 2];
        let part = parse_object(cut_gz, "k", &mut b, Limits::default());
        assert_eq!(part.status, ObjectStatus::Partial);
        assert!(part.events > 100 && part.events < 2000, "{}", part.events);
        assert!(part.error.unwrap().contains("gzip"));
    }

    /// Regression (hardening, wrong reasons): a file of bare numbers was an `ok` object with
    /// every record rejected as "record is a number".
    #[test]
    fn json_values_that_are_no_records_are_not_a_log_file() {
        let mut b = CloudTrailBuilder::new();
        let o = parse_object(b"123 456\n789\n", "k", &mut b, Limits::default());
        assert_eq!((o.status, o.rejects.len()), (ObjectStatus::Failed, 0));
        assert!(o.error.unwrap().starts_with("not a log file"));
        // One object among them: a log file with bad records.
        let o = parse_object(
            b"1\n{\"eventTime\":\"2024-01-01T00:00:00Z\"}\n",
            "k",
            &mut b,
            Limits::default(),
        );
        assert_eq!(
            (o.status, o.events, o.rejects.len()),
            (ObjectStatus::Ok, 1, 1)
        );
    }

    /// Found by the fuzzer (`tests/it/fuzz.rs`): `{"Records":` with nothing after the key
    /// indexed past the end of the text and panicked.
    #[test]
    fn records_key_at_the_end_of_the_text_is_an_error() {
        let mut b = CloudTrailBuilder::new();
        for text in [&b"{\"Records\":"[..], b"{\"Records\":   ", b"{\"Records\""] {
            let o = parse_object(text, "k", &mut b, Limits::default());
            assert_eq!(
                o.status,
                ObjectStatus::Failed,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn not_json_fails() {
        let mut b = CloudTrailBuilder::new();
        let o = parse_object(b"PK\x03\x04 zip", "k", &mut b, Limits::default());
        assert_eq!(o.status, ObjectStatus::Failed);
        assert!(o.error.unwrap().contains("not JSON"));
        let o = parse_object(b"", "k", &mut b, Limits::default());
        assert_eq!(o.error.as_deref(), Some("object is empty"));
    }

    #[test]
    fn invalid_utf8_is_repaired_and_counted() {
        let mut b = CloudTrailBuilder::new();
        let o = parse_object(
            b"{\"eventTime\":\"2024-01-01T00:00:00Z\",\"userAgent\":\"a\xffb\"}",
            "k",
            &mut b,
            Limits::default(),
        );
        assert_eq!(
            (o.status, o.events, o.warnings.count),
            (ObjectStatus::Ok, 1, 1)
        );
    }

    /// Regression (hardening, item 6): a bomb was inflated up to the limit before it was
    /// refused, on every worker at once (four 2 MB bombs: 8.4 GB). It is now measured into
    /// nothing first, and a large buffer is not kept between objects.
    #[test]
    fn gzip_bombs_are_measured_before_a_buffer_is_sized() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..96 {
            enc.write_all(&zeros).unwrap();
        }
        let bomb = enc.finish().unwrap();
        assert!(inflated_len(&bomb[..], 200 << 20) == 96 << 20);
        assert!(inflated_len(&bomb[..], 10 << 20) > 10 << 20);
        let mut scratch = vec![];
        let limits = Limits {
            max_decompressed: 80 << 20,
        };
        let o = parse_object_with(
            &bomb,
            "k",
            &mut CloudTrailBuilder::new(),
            limits,
            &mut scratch,
            None,
        );
        assert_eq!(o.status, ObjectStatus::Failed);
        assert!(o.error.unwrap().contains("exceeds the 83886080 byte limit"));
        assert_eq!(scratch.capacity(), 0, "no buffer was sized for the bomb");
    }

    /// Regression (hardening, item 6): one record with a 300 MB field took ingest to 2.5 GB
    /// (the text, the field, the raw column and Parquet each held a copy). A record past
    /// [`MAX_RECORD`] is rejected with its size; the records around it land.
    #[test]
    fn a_huge_record_is_rejected_and_its_neighbours_kept() {
        let big = format!(
            r#"{{"eventTime":"2026-10-01T00:00:00Z","userAgent":"{}"}}"#,
            "a".repeat(MAX_RECORD)
        );
        let ok = r#"{"eventTime":"2026-10-01T00:00:00Z","eventID":"x"}"#;
        let text = format!(r#"{{"Records":[{ok},{big},{ok}]}}"#);
        let mut b = CloudTrailBuilder::new();
        let o = parse_object(text.as_bytes(), "k", &mut b, Limits::default());
        assert_eq!(
            (o.status, o.events, o.rejects.len()),
            (ObjectStatus::Ok, 2, 1)
        );
        assert!(
            o.rejects[0].reason.contains("-byte limit of one record"),
            "{}",
            o.rejects[0].reason
        );
        assert_eq!(o.rejects[0].index, 1);
        assert!(o.rejects[0].raw.len() <= MAX_REJECT_RAW);
    }

    #[test]
    fn gzip_bomb_is_refused() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b' '; 4 << 20]).unwrap();
        let gz = enc.finish().unwrap();
        let mut b = CloudTrailBuilder::new();
        let o = parse_object(
            &gz,
            "k",
            &mut b,
            Limits {
                max_decompressed: 1 << 20,
            },
        );
        assert_eq!(o.status, ObjectStatus::Failed);
        assert!(o.error.unwrap().contains("limit"));
    }
}
