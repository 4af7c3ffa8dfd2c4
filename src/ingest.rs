//! `pipewarden ingest`: source → parse → lake, streaming, on every core.
//!
//! ```text
//!  list (async) ─► decide (manifest) ─► GET (bounded, async) ─► parse workers (1 per core)
//!                                                                  │ chunks of ~8k rows
//!                                                                  ▼
//!                                                   writer: split by date, Parquet, commit
//! ```
//!
//! Every queue is bounded, so memory follows batch and row-group sizes, not input size. Bad
//! objects and records are reported, counted, recorded in the manifest (and `rejects`), and the
//! run goes on.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use bytes::Bytes;
use futures::StreamExt;

use crate::aws::{AwsContext, S3Options};
use crate::lake::manifest::{Decision, ManifestEntry, STATUS_OPEN, STATUS_UNREADABLE, SeenObjects};
use crate::lake::transaction::{Committed, Transaction};
use crate::lake::writer::WriterConfig;
use crate::lake::{Access, Dataset, Lake, LakeError, LakeLocation};
use crate::parse::builds::BuildsBuilder;
use crate::parse::cloudtrail::CloudTrailBuilder;
use crate::parse::{
    Flush, Limits, ObjectOutcome, ObjectStatus, RecordSink, RejectedRecord, parse_object_with,
};
pub use crate::progress::Counters;
use crate::progress::Reporter;
use crate::source::layout::KeyKind;
use crate::source::{DateRange, Listed, ObjectRef, Source, SourceError, parse_s3_uri};

/// A validated ingest plan.
#[derive(Debug, Clone)]
pub struct IngestPlan {
    /// `s3://bucket/prefix` or a folder (or a single file).
    pub from: String,
    /// The lake.
    pub lake: LakeLocation,
    /// What the source holds: CloudTrail events or build records.
    pub dataset: Dataset,
    /// Key-date window.
    pub range: DateRange,
    /// Exit non-zero on any bad input.
    pub strict: bool,
    /// Concurrent GETs.
    pub concurrency: usize,
    /// Parse workers.
    pub workers: usize,
    /// Events per commit.
    pub commit_every: u64,
    /// Rows per parsed chunk.
    pub batch_rows: usize,
    /// Limits against hostile objects.
    pub limits: Limits,
    /// S3 endpoint and addressing.
    pub s3: S3Options,
    /// Parquet sizing.
    pub writer: WriterConfig,
    /// Show a progress bar (only drawn on a terminal).
    pub progress: bool,
    /// Refuse log files the last `pipewarden verify --lake` found modified or in no digest.
    pub refuse_unverified: bool,
}

impl IngestPlan {
    /// A plan with defaults for everything but the two locations.
    pub fn new(from: impl Into<String>, lake: LakeLocation) -> Self {
        IngestPlan {
            from: from.into(),
            lake,
            dataset: Dataset::CloudTrail,
            range: DateRange::default(),
            strict: false,
            concurrency: 32,
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            commit_every: 1_000_000,
            batch_rows: 4096,
            limits: Limits::default(),
            s3: S3Options::default(),
            writer: WriterConfig::default(),
            refuse_unverified: false,
            progress: true,
        }
    }
}

/// Errors that stop an ingest (bad input never does).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The source could not be listed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The lake could not be written.
    #[error(transparent)]
    Lake(#[from] LakeError),
    /// Something else (runtime, threads).
    #[error("{0}")]
    Other(String),
}

/// What an ingest did, for the summary line and for tests.
#[derive(Debug, Default, Clone)]
pub struct IngestSummary {
    /// Objects read and parsed.
    pub objects: u64,
    /// Objects skipped because the manifest has them unchanged.
    pub unchanged: u64,
    /// Digest and Insight objects left alone.
    pub not_logs: u64,
    /// Events landed.
    pub events: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Fields coerced or repaired.
    pub warnings: u64,
    /// Objects that yielded nothing.
    pub failed: u64,
    /// Objects cut short.
    pub partial: u64,
    /// Objects that could not be read (retried next run).
    pub unreadable: u64,
    /// Objects seen before with another ETag.
    pub changed: u64,
    /// Rows of earlier versions of changed objects removed.
    pub replaced_rows: u64,
    /// Compressed bytes read.
    pub bytes_in: u64,
    /// Decompressed bytes parsed.
    pub bytes_decoded: u64,
    /// Commits made.
    pub commits: u64,
    /// Event files written.
    pub files: u64,
    /// Pending commits rolled forward at start.
    pub recovered: u64,
    /// Events dropped as duplicates: CloudTrail events delivered again (same event id and
    /// recipient account), audit streams' repeats ([`crate::lake::dedupe`]).
    pub duplicates: u64,
    /// Wall time.
    pub elapsed: Duration,
}

