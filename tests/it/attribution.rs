//! Attribution: session lineage, credential types, pipelines, runs and environments, checked
//! against the generator's truth and against real records.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use pipewarden::generate::{self, GeneratePlan};
use pipewarden::lake::Dataset;

use crate::helpers::*;

fn gunzip_lines(p: &Path) -> Vec<serde_json::Value> {
    let gz = std::fs::read(p).unwrap();
    let mut s = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut s)
        .unwrap();
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn account_env(acct: &str) -> &'static str {
    match acct {
        "111111111111" => "tooling",
        "222222222222" => "dev",
        "333333333333" => "staging",
        "444444444444" => "prod",
        _ => "?",
    }
}

/// Generates, ingests CloudTrail and builds, returns the lake.
fn generated_lake(d: &Path, days: u32, seed: u64, scale: f64) -> String {
    let out = d.join("gen");
    generate::run(&GeneratePlan {
        out: out.display().to_string(),
        days,
        seed,
        scale,
        start: chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        s3: Default::default(),
    })
    .unwrap();
    let lake = d.join("lake").display().to_string();
    ingest(&plan(out.join("cloudtrail").display().to_string(), &lake));
    let mut p = plan(out.join("builds").display().to_string(), &lake);
    p.dataset = Dataset::Builds;
    ingest(&p);
    lake
}

#[test]
fn generated_pipeline_events_get_their_pipeline_and_environment() {
    let d = tempfile::tempdir().unwrap();
    let lake = generated_lake(d.path(), 12, 21, 0.5);
    let truth = gunzip_lines(&d.path().join("gen/truth/runs.jsonl.gz"));
    let mut want: HashMap<String, (String, String)> = HashMap::new();
    for r in &truth {
        for id in r["event_ids"].as_array().unwrap() {
            want.insert(
                id.as_str().unwrap().to_string(),
                (
                    r["pipeline"].as_str().unwrap().to_string(),
                    r["run_id"].as_str().unwrap().to_string(),
                ),
            );
        }
    }
    // Labelled anomalies are pipeline events too (some are injected beside the runs).
    let labels = std::fs::read_to_string(d.path().join("gen/labels.jsonl")).unwrap();
    let mut labelled: HashMap<String, String> = HashMap::new();
    for l in labels.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        for id in v["event_ids"].as_array().unwrap() {
            labelled.insert(
                id.as_str().unwrap().to_string(),
                v["pipeline"].as_str().unwrap().to_string(),
            );
        }
    }
    let batches = sql(
        &lake,
        "SELECT event_id, pipeline_id, run_id, target_env, recipient_account_id FROM pipeline_events",
    );
    let (mut total, mut right_p, mut right_env, mut right_run, mut false_pos, mut others) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut confusion: BTreeMap<(String, String), u64> = BTreeMap::new();
    for b in &batches {
        let col = |i: usize| {
            b.column(i)
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .unwrap()
                .clone()
        };
        let (id, pid, rid, env, acct) = (col(0), col(1), col(2), col(3), col(4));
        for i in 0..b.num_rows() {
            let get = |a: &arrow::array::StringArray| {
                (!arrow::array::Array::is_null(a, i)).then(|| a.value(i).to_string())
            };
            let got_p = get(&pid).unwrap_or_default();
            match want.get(id.value(i)) {
                Some((p, r)) => {
                    total += 1;
                    if &got_p == p {
                        right_p += 1;
                    } else {
                        *confusion
                            .entry((p.clone(), format!("{got_p} {}", id.value(i))))
                            .or_default() += 1;
                    }
                    if get(&rid).as_deref() == Some(r.as_str()) {
                        right_run += 1;
                    }
                    let want_env = account_env(&get(&acct).unwrap_or_default());
                    if get(&env).as_deref() == Some(want_env) {
                        right_env += 1;
                    }
                }
                None if labelled.contains_key(id.value(i)) => {
                    let p = &labelled[id.value(i)];
                    if &got_p != p {
                        *confusion
                            .entry((format!("label {p}"), format!("{got_p} {}", id.value(i))))
                            .or_default() += 1;
                    }
                }
                None => {
                    others += 1;
                    if !got_p.is_empty() {
                        false_pos += 1;
                        *confusion.entry(("(none)".into(), got_p)).or_default() += 1;
                    }
                }
            }
        }
    }
    let pct = |n: u64| 100.0 * n as f64 / total.max(1) as f64;
    eprintln!(
        "attribution: {total} pipeline events: pipeline {:.2}%, environment {:.2}%, run {:.2}%; \
         {others} other events, {false_pos} attributed to a pipeline; confusion (truth → got): {confusion:?}",
        pct(right_p),
        pct(right_env),
        pct(right_run)
    );
    assert!(total > 3_000, "{total}");
    assert!(
        false_pos * 200 <= others,
        "{false_pos} of {others} non-pipeline events attributed"
    );
    assert!(
        pct(right_p) >= 99.0,
        "pipeline {:.2}% {confusion:?}",
        pct(right_p)
    );
    assert!(pct(right_env) >= 99.0, "environment {:.2}%", pct(right_env));
}

