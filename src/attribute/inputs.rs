//! Attribution's inputs, extracted once per day, so that a nightly run reads the new day's
//! CloudTrail and small extracts of the others instead of the whole lake.
//!
//! ```text
//!  cloudtrail/event_date=D/*.parquet ──► the day's issuing calls, long-term-key calls, and
//!      access keys with their source addresses (each input's query over that day) ──►
//!      _pipewarden/attribution/<input>/event_date=D/<fingerprint>.parquet
//!                                          │
//!  attribution (super::register) ◄─────────┘  (tables `attribution_issued`, `attribution_keys`,
//!                                              `attribution_networks`: the current files)
//! ```
//!
//! Each input keeps the columns of `cloudtrail` that attribution reads, under their names, so the
//! same queries run over either. A day's file is named by the fingerprint of the day's CloudTrail
//! files (path and size), the input's query and the version: a late delivery or a replaced object
//! gives the day new files and a new extract. Extracts are rebuildable data; a lake that cannot
//! take them is attributed from `cloudtrail` itself.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::prelude::SessionContext;
use object_store::path::Path;

use crate::lake::Lake;
use crate::lake::catalog::CLOUDTRAIL;
use crate::lake::writer::day_string;
use crate::profiles::{
    ProfileError, conform_to, contiguous, day_files, file_name, of_day, register_files, write_file,
};

/// One input: the table it is registered as, the `cloudtrail` columns it keeps, which calls, and
/// whether its rows are distinct per day.
pub struct Input {
    /// Table name in a session.
    pub table: &'static str,
    /// Columns of `cloudtrail`, kept under their names.
    pub columns: &'static [&'static str],
    /// Which calls (a condition over `cloudtrail`).
    pub filter: &'static str,
    /// Rows distinct per day (the columns grouped).
    pub distinct: bool,
}

/// The inputs of attribution.
pub const INPUTS: &[Input] = &[
    // The calls that issued credentials (lineage::sessions_sql).
    Input {
        table: "attribution_issued",
        columns: &[
            "issued_access_key_id",
            "event_time",
            "event_name",
            "user_type",
            "user_arn",
            "user_access_key_id",
            "user_invoked_by",
            "user_name",
            "session_issuer_arn",
            "user_identity_provider",
            "request_parameters",
            "response_elements",
            "error_code",
        ],
        filter: "issued_access_key_id IS NOT NULL AND error_code IS NULL",
        distinct: false,
    },
    // Long-term-key calls (super::key_windows).
    Input {
        table: "attribution_keys",
        columns: &[
            "user_arn",
            "user_access_key_id",
            "user_type",
            "source_ip_address",
            "event_time",
        ],
        filter: "user_type IN ('IAMUser', 'Root') AND user_access_key_id LIKE 'AKIA%' \
                 AND user_arn IS NOT NULL",
        distinct: false,
    },
    // Each access key's source addresses per day (the networks a pipeline's sessions call from).
    Input {
        table: "attribution_networks",
        columns: &["user_access_key_id", "source_ip_address"],
        filter: "user_access_key_id IS NOT NULL AND source_ip_address IS NOT NULL",
        distinct: true,
    },
];

/// Where an input's files lie: `_pipewarden/attribution/<table>/`.
const DIR: &str = "attribution";

impl Input {
    fn dir(&self) -> String {
        format!("{}/{DIR}/{}", crate::lake::META_DIR, self.table)
    }

    /// Schema: `event_date`, then the kept columns as `cloudtrail` types them.
    pub fn schema(&self) -> SchemaRef {
        let ct = (CLOUDTRAIL.schema)();
        let mut fields = vec![Field::new("event_date", DataType::Date32, false)];
        for c in self.columns {
            let f = ct
                .field_with_name(c)
                .map(|f| f.as_ref().clone())
                .unwrap_or_else(|_| Field::new(*c, DataType::Utf8, true));
            fields.push(f.with_nullable(true));
        }
        Arc::new(Schema::new(fields))
    }

    /// The query that extracts days `first..=last`.
    fn sql(&self, first: i32, last: i32) -> String {
        let cols = self.columns.join(", ");
        let mut sql = format!(
            "SELECT event_date, {cols} FROM cloudtrail WHERE ({}) \
             AND event_date >= DATE '{}' AND event_date <= DATE '{}'",
            self.filter,
            day_string(first),
            day_string(last)
        );
        if self.distinct {
            sql.push_str(&format!(" GROUP BY event_date, {cols}"));
        }
        sql
    }
}

/// Makes every day's extract of every input current, then registers the inputs' tables over the
/// current files. Attribution ([`super::register`]) reads them when they are registered.
pub async fn prepare(lake: &Lake, ctx: &SessionContext) -> Result<(), ProfileError> {
    let event_files = day_files(lake, CLOUDTRAIL.dir).await?;
    let days: Vec<i32> = event_files.keys().copied().collect();
    let mut tables = vec![];
    for input in INPUTS {
        let query = crate::findings::fnv1a([
            env!("CARGO_PKG_VERSION"),
            input.table,
            input.sql(0, 0).as_str(),
        ]);
        let prints: std::collections::BTreeMap<i32, String> = event_files
            .iter()
            .map(|(d, files)| {
                let files: Vec<String> = files.iter().map(|(p, s)| format!("{p}:{s}")).collect();
                let parts = [format!("{query:016x}"), files.join("|")];
                let h = crate::findings::fnv1a(parts.iter().map(String::as_str));
                (*d, format!("{h:016x}"))
            })
            .collect();
        let existing = day_files(lake, &input.dir()).await?;
        let stale: Vec<i32> = days
            .iter()
            .copied()
            .filter(|d| {
                !existing
                    .get(d)
                    .is_some_and(|f| f.iter().any(|(p, _)| file_name(p) == prints[d]))
            })
            .collect();
        let schema = input.schema();
        for chunk in contiguous(&stale) {
            let (first, last) = (chunk[0], *chunk.last().expect("non-empty"));
            let batches = crate::detect::run_sql(ctx, input.table, &input.sql(first, last))
                .await
                .map_err(ProfileError::from)?;
            let batch =
                conform_to(&schema, &batches).map_err(|e| query_error(input.table, e.into()))?;
            for day in chunk {
                let rows = of_day(&batch, day).map_err(|e| query_error(input.table, e.into()))?;
                write_file(
                    lake,
                    &path(input, day, &prints[&day]),
                    &rows,
                    existing.get(&day),
                )
                .await?;
            }
        }
        let urls: Vec<String> = days
            .iter()
            .map(|d| lake.url_of(&path(input, *d, &prints[d])))
            .collect();
        tables.push((input, urls));
    }
    for (input, urls) in tables {
        register_files(ctx, input.table, input.schema(), &urls)
            .map_err(|e| query_error(input.table, e))?;
    }
    Ok(())
}

/// Whether a session reads attribution's inputs from the extracts.
pub fn registered(ctx: &SessionContext) -> bool {
    INPUTS
        .iter()
        .all(|i| ctx.table_exist(i.table).unwrap_or(false))
}

fn path(input: &Input, day: i32, print: &str) -> Path {
    Path::from(format!(
        "{}/event_date={}/{print}.parquet",
        input.dir(),
        day_string(day)
    ))
}

fn query_error(query: &str, source: datafusion::error::DataFusionError) -> ProfileError {
    ProfileError::Detect(crate::detect::DetectError::Query {
        query: query.to_string(),
        source,
    })
}
