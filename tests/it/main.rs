//! pipewarden's integration tests: one binary, one module per capability.
//!
//! S3 tests need a real S3-compatible server on loopback: `tests/run.sh` starts moto_server and
//! sets `PIPEWARDEN_TEST_S3_ENDPOINT`; run the tests through it.

mod assess;
mod attacks;
mod attribution;
mod bad_input;
mod builds;
mod bypass;
mod cluster;
mod crash;
mod detect;
mod detectors;
mod fuzz;
mod generate;
mod helpers;
mod ingest_local;
mod ingest_s3;
mod interop;
mod permissions;
mod profiles;
mod query;
mod report;
mod verify;