impl IngestSummary {
    /// Counts a commit's files and replaced rows.
    fn add_commit(&mut self, c: Committed) {
        self.files += c.files;
        self.replaced_rows += c.replaced_rows;
        self.commits += 1;
    }

    /// Whether any input was bad (for `--strict`).
    pub fn had_bad_input(&self) -> bool {
        self.rejected > 0
            || self.failed > 0
            || self.partial > 0
            || self.unreadable > 0
            || self.warnings > 0
    }

    /// The one-line summary.
    pub fn line(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        format!(
            "ingested {} events from {} objects in {:.1}s ({:.0} events/s, {:.1} MB/s decompressed); \
             {} unchanged skipped, {} digest/insight skipped, {} changed ({} old rows replaced); bad input: {} rejected records, \
             {} failed, {} partial, {} unreadable objects, {} coerced fields; {} duplicate events dropped; {} commits, {} files",
            self.events,
            self.objects,
            secs,
            self.events as f64 / secs,
            self.bytes_decoded as f64 / secs / 1e6,
            self.unchanged,
            self.not_logs,
            self.changed,
            self.replaced_rows,
            self.rejected,
            self.failed,
            self.partial,
            self.unreadable,
            self.warnings,
            self.duplicates,
            self.commits,
            self.files,
        )
    }
}

enum Payload {
    Bytes(Bytes),
    File,
    /// An S3 object too large to hold: the worker reads it as a stream (GET on `rt`).
    S3Stream {
        source: Source,
        rt: tokio::runtime::Handle,
    },
    Unreadable(String),
}

struct Work {
    obj: ObjectRef,
    payload: Payload,
    changed: bool,
}

/// What a parse worker hands the writer: rows, the objects they came from, their rejects.
struct Chunk {
    /// The worker that sent it.
    worker: usize,
    batch: Option<RecordBatch>,
    /// Objects read to their end.
    objects: Vec<ManifestEntry>,
    rejects: Vec<(String, RejectedRecord)>,
    /// The object the worker is still reading (its counts so far, status `open`): part of its
    /// rows are in this chunk or earlier ones.
    open: Option<ManifestEntry>,
}

#[derive(Default)]
struct ListStats {
    unchanged: u64,
    not_logs: u64,
    changed: u64,
}

/// Runs an ingest to completion on a runtime of its own (for library callers; the binary
/// shares its one runtime through [`run_on`]).
pub fn run(plan: &IngestPlan) -> Result<IngestSummary, IngestError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(plan.workers.clamp(1, 4))
        .enable_all()
        .build()
        .map_err(|e| IngestError::Other(format!("cannot start the async runtime: {e}")))?;
    run_on(plan, rt.handle())
}

