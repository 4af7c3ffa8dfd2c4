//! Commands: one file per subcommand, each with one `run` that takes the validated plan
//! [`crate::cli`] built from the flags, does the work through the library, prints what people
//! read, and returns the [`crate::Exit`] code.
//!
//! A process has one tokio runtime ([`runtime`]), made here and lent to every stage (ingest's
//! parse threads, DataFusion, S3, SIEM delivery). Lakes and AWS are reached only through
//! [`crate::lake::Lake::connect`].

pub mod assess;
#[cfg(feature = "ballista")]
pub mod cluster;
pub mod detect;
pub mod gate;
pub mod generate;
pub mod ingest;
pub mod lint;
pub mod permissions;
pub mod query;
pub mod scan;
pub mod shell;
pub mod verify;

/// The process's runtime, on every core.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Writes a command's output to stdout. Unlike `print!`, a reader that went away (`| head`)
/// comes back as an error, which `main` treats as success, instead of a panic.
pub fn out(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_bytes())?;
    o.flush()
}

/// Whether stdout is a terminal (colour, progress).
pub fn stdout_is_terminal() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stdout())
}
