//! What every record parser shares: where a record sits ([`Position`]), why one was rejected
//! ([`RecordError`]), the fields kept with another type ([`FieldWarnings`]), and the sink a
//! table's builder is ([`RecordSink`]: `cloudtrail`, `builds`).

use arrow::array::RecordBatch;
use serde_json::value::RawValue;

/// The time zone of every timestamp column.
pub const UTC: &str = "UTC";

/// Where parsed records go: the builder of one table's rows (`cloudtrail::CloudTrailBuilder`,
/// `builds::BuildsBuilder`). Object handling (decompression, splitting, rejects) is shared.
pub trait RecordSink: Send {
    /// Parses one record's JSON text and appends it as a row; on error nothing is appended.
    fn push(
        &mut self,
        text: &str,
        source_object: &str,
        pos: Position,
        warnings: &mut FieldWarnings,
    ) -> Result<(), RecordError>;
    /// Rows appended since the last `finish`.
    fn len(&self) -> usize;
    /// Whether no rows are pending.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The pending rows as a batch; the sink is empty afterwards.
    fn finish(&mut self) -> RecordBatch;
}

/// Where a record sits in its source object.
#[derive(Debug, Clone, Copy)]
pub struct Position {
    /// 0-based position among the records of the object.
    pub index: i64,
    /// 1-based line number, for line-delimited objects.
    pub line: Option<i64>,
}

/// Why a record was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError(pub String);

/// Warnings about fields that were kept but did not have the expected type.
#[derive(Debug, Default)]
pub struct FieldWarnings {
    /// How many fields were coerced.
    pub count: u64,
    /// The first warning, as an example for the report.
    pub first: Option<String>,
}

impl FieldWarnings {
    /// Counts a repair described by `msg` (built only for the first one).
    pub fn note(&mut self, msg: impl FnOnce() -> String) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some(msg());
        }
    }

    /// Counts a field kept with an unexpected JSON type.
    pub fn push(&mut self, field: &str, expected: &str, raw: &RawValue) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some(format!(
                "field {field}: expected {expected}, found {}",
                json_kind(raw.get())
            ));
        }
    }
}

/// What kind of JSON value a text starts.
pub fn json_kind(text: &str) -> &'static str {
    match text.as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't') | Some(b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}
