//! `pipewarden scheduler` and `pipewarden executor`: Ballista's processes ([`crate::cluster`]).

use crate::Exit;

/// Runs a cluster process until it is stopped, on a runtime with deep stacks (Ballista's plans
/// recurse).
pub fn serve(f: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<Exit> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 * 1024 * 1024)
        .build()?
        .block_on(f)?;
    Ok(Exit::Clean)
}
