//! Bounded memory for local queries: every session runs with a DataFusion memory pool and a
//! disk manager, so large aggregations and sorts spill to temporary files instead of growing.
//!
//! The limit is the process's (`--memory-limit SIZE`, or `PIPEWARDEN_MEMORY_LIMIT`): by default
//! half the machine's memory, at most [`DEFAULT_CAP`] and at least [`FLOOR`]. The pool is fair
//! between spilling operators (DataFusion's `FairSpillPool`) and, when a query cannot fit,
//! names its largest consumers. Operators that cannot spill (a hash join's build side) still
//! need their memory within the limit: such a query fails with an error that names the limit,
//! it is not killed by the system.

use std::sync::{Arc, RwLock};

use datafusion::execution::disk_manager::DiskManagerBuilder;
use datafusion::execution::memory_pool::{FairSpillPool, MemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};

/// The default limit's upper bound: what a nightly detect over 10M events needs, with room.
pub const DEFAULT_CAP: usize = 4 << 30;

/// The smallest default limit.
pub const FLOOR: usize = 256 << 20;

/// A memory limit: bytes, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// At most this many bytes for query execution.
    Bytes(usize),
    /// No limit (DataFusion's unbounded pool).
    Unbounded,
}

static LIMIT: RwLock<Option<Limit>> = RwLock::new(None);

/// Sets the limit of every session built after this call.
pub fn set(limit: Limit) {
    *LIMIT.write().unwrap_or_else(|e| e.into_inner()) = Some(limit);
}

/// The limit in force: the one [`set`], else the default.
pub fn limit() -> Limit {
    LIMIT
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .unwrap_or_else(|| Limit::Bytes(default_limit(total_memory())))
}

/// Half of `total` (the machine's memory, when known), within [`FLOOR`] and [`DEFAULT_CAP`].
pub fn default_limit(total: Option<u64>) -> usize {
    match total {
        Some(t) => ((t / 2) as usize).clamp(FLOOR, DEFAULT_CAP),
        None => 2 << 30,
    }
}

/// `MemTotal` of `/proc/meminfo`, in bytes (Linux); none elsewhere.
fn total_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `512MiB`, `2GiB`, `1.5G`, `800M`, `1073741824` (bytes; K, M, G, T with or without `iB` are
/// powers of 1024), or `none`/`unbounded`.
pub fn parse(s: &str) -> Result<Limit, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("unbounded") {
        return Ok(Limit::Unbounded);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?}: not a size (for example 512MiB, 2GiB or none)"))?;
    let shift = match unit
        .trim()
        .to_ascii_lowercase()
        .trim_end_matches("ib")
        .trim_end_matches('b')
    {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(format!("{s:?}: unknown unit (K, M, G, T, as 512MiB or 2G)")),
    };
    let bytes = n * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes < (1 << 20) as f64 || bytes > usize::MAX as f64 {
        return Err(format!("{s:?}: a memory limit is at least 1MiB"));
    }
    Ok(Limit::Bytes(bytes as usize))
}

/// A limit as people read it: `512 MiB`, `4.0 GiB`, `none`.
pub fn shown(limit: Limit) -> String {
    match limit {
        Limit::Unbounded => "none".into(),
        Limit::Bytes(n) if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        Limit::Bytes(n) => format!("{} MiB", n >> 20),
    }
}

/// The runtime of a local session under [`limit`]: a fair spilling pool that names its top
/// consumers when a query cannot fit, and spill files in the system's temporary folder.
pub fn runtime() -> datafusion::error::Result<Arc<RuntimeEnv>> {
    let b = RuntimeEnvBuilder::new().with_disk_manager_builder(DiskManagerBuilder::default());
    match limit() {
        Limit::Unbounded => b.build_arc(),
        Limit::Bytes(n) => {
            let top = std::num::NonZeroUsize::new(5).expect("non-zero");
            let pool: Arc<dyn MemoryPool> =
                Arc::new(TrackConsumersPool::new(FairSpillPool::new(n), top));
            b.with_memory_pool(pool).build_arc()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse("512MiB"), Ok(Limit::Bytes(512 << 20)));
        assert_eq!(parse("2G"), Ok(Limit::Bytes(2 << 30)));
        assert_eq!(parse(" 1.5 GiB "), Ok(Limit::Bytes(3 << 29)));
        assert_eq!(parse("1048576"), Ok(Limit::Bytes(1 << 20)));
        assert_eq!(parse("none"), Ok(Limit::Unbounded));
        assert_eq!(shown(Limit::Bytes(512 << 20)), "512 MiB");
        assert_eq!(shown(Limit::Bytes(4 << 30)), "4.0 GiB");
        for bad in ["", "12", "lots", "5X", "-1G", "1e400G", "0.5KiB"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_suit_the_machine() {
        assert_eq!(default_limit(Some(2 << 30)), 1 << 30);
        assert_eq!(default_limit(Some(64 << 30)), DEFAULT_CAP);
        assert_eq!(default_limit(Some(128 << 20)), FLOOR);
        assert_eq!(default_limit(None), 2 << 30);
    }
}