/// Real records (CloudTrail User Guide examples, Stratus Red Team detonations) in one lake.
fn real_lake(d: &Path) -> String {
    let src = d.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let docs = std::fs::read_to_string(
        external().join("awsdocs-cloudtrail-user-guide/cloudtrail_doc_examples.jsonl"),
    )
    .unwrap();
    let mut out = String::new();
    for (n, l) in docs.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let mut r = v["record"].clone();
        if r.get("eventTime").is_none() {
            // A userIdentity fragment: give it the rest of a record.
            r["eventTime"] = serde_json::json!("2021-02-21T20:00:00Z");
            r["eventSource"] = serde_json::json!("s3.amazonaws.com");
            r["eventName"] = serde_json::json!("ListBuckets");
        }
        if r.get("eventID").is_none() {
            r["eventID"] = serde_json::json!(format!("doc-{n}"));
        }
        out.push_str(&r.to_string());
        out.push('\n');
    }
    std::fs::write(src.join("docs.jsonl"), out).unwrap();
    for e in std::fs::read_dir(stratus()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, src.join(p.file_name().unwrap())).unwrap();
    }
    let lake = d.join("lake").display().to_string();
    ingest(&plan(src.display().to_string(), &lake));
    ingest(&plan(cloud_snitch().display().to_string(), &lake));
    lake
}

#[test]
fn real_records_get_credential_types_and_lineage() {
    let d = tempfile::tempdir().unwrap();
    let lake = real_lake(d.path());
    let one = |id: &str, cols: &str| {
        squash(&table(
            &lake,
            &format!("SELECT {cols} FROM pipeline_events WHERE event_id = '{id}' LIMIT 1"),
        ))
    };
    let has = |id: &str, cols: &str, want: &str| {
        let t = one(id, cols);
        assert!(t.contains(want), "{id}: want {want}\n{t}");
    };
    // Console sign-ins, with MFA as recorded.
    has(
        "3fcfb182-98f8-4744-bd45-10a395ab61cb",
        "credential_type, mfa",
        "|console_session|false|",
    );
    has(
        "fed06f42-cb12-4764-8c69-121063dc79b9",
        "credential_type, mfa",
        "|console_session|true|",
    );
    has(
        "a4fbbe77-91a0-4238-804a-64314184edb6",
        "credential_type, origin_type",
        "|root_session|root|",
    );
    // userIdentity fragments of each type.
    has(
        "doc-11",
        "credential_type, origin_type, lineage",
        "|assumed_role|role_outside_window|outside_window|",
    );
    has(
        "doc-12",
        "credential_type, origin_type",
        "|web_identity|oidc|",
    );
    has(
        "doc-13",
        "credential_type, origin_type, lineage",
        "|aws_account|aws_account|direct|",
    );
    // Stratus: IAM users' long-term keys, the roles they assumed, the federation token.
    let t = squash(&table(
        &lake,
        "SELECT credential_type, origin_type, lineage, chain_depth, count(*) AS n FROM pipeline_events \
         WHERE source_object NOT LIKE '%docs.jsonl' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
    ));
    eprintln!("{t}");
    assert!(t.contains("|iam_user_key|iam_user|direct|0|"), "{t}");
    assert!(t.contains("|assumed_role|iam_user|complete|1|"), "{t}");
    assert!(t.contains("|federated_user|iam_user|complete|1|"), "{t}");
    // cloud-snitch: AWS services acting themselves, and role sessions older than the data.
    let t = squash(&table(
        &lake,
        "SELECT count(*) AS n, count(*) FILTER (WHERE credential_type = 'aws_service' \
         AND origin_type = 'aws_service' AND lineage IN ('direct', 'complete')) AS ok FROM pipeline_events \
         WHERE source_object LIKE '%/CloudTrail/%' AND user_type = 'AWSService'",
    ));
    assert!(t.contains("|17|17|"), "{t}");
    assert_eq!(
        scalar(
            &lake,
            "SELECT count(*) FROM pipeline_events WHERE source_object LIKE '%/CloudTrail/%' \
             AND credential_type = 'assumed_role' AND lineage = 'outside_window'"
        ),
        "3"
    );
}

