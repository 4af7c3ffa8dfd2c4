//! `pipewarden verify`: CloudTrail digest chains ([`crate::verify`]), optionally saved as the
//! lake's `integrity` table.

use crate::Exit;
use crate::lake::{Access, Lake, LakeLocation};
use crate::verify::{Report, VerifyPlan};

/// Verifies the chains, then saves the problems to `lake` when given. Verify writes the lake and
/// may create it, as ingest does: it comes first, so that `ingest --refuse-unverified` can leave
/// out what it found.
pub async fn verify_and_save(
    plan: &VerifyPlan,
    lake: Option<&LakeLocation>,
) -> anyhow::Result<Report> {
    let r = crate::verify::verify(plan).await?;
    if let Some(loc) = lake {
        let (lake, _) = Lake::connect(loc, &plan.s3, false, Access::Create).await?;
        crate::verify::save(&lake, &r).await?;
    }
    Ok(r)
}

/// Prints the report, writes `--json`; exit 1 when a problem was found.
pub fn run(
    plan: &VerifyPlan,
    lake: Option<&LakeLocation>,
    json: Option<&std::path::Path>,
    rt: &tokio::runtime::Runtime,
) -> anyhow::Result<Exit> {
    let report = rt.block_on(verify_and_save(plan, lake))?;
    if report.scopes.is_empty() {
        // Not one log file or digest in the range: a mistyped --from or range, never a whole
        // trail.
        anyhow::bail!(
            "nothing to verify: no CloudTrail log or digest files under {} in the range",
            crate::sanitize::for_terminal(&plan.from)
        );
    }
    super::out(&crate::verify::render(&report))?;
    if let Some(p) = json {
        crate::report::write_atomic(p, serde_json::to_string_pretty(&report)?.as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?;
    }
    Ok(if report.clean() {
        Exit::Clean
    } else {
        Exit::Findings
    })
}
