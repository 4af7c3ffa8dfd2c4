//! Daily profiles: what detect's history is read from, so that a nightly run costs the new day,
//! not the history.
//!
//! ```text
//!  pipeline_events ──► queries/profiles/build.sql (one scan of a day, every detector) ──►
//!      profiles/event_date=YYYY-MM-DD/<fingerprint>.parquet   (counts per subject and value)
//!                                                      │
//!  detect: history ◄── queries/profiles/*_history.sql ◄┘  (`profile_history`: the current files)
//!          window  ◄── queries/detect/*.sql over the judged days only
//! ```
//!
//! A day's profile holds, per subject (pipeline or identity), detector and value, the units,
//! calls, writes, AccessDenied, data reads, first and last time, and for each active hour its
//! networks and APIs: counts, never events. It is rebuildable data, never the only copy of
//! anything.
//!
//! Each day's file is named by the **fingerprint** of what its counts depend on: the day's
//! CloudTrail files (a late delivery, or a changed object's rows replaced, gives new files), the
//! attribution of the sessions and long-term-key windows that can act on that day (new build
//! records, or a changed `pipewarden.toml`, change who a session belongs to), the identities and
//! accounts attribution maps (`principals`, `account_envs`), and the build query itself. A day
//! whose fingerprint has no file is rebuilt before use; `--rebuild-profiles` rebuilds every day.
//! Rebuilt days are written first, then their old files are removed; `profile_history` lists the
//! current file of each day explicitly, so a file left by a run that died is never read twice.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType};
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::prelude::SessionContext;
use object_store::path::Path;

use crate::detect::plan::{DAY_US, Window};
use crate::lake::Lake;
use crate::lake::catalog::{CLOUDTRAIL, PROFILES};
use crate::lake::writer::day_string;

/// How detect gets the history it judges the window against (`--rebuild-profiles`,
/// `--no-profiles`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum History {
    /// From the daily profiles, building the days that have none or whose inputs changed.
    #[default]
    Profiles,
    /// From the daily profiles, every day of the history rebuilt first.
    Rebuild,
    /// From the events themselves, every query over the whole history; writes nothing.
    Scan,
}

/// The daily profile of every subject (`queries/profiles/build.sql`).
pub const BUILD_SQL: (&str, &str) = (
    "queries/profiles/build.sql",
    include_str!("../queries/profiles/build.sql"),
);
/// A categorical detector's history from the profiles.
pub const DIMENSION_HISTORY_SQL: (&str, &str) = (
    "queries/profiles/dimension_history.sql",
    include_str!("../queries/profiles/dimension_history.sql"),
);
/// The volume and errors history from the profiles.
pub const VOLUME_HISTORY_SQL: (&str, &str) = (
    "queries/profiles/volume_history.sql",
    include_str!("../queries/profiles/volume_history.sql"),
);
/// The hourly (burst) history from the profiles.
pub const HOURLY_HISTORY_SQL: (&str, &str) = (
    "queries/profiles/hourly_history.sql",
    include_str!("../queries/profiles/hourly_history.sql"),
);

/// The errors detector's rate history (each unit's busiest five minutes) from the profiles.
pub const ERROR_PEAKS_HISTORY_SQL: (&str, &str) = (
    "queries/profiles/error_peaks_history.sql",
    include_str!("../queries/profiles/error_peaks_history.sql"),
);

/// The runs' calls of the history from the profiles (`${run_calls}`).
pub const RUN_CALLS_HISTORY_SQL: (&str, &str) = (
    "queries/profiles/run_calls_history.sql",
    include_str!("../queries/profiles/run_calls_history.sql"),
);

/// Each identity's secrets per hour of the history from the profiles (`${secret_history}`).
pub const SECRET_HISTORY_SQL: (&str, &str) = (
    "queries/profiles/secret_history.sql",
    include_str!("../queries/profiles/secret_history.sql"),
);

/// The table detect reads the history from: the current profile file of each history day.
pub const HISTORY_TABLE: &str = "profile_history";

