//! `pipewarden permissions`: the permissions review of a period ([`crate::permissions`]),
//! from the trail's IAM changes and, with `--iam`, the live account.

use std::collections::BTreeSet;

use crate::Exit;
use crate::attribute::config::Config;
use crate::aws::S3Options;
use crate::engine::Engine;
use crate::findings::Time;
use crate::lake::{Access, Lake, LakeLocation};
use crate::permissions::grants::key_of;
use crate::permissions::render::Format;
use crate::sanitize::for_terminal;

/// What `permissions` needs.
#[derive(Debug, Clone)]
pub struct PermissionsJob {
    /// The lake.
    pub lake: LakeLocation,
    /// How to reach S3.
    pub s3: S3Options,
    /// Where the queries run.
    pub engine: Engine,
    /// `pipewarden.toml`.
    pub config: Config,
    /// First instant of the period.
    pub since: Time,
    /// End of the period (exclusive).
    pub until: Time,
    /// Read the live account too (`--iam`).
    pub iam: Option<crate::permissions::iam::IamOptions>,
    /// The output format.
    pub format: Format,
    /// Where it goes (stdout when `None`).
    pub output: Option<std::path::PathBuf>,
}

/// Reviews and writes the output. Exit 0: a broad grant is the report, not an error.
pub fn run(job: &PermissionsJob, rt: &tokio::runtime::Runtime) -> anyhow::Result<Exit> {
    rt.block_on(async {
        let (lake, aws) =
            Lake::connect(&job.lake, &job.s3, job.iam.is_some(), Access::Existing).await?;
        let ctx = crate::engine::session_with(&lake, &job.config, &job.engine).await?;
        let live = match &job.iam {
            Some(opts) => {
                let who = crate::permissions::principals(&ctx).await?;
                let users: BTreeSet<_> = who.keys().filter_map(|a| key_of(a)).collect();
                let aws = match aws {
                    Some(a) => a,
                    None => crate::aws::AwsContext::load(&job.s3).await,
                };
                Some(crate::permissions::iam::read(&aws, opts, &users).await?)
            }
            None => None,
        };
        let r = crate::permissions::review(&ctx, job.since, job.until, live).await?;
        let bytes = crate::permissions::render::render(&r, job.format);
        match job.output.as_deref() {
            Some(p) if p.as_os_str() != "-" => crate::report::write_atomic(p, &bytes)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?,
            _ => super::out(&String::from_utf8_lossy(&bytes))?,
        }
        for w in &r.warnings {
            eprintln!("pipewarden: warning: {}", for_terminal(w));
        }
        let broad = r.entries.iter().filter(|e| !e.broad.is_empty()).count();
        eprintln!(
            "pipewarden: reviewed {} principal(s) of pipelines, {} with a broad grant",
            r.entries.len(),
            broad
        );
        Ok(Exit::Clean)
    })
}
