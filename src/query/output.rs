//! Writing query results: an aligned table for people, CSV, JSON Lines and Parquet for tools.
//!
//! Cells come from the logs, so every text format makes them inert: the table escapes control
//! and bidi characters (no terminal escape sequence runs), CSV neutralises spreadsheet formulas
//! ([`crate::report::escape::csv`]), JSON escapes by construction. CSV, JSON and Parquet stream
//! batch by batch; the table holds its rows to size the columns.

use std::io::Write;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// A result format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// An aligned text table (log text escaped for the terminal).
    Table,
    /// CSV with a header row (text that a spreadsheet would run as a formula gets a leading `'`;
    /// control characters other than line breaks and tabs are escaped).
    Csv,
    /// JSON Lines: one object per row.
    Json,
    /// Parquet (zstd); needs `--output` or a redirected stdout.
    Parquet,
}

/// Where the rows go and how.
pub struct Writer<W: Write + Send> {
    format: OutputFormat,
    max_width: usize,
    out: Option<W>,
    table: Vec<RecordBatch>,
    csv_header: bool,
    json: Option<arrow::json::LineDelimitedWriter<W>>,
    parquet: Option<parquet::arrow::ArrowWriter<W>>,
    rows: usize,
}

fn options() -> FormatOptions<'static> {
    FormatOptions::default().with_null("")
}

impl<W: Write + Send> Writer<W> {
    /// A writer of `format` to `out`; table cells longer than `max_width` characters are cut
    /// (0: never).
    pub fn new(format: OutputFormat, out: W, max_width: usize) -> Writer<W> {
        Writer {
            format,
            max_width,
            out: Some(out),
            table: vec![],
            csv_header: false,
            json: None,
            parquet: None,
            rows: 0,
        }
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Writes one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), OutputError> {
        self.rows += batch.num_rows();
        match self.format {
            OutputFormat::Table => self.table.push(batch.clone()),
            OutputFormat::Csv => {
                let out = self.out.as_mut().expect("open until finish");
                if !self.csv_header {
                    let names: Vec<String> = batch
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| crate::report::escape::csv(f.name()))
                        .collect();
                    writeln!(out, "{}", names.join(","))?;
                    self.csv_header = true;
                }
                let cols = formatted(batch)?;
                let schema = batch.schema();
                let numeric: Vec<bool> = schema
                    .fields()
                    .iter()
                    .map(|f| is_numeric(f.data_type()))
                    .collect();
                for r in 0..batch.num_rows() {
                    let line: Vec<String> = cols
                        .iter()
                        .zip(&numeric)
                        .map(|(c, num)| {
                            if *num {
                                c[r].clone()
                            } else {
                                crate::report::escape::csv(&crate::sanitize::inert_text(&c[r]))
                            }
                        })
                        .collect();
                    writeln!(out, "{}", line.join(","))?;
                }
            }
            OutputFormat::Json => {
                if self.json.is_none() {
                    let out = self.out.take().expect("open until finish");
                    self.json = Some(arrow::json::LineDelimitedWriter::new(out));
                }
                self.json.as_mut().expect("just set").write(batch)?;
            }
            OutputFormat::Parquet => {
                if self.parquet.is_none() {
                    self.parquet = Some(parquet_writer(
                        self.out.take().expect("open until finish"),
                        batch.schema(),
                    )?);
                }
                self.parquet.as_mut().expect("just set").write(batch)?;
            }
        }
        Ok(())
    }

    /// Ends the output (for a result with no rows, `schema` still gives the header or the
    /// Parquet schema) and hands back the destination.
    pub fn finish(mut self, schema: &SchemaRef) -> Result<W, OutputError> {
        let mut out = match self.format {
            OutputFormat::Table => {
                let text = table(schema, &self.table, self.max_width)?;
                let mut out = self.out.take().expect("open");
                out.write_all(text.as_bytes())?;
                out
            }
            OutputFormat::Csv => {
                if !self.csv_header {
                    self.write(&RecordBatch::new_empty(schema.clone()))?;
                }
                self.out.take().expect("open")
            }
            OutputFormat::Json => match self.json.take() {
                Some(mut j) => {
                    j.finish()?;
                    j.into_inner()
                }
                None => self.out.take().expect("open"),
            },
            OutputFormat::Parquet => {
                let w = match self.parquet.take() {
                    Some(w) => w,
                    None => parquet_writer(self.out.take().expect("open"), schema.clone())?,
                };
                w.into_inner()?
            }
        };
        out.flush()?;
        Ok(out)
    }
}

fn parquet_writer<W: Write + Send>(
    out: W,
    schema: SchemaRef,
) -> Result<parquet::arrow::ArrowWriter<W>, OutputError> {
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .build();
    Ok(parquet::arrow::ArrowWriter::try_new(
        out,
        schema,
        Some(props),
    )?)
}