/// Schema of the `profiles` table (one row per day, detector, subject and value).
pub fn schema() -> SchemaRef {
    static S: LazyLock<SchemaRef> = LazyLock::new(|| {
        let s = |n: &str| Field::new(n, DataType::Utf8, true);
        let i = |n: &str| Field::new(n, DataType::Int64, true);
        let t = |n: &str| {
            Field::new(
                n,
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            )
        };
        let l = |n: &str| {
            Field::new(
                n,
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            )
        };
        Arc::new(Schema::new(vec![
            Field::new("event_date", DataType::Date32, false),
            s("detector"),
            s("subject"),
            Field::new("principal", DataType::Boolean, true),
            s("pipeline_id"),
            s("value"),
            i("units"),
            i("events"),
            i("writes"),
            i("denied"),
            i("reads"),
            t("first_time"),
            t("last_time"),
            s("run_id"),
            s("write_env"),
            i("env_writes"),
            l("networks"),
            l("apis"),
        ]))
    });
    S.clone()
}

/// The build query with its detectors' values filled (the window placeholders are left).
pub fn build_sql() -> String {
    use crate::detect::catalog::{SECRET_READS_SQL, refused_sql, with_detector_lists};
    with_detector_lists(
        BUILD_SQL.1,
        &[
            ("secret_reads", SECRET_READS_SQL.1),
            ("refused", &refused_sql()),
        ],
    )
}

/// What [`prepare`] did.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// History days that hold events.
    pub days: usize,
    /// Days whose profile was built in this run.
    pub built: usize,
    /// Time spent building.
    pub build_time: Duration,
}

/// Errors of the profiles.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A query failed (named).
    #[error(transparent)]
    Detect(#[from] crate::detect::DetectError),
    /// The lake could not be listed or written.
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
}

/// Days built by one query: bounds memory and lets the bar move on a long backfill.
const DAYS_PER_BUILD: usize = 4;

/// A query's results, its failure named as detect's are (and timed with `PIPEWARDEN_TIMINGS`).
async fn collect(
    ctx: &SessionContext,
    name: &str,
    sql: &str,
) -> Result<Vec<RecordBatch>, ProfileError> {
    Ok(crate::detect::run_sql(ctx, name, sql).await?)
}

/// Makes the profile of every day of `history_days` ([`Window::history_days`]) that holds
/// events current (all of them with [`History::Rebuild`]), then registers [`HISTORY_TABLE`]
/// over them. `ctx` has attribution registered. A bar shows the days built when `progress` and
/// stderr is a terminal.
pub async fn prepare(
    lake: &Lake,
    ctx: &SessionContext,
    history_days: std::ops::Range<i32>,
    history: History,
    progress: bool,
) -> Result<Prepared, ProfileError> {
    let event_files = day_files(lake, CLOUDTRAIL.dir).await?;
    let days: Vec<i32> = event_files.range(history_days).map(|(d, _)| *d).collect();
    let prints = fingerprints(ctx, &event_files, &days).await?;
    let existing = day_files(lake, PROFILES.dir).await?;
    let current = |d: &i32| {
        existing
            .get(d)
            .is_some_and(|files| files.iter().any(|(p, _)| file_name(p) == prints[d]))
    };
    let stale: Vec<i32> = days
        .iter()
        .copied()
        .filter(|d| history == History::Rebuild || !current(d))
        .collect();
    let started = Instant::now();
    let bar = Bar::new(progress, stale.len());
    let sql = build_sql();
    for chunk in contiguous(&stale) {
        let w = Window {
            baseline_start: i64::from(chunk[0]) * DAY_US,
            start: (i64::from(*chunk.last().expect("non-empty")) + 1) * DAY_US,
            end: (i64::from(*chunk.last().expect("non-empty")) + 1) * DAY_US,
            trusted_end: i64::MAX,
        };
        let batches = collect(ctx, BUILD_SQL.0, &w.fill(&sql)).await?;
        let batch = conform(&batches).map_err(|e| query_error(BUILD_SQL.0, e.into()))?;
        for day in chunk {
            let rows = of_day(&batch, day).map_err(|e| query_error(BUILD_SQL.0, e.into()))?;
            write_file(
                lake,
                &profile_path(day, &prints[&day]),
                &rows,
                existing.get(&day),
            )
            .await?;
            bar.inc();
        }
    }
    bar.finish();
    let build_time = started.elapsed();
    // The current files only: the ones just written, and the ones that were current.
    let urls: Vec<String> = days
        .iter()
        .map(|d| lake.url_of(&profile_path(*d, &prints[d])))
        .collect();
    register_history(ctx, &urls).map_err(|e| query_error(HISTORY_TABLE, e))?;
    Ok(Prepared {
        days: days.len(),
        built: stale.len(),
        build_time,
    })
}

