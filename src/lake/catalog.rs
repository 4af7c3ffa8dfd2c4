//! The lake's tables, declared once: name, folder, schema and partitioning. Engine
//! registration, ingest's writers and commits, `verify`, `report` and `lint` all read these
//! declarations; none names a folder or builds a schema of its own.
//!
//! The event tables' schemas belong to their parsers ([`crate::parse::cloudtrail::schema`],
//! [`crate::parse::builds::schema`]), which build their rows; the lake's own tables (manifest,
//! rejects, findings, integrity) are declared here.

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// How a table's files are laid out under its folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partitioning {
    /// Files directly in the folder.
    None,
    /// Hive partitions `event_date=YYYY-MM-DD/` (a `Date32` column), from `event_time`.
    EventDate,
}

/// A table of the lake.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// SQL name.
    pub name: &'static str,
    /// Folder under the lake root.
    pub dir: &'static str,
    /// Arrow schema of its files (partition columns aside).
    pub schema: fn() -> SchemaRef,
    /// Layout of its files.
    pub partitioning: Partitioning,
    /// What one row is.
    pub doc: &'static str,
}

impl Table {
    /// The partition columns DataFusion adds.
    pub fn partition_cols(&self) -> Vec<(String, DataType)> {
        match self.partitioning {
            Partitioning::None => vec![],
            Partitioning::EventDate => vec![("event_date".to_string(), DataType::Date32)],
        }
    }

    /// The one file of a table that each run replaces whole (`findings/findings.parquet`).
    pub fn single_file(&self) -> String {
        format!("{}/{}.parquet", self.dir, self.name)
    }
}

/// CloudTrail events.
pub const CLOUDTRAIL: Table = Table {
    name: "cloudtrail",
    dir: "cloudtrail",
    schema: crate::parse::cloudtrail::schema,
    partitioning: Partitioning::EventDate,
    doc: "one CloudTrail event",
};

/// CI/CD build events.
pub const BUILDS: Table = Table {
    name: "builds",
    dir: "builds",
    schema: crate::parse::builds::schema,
    partitioning: Partitioning::EventDate,
    doc: "one CI/CD build event (a run, job, stage or deployment changing state)",
};

/// Every object ingest saw.
pub const MANIFEST: Table = Table {
    name: "manifest",
    dir: "manifest",
    schema: manifest_schema,
    partitioning: Partitioning::None,
    doc: "one visit of one source object",
};

/// Records that could not be parsed.
pub const REJECTS: Table = Table {
    name: "rejects",
    dir: "rejects",
    schema: rejects_schema,
    partitioning: Partitioning::None,
    doc: "one rejected record, with its text and why",
};

/// The last detect run's findings (written by `report::table`).
pub const FINDINGS: Table = Table {
    name: "findings",
    dir: "findings",
    schema: findings_schema,
    partitioning: Partitioning::None,
    doc: "one finding of the last detect or scan",
};

/// The last `verify --lake` run's problems (written by `verify`).
pub const INTEGRITY: Table = Table {
    name: "integrity",
    dir: "integrity",
    schema: integrity_schema,
    partitioning: Partitioning::None,
    doc: "one problem of the last digest verification",
};

/// The last `assess` (or `scan --assess`) run's rows (written by `assess`, read by `gate`).
pub const ASSESSMENT: Table = Table {
    name: "assessment",
    dir: "assessment",
    schema: assessment_schema,
    partitioning: Partitioning::None,
    doc: "one control of one pipeline in the last assessment",
};

/// Each day's counts per subject, detector and value, that detect reads its history from
/// (written by [`crate::profiles`]; rebuildable, `event_date` is a column of its files, which lie
/// under `event_date=YYYY-MM-DD/` folders named by their fingerprint).
pub const PROFILES: Table = Table {
    name: "profiles",
    dir: "profiles",
    schema: crate::profiles::schema,
    partitioning: Partitioning::None,
    doc: "one subject's value of one detector on one day: units, calls, writes, first and last time",
};

/// Every table, in the order sessions register them.
pub const TABLES: &[Table] = &[
    CLOUDTRAIL, BUILDS, MANIFEST, REJECTS, FINDINGS, INTEGRITY, ASSESSMENT, PROFILES,
];

/// The table of this name.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

const UTC: &str = "UTC";