/// Every cell of a batch as text, column by column.
fn formatted(batch: &RecordBatch) -> Result<Vec<Vec<String>>, OutputError> {
    let opts = options();
    batch
        .columns()
        .iter()
        .map(|c| {
            let f = ArrayFormatter::try_new(c.as_ref(), &opts)?;
            Ok((0..c.len()).map(|i| f.value(i).to_string()).collect())
        })
        .collect()
}

fn is_numeric(t: &DataType) -> bool {
    t.is_numeric()
}

/// An aligned table; cells escaped for the terminal and cut at `max_width` characters.
pub fn table(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    max_width: usize,
) -> Result<String, OutputError> {
    let cut = |s: &str| -> String {
        let s = crate::sanitize::for_terminal(s);
        if max_width > 0 && s.chars().count() > max_width {
            let mut t: String = s.chars().take(max_width.saturating_sub(1)).collect();
            t.push('…');
            t
        } else {
            s
        }
    };
    let fields = schema.fields();
    let headers: Vec<String> = fields.iter().map(|f| cut(f.name())).collect();
    let mut rows: Vec<Vec<String>> = vec![];
    for b in batches {
        let cols = formatted(b)?;
        for r in 0..b.num_rows() {
            rows.push(cols.iter().map(|c| cut(&c[r])).collect());
        }
    }
    let width = |s: &str| s.chars().count();
    let widths: Vec<usize> = (0..fields.len())
        .map(|c| {
            rows.iter()
                .map(|r| width(&r[c]))
                .chain([width(&headers[c])])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let rule: String = widths
        .iter()
        .map(|w| format!("+{}", "-".repeat(w + 2)))
        .collect::<String>()
        + "+\n";
    let line = |cells: &[String], numeric: &dyn Fn(usize) -> bool| -> String {
        let mut s = String::new();
        for (c, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[c] - width(cell));
            if numeric(c) {
                s.push_str(&format!("| {pad}{cell} "));
            } else {
                s.push_str(&format!("| {cell}{pad} "));
            }
        }
        s + "|\n"
    };
    let mut out = String::new();
    out.push_str(&rule);
    out.push_str(&line(&headers, &|_| false));
    out.push_str(&rule);
    for r in &rows {
        out.push_str(&line(r, &|c| is_numeric(fields[c].data_type())));
    }
    if !rows.is_empty() {
        out.push_str(&rule);
    }
    Ok(out)
}

/// Writing results failed.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The destination refused the bytes (a closed pipe is handled by the caller).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Arrow could not format a value.
    #[error("{0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Parquet could not encode the rows.
    #[error("{0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use std::sync::Arc;

    fn batch() -> RecordBatch {
        RecordBatch::try_from_iter(vec![
            (
                "who",
                Arc::new(StringArray::from(vec![
                    Some("=HYPERLINK(\"http://x\")"),
                    Some("a\u{1b}[31mred"),
                    None,
                ])) as _,
            ),
            ("n", Arc::new(Int64Array::from(vec![1, -20, 300])) as _),
        ])
        .unwrap()
    }

    fn render(format: OutputFormat) -> String {
        let b = batch();
        let mut buf = vec![];
        let mut w = Writer::new(format, &mut buf, 12);
        w.write(&b).unwrap();
        assert_eq!(w.rows(), 3);
        w.finish(&b.schema()).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn table_is_escaped_aligned_and_cut() {
        let t = render(OutputFormat::Table);
        assert!(!t.contains('\u{1b}'), "{t}");
        assert!(t.contains("a\\u{1b}[31m…"), "{t}");
        assert!(
            t.contains("| -20 |") && t.contains("|   1 |"),
            "numbers align right: {t}"
        );
        let widths: Vec<usize> = t.lines().map(|l| l.chars().count()).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{t}");
    }

    #[test]
    fn csv_neutralises_formulas_but_not_numbers() {
        let t = render(OutputFormat::Csv);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "who,n");
        assert_eq!(lines[1], "\"'=HYPERLINK(\"\"http://x\"\")\",1");
        assert_eq!(lines[2], "a\\u{1b}[31mred,-20", "a number stays a number");
        assert_eq!(lines[3], ",300");
    }

    #[test]
    fn json_lines_escape_control_characters() {
        let t = render(OutputFormat::Json);
        assert_eq!(t.lines().count(), 3);
        assert!(t.contains("\\u001b"), "{t}");
        let v: serde_json::Value = serde_json::from_str(t.lines().nth(2).unwrap()).unwrap();
        assert_eq!(v["n"], 300);
    }

    #[test]
    fn parquet_round_trips_and_empty_results_keep_their_schema() {
        let b = batch();
        let mut buf = vec![];
        let w = Writer::new(OutputFormat::Parquet, &mut buf, 0);
        w.finish(&b.schema()).unwrap();
        let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            bytes::Bytes::from(buf),
        )
        .unwrap();
        assert_eq!(r.schema().fields().len(), 2);
        let mut csv = vec![];
        Writer::new(OutputFormat::Csv, &mut csv, 0)
            .finish(&b.schema())
            .unwrap();
        assert_eq!(String::from_utf8(csv).unwrap(), "who,n\n");
    }
}