fn query_error(query: &str, source: datafusion::error::DataFusionError) -> ProfileError {
    ProfileError::Detect(crate::detect::DetectError::Query {
        query: query.to_string(),
        source,
    })
}

/// `profiles/event_date=YYYY-MM-DD/<fingerprint>.parquet`.
fn profile_path(day: i32, print: &str) -> Path {
    Path::from(format!(
        "{}/event_date={}/{print}.parquet",
        PROFILES.dir,
        day_string(day)
    ))
}

pub(crate) fn file_name(p: &Path) -> &str {
    p.filename()
        .and_then(|f| f.strip_suffix(".parquet"))
        .unwrap_or("")
}

/// Writes one day's rows to `path` (named by its fingerprint), then removes the day's other
/// files (`old`).
pub(crate) async fn write_file(
    lake: &Lake,
    path: &Path,
    rows: &RecordBatch,
    old: Option<&Vec<(Path, u64)>>,
) -> Result<(), ProfileError> {
    use object_store::ObjectStoreExt;
    let path = path.clone();
    let bytes = crate::lake::parquet_bytes(rows).map_err(|e| crate::lake::LakeError::Write {
        path: path.to_string(),
        reason: e.to_string(),
    })?;
    lake.store
        .put(&path, object_store::PutPayload::from(bytes))
        .await
        .map_err(|e| crate::lake::store_err(&path, e))?;
    for (p, _) in old.into_iter().flatten() {
        if *p != path {
            // A file left behind is never read (the history lists current files) and is
            // removed by the next rebuild of its day.
            let _ = lake.store.delete(p).await;
        }
    }
    Ok(())
}

/// The Parquet files of a day-partitioned folder, by day: (path, size).
pub(crate) async fn day_files(
    lake: &Lake,
    dir: &str,
) -> Result<BTreeMap<i32, Vec<(Path, u64)>>, ProfileError> {
    let mut out: BTreeMap<i32, Vec<(Path, u64)>> = BTreeMap::new();
    for m in lake.parquet_files(&Path::from(dir)).await? {
        let Some(day) = m
            .location
            .parts()
            .find_map(|p| p.as_ref().strip_prefix("event_date=").and_then(parse_day))
        else {
            continue;
        };
        out.entry(day).or_default().push((m.location, m.size));
    }
    Ok(out)
}

