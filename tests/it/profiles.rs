//! Daily profiles: detect's findings with the history read from the profiles equal, byte for
//! byte in JSON, the findings computed from the events, on the bundled history, after a change of
//! `pipewarden.toml`, and after a late delivery into an old day; only changed days are rebuilt.

use std::path::Path;

use crate::helpers::*;

/// `pipewarden detect` over the labelled window of the bundled history: (JSON, stderr).
fn detect_json(lake: &str, dir: &Path, name: &str, extra: &[&str]) -> (String, String) {
    let json = dir.join(format!("{name}.json"));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_pipewarden"))
        .args(["detect", "--lake", lake])
        .args([
            "--until",
            "2026-10-06",
            "--window",
            "5d",
            "--baseline",
            "25d",
        ])
        .args(["--json", json.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{name}: {stderr}");
    (std::fs::read_to_string(&json).unwrap(), stderr)
}

/// The number of days a run says it built (0 when it built none).
fn built(stderr: &str) -> usize {
    stderr
        .split("built the daily profiles of ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn profile_files(lake: &str) -> Vec<String> {
    let mut out = vec![];
    for day in std::fs::read_dir(Path::new(lake).join("profiles")).unwrap() {
        for f in std::fs::read_dir(day.unwrap().path()).unwrap() {
            out.push(f.unwrap().path().display().to_string());
        }
    }
    out.sort();
    out
}

/// The daily extracts of attribution's inputs (`_pipewarden/attribution/<input>/event_date=D/`).
fn extract_files(lake: &str) -> Vec<String> {
    let mut out = vec![];
    let root = Path::new(lake).join("_pipewarden/attribution");
    let Ok(inputs) = std::fs::read_dir(&root) else {
        return out;
    };
    for input in inputs {
        for day in std::fs::read_dir(input.unwrap().path()).unwrap() {
            for f in std::fs::read_dir(day.unwrap().path()).unwrap() {
                out.push(f.unwrap().path().display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn cloudtrail_days(lake: &str) -> usize {
    std::fs::read_dir(Path::new(lake).join("cloudtrail"))
        .unwrap()
        .count()
}

#[test]
fn findings_from_profiles_equal_findings_from_events() {
    let d = tempfile::tempdir().unwrap();
    let lake = d.path().join("lake").display().to_string();
    ingest_sample_logs(&lake);

    // The bundled history: built once (25 days), then read.
    let (scan, e) = detect_json(&lake, d.path(), "scan", &["--no-profiles"]);
    assert_eq!(built(&e), 0, "--no-profiles writes nothing: {e}");
    assert!(!Path::new(&lake).join("profiles").exists() || profile_files(&lake).is_empty());
    assert!(
        extract_files(&lake).is_empty(),
        "--no-profiles extracts nothing"
    );
    let v: serde_json::Value = serde_json::from_str(&scan).unwrap();
    assert!(v["findings"].as_array().unwrap().len() >= 10, "{scan}");
    let (first, e) = detect_json(&lake, d.path(), "first", &[]);
    assert_eq!(built(&e), 25, "{e}");
    assert_eq!(
        first, scan,
        "findings with profiles just built differ from the events'"
    );
    let files = profile_files(&lake);
    assert_eq!(files.len(), 25, "{files:?}");
    // Attribution read its inputs from one extract per day and input, made on the first run.
    let extracts = extract_files(&lake);
    assert_eq!(extracts.len(), 3 * cloudtrail_days(&lake), "{extracts:?}");
    let (again, e) = detect_json(&lake, d.path(), "again", &[]);
    assert_eq!(built(&e), 0, "nothing changed, nothing is rebuilt: {e}");
    assert_eq!(again, scan);
    assert_eq!(profile_files(&lake), files);
    assert_eq!(
        extract_files(&lake),
        extracts,
        "nothing changed, nothing extracted"
    );
    let (rebuilt, e) = detect_json(&lake, d.path(), "rebuilt", &["--rebuild-profiles"]);
    assert_eq!(built(&e), 25, "{e}");
    assert_eq!(rebuilt, scan);
    // Analysts read the profiles as a table.
    let n = scalar(
        &lake,
        "SELECT count(DISTINCT event_date) FROM profiles WHERE detector = 'api'",
    );
    assert_eq!(n, "25");

    // A changed pipewarden.toml (an account's environment) changes attribution on every day.
    let cfg = d.path().join("pipewarden.toml");
    std::fs::write(&cfg, "[accounts]\n\"222222222222\" = \"staging\"\n").unwrap();
    let cfg = cfg.to_str().unwrap();
    let (scan_cfg, _) = detect_json(
        &lake,
        d.path(),
        "scan-cfg",
        &["--no-profiles", "--config", cfg],
    );
    assert_ne!(scan_cfg, scan, "the config should change the findings");
    let (prof_cfg, e) = detect_json(&lake, d.path(), "prof-cfg", &["--config", cfg]);
    assert_eq!(
        built(&e),
        25,
        "a changed config rebuilds the days it changes: {e}"
    );
    assert_eq!(prof_cfg, scan_cfg);

    // A late delivery into an old day: copies of the window's findings' evidence, dated 12 days
    // before, make their values part of the history. Only that day is rebuilt.
    let ids: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "baseline" && f["pipeline_id"].is_string())
        .flat_map(|f| f["event_ids"].as_array().unwrap().iter().take(3))
        .map(|i| format!("'{}'", i.as_str().unwrap()))
        .collect();
    assert!(!ids.is_empty(), "{scan}");
    let raws = sql(
        &lake,
        &format!(
            "SELECT raw FROM cloudtrail WHERE event_id IN ({}) AND user_access_key_id LIKE 'ASIA%'",
            ids.join(", ")
        ),
    );
    let mut late = vec![];
    for b in &raws {
        use arrow::array::AsArray;
        let c = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).unwrap();
        for raw in c.as_string::<i32>().iter().flatten() {
            let mut r: serde_json::Value = serde_json::from_str(raw).unwrap();
            r["eventID"] = format!("late-{}", late.len()).into();
            r["eventTime"] = "2026-09-20T13:00:00Z".into();
            late.push(r);
        }
    }
    let src = d.path().join("late");
    let key = src.join(delivery_key("222222222222", "us-east-1", "2026-09-20", 1));
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    std::fs::write(&key, delivery(&late)).unwrap();
    ingest(&plan(src.display().to_string(), &lake));
    let (scan_late, _) = detect_json(
        &lake,
        d.path(),
        "scan-late",
        &["--no-profiles", "--config", cfg],
    );
    assert_ne!(
        scan_late, scan,
        "the late events should change the findings"
    );
    let (prof_late, e) = detect_json(&lake, d.path(), "prof-late", &["--config", cfg]);
    assert_eq!(built(&e), 1, "only the late day is rebuilt: {e}");
    assert_eq!(prof_late, scan_late);
    assert_eq!(
        profile_files(&lake).len(),
        25,
        "the old file of the day is removed"
    );
    // The late day's extracts were made again (new files for its three inputs), no other day's.
    let now = extract_files(&lake);
    assert_eq!(now.len(), extracts.len(), "{now:?}");
    let changed: Vec<&String> = now.iter().filter(|f| !extracts.contains(f)).collect();
    assert_eq!(changed.len(), 3, "{changed:?}");
    assert!(
        changed.iter().all(|f| f.contains("event_date=2026-09-20")),
        "{changed:?}"
    );
}

#[test]
fn a_new_night_builds_one_day_of_profiles() {
    let d = tempfile::tempdir().unwrap();
    let lake = d.path().join("lake").display().to_string();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs");
    let night = |until: &str| {
        let mut p = plan(root.join("cloudtrail/AWSLogs").display().to_string(), &lake);
        p.range.until = Some(day(until));
        ingest(&p);
        let mut p = plan(root.join("builds").display().to_string(), &lake);
        p.dataset = pipewarden::lake::Dataset::Builds;
        p.range.until = Some(day(until));
        ingest(&p);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_pipewarden"))
            .args(["detect", "--lake", &lake, "--baseline", "10d"])
            .output()
            .unwrap();
        let e = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(matches!(o.status.code(), Some(0 | 1)), "{e}");
        built(&e)
    };
    // The first night builds the history; each later night the day that became history (the
    // sessions and runs of the new day leave the older days' fingerprints alone).
    assert_eq!(night("2026-09-20"), 10);
    // A source folder that is AWSLogs itself is dated from its path: --until held.
    assert_eq!(
        scalar(
            &lake,
            "SELECT CAST(max(key_date) AS VARCHAR) || ' ' || CAST(count(*) FILTER (WHERE key_date IS NULL) AS VARCHAR) \
             FROM manifest WHERE dataset = 'cloudtrail'"
        ),
        "2026-09-20 0"
    );
    assert_eq!(night("2026-09-21"), 1);
    assert_eq!(night("2026-09-22"), 1);
}