/// Runs an ingest to completion, its I/O on `rt` (called from outside the runtime).
pub fn run_on(
    plan: &IngestPlan,
    rt: &tokio::runtime::Handle,
) -> Result<IngestSummary, IngestError> {
    let start = Instant::now();
    let needs_aws = plan.from.starts_with("s3://") || plan.lake.is_s3();
    let aws = if needs_aws {
        Some(rt.block_on(AwsContext::load(&plan.s3)))
    } else {
        None
    };
    let source = match parse_s3_uri(&plan.from) {
        Some((bucket, prefix)) => Source::S3 {
            client: aws.as_ref().expect("loaded for s3").s3_client(),
            bucket,
            prefix,
        },
        None if plan.from.starts_with("s3://") => {
            return Err(SourceError::List {
                location: plan.from.clone(),
                reason: "not a valid s3://bucket/prefix URI".into(),
            }
            .into());
        }
        None => Source::Local {
            root: plan.from.clone().into(),
        },
    };
    let lake = Lake::open(&plan.lake, aws.as_ref(), Access::Create)?;
    lake.lock()?;
    let recovery = rt.block_on(lake.recover())?;
    let seen = rt.block_on(SeenObjects::load(&lake, plan.dataset.name()))?;
    let refused = if plan.refuse_unverified {
        rt.block_on(crate::verify::refused_objects(&lake))
            .map_err(|e| IngestError::Other(format!("--refuse-unverified: {e}")))?
    } else {
        Default::default()
    };

    let reporter = Arc::new(Reporter::new(plan.progress));
    let counters = Arc::new(Counters::default());
    let (work_tx, work_rx) = async_channel::bounded::<Work>(plan.workers * 4);
    // Chunks are the largest things in flight: keep few of them queued.
    let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Chunk>(1);

    let producer = rt.spawn(produce(
        source,
        plan.range,
        plan.concurrency,
        seen,
        Arc::new(refused),
        work_tx,
    ));

    let mut workers = vec![];
    for i in 0..plan.workers {
        let rx = work_rx.clone();
        let tx = chunk_tx.clone();
        let counters = counters.clone();
        let limits = plan.limits;
        let batch_rows = plan.batch_rows;
        let dataset = plan.dataset;
        let h = std::thread::Builder::new()
            .name(format!("parse-{i}"))
            .spawn(move || parse_worker(i, rx, tx, counters, limits, batch_rows, dataset))
            .map_err(|e| IngestError::Other(format!("cannot start a parse thread: {e}")))?;
        workers.push(h);
    }
    drop(work_rx);
    drop(chunk_tx);

    let ticker = reporter.start_ticker(counters.clone());
    let written = write_loop(&lake, rt, plan, chunk_rx, &reporter);
    // On a writer error, dropping the receiver stops the workers and then the producer.
    for w in workers {
        let _ = w.join();
    }
    let listed = rt
        .block_on(producer)
        .map_err(|e| IngestError::Other(format!("listing task failed: {e}")));
    reporter.finish(ticker);
    let mut summary = written?;
    let listed = listed??;

    summary.unchanged = listed.unchanged;
    summary.not_logs = listed.not_logs;
    summary.changed = listed.changed;
    summary.recovered = recovery.rolled_forward as u64;
    summary.bytes_in = counters.bytes_in.load(Ordering::Relaxed);
    summary.bytes_decoded = counters.bytes_decoded.load(Ordering::Relaxed);
    summary.elapsed = start.elapsed();
    if reporter.suppressed() > 0 {
        reporter.message(&format!(
            "... and {} more bad-input messages (see the manifest and rejects tables)",
            reporter.suppressed()
        ));
    }
    Ok(summary)
}

async fn produce(
    source: Source,
    range: DateRange,
    concurrency: usize,
    seen: SeenObjects,
    refused: Arc<std::collections::HashMap<String, String>>,
    work_tx: async_channel::Sender<Work>,
) -> Result<ListStats, SourceError> {
    let (list_tx, list_rx) = tokio::sync::mpsc::channel::<Listed>(1024);
    let lister = {
        let source = source.clone();
        tokio::spawn(async move { source.list(range, list_tx).await })
    };
    let mut stats = ListStats::default();
    let stats_ref = &mut stats;
    let todo = tokio_stream_from(list_rx).filter_map(move |l| {
        // (object, whether an earlier version of it is in the lake)
        let out = match l {
            Listed::Skipped(KeyKind::Digest | KeyKind::Insight) => {
                stats_ref.not_logs += 1;
                None
            }
            Listed::Skipped(_) => None,
            Listed::Object(obj) => match seen.decide(&obj.uri, &obj.etag) {
                Decision::Unchanged => {
                    stats_ref.unchanged += 1;
                    None
                }
                Decision::Changed => {
                    stats_ref.changed += 1;
                    Some((obj, true))
                }
                Decision::New | Decision::Retry => Some((obj, false)),
            },
        };
        futures::future::ready(out)
    });
    let source_ref = &source;
    let refused_ref = &refused;
    let mut fetched = todo
        .map(|(obj, changed)| async move {
            // Recorded as unreadable: counted, kept in the manifest, tried again next run.
            if let Some(why) = refused_ref.get(&obj.uri) {
                return Work {
                    obj,
                    payload: Payload::Unreadable(format!("refused: {why}")),
                    changed,
                };
            }
            match source_ref {
                Source::Local { .. } => Work {
                    obj,
                    payload: Payload::File,
                    changed,
                },
                // Too large to hold: read by the worker as a stream.
                Source::S3 { .. } if obj.size > crate::parse::stream::STREAM_ABOVE as u64 => Work {
                    obj,
                    payload: Payload::S3Stream {
                        source: source_ref.clone(),
                        rt: tokio::runtime::Handle::current(),
                    },
                    changed,
                },
                Source::S3 { .. } => match source_ref.fetch(&obj).await {
                    Ok((bytes, etag)) => Work {
                        obj: ObjectRef { etag, ..obj },
                        payload: Payload::Bytes(bytes),
                        changed,
                    },
                    Err(e) => Work {
                        obj,
                        payload: Payload::Unreadable(e.to_string()),
                        changed,
                    },
                },
            }
        })
        .buffer_unordered(concurrency.max(1));
    while let Some(w) = fetched.next().await {
        if work_tx.send(w).await.is_err() {
            break;
        }
    }
    drop(fetched);
    lister.await.map_err(|e| SourceError::List {
        location: source.describe(),
        reason: e.to_string(),
    })??;
    Ok(stats)
}

fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// A parse worker: its builder fills with the rows of several objects, handed to the writer
/// every `batch_rows` rows, between objects or inside a large one.
struct Worker {
    builder: Box<dyn RecordSink>,
    out: Outbox,
}

/// What a worker has for the writer besides the builder's rows.
struct Outbox {
    id: usize,
    tx: mpsc::SyncSender<Chunk>,
    /// Objects read whole whose rows (some of them) are still in the builder.
    objects: Vec<ManifestEntry>,
    rejects: Vec<(String, RejectedRecord)>,
}

impl Outbox {
    /// Hands the builder's pending rows on with the objects and rejects, and the object still
    /// being read (`open`); false once the writer has gone.
    fn send(&mut self, builder: &mut dyn RecordSink, open: Option<ManifestEntry>) -> bool {
        let batch = if builder.is_empty() {
            None
        } else {
            Some(builder.finish())
        };
        self.tx
            .send(Chunk {
                worker: self.id,
                batch,
                objects: std::mem::take(&mut self.objects),
                rejects: std::mem::take(&mut self.rejects),
                open,
            })
            .is_ok()
    }
}

fn parse_worker(
    id: usize,
    rx: async_channel::Receiver<Work>,
    tx: mpsc::SyncSender<Chunk>,
    counters: Arc<Counters>,
    limits: Limits,
    batch_rows: usize,
    dataset: Dataset,
) {
    let builder: Box<dyn RecordSink> = match dataset {
        Dataset::CloudTrail => Box::new(CloudTrailBuilder::new()),
        Dataset::Builds => Box::new(BuildsBuilder::new()),
    };
    let mut w = Worker {
        builder,
        out: Outbox {
            id,
            tx,
            objects: vec![],
            rejects: vec![],
        },
    };
    let mut scratch = Vec::new();
    while let Ok(work) = rx.recv_blocking() {
        let Some(entry) = parse_one(
            work,
            dataset,
            &mut w,
            &counters,
            limits,
            batch_rows,
            &mut scratch,
        ) else {
            return;
        };
        w.out.objects.push(entry);
        if scratch.capacity() > crate::parse::KEEP_SCRATCH {
            scratch = Vec::new();
        }
        if (w.builder.len() >= batch_rows || w.out.objects.len() >= 4096)
            && !w.out.send(w.builder.as_mut(), None)
        {
            return;
        }
    }
    if !w.out.objects.is_empty() {
        w.out.send(w.builder.as_mut(), None);
    }
}

