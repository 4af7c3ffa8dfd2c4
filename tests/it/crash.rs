//! Crash safety: a crash at any moment (failpoints at each step of a commit, and `kill -9` at
//! random times) followed by a rerun leaves every event in the lake exactly once, also when two
//! trails deliver every event.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::*;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pipewarden"));
    c.env_remove("PIPEWARDEN_FAILPOINT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn ingest_cmd(src: &Path, lake: &Path, commit_every: u64) -> Command {
    let mut c = bin();
    c.args([
        "ingest",
        "--no-progress",
        "--commit-every",
        &commit_every.to_string(),
        "--from",
    ])
    .arg(src)
    .arg("--lake")
    .arg(lake);
    c
}

fn assert_exactly_once(lake: &Path, ids: &[String]) {
    let l = lake.display().to_string();
    let t = table(
        &l,
        "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM cloudtrail",
    );
    let want = format!("| {} | {} |", ids.len(), ids.len());
    assert!(
        t.replace(' ', "").contains(&want.replace(' ', "")),
        "want {want}\n{t}"
    );
    // Nothing left in staging or pending commits.
    let pending = lake.join("_pipewarden/commits");
    assert!(
        std::fs::read_dir(&pending).map(|d| d.count()).unwrap_or(0) == 0,
        "pending commits left"
    );
    let staging = lake.join("_pipewarden/staging");
    assert!(
        std::fs::read_dir(&staging).map(|d| d.count()).unwrap_or(0) == 0,
        "staging left"
    );
    // The manifest has each object once, besides the `open` rows of its parts.
    assert_eq!(
        scalar(
            &l,
            "SELECT count(*) FILTER (WHERE status <> 'open') = count(DISTINCT object) FROM manifest"
        ),
        "true"
    );
}

#[test]
fn failpoints_at_every_commit_step_then_rerun() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    let ids = write_corpus(&src, &["2024-05-01", "2024-05-02", "2024-05-03"], 30, 20);
    for fp in [
        "after-stage",
        "before-commit-record",
        "after-commit-record",
        "mid-moves",
        "after-moves",
    ] {
        let lake = d.path().join(format!("lake-{fp}"));
        let out = ingest_cmd(&src, &lake, 150)
            .env("PIPEWARDEN_FAILPOINT", fp)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{fp}: the failpoint did not fire");
        assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("failpoint {fp}")));
        let out = ingest_cmd(&src, &lake, 150).output().unwrap();
        assert!(
            out.status.success(),
            "{fp}: rerun failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_exactly_once(&lake, &ids);
    }
}

/// Regression (hardening, item 6): one object's rows were held until it was read whole, so
/// neither `--commit-every` nor the memory bound held inside it. Its rows now reach the writer
/// in chunks and are committed in parts (manifest rows `open`); a crash after a part leaves an
/// `open` row, and the rerun reads the object again, replacing that part: each event once.
#[test]
fn a_large_object_is_committed_in_parts_and_a_crash_after_one_is_undone() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    let ids = write_corpus(&src, &["2024-05-01"], 1, 10_000);
    let lake = d.path().join("parts");
    let out = ingest_cmd(&src, &lake, 1000).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_exactly_once(&lake, &ids);
    let l = lake.display().to_string();
    let parts = scalar(&l, "SELECT count(*) FROM manifest WHERE status = 'open'");
    assert!(parts.parse::<u32>().unwrap() >= 2, "{parts} part commits");
    assert_eq!(
        scalar(&l, "SELECT count(DISTINCT \"commit\") FROM manifest"),
        (parts.parse::<u32>().unwrap() + 1).to_string()
    );

    let lake = d.path().join("crash");
    let out = ingest_cmd(&src, &lake, 1000)
        .env("PIPEWARDEN_FAILPOINT", "after-part-commit")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the failpoint did not fire");
    let l = lake.display().to_string();
    let landed = scalar(&l, "SELECT count(*) FROM cloudtrail");
    assert!(
        landed.parse::<u32>().unwrap() > 0 && landed != "10000",
        "{landed}"
    );
    let out = ingest_cmd(&src, &lake, 1000).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_exactly_once(&lake, &ids);
}

#[test]
fn kill_9_at_random_moments_then_rerun() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    let ids = write_corpus(
        &src,
        &["2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04"],
        400,
        40,
    );
    // A second trail delivers every event again, in its own objects: each still lands once.
    for e in walkdir::WalkDir::new(&src)
        .into_iter()
        .filter_map(Result::ok)
    {
        if e.file_type().is_file() {
            let to = d
                .path()
                .join("second-trail")
                .join(e.path().strip_prefix(&src).unwrap());
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(e.path(), to).unwrap();
        }
    }
    std::fs::rename(d.path().join("second-trail"), src.join("second-trail")).unwrap();
    let lake = d.path().join("lake");
    // Deterministic "random" delays spread over the run.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..8 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(20 + seed % 700);
        let mut child = ingest_cmd(&src, &lake, 500).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    let out = ingest_cmd(&src, &lake, 500).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_exactly_once(&lake, &ids);
}

#[test]
fn a_second_ingest_on_the_same_lake_is_refused_while_one_runs() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    write_corpus(&src, &["2024-05-01"], 1, 1);
    let lake = d.path().join("lake");
    let l = pipewarden::lake::Lake::open(
        &pipewarden::lake::LakeLocation::Local(lake.clone()),
        None,
        pipewarden::lake::Access::Create,
    )
    .unwrap();
    l.lock().unwrap();
    let out = ingest_cmd(&src, &lake, 10).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("locked"));
}
