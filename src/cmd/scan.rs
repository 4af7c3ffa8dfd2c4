//! `pipewarden scan`, the nightly job: verify the trail (`--verify`), ingest what is new
//! (CloudTrail, then build records), detect as `detect` does, and deliver every report.

use crate::Exit;
use crate::ingest::IngestPlan;
use crate::lake::Dataset;
use crate::report::{self, Destination, Format, Output, siem::Sink};
use crate::sanitize::for_terminal;
use crate::verify::VerifyPlan;

use super::detect::DetectJob;

/// Where the report goes.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Rendered reports and their destinations.
    pub outputs: Vec<Output>,
    /// SIEM endpoints (tokens already read from the environment).
    pub sinks: Vec<Sink>,
    /// ASFF's receiving account (empty when no ASFF output).
    pub asff_account: String,
    /// ASFF's region.
    pub asff_region: String,
    /// The OCSF version of the `ocsf` format.
    pub ocsf_version: crate::report::formats::OcsfVersion,
    /// The account of the Security Lake partitions (`accountId=`).
    pub security_lake_account: String,
    /// The region of the Security Lake partitions (`region=`).
    pub security_lake_region: String,
}

/// A validated `scan`.
#[derive(Debug, Clone)]
pub struct ScanPlan {
    /// The CloudTrail source (SRC/cloudtrail for a folder that has one, else SRC).
    pub trail: String,
    /// Build records (SRC/builds for such a folder, or `--builds-from`).
    pub builds: Option<String>,
    /// The digest verification that comes first, with `--verify`.
    pub verify: Option<VerifyPlan>,
    /// Show ingest's progress bar on a terminal.
    pub progress: bool,
    /// The detect step.
    pub detect: DetectJob,
    /// The reports.
    pub delivery: Delivery,
    /// The assessment's outputs (`--assess`); none: no assessment.
    pub assess: Vec<(crate::assess::render::Format, Destination)>,
    /// Days the assessment covers, ending with the detect window.
    pub assess_days: i64,
}

/// Runs the scan; the exit code is `detect`'s.
pub fn run(plan: &ScanPlan, rt: &tokio::runtime::Runtime) -> anyhow::Result<Exit> {
    if let Some(v) = &plan.verify {
        let r = rt.block_on(super::verify::verify_and_save(v, Some(&plan.detect.lake)))?;
        eprintln!(
            "pipewarden: verify: {} problem(s) in the digest chains{}",
            r.problems.len(),
            if r.clean() {
                ""
            } else {
                " (integrity findings below; see `pipewarden verify` for each)"
            }
        );
    }
    ingest_all(plan, rt)?;
    rt.block_on(detect_and_deliver(plan))
}

/// Ingests CloudTrail, then build records; bad input is reported and the run goes on.
fn ingest_all(plan: &ScanPlan, rt: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let mut ingests = vec![(plan.trail.clone(), Dataset::CloudTrail)];
    if let Some(b) = &plan.builds {
        ingests.push((b.clone(), Dataset::Builds));
    }
    let mut bad_input = false;
    for (src, dataset) in ingests {
        let mut p = IngestPlan::new(src, plan.detect.lake.clone());
        p.dataset = dataset;
        p.progress = plan.progress;
        p.s3 = plan.detect.s3.clone();
        p.refuse_unverified = plan.verify.is_some() && dataset == Dataset::CloudTrail;
        let s = crate::ingest::run_on(&p, rt.handle())?;
        bad_input |= s.had_bad_input();
        eprintln!("pipewarden: {}: {}", dataset.name(), s.line());
    }
    if bad_input {
        eprintln!(
            "pipewarden: some input was bad; the rest was ingested (see the manifest and rejects tables)"
        );
    }
    Ok(())
}

async fn detect_and_deliver(plan: &ScanPlan) -> anyhow::Result<Exit> {
    let d = &plan.delivery;
    let to_s3 = d
        .outputs
        .iter()
        .any(|o| matches!(o.dest, Destination::S3 { .. }))
        || plan
            .assess
            .iter()
            .any(|(_, dest)| matches!(dest, Destination::S3 { .. }))
        || d.sinks
            .iter()
            .any(|s| s.kind == report::siem::SinkKind::SecurityHub);
    let j = super::detect::judge(&plan.detect, to_s3).await?;
    let activity = if d.outputs.iter().any(|o| o.format == Format::Html) {
        report::activity(&j.ctx, &j.report).await?
    } else {
        vec![]
    };
    let cx = report::RenderContext {
        activity,
        colour: super::stdout_is_terminal(),
        account: d.asff_account.clone(),
        region: d.asff_region.clone(),
        ocsf_version: d.ocsf_version,
    };
    for o in &d.outputs {
        if o.format == Format::SecurityLake {
            let n = report::write_security_lake(
                &o.dest,
                &j.report,
                &d.security_lake_account,
                &d.security_lake_region,
                j.aws.as_ref(),
            )
            .await?;
            eprintln!("pipewarden: wrote {n} Security Lake file(s)");
            continue;
        }
        let cx = report::RenderContext {
            ocsf_version: o.ocsf_version.unwrap_or(d.ocsf_version),
            ..cx.clone()
        };
        let bytes = report::render(&j.report, o.format, &cx);
        report::write_to(&o.dest, bytes, j.aws.as_ref()).await?;
    }
    // Every endpoint gets its try; the run fails after, naming each that failed.
    let mut failed = 0;
    for (s, sent) in d
        .sinks
        .iter()
        .zip(report::siem::deliver_all(&d.sinks, &j.report, j.aws.as_ref()).await)
    {
        match sent {
            Ok(sent) => eprintln!(
                "pipewarden: sent {} finding(s) in {} batch(es) to {} ({} retries)",
                sent.findings,
                sent.batches,
                for_terminal(&s.shown_url()),
                sent.retries
            ),
            Err(e) => {
                failed += 1;
                eprintln!("pipewarden: error: {}", for_terminal(&e.to_string()));
            }
        }
    }
    if !plan.assess.is_empty() {
        let until = j.report.window_end;
        let since =
            crate::findings::Time::from_micros(until.micros() - plan.assess_days * 86_400_000_000);
        let a = crate::assess::assess(&j.ctx, &j.lake, since, until, None).await?;
        if let Err(e) = crate::assess::save(&j.lake, &a).await {
            eprintln!(
                "pipewarden: warning: assessment not saved to the lake's assessment table: {}",
                for_terminal(&e.to_string())
            );
        }
        for (format, dest) in &plan.assess {
            report::write_to(
                dest,
                crate::assess::render::render(&a, *format, d.ocsf_version),
                j.aws.as_ref(),
            )
            .await?;
        }
    }
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} SIEM endpoint(s) did not take the findings (each is named above)",
            d.sinks.len()
        );
    }
    Ok(plan.detect.exit(&j.report))
}