/// Reads one object into the worker's builder; None when the writer has gone.
fn parse_one(
    work: Work,
    dataset: Dataset,
    w: &mut Worker,
    counters: &Counters,
    limits: Limits,
    batch_rows: usize,
    scratch: &mut Vec<u8>,
) -> Option<ManifestEntry> {
    let obj = work.obj;
    let mut entry = ManifestEntry {
        dataset: dataset.name(),
        object: obj.uri.clone(),
        key_date: obj.layout.date().map(|d| {
            crate::parse::time::days_from_civil(
                chrono::Datelike::year(&d) as i64,
                chrono::Datelike::month(&d) as i64,
                chrono::Datelike::day(&d) as i64,
            ) as i32
        }),
        account: obj.layout.account.clone(),
        region: obj.layout.region.clone(),
        size: obj.size as i64,
        etag: obj.etag.clone(),
        status: STATUS_UNREADABLE,
        error: None,
        events: 0,
        rejected: 0,
        warnings: 0,
        warning: None,
        replaced: work.changed,
        duplicates: 0,
    };
    // Inside a large object, rows and rejects go to the writer every `batch_rows`, with the
    // object's counts so far (status `open`), so memory follows the chunk, not the object.
    let mut gone = false;
    let uri = obj.uri.clone();
    let open_entry = entry.clone();
    let Worker {
        builder,
        out: outbox,
    } = w;
    let mut hand = |b: &mut (dyn RecordSink + 'static), so_far: &mut ObjectOutcome| {
        let mut open = open_entry.clone();
        open.status = STATUS_OPEN;
        open.events = so_far.events as i64;
        open.rejected = so_far.rejected as i64;
        open.warnings = so_far.warnings.count as i64;
        open.warning = so_far.warnings.first.clone();
        outbox
            .rejects
            .extend(so_far.rejects.drain(..).map(|r| (uri.clone(), r)));
        gone = !outbox.send(b, Some(open));
        !gone
    };
    let flush = Some(Flush {
        rows: batch_rows,
        f: &mut hand,
    });
    let out = match work.payload {
        Payload::Bytes(bytes) => {
            entry.size = bytes.len() as i64;
            parse_object_with(&bytes, &obj.uri, builder.as_mut(), limits, scratch, flush)
        }
        Payload::File => {
            match crate::parse::parse_file(
                std::path::Path::new(&obj.uri),
                &obj.uri,
                builder.as_mut(),
                limits,
                scratch,
                flush,
            ) {
                Ok((out, size)) => {
                    entry.size = size as i64;
                    out
                }
                Err(e) => {
                    entry.error = Some(format!("cannot read: {e}"));
                    entry.replaced = false;
                    return Some(entry);
                }
            }
        }
        Payload::S3Stream { source, rt } => {
            let mut etag = None;
            let mut open = || -> std::io::Result<Box<dyn std::io::Read>> {
                let (body, e) = source
                    .open_blocking(&obj, &rt)
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                etag.get_or_insert(e);
                Ok(Box::new(body))
            };
            let out = crate::parse::parse_opened(
                &mut open,
                obj.size,
                &obj.uri,
                builder.as_mut(),
                limits,
                scratch,
                flush,
            );
            if let Some(e) = etag {
                entry.etag = e;
            }
            match out {
                Ok(out) => out,
                Err(e) => {
                    entry.error = Some(format!("cannot read: {e}"));
                    entry.replaced = false;
                    return Some(entry);
                }
            }
        }
        Payload::Unreadable(reason) => {
            entry.error = Some(reason);
            entry.replaced = false;
            return Some(entry);
        }
    };
    if gone {
        return None;
    }
    counters
        .bytes_in
        .fetch_add(entry.size as u64, Ordering::Relaxed);
    counters.objects.fetch_add(1, Ordering::Relaxed);
    counters.events.fetch_add(out.events, Ordering::Relaxed);
    counters
        .bytes_decoded
        .fetch_add(out.decoded_bytes, Ordering::Relaxed);
    entry.status = out.status.as_str();
    entry.error = out.error;
    entry.events = out.events as i64;
    entry.rejected = out.rejected as i64;
    entry.warnings = out.warnings.count as i64;
    entry.warning = out.warnings.first;
    for r in out.rejects {
        outbox.rejects.push((obj.uri.clone(), r));
    }
    Some(entry)
}

/// Rejects' text the writer holds before it commits, at most.
const REJECT_BYTES_PER_COMMIT: usize = 64 << 20;