#[test]
fn pipewarden_toml_names_pipelines_and_environments() {
    let d = tempfile::tempdir().unwrap();
    let lake = generated_lake(d.path(), 5, 4, 0.3);
    let cfg_path = d.path().join("pipewarden.toml");
    std::fs::write(
        &cfg_path,
        r#"
[accounts]
"444444444444" = "production"

[[pipelines]]
id = "web-deploy"
roles = ["arn:aws:iam::*:role/gha-deploy-web"]
allowed_environments = ["staging", "production"]

[[pipelines]]
id = "billing"
repos = ["platform/billing"]
"#,
    )
    .unwrap();
    let cfg = pipewarden::attribute::config::Config::load(&cfg_path).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = rt.block_on(async {
        let lake = local_lake(&lake);
        let ctx = pipewarden::engine::session_with(&lake, &cfg, &Default::default()).await.unwrap();
        let q = "SELECT pipeline_id, target_env, count(*) AS n FROM pipeline_events \
                 WHERE pipeline_id IN ('web-deploy', 'billing', 'github:acme/web:deploy.yml', 'gitlab:platform/billing') \
                 GROUP BY 1, 2 ORDER BY 1, 2";
        let b = ctx.sql(q).await.unwrap().collect().await.unwrap();
        let p = ctx
            .sql("SELECT pipeline_id, source, allowed_environments FROM pipelines WHERE pipeline_id = 'web-deploy'")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        (
            squash(&arrow::util::pretty::pretty_format_batches(&b).unwrap().to_string()),
            squash(&arrow::util::pretty::pretty_format_batches(&p).unwrap().to_string()),
        )
    });
    let (events, pipelines) = t;
    // The configured names replace the discovered ones; the configured account environment wins.
    assert!(events.contains("|web-deploy|production|"), "{events}");
    assert!(events.contains("|billing|"), "{events}");
    assert!(!events.contains("github:acme/web:deploy.yml"), "{events}");
    assert!(!events.contains("gitlab:platform/billing"), "{events}");
    assert!(
        pipelines.contains("|web-deploy|config|[staging, production]|"),
        "{pipelines}"
    );
}

#[test]
fn bad_config_says_file_line_and_what() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("pipewarden.toml");
    std::fs::write(
        &p,
        "[accounts]\n\"111111111111\" = \"dev\"\n\n[[pipelines]]\nid = \"x\"\nrole = [\"a\"]\n",
    )
    .unwrap();
    let e = pipewarden::attribute::config::Config::load(&p)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with(&format!("{}:6:", p.display())), "{e}");
    assert!(e.contains("role"), "{e}");
}