fn parse_day(s: &str) -> Option<i32> {
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some((d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days() as i32)
}

/// Runs of consecutive days, at most [`DAYS_PER_BUILD`] each.
pub(crate) fn contiguous(days: &[i32]) -> Vec<Vec<i32>> {
    let mut out: Vec<Vec<i32>> = vec![];
    for &d in days {
        match out.last_mut() {
            Some(run) if run.len() < DAYS_PER_BUILD && run.last() == Some(&(d - 1)) => run.push(d),
            _ => out.push(vec![d]),
        }
    }
    out
}

/// The build query's batches as one batch of [`schema`] (string views and list types cast).
fn conform(batches: &[RecordBatch]) -> Result<RecordBatch, arrow::error::ArrowError> {
    conform_to(&schema(), batches)
}

/// Query batches as one batch of `schema`: its columns by name, cast to its types.
pub(crate) fn conform_to(
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let mut parts = vec![];
    for b in batches {
        let cols = schema
            .fields()
            .iter()
            .map(|f| {
                let c = b.column_by_name(f.name()).ok_or_else(|| {
                    arrow::error::ArrowError::SchemaError(format!("no column {}", f.name()))
                })?;
                arrow::compute::cast(c, f.data_type())
            })
            .collect::<Result<Vec<_>, _>>()?;
        parts.push(RecordBatch::try_new(schema.clone(), cols)?);
    }
    arrow::compute::concat_batches(schema, &parts)
}

/// The rows of one day.
pub(crate) fn of_day(
    batch: &RecordBatch,
    day: i32,
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let days = batch
        .column(0)
        .as_primitive::<arrow::datatypes::Date32Type>();
    let keep: arrow::array::BooleanArray = (0..days.len())
        .map(|i| Some(!days.is_null(i) && days.value(i) == day))
        .collect();
    arrow::compute::filter_record_batch(batch, &keep)
}

/// Registers [`HISTORY_TABLE`] over these profile files (an empty table when there are none).
pub fn register_history(ctx: &SessionContext, urls: &[String]) -> datafusion::error::Result<()> {
    register_files(ctx, HISTORY_TABLE, schema(), urls)
}

/// Registers table `name` over exactly these Parquet files of `schema` (an empty table when
/// there are none), replacing a table of that name.
pub(crate) fn register_files(
    ctx: &SessionContext,
    name: &str,
    schema: SchemaRef,
    urls: &[String],
) -> datafusion::error::Result<()> {
    let _ = ctx.deregister_table(name)?;
    if urls.is_empty() {
        let t = MemTable::try_new(schema, vec![vec![]])?;
        ctx.register_table(name, Arc::new(t))?;
        return Ok(());
    }
    let paths = urls
        .iter()
        .map(ListingTableUrl::parse)
        .collect::<datafusion::error::Result<Vec<_>>>()?;
    let opts =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let cfg = ListingTableConfig::new_with_multi_paths(paths)
        .with_listing_options(opts)
        .with_schema(schema);
    ctx.register_table(name, Arc::new(ListingTable::try_new(cfg)?))?;
    Ok(())
}

/// The fingerprint of each day: its event files, the attribution that can reach it, the
/// identities and accounts attribution maps, and the build query.
async fn fingerprints(
    ctx: &SessionContext,
    event_files: &BTreeMap<i32, Vec<(Path, u64)>>,
    days: &[i32],
) -> Result<BTreeMap<i32, String>, ProfileError> {
    let wanted: BTreeSet<i32> = days.iter().copied().collect();
    let mut by_day: BTreeMap<i32, u64> = BTreeMap::new();
    // Sessions act from their issue until they expire (36 hours at most for STS), key windows
    // over their calls: each row counts on the days it spans (at most a few).
    for (table, from, to, span) in [
        ("sessions", "issued_at", "expires_at", 2),
        ("key_windows", "first_call", "last_call", 400),
    ] {
        for b in collect(ctx, table, &format!("SELECT * FROM {table}")).await? {
            let hashes = row_hashes(&b);
            let (f, t) = (time_col(&b, from), time_col(&b, to));
            for (i, h) in hashes.into_iter().enumerate() {
                let first = f[i].map_or(i32::MIN, |t| t.div_euclid(DAY_US) as i32);
                let last = t[i].map_or(first, |t| t.div_euclid(DAY_US) as i32);
                let last = last.clamp(first, first.saturating_add(span));
                for d in wanted.range(first..=last) {
                    let e = by_day.entry(*d).or_default();
                    *e = e.wrapping_add(h);
                }
            }
        }
    }
    // Only what `pipeline_events` reads: an account's evidence count grows every night, its
    // environment rarely changes.
    let mut global: u64 = 0;
    for (table, columns) in [
        ("principals", "*"),
        ("account_envs", "account_id, environment, source"),
    ] {
        for b in collect(ctx, table, &format!("SELECT {columns} FROM {table}")).await? {
            for h in row_hashes(&b) {
                global = global.wrapping_add(h);
            }
        }
    }
    let query = crate::findings::fnv1a([env!("CARGO_PKG_VERSION"), build_sql().as_str()]);
    Ok(days
        .iter()
        .map(|d| {
            let files: Vec<String> = event_files
                .get(d)
                .into_iter()
                .flatten()
                .map(|(p, size)| format!("{p}:{size}"))
                .collect();
            let parts = [
                format!("{query:016x}"),
                format!("{global:016x}"),
                format!("{:016x}", by_day.get(d).copied().unwrap_or(0)),
                files.join("|"),
            ];
            let h = crate::findings::fnv1a(parts.iter().map(String::as_str));
            (*d, format!("{h:016x}"))
        })
        .collect())
}

fn time_col(b: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    let Some(c) = b.column_by_name(name) else {
        return vec![None; b.num_rows()];
    };
    let Some(a) = c.as_primitive_opt::<TimestampMicrosecondType>() else {
        return vec![None; b.num_rows()];
    };
    (0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i)))
        .collect()
}