fn write_loop(
    lake: &Lake,
    rt: &tokio::runtime::Handle,
    plan: &IngestPlan,
    rx: mpsc::Receiver<Chunk>,
    reporter: &Reporter,
) -> Result<IngestSummary, IngestError> {
    let mut summary = IngestSummary::default();
    let mut tx = Transaction::begin(lake, rt, plan.dataset, plan.writer);
    let mut entries: Vec<ManifestEntry> = vec![];
    let mut rejects: Vec<(String, RejectedRecord)> = vec![];
    let mut reject_bytes = 0usize;
    // Objects that workers are still reading, and those committed in part already: a part
    // commit replaces an earlier version's rows once, never the rows of this run's parts.
    let mut open: HashMap<usize, ManifestEntry> = HashMap::new();
    let mut in_part: HashSet<String> = HashSet::new();
    // Each event lands once: duplicates (CloudTrail delivered by two trails, audit streams'
    // repeats) are dropped here, and their objects' counts say what landed and what was dropped.
    let mut seen = crate::lake::dedupe::Seen::new(plan.dataset);
    let mut repeats: HashMap<String, u64> = HashMap::new();
    for mut chunk in rx {
        if let Some(b) = &chunk.batch {
            let (kept, dropped) = seen.filter(lake, rt, b)?;
            for (o, n) in dropped {
                summary.duplicates += n;
                *repeats.entry(o).or_default() += n;
            }
            tx.write(&kept)?;
        }
        for e in chunk.objects.iter_mut() {
            if let Some(n) = repeats.remove(&e.object) {
                e.events -= n as i64;
                e.duplicates += n as i64;
            }
        }
        if let Some(e) = chunk.open.as_mut() {
            let n = repeats.get(&e.object).copied().unwrap_or(0) as i64;
            e.events -= n;
            e.duplicates += n;
        }
        for e in &chunk.objects {
            report_entry(reporter, e, &mut summary);
        }
        for (obj, r) in &chunk.rejects {
            let at = match r.line {
                Some(l) => format!("line {l}"),
                None => format!("record {}", r.index),
            };
            reporter.bad_input(&format!("{obj}: {at}: {}", r.reason));
            reject_bytes += r.raw.len();
        }
        entries.extend(chunk.objects.into_iter().map(|mut e| {
            if in_part.remove(&e.object) {
                e.replaced = false;
            }
            e
        }));
        rejects.extend(chunk.rejects);
        match chunk.open {
            Some(e) => open.insert(chunk.worker, e),
            None => open.remove(&chunk.worker),
        };
        if tx.events() >= plan.commit_every
            || rejects.len() as u64 >= plan.commit_every
            || reject_bytes >= REJECT_BYTES_PER_COMMIT
        {
            for e in open.values() {
                let mut e = e.clone();
                if !in_part.insert(e.object.clone()) {
                    e.replaced = false;
                }
                entries.push(e);
            }
            let next = Transaction::begin(lake, rt, plan.dataset, plan.writer);
            let done = std::mem::replace(&mut tx, next).commit(&entries, &rejects)?;
            summary.add_commit(done);
            entries.clear();
            rejects.clear();
            reject_bytes = 0;
            if !open.is_empty() {
                crate::lake::commit::failpoint("after-part-commit");
            }
        }
    }
    if !entries.is_empty() {
        summary.add_commit(tx.commit(&entries, &rejects)?);
    }
    Ok(summary)
}

fn report_entry(reporter: &Reporter, e: &ManifestEntry, s: &mut IngestSummary) {
    s.rejected += e.rejected as u64;
    s.warnings += e.warnings as u64;
    if e.status == STATUS_UNREADABLE {
        s.unreadable += 1;
    } else {
        s.objects += 1;
        s.events += e.events as u64;
    }
    match e.status {
        s_ if s_ == ObjectStatus::Failed.as_str() => s.failed += 1,
        s_ if s_ == ObjectStatus::Partial.as_str() => s.partial += 1,
        _ => {}
    }
    if let Some(err) = &e.error {
        let what = if e.status == STATUS_UNREADABLE {
            "unreadable (will retry)"
        } else {
            e.status
        };
        reporter.bad_input(&format!("{}: {what}: {err}", e.object));
    }
    if let Some(w) = &e.warning {
        reporter.bad_input(&format!(
            "{}: {} coerced field(s), first: {w}",
            e.object, e.warnings
        ));
    }
}