/// Schema of the `manifest` table.
pub fn manifest_schema() -> SchemaRef {
    static S: LazyLock<SchemaRef> = LazyLock::new(|| {
        Arc::new(Schema::new(vec![
            Field::new("dataset", DataType::Utf8, false),
            Field::new("object", DataType::Utf8, false),
            Field::new("key_date", DataType::Date32, true),
            Field::new("account", DataType::Utf8, true),
            Field::new("region", DataType::Utf8, true),
            Field::new("size", DataType::Int64, false),
            Field::new("etag", DataType::Utf8, false),
            Field::new("status", DataType::Utf8, false),
            Field::new("error", DataType::Utf8, true),
            Field::new("events", DataType::Int64, false),
            Field::new("rejected", DataType::Int64, false),
            Field::new("warnings", DataType::Int64, false),
            Field::new("warning", DataType::Utf8, true),
            Field::new("replaced", DataType::Boolean, false),
            Field::new("commit", DataType::Utf8, false),
            Field::new(
                "ingested_at",
                DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
                false,
            ),
            // Added in the second wave: older manifest files lack it (read as null).
            Field::new("duplicates", DataType::Int64, true),
        ]))
    });
    S.clone()
}

/// Schema of the `rejects` table.
pub fn rejects_schema() -> SchemaRef {
    static S: LazyLock<SchemaRef> = LazyLock::new(|| {
        Arc::new(Schema::new(vec![
            Field::new("dataset", DataType::Utf8, false),
            Field::new("object", DataType::Utf8, false),
            Field::new("record_index", DataType::Int64, false),
            Field::new("line", DataType::Int64, true),
            Field::new("reason", DataType::Utf8, false),
            Field::new("raw", DataType::Utf8, false),
            Field::new("commit", DataType::Utf8, false),
            Field::new(
                "rejected_at",
                DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
                false,
            ),
        ]))
    });
    S.clone()
}

fn ts(name: &str, nullable: bool) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        nullable,
    )
}

fn list(name: &str) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        false,
    )
}

/// Schema of the `findings` table: one row per finding, the fields of the JSON report
/// flattened.
pub fn findings_schema() -> SchemaRef {
    let s = |n: &str| Field::new(n, DataType::Utf8, true);
    let i = |n: &str| Field::new(n, DataType::Int64, true);
    Arc::new(Schema::new(vec![
        ts("detected_at", false),
        ts("window_start", false),
        ts("window_end", false),
        Field::new("rank", DataType::Int64, false),
        Field::new("id", DataType::Utf8, false),
        Field::new("detector", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        s("pipeline_id"),
        Field::new("value", DataType::Utf8, false),
        list("environments"),
        list("run_ids"),
        ts("first_seen", true),
        ts("last_seen", true),
        Field::new("count", DataType::Int64, false),
        Field::new("score", DataType::Int32, false),
        Field::new("severity", DataType::Utf8, false),
        s("mitre_id"),
        s("mitre_name"),
        list("event_ids"),
        Field::new("explanation", DataType::Utf8, false),
        i("baseline_days"),
        i("baseline_units"),
        i("baseline_value_units"),
        i("baseline_distinct_values"),
        Field::new("suppressed", DataType::Boolean, false),
        s("suppression_reason"),
        s("suppression_expires"),
        s("subject"),
        s("incident_id"),
        // Added with session chains: older findings files lack it (read as null).
        Field::new(
            "session_chains",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            true,
        ),
    ]))
}

/// Schema of the lake's `assessment` table: one row per pipeline and control of the last
/// `assess`, the fields of the assessment JSON flattened.
pub fn assessment_schema() -> SchemaRef {
    let s = |n: &str| Field::new(n, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        ts("assessed_at", false),
        ts("period_start", false),
        ts("period_end", false),
        s("pipeline_id"),
        s("control"),
        s("status"),
        s("detail"),
        list("finding_ids"),
        list("event_ids"),
        list("run_ids"),
    ]))
}

/// Schema of the lake's `integrity` table: the problems of the last `verify --lake` run.
pub fn integrity_schema() -> arrow::datatypes::SchemaRef {
    let ts = |n: &str, null: bool| {
        Field::new(
            n,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            null,
        )
    };
    let s = |n: &str| Field::new(n, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        ts("verified_at", false),
        s("source"),
        s("kind"),
        s("account"),
        s("region"),
        s("object"),
        s("detail"),
        ts("object_time", true),
    ]))
}
