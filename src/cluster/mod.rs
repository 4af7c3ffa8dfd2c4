//! Scale-out on Apache DataFusion Ballista: the same SQL and detectors on a cluster.
//!
//! ```text
//!  pipewarden query/detect/scan --engine ballista://host:port
//!    │ plans SQL (functions, views, day pruning, attribution's in-memory tables)
//!    ▼ logical plan (protobuf, [`codec`])
//!  pipewarden scheduler ── physical plan, stages ──► pipewarden executor × N
//!    lists the lake's files (S3)                        read Parquet from S3, shuffle,
//!                                                       return results over Arrow Flight
//! ```
//!
//! - this file: the client side, a [`SessionContext`] whose queries run on the cluster
//!   ([`remote`]), and the pieces every role shares: pipewarden's functions as a Ballista
//!   function registry, and object stores for the lake's S3 buckets signed by the standard AWS
//!   chain of the process that reads them ([`LakeStores`]).
//! - [`codec`]: the logical-plan codec, which also carries in-memory tables.
//! - [`serve`]: `pipewarden scheduler` and `pipewarden executor`, Ballista's scheduler and
//!   executor with pipewarden's functions, optimizer rule, codec and stores.
//!
//! What stays on the client: parsing and planning SQL, the attribution pass (its STS query runs
//! on the cluster, its linking of sessions to pipelines in the client), detect's scoring with
//! statrs, the read-only guard, and writing results and findings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ballista::prelude::SessionContextExt;
use ballista_core::extension::SessionConfigExt;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::{SessionConfig, SessionContext};
use object_store::ObjectStore;
use url::Url;

use crate::aws::AwsContext;

pub mod codec;
pub mod serve;

/// Largest gRPC message between client, scheduler and executors: plans carry attribution's
/// in-memory tables, which outgrow Ballista's 16 MiB default on a large organisation.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

/// A session whose queries run on the Ballista scheduler at `url` (`ballista://host:port`).
/// The caller registers tables, functions and rules on it as on a local one.
pub async fn remote(url: &str, mut config: SessionConfig) -> Result<SessionContext> {
    // DataFusion 55 moves leaf expressions (a JSON field read, say) into projections named
    // `__datafusion_extracted_N`; an aggregate over one does not survive the protobuf round trip
    // to the scheduler ("No field named count(__datafusion_extracted_5)"). Off for the cluster
    // (the client's setting travels with the plan to the scheduler's optimizer).
    config
        .options_mut()
        .optimizer
        .enable_leaf_expression_pushdown = false;
    let config = config
        .with_ballista_logical_extension_codec(codec::logical())
        .upgrade_for_ballista()
        .set_usize(
            ballista_core::config::BALLISTA_CLIENT_GRPC_MAX_MESSAGE_SIZE,
            MAX_MESSAGE_BYTES,
        );
    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .build();
    SessionContext::remote_with_state(url, state).await
}

/// Every scalar function a pipewarden session has (DataFusion's, pipewarden's, the JSON ones),
/// by name: what a scheduler or executor must know to decode a plan that calls them.
pub fn scalar_functions() -> Result<HashMap<String, Arc<ScalarUDF>>> {
    let mut ctx = SessionContext::new();
    crate::engine::functions::register(&mut ctx)?;
    Ok(ctx.state().scalar_functions().clone())
}

/// The object stores of a scheduler or executor: local files, and each `s3://bucket` a plan
/// names, opened on first use with this process's AWS chain (env, profile, SSO, role, web
/// identity, instance metadata) and endpoint.
#[derive(Debug)]
pub struct LakeStores {
    aws: AwsContext,
    known: DefaultObjectStoreRegistry,
    /// Held while a bucket's store is opened, so each is opened once.
    opening: Mutex<()>,
}

impl LakeStores {
    /// Stores signed by `aws`.
    pub fn new(aws: AwsContext) -> LakeStores {
        LakeStores {
            aws,
            known: DefaultObjectStoreRegistry::new(),
            opening: Mutex::new(()),
        }
    }
}

impl ObjectStoreRegistry for LakeStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.known.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        if let Ok(s) = self.known.get_store(url) {
            return Ok(s);
        }
        let bucket = match (url.scheme(), url.host_str()) {
            ("s3", Some(b)) if !b.is_empty() => b.to_string(),
            _ => {
                return Err(DataFusionError::Configuration(format!(
                    "no object store for {url}: pipewarden's cluster reads s3:// lakes and local files"
                )));
            }
        };
        let _opening = self
            .opening
            .lock()
            .map_err(|_| DataFusionError::Internal("object store registry poisoned".into()))?;
        if let Ok(s) = self.known.get_store(url) {
            return Ok(s);
        }
        let store = self
            .aws
            .object_store(&bucket)
            .map_err(|e| DataFusionError::ObjectStore(Box::new(e)))?;
        let base = Url::parse(&format!("s3://{bucket}"))
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        self.known.register_store(&base, Arc::new(store));
        self.known.get_store(url)
    }
}
