//! `pipewarden assess` and `pipewarden gate` on the bundled history: the assessment's statuses
//! against the generator's truth (`sample-logs/truth/assessment.json`, written from what it
//! planted, not from the detectors), its OCSF Compliance Findings validated strictly, its HTML in
//! a real browser, and the gate's exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::helpers::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pipewarden"))
}

/// A lake of its own (the gate reads the saved findings, which other tests' detect runs would
/// replace), judged as the nightly job would judge the anomaly days.
fn lake() -> &'static (tempfile::TempDir, String) {
    static LAKE: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    LAKE.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let lake = d.path().join("lake").display().to_string();
        ingest_sample_logs(&lake);
        let o = bin()
            .args([
                "detect",
                "--lake",
                &lake,
                "--baseline",
                "23d",
                "--window",
                "12d",
            ])
            .args(["--until", "2026-10-06", "--fail-on", "critical"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        (d, lake)
    })
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `assess` of the 35 generated days in `format`, written to a file; its path.
fn assess(format: &str) -> PathBuf {
    assess_with(format, &[])
}

/// `assess` in `format` with `extra` flags.
fn assess_with(format: &str, extra: &[&str]) -> PathBuf {
    let (d, lake) = lake();
    let out = d
        .path()
        .join(format!("assessment{}.{format}", extra.join("")));
    let o = bin()
        .args([
            "assess",
            "--lake",
            lake,
            "--since",
            "35d",
            "--until",
            "2026-10-05",
        ])
        .args(["--format", format, "-o"])
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    out
}

#[test]
fn assessment_statuses_match_the_generators_truth() {
    let a: serde_json::Value =
        serde_json::from_slice(&std::fs::read(assess("json")).unwrap()).unwrap();
    assert_eq!(a["schema"], "pipewarden.assessment/v1");
    let truth: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs/truth/assessment.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let pipelines = a["pipelines"].as_array().unwrap();
    assert_eq!(pipelines.len(), 12);
    let status = |p: &str, c: &str| -> Option<String> {
        pipelines
            .iter()
            .find(|x| x["pipeline_id"] == p)?
            .get("controls")?
            .as_array()?
            .iter()
            .find(|r| r["control"] == c)
            .map(|r| r["status"].as_str().unwrap().to_string())
    };
    let (mut decided, mut wrong) = (0, vec![]);
    let mut failing = 0;
    for (p, controls) in truth["pipelines"].as_object().unwrap() {
        for (c, want) in controls.as_object().unwrap() {
            decided += 1;
            failing += usize::from(want == "fail");
            let got = status(p, c);
            if got.as_deref() != want.as_str() {
                wrong.push(format!("{p} {c}: truth {want}, assessed {got:?}"));
            }
        }
    }
    eprintln!(
        "assessment vs truth: {decided} decided, {failing} failing, {} wrong",
        wrong.len()
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(
        decided >= 60 && failing >= 15,
        "{decided} decided, {failing} failing"
    );
    // Every row has its detail; every failing row names its evidence.
    for p in pipelines {
        let rows = p["controls"].as_array().unwrap();
        assert_eq!(rows.len(), 7, "{p}");
        for r in rows {
            assert!(r["detail"].as_str().unwrap().len() > 10, "{r}");
            let e = &r["evidence"];
            let n = ["findings", "events", "runs"]
                .iter()
                .map(|k| e[k].as_array().unwrap().len())
                .sum::<usize>();
            assert!(
                r["status"] != "fail" || n > 0,
                "a failing row with no evidence: {r}"
            );
        }
    }
    // A pipeline with no build record gets `state_emitted: unknown`, never a failure.
    assert!(pipelines.iter().all(|p| {
        p["controls"].as_array().unwrap().iter().all(|r| {
            r["control"] != "state_emitted"
                || r["status"] != "fail"
                || !r["detail"].as_str().unwrap().contains("no build records")
        })
    }));
    // The saved table holds the same rows.
    let rows = scalar(
        &lake().1,
        "SELECT count(*) FROM assessment WHERE status = 'fail'",
    );
    let fails = pipelines
        .iter()
        .flat_map(|p| p["controls"].as_array().unwrap())
        .filter(|r| r["status"] == "fail")
        .count();
    assert_eq!(rows, fails.to_string());
}

#[test]
fn assessment_compliance_findings_validate_strictly_and_the_matrix_renders() {
    let ocsf = assess("ocsf");
    assert_eq!(assert_ocsf_strict(&ocsf, "1.7.0"), 12 * 7);
    let text = std::fs::read_to_string(&ocsf).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["class_uid"], 2003);
    assert_eq!(first["compliance"]["requirements"][0], "SEC11-BP07");
    assert!(text.contains("\"status\":\"Fail\"") && text.contains("\"status\":\"Pass\""));
    // What Amazon Security Lake accepts.
    let v13 = assess_with("ocsf", &["--ocsf-version", "1.3.0"]);
    assert_eq!(assert_ocsf_strict(&v13, "1.3.0"), 12 * 7);
    let md = std::fs::read_to_string(assess("markdown")).unwrap();
    assert!(
        md.contains("| github:acme/web:deploy.yml |"),
        "{}",
        head(&md, 800)
    );
    let html = assess("html");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Content-Security-Policy") && !page.contains("<script"));
    assert!(page.contains("class=\"matrix\"") && page.contains("state_emitted"));
    let shot = render_in_chromium(chromium(), &html, "pipewarden-assessment.png");
    eprintln!("assessment screenshot: {}", shot.display());
}

fn gate(args: &[&str]) -> Output {
    let lake = &lake().1;
    bin()
        .args([
            "gate",
            "--lake",
            lake,
            "--window",
            "12d",
            "--until",
            "2026-10-05",
        ])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn gate_blocks_an_open_high_finding_or_a_failed_control_and_clears_a_clean_pipeline() {
    // web: an activity no run explains, checks bypassed, protections removed.
    let o = gate(&["--pipeline", "github:acme/web:deploy.yml"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("pipewarden gate: BLOCKED github:acme/web:deploy.yml"),
        "{out}"
    );
    assert!(out.contains("activity_outside_runs"), "{out}");
    // docs: nothing planted, nothing found.
    let o = gate(&[
        "--pipeline",
        "github:acme/docs:publish.yml",
        "--controls",
        "long_term_credentials,untrusted_input,state_emitted",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).starts_with("pipewarden gate: clear"),
        "{}",
        stdout(&o)
    );
    // Jenkins: no finding at or above critical, but its long-term key fails the listed control.
    let jenkins = "jenkins:jenkins.acme.example/legacy-portal-deploy";
    let o = gate(&["--pipeline", jenkins, "--fail-on", "critical"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = gate(&[
        "--pipeline",
        jenkins,
        "--fail-on",
        "critical",
        "--controls",
        "long_term_credentials",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("control long_term_credentials FAIL"),
        "{}",
        stdout(&o)
    );
    // A mistyped pipeline, or a control that does not exist, is an error, never a pass.
    let o = gate(&["--pipeline", "github:acme/web:deploy.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("no such pipeline"), "{}", stderr(&o));
    let o = gate(&[
        "--pipeline",
        "github:acme/web:deploy.yml",
        "--controls",
        "vibes",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
}