/// An order-independent hash of each row (every column's text), mixed so that sums of rows do
/// not cancel.
fn row_hashes(b: &RecordBatch) -> Vec<u64> {
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let opts = FormatOptions::default().with_null("\u{0}null");
    let fmts: Vec<_> = b
        .columns()
        .iter()
        .filter_map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).ok())
        .collect();
    (0..b.num_rows())
        .map(|i| {
            let cells: Vec<String> = fmts.iter().map(|f| f.value(i).to_string()).collect();
            mix(crate::findings::fnv1a(cells.iter().map(String::as_str)))
        })
        .collect()
}

/// splitmix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^ (z >> 31)
}

/// A bar of the days built, on a terminal only.
struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    fn new(progress: bool, days: usize) -> Bar {
        use std::io::IsTerminal;
        Bar((progress && days > 1 && std::io::stderr().is_terminal()).then(|| {
            let b = indicatif::ProgressBar::with_draw_target(
                Some(days as u64),
                indicatif::ProgressDrawTarget::stderr_with_hz(5),
            );
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {elapsed_precise} building daily profiles {pos}/{len} days {wide_bar}",
                )
                .expect("valid template"),
            );
            b
        }))
    }

    fn inc(&self) {
        if let Some(b) = &self.0 {
            b.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_built_in_short_runs_of_consecutive_days() {
        assert_eq!(
            contiguous(&[1, 2, 3, 4, 5, 7, 9, 10]),
            vec![vec![1, 2, 3, 4], vec![5], vec![7], vec![9, 10]]
        );
        assert!(contiguous(&[]).is_empty());
    }

    #[test]
    fn the_build_query_names_every_history_detector() {
        let sql = build_sql();
        for d in ["'principal'", "'api'", "'hour'", "'volume'", "'hourly'"] {
            assert!(sql.contains(d), "{d}");
        }
        assert!(!sql.contains("${detectors}") && !sql.contains("${denied}"));
        assert_eq!(parse_day("1970-01-02"), Some(1));
        assert_eq!(parse_day("x"), None);
    }

    #[test]
    fn row_hashes_do_not_depend_on_row_order() {
        let a = arrow::array::StringArray::from(vec![Some("a"), None, Some("b")]);
        let b =
            RecordBatch::try_from_iter(vec![("x", Arc::new(a) as arrow::array::ArrayRef)]).unwrap();
        let h = row_hashes(&b);
        assert_eq!(h.len(), 3);
        assert!(h[0] != h[1] && h[1] != h[2]);
        let sum = |v: &[u64]| v.iter().fold(0u64, |s, x| s.wrapping_add(*x));
        let rev: Vec<u64> = h.iter().rev().copied().collect();
        assert_eq!(sum(&h), sum(&rev));
    }
}
