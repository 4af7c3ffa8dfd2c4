//! Reports and `scan`: every format from one nightly run, validated by the tools their readers
//! use (OCSF models, the Security Hub API model, headless Chromium); hostile log text inert in
//! each; SIEM delivery through failures without loss or repeats.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use crate::helpers::*;

const HOSTILE: &str = "<script>alert(1)</script>=cmd|' /C calc'!A0\u{1b}[31m";

/// A copy of the bundled history plus one hostile record (an IAM user signing in without MFA,
/// whose ARN carries HTML, a spreadsheet formula and a terminal escape).
fn source() -> &'static Path {
    static SRC: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &SRC.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs");
        let src = d.path().join("logs");
        for e in walkdir::WalkDir::new(&root) {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(&root).unwrap();
            let to = src.join(rel);
            if e.file_type().is_dir() {
                std::fs::create_dir_all(&to).unwrap();
            } else {
                std::fs::copy(e.path(), &to).unwrap();
            }
        }
        let rec = serde_json::json!({"Records": [{
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAHOSTILE", "arn": format!("arn:aws:iam::444444444444:user/{HOSTILE}"),
                "accountId": "444444444444", "userName": HOSTILE},
            "eventTime": "2026-10-05T10:00:00Z", "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
            "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9", "userAgent": HOSTILE,
            "requestParameters": null, "responseElements": {"ConsoleLogin": "Success"},
            "additionalEventData": {"MFAUsed": "No"}, "eventID": "hostile-1", "eventType": "AwsConsoleSignIn",
            "recipientAccountId": "444444444444"}]});
        let dir = src.join("cloudtrail/AWSLogs/444444444444/CloudTrail/us-east-1/2026/10/05");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("444444444444_CloudTrail_us-east-1_20261005T1005Z_hostile.json.gz"),
            gz(rec.to_string().as_bytes()),
        )
        .unwrap();
        (d, src)
    })
    .1
}

struct Scan {
    _dir: tempfile::TempDir,
    out: PathBuf,
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

/// One scan writing every format.
fn scan() -> &'static Scan {
    static SCAN: OnceLock<Scan> = OnceLock::new();
    SCAN.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let f = |name: &str| out.join(name).display().to_string();
        let o = Command::new(env!("CARGO_BIN_EXE_pipewarden"))
            .arg("scan")
            .arg(source())
            .args([
                "--lake",
                &d.path().join("lake").display().to_string(),
                "--no-progress",
            ])
            .args([
                "--until",
                "2026-10-06",
                "--window",
                "12d",
                "--baseline",
                "23d",
            ])
            .args(["--format", "terminal"])
            .args(["--format", &format!("json={}", f("findings.json"))])
            .args(["--format", &format!("ndjson={}", f("findings.ndjson"))])
            .args(["--format", &format!("csv={}", f("findings.csv"))])
            .args(["--format", &format!("markdown={}", f("findings.md"))])
            .args(["--format", &format!("html={}", f("report.html"))])
            .args(["--format", &format!("ocsf={}", f("findings.ocsf.ndjson"))])
            .args([
                "--format",
                &format!("ocsf@1.3.0={}", f("findings.ocsf-1.3.ndjson")),
            ])
            .args(["--format", &format!("security-lake={}", f("security-lake"))])
            .args(["--security-lake-account", "123456789012"])
            .args(["--security-lake-region", "eu-west-1"])
            .args(["--format", &format!("asff={}", f("findings.asff.json"))])
            .args(["--assess", &format!("json={}", f("assessment.json"))])
            .args([
                "--asff-account",
                "123456789012",
                "--asff-region",
                "eu-west-1",
            ])
            .output()
            .unwrap();
        Scan {
            _dir: d,
            out,
            status: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    })
}

fn read(s: &Scan, name: &str) -> String {
    std::fs::read_to_string(s.out.join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}\n{}", s.stderr))
}

#[test]
fn scan_ingests_detects_and_writes_every_format() {
    let s = scan();
    // Critical findings are in the window: exit 1 for the scheduler.
    assert_eq!(s.status, Some(1), "{}", s.stderr);
    assert!(s.stderr.contains("cloudtrail: ingested"), "{}", s.stderr);
    assert!(s.stderr.contains("builds: ingested"), "{}", s.stderr);
    assert!(s.stdout.contains("cloudtrail_tampering"), "{}", s.stdout);
    let json: serde_json::Value = serde_json::from_str(&read(s, "findings.json")).unwrap();
    assert_eq!(json["schema"], "pipewarden.findings/v1");
    let n = json["findings"].as_array().unwrap().len();
    assert!(n >= 13, "{n}");
    let nd = read(s, "findings.ndjson");
    assert_eq!(nd.lines().count(), n);
    for l in nd.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["schema"], "pipewarden.findings/v1");
        assert!(v["id"].as_str().unwrap().starts_with("pw-"));
    }
    let csv = read(s, "findings.csv");
    assert!(csv.starts_with("rank,id,score,severity,detector"));
    assert_eq!(csv.lines().count(), n + 1);
    assert!(read(s, "findings.md").contains("# pipewarden findings"));
    // A second scan reads nothing new and finds the same.
    let o = Command::new(env!("CARGO_BIN_EXE_pipewarden"))
        .arg("scan")
        .arg(source())
        .args([
            "--lake",
            &s.out.parent().unwrap().join("lake").display().to_string(),
            "--no-progress",
        ])
        .args([
            "--until",
            "2026-10-06",
            "--window",
            "12d",
            "--baseline",
            "23d",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let again: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(again["findings"], json["findings"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("ingested 0 events"));
}

#[test]
fn hostile_log_text_is_inert_in_every_format() {
    let s = scan();
    // Terminal: no escape character reaches it.
    assert!(
        s.stdout.contains("hostile") || s.stdout.contains("alert(1)"),
        "{}",
        s.stdout
    );
    assert!(!s.stdout.contains('\u{1b}'), "raw escape on the terminal");
    assert!(s.stdout.contains("\\u{1b}"), "{}", s.stdout);
    // HTML: no markup from the log.
    let html = read(s, "report.html");
    assert!(!html.contains("<script"), "script tag in the report");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("Content-Security-Policy"));
    // CSV: the formula is neutralised wherever it starts a field.
    let csv = read(s, "findings.csv");
    for line in csv.lines() {
        for field in line.split(',') {
            let f = field.trim_start_matches('"');
            assert!(!f.starts_with(['=', '+', '@']), "formula in CSV: {line}");
        }
    }
    assert!(
        csv.contains("arn:aws:iam::444444444444:user/<script>"),
        "{csv}"
    );
    // Markdown: escaped for its renderer.
    let md = read(s, "findings.md");
    assert!(!md.contains("<script>") && md.contains("&lt;script&gt;"));
    // JSON keeps the text verbatim (its readers escape as they show it).
    assert!(read(s, "findings.json").contains("\\u001b[31m"));
}

fn python() -> String {
    std::env::var("PIPEWARDEN_TEST_PYTHON")
        .expect("PIPEWARDEN_TEST_PYTHON is not set: run the tests with tests/run.sh")
}

/// Regression (issue 22, item 1): 28 of 38 OCSF findings were invalid (analytic `type_id` 6 with
/// `type` Statistical; 6 is Tagging) and OCSF 1.3 events carried `anomaly_analyses`, an
/// attribute of 1.5, while the lenient validator let both pass.
#[test]
fn ocsf_findings_validate_strictly_for_the_version_they_declare() {
    let s = scan();
    // The default, the newest version pipewarden writes, and 1.3 (what Security Lake takes).
    let newest = s.out.join("findings.ocsf.ndjson");
    let n = assert_ocsf_strict(&newest, "1.7.0");
    assert!(n >= 13, "{n}");
    let v13 = s.out.join("findings.ocsf-1.3.ndjson");
    assert_eq!(assert_ocsf_strict(&v13, "1.3.0"), n);
    let newest = read(s, "findings.ocsf.ndjson");
    let v13 = read(s, "findings.ocsf-1.3.ndjson");
    // Incidents follow the findings as Incident Findings (class 2005) that list their findings;
    // each of those findings names its incident.
    let json: serde_json::Value = serde_json::from_str(&read(s, "findings.json")).unwrap();
    let incidents = json["incidents"].as_array().unwrap();
    assert!(!incidents.is_empty());
    let events: Vec<serde_json::Value> = newest
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(events.len(), findings.len() + incidents.len());
    for i in incidents {
        let ev = events
            .iter()
            .find(|e| e["class_uid"] == 2005 && e["metadata"]["uid"] == i["id"])
            .unwrap_or_else(|| panic!("no Incident Finding for {i}"));
        let listed: Vec<&serde_json::Value> = ev["finding_info_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| &x["uid"])
            .collect();
        assert_eq!(
            listed,
            i["finding_ids"]
                .as_array()
                .unwrap()
                .iter()
                .collect::<Vec<_>>()
        );
        assert_eq!(ev["confidence_score"], i["score"]);
        for id in i["finding_ids"].as_array().unwrap() {
            let f = events
                .iter()
                .find(|e| e["class_uid"] == 2004 && e["finding_info"]["uid"] == *id)
                .unwrap();
            assert_eq!(f["unmapped"]["incident_id"], i["id"]);
        }
    }
    assert!(newest.lines().any(|l| l.contains("\"anomaly_analyses\"")));
    assert!(!v13.contains("\"anomaly_analyses\""));
    assert!(v13.lines().any(|l| l.contains("\"baseline\":{")));
    assert!(!newest.contains("\"type_id\":6"));
    // py-ocsf-models (Prowler's) checks 1.3 too.
    let script = r#"
import json, sys
from py_ocsf_models.events.findings.detection_finding import DetectionFinding
n = 0
for line in open(sys.argv[1]):
    v = json.loads(line)
    if v["class_uid"] == 2005:
        continue  # an incident: py-ocsf-models has no Incident Finding
    assert v["class_uid"] == 2004 and v["type_uid"] == 200401, v
    DetectionFinding.model_validate(v)
    n += 1
print(n)
"#;
    let o = Command::new(python())
        .args(["-c", script])
        .arg(s.out.join("findings.ocsf-1.3.ndjson"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Issue 22, item 2: the Amazon Security Lake custom source. Read back with pyarrow, every row
/// validates strictly as OCSF 1.3; files are partitioned, sorted by time, zstd-compressed, with
/// pages and row groups within Security Lake's limits.
#[test]
fn security_lake_files_are_partitioned_sorted_and_valid_ocsf_1_3() {
    let s = scan();
    let root = s.out.join("security-lake");
    let json: serde_json::Value = serde_json::from_str(&read(s, "findings.json")).unwrap();
    let findings = json["findings"].as_array().unwrap().len();
    let script = r#"
import glob, json, os, re, sys
import pyarrow.parquet as pq
sys.path.insert(0, sys.argv[2])
from ocsf_strict import check
root = sys.argv[1]
rows = 0
for f in sorted(glob.glob(os.path.join(root, "**", "*.parquet"), recursive=True)):
    rel = os.path.relpath(f, root)
    m = re.fullmatch(r"region=eu-west-1/accountId=123456789012/eventDay=(\d{8})/pipewarden-\d+-\d+\.parquet", rel)
    assert m, rel
    pf = pq.ParquetFile(f)
    for g in range(pf.metadata.num_row_groups):
        rg = pf.metadata.row_group(g)
        assert rg.total_byte_size < 256 << 20, rel
        for c in range(rg.num_columns):
            assert rg.column(c).compression == "ZSTD", (rel, rg.column(c).path_in_schema)
    t = pf.read().to_pylist()
    times = [r["time"] for r in t]
    assert times == sorted(times), rel
    for r in t:
        day = __import__("datetime").datetime.fromtimestamp(r["time"] / 1000, __import__("datetime").timezone.utc).strftime("%Y%m%d")
        assert day == m.group(1), (rel, r["time"])
        assert r["class_uid"] == 2004 and r["metadata"]["version"] == "1.3.0"
        errs = check(r, "1.3.0")
        assert not errs, (rel, errs[:5])
    rows += len(t)
print(rows)
"#;
    let o = Command::new(python())
        .args(["-c", script])
        .arg(&root)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}",
        head(&String::from_utf8_lossy(&o.stderr), 3000)
    );
    let rows: usize = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
    assert_eq!(rows, findings);
    // Every data page is at most 1 MiB uncompressed (read with the parquet crate's page reader).
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let mut files = vec![];
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    assert!(!files.is_empty());
    for f in files {
        let r = SerializedFileReader::new(std::fs::File::open(&f).unwrap()).unwrap();
        for g in 0..r.num_row_groups() {
            let rg = r.get_row_group(g).unwrap();
            for c in 0..rg.num_columns() {
                for page in rg.get_column_page_reader(c).unwrap() {
                    let page = page.unwrap();
                    assert!(page.buffer().len() <= 1 << 20, "{}", f.display());
                }
            }
        }
    }
}

#[test]
fn asff_findings_validate_against_the_security_hub_api_model() {
    let s = scan();
    let script = r#"
import json, sys, botocore.session
from botocore.validate import ParamValidator
findings = json.load(open(sys.argv[1]))
shape = botocore.session.get_session().get_service_model("securityhub").operation_model("BatchImportFindings").input_shape
for i in range(0, len(findings), 100):
    report = ParamValidator().validate({"Findings": findings[i:i + 100]}, shape)
    if report.has_errors():
        print(report.generate_report()); sys.exit(1)
assert any(f.get("RelatedFindings") for f in findings), "no finding names its incident's others"
print(len(findings))
"#;
    let o = Command::new(python())
        .args(["-c", script])
        .arg(s.out.join("findings.asff.json"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let asff: serde_json::Value = serde_json::from_str(&read(s, "findings.asff.json")).unwrap();
    assert_eq!(asff[0]["AwsAccountId"], "123456789012");
    // A finding in an incident lists the incident's other findings, by their ASFF ids.
    let ids: Vec<&serde_json::Value> = asff.as_array().unwrap().iter().map(|f| &f["Id"]).collect();
    let linked = asff
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["RelatedFindings"].is_array())
        .unwrap();
    for r in linked["RelatedFindings"].as_array().unwrap() {
        assert!(ids.contains(&&r["Id"]) && r["Id"] != linked["Id"], "{r}");
        assert_eq!(r["ProductArn"], linked["ProductArn"]);
    }
    assert!(linked["ProductFields"]["pipewarden/incident"].is_string());
    assert!(
        asff[0]["ProductArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:securityhub:eu-west-1:123456789012:product/")
    );
}

#[test]
fn scan_assess_writes_the_assessment_of_the_window_it_judged() {
    let s = scan();
    let a: serde_json::Value = serde_json::from_str(&read(s, "assessment.json")).unwrap();
    assert_eq!(a["schema"], "pipewarden.assessment/v1");
    assert_eq!(a["period_end"], "2026-10-06T00:00:00Z");
    let web = a["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pipeline_id"] == "github:acme/web:deploy.yml")
        .expect("web assessed");
    let state = web["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["control"] == "state_emitted")
        .unwrap();
    assert_eq!(state["status"], "fail", "{state}");
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let s = scan();
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("chromium is not installed: tests/run.sh installs Debian's chromium");
    let html = s.out.join("report.html");
    let text = read(s, "report.html");
    assert!(
        text.contains("<svg") && text.contains("calls per day"),
        "no plots"
    );
    // It leads with the incidents, and groups the findings by subject.
    let json: serde_json::Value = serde_json::from_str(&read(s, "findings.json")).unwrap();
    let incidents = text.find("<h2>Incidents</h2>").expect("incidents");
    assert!(incidents < text.find("<h2>Findings, ranked</h2>").unwrap());
    for f in json["findings"].as_array().unwrap() {
        let subject = f["subject"].as_str().unwrap();
        assert!(
            text.contains(&format!(
                "<section><h2>{}</h2>",
                pipewarden::report::escape::html(subject)
            )),
            "no section for {subject}"
        );
    }
    assert!(
        !text.contains("http://") && !text.contains("https://") || !text.contains("src=\"http")
    );
    let shot = crate::helpers::render_in_chromium(chromium, &html, "pipewarden-report.png");
    eprintln!("report screenshot: {}", shot.display());
}

/// A server's URL, the bodies it accepted by idempotency key, and how many requests it saw.
type Server = (
    String,
    Arc<Mutex<BTreeMap<String, String>>>,
    Arc<Mutex<usize>>,
);

/// A loopback HTTP server that fails the requests whose 1-based number is in `fail` (with 503,
/// or by closing the connection when the number is negative) and records the accepted bodies by
/// idempotency key.
/// One HTTP/1.1 request as the loopback servers read it: the request line, the header lines
/// (trimmed, as sent) and the body (`Content-Length` bytes).
struct Request {
    first: String,
    lines: Vec<String>,
    body: Vec<u8>,
}

impl Request {
    /// The header line named `name` (any case), whole.
    fn line(&self, name: &str) -> Option<&str> {
        self.lines.iter().map(String::as_str).find(|l| {
            l.split_once(':')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        })
    }

    /// The value of the header named `name` (any case).
    fn header(&self, name: &str) -> Option<&str> {
        self.line(name)
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim())
    }
}

fn read_request(stream: &std::net::TcpStream) -> Request {
    let mut r = BufReader::new(stream.try_clone().unwrap());
    let mut first = String::new();
    let _ = r.read_line(&mut first);
    let mut lines = vec![];
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 || line.trim_end().is_empty() {
            break;
        }
        lines.push(line.trim_end().to_string());
    }
    let mut req = Request {
        first: first.trim_end().to_string(),
        lines,
        body: vec![],
    };
    let len = req
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    req.body = vec![0u8; len];
    let _ = r.read_exact(&mut req.body);
    req
}

fn flaky_server(fail: Vec<i64>, status: u16) -> Server {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/collector", l.local_addr().unwrap());
    let got = Arc::new(Mutex::new(BTreeMap::new()));
    let count = Arc::new(Mutex::new(0usize));
    let (g, c) = (got.clone(), count.clone());
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut stream) = stream else { continue };
            let req = read_request(&stream);
            let key = req
                .header("idempotency-key")
                .unwrap_or_default()
                .to_string();
            let auth = req.line("authorization").unwrap_or_default().to_string();
            let body = req.body;
            let n = {
                let mut c = c.lock().unwrap();
                *c += 1;
                *c as i64
            };
            if fail.contains(&-n) {
                drop(stream);
                continue;
            }
            let (code, text) = if fail.contains(&n) {
                (status, "try later")
            } else if !auth.contains("Splunk test-token") {
                (401, "bad token")
            } else {
                g.lock()
                    .unwrap()
                    .insert(key, String::from_utf8_lossy(&body).into_owned());
                (200, "{\"text\":\"Success\",\"code\":0}")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    (url, got, count)
}

fn report_with(n: usize) -> pipewarden::detect::Report {
    let json: serde_json::Value = serde_json::from_str(&read(scan(), "findings.json")).unwrap();
    let mut findings: Vec<serde_json::Value> = json["findings"].as_array().unwrap().clone();
    findings.truncate(n);
    let mut r = pipewarden::detect::Report {
        schema: pipewarden::detect::SCHEMA_VERSION,
        window_start: json["window_start"].as_str().unwrap().parse().unwrap(),
        window_end: json["window_end"].as_str().unwrap().parse().unwrap(),
        baseline_start: json["baseline_start"].as_str().unwrap().parse().unwrap(),
        findings: vec![],
        insufficient_history: vec![],
        expired_suppressions: vec![],
        incidents: vec![],
    };
    // Rebuild findings from the JSON (the detect types are the report's own).
    let full = pipewarden::detect::Finding {
        id: String::new(),
        rank: 0,
        detector: String::new(),
        kind: pipewarden::detect::Kind::Rule,
        pipeline_id: None,
        value: String::new(),
        environments: vec![],
        run_ids: vec![],
        first_seen: Default::default(),
        last_seen: Default::default(),
        count: 0,
        score: 0,
        severity: pipewarden::detect::Severity::Info,
        mitre: pipewarden::detect::Technique {
            id: String::new(),
            name: String::new(),
        },
        event_ids: vec![],
        explanation: String::new(),
        baseline: None,
        suppressed: None,
        session_chains: vec![],
        incident_id: None,
        subject: String::new(),
    };
    for f in findings {
        let mut x = full.clone();
        x.id = f["id"].as_str().unwrap().into();
        x.rank = f["rank"].as_u64().unwrap() as usize;
        x.detector = f["detector"].as_str().unwrap().into();
        x.value = f["value"].as_str().unwrap().into();
        x.last_seen = f["last_seen"].as_str().unwrap().parse().unwrap();
        r.findings.push(x);
    }
    r
}

#[test]
fn siem_delivery_survives_failures_without_loss_or_repeats() {
    let r = report_with(25);
    let ids: BTreeSet<String> = r.findings.iter().map(|f| f.id.clone()).collect();
    // Requests 1 and 4 get 503, request 6 has its connection dropped.
    let (url, got, count) = flaky_server(vec![1, 4, -6], 503);
    let mut sink = pipewarden::report::siem::Sink::parse(&format!("splunk-hec={url}")).unwrap();
    // The token as `scan` reads it from PIPEWARDEN_HEC_TOKEN (tests share one environment).
    sink.token = Some("test-token".into());
    sink.batch = 7;
    sink.backoff = std::time::Duration::from_millis(10);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let d = rt
        .block_on(pipewarden::report::siem::deliver(&sink, &r))
        .unwrap();
    assert_eq!(d.batches, 4);
    assert_eq!(d.findings, 25);
    assert_eq!(d.retries, 3);
    assert_eq!(*count.lock().unwrap(), 7);
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 4, "one accepted request per batch");
    let mut seen = BTreeSet::new();
    for body in got.values() {
        for line in body.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["sourcetype"], "pipewarden:finding");
            assert!(
                seen.insert(v["event"]["id"].as_str().unwrap().to_string()),
                "sent twice"
            );
        }
    }
    assert_eq!(seen, ids);

    // An endpoint that refuses (wrong token): a clear error, the token not in it.
    let (url, _, _) = flaky_server(vec![], 503);
    let mut sink = pipewarden::report::siem::Sink::parse(&format!("splunk-hec={url}")).unwrap();
    sink.token = Some("wrong-token".into());
    let e = rt
        .block_on(pipewarden::report::siem::deliver(&sink, &r))
        .unwrap_err()
        .to_string();
    assert!(e.contains("refused") && e.contains("401"), "{e}");
    assert!(!e.contains("wrong-token"), "{e}");
    // An endpoint that keeps failing: gives up, says so.
    let (url, _, _) = flaky_server((1..=20).collect(), 500);
    let mut sink = pipewarden::report::siem::Sink::parse(&format!("splunk-hec={url}")).unwrap();
    sink.token = Some("test-token".into());
    sink.backoff = std::time::Duration::from_millis(5);
    sink.attempts = 3;
    let e = rt
        .block_on(pipewarden::report::siem::deliver(&sink, &r))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("gave up after 3 tries") && e.contains("HTTP 500"),
        "{e}"
    );
}

/// A loopback server that answers every request with `status`, the `extra` header lines, and a
/// body that echoes the request's Authorization header; it counts the requests by method.
fn echo_server(status: u16, extra: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/collector", l.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(vec![]));
    let s = seen.clone();
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut stream) = stream else { continue };
            let req = read_request(&stream);
            let auth: Vec<&str> = req
                .lines
                .iter()
                .map(String::as_str)
                .filter(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                .collect();
            let text = format!("you sent {}", auth.join(" and "));
            s.lock().unwrap().push(req.first);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    (url, seen)
}

/// Regressions: a 302 turned the POST into a body-less GET and "sent" the findings; an
/// endpoint that echoed the Authorization header got the token printed; a URL's password was
/// printed in every message.
#[test]
fn siem_redirects_are_refused_and_secrets_never_printed() {
    let r = report_with(3);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, seen) = echo_server(302, "Location: http://127.0.0.1:9/elsewhere\r\n");
    let mut sink = pipewarden::report::siem::Sink::parse(&format!("webhook={url}")).unwrap();
    sink.token = Some("bearer-secret".into());
    let e = rt
        .block_on(pipewarden::report::siem::deliver(&sink, &r))
        .unwrap_err()
        .to_string();
    assert!(e.contains("302") && e.contains("not followed"), "{e}");
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "no request follows the redirect"
    );
    assert!(seen.lock().unwrap()[0].starts_with("POST "));

    let (url, _) = echo_server(401, "");
    let with_password = url.replace("http://", "http://ci:hunter2@");
    let mut sink =
        pipewarden::report::siem::Sink::parse(&format!("webhook={with_password}")).unwrap();
    sink.token = Some("bearer-secret".into());
    let e = rt
        .block_on(pipewarden::report::siem::deliver(&sink, &r))
        .unwrap_err()
        .to_string();
    assert!(e.contains("401") && e.contains("<redacted>"), "{e}");
    assert!(
        !e.contains("bearer-secret") && !e.contains("hunter2"),
        "{e}"
    );
    // The client sends the URL's user:password as a Basic credential too: echoed, it is base64.
    assert!(!e.contains("Y2k6aHVudGVyMg"), "{e}");
}

/// A loopback server that answers its first request with 429 and `Retry-After: 1`, then 200s;
/// it records when each request came.
fn busy_then_ok_server() -> (String, Arc<Mutex<Vec<std::time::Instant>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(vec![]));
    let s = seen.clone();
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut stream) = stream else { continue };
            read_request(&stream);
            let n = {
                let mut g = s.lock().unwrap();
                g.push(std::time::Instant::now());
                g.len()
            };
            let head = if n == 1 {
                "429 Too Many Requests\r\nRetry-After: 1"
            } else {
                "200 OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {head}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            );
        }
    });
    (url, seen)
}

/// Regressions (hardening, SIEM delivery): `Retry-After` was ignored (a 429 gave up after
/// 3 s of backoff); a failing first `--siem` stopped the others; a delivery that stopped part
/// way did not say what had gone before it.
#[test]
fn siem_honours_retry_after_reports_partial_delivery_and_tries_every_sink() {
    let r = report_with(25);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, seen) = busy_then_ok_server();
    let mut sink = pipewarden::report::siem::Sink::parse(&format!("webhook={url}")).unwrap();
    sink.backoff = std::time::Duration::from_millis(10);
    sink.attempts = 2;
    let d = rt
        .block_on(pipewarden::report::siem::deliver(&sink, &r))
        .unwrap();
    assert_eq!((d.findings, d.retries), (25, 1));
    let t = seen.lock().unwrap().clone();
    assert!(
        t[1] - t[0] >= std::time::Duration::from_millis(950),
        "retried after {:?}, not the 1 s asked",
        t[1] - t[0]
    );

    // The second batch refused: the error says the first one went.
    let (url, _, _) = flaky_server(vec![2], 400);
    let mut refusing = pipewarden::report::siem::Sink::parse(&format!("splunk-hec={url}")).unwrap();
    refusing.token = Some("test-token".into());
    refusing.batch = 7;
    let e = rt
        .block_on(pipewarden::report::siem::deliver(&refusing, &r))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("400") && e.contains("7 of 25 finding(s) were delivered before"),
        "{e}"
    );

    // A refusing endpoint first, a working one second: the second still gets every finding.
    let (ok_url, got, _) = flaky_server(vec![], 503);
    let mut ok = pipewarden::report::siem::Sink::parse(&format!("splunk-hec={ok_url}")).unwrap();
    ok.token = Some("test-token".into());
    let (bad_url, _) = echo_server(401, "");
    let bad = pipewarden::report::siem::Sink::parse(&format!("webhook={bad_url}")).unwrap();
    let outcomes = rt.block_on(pipewarden::report::siem::deliver_all(&[bad, ok], &r, None));
    assert!(outcomes[0].is_err());
    assert_eq!(outcomes[1].as_ref().unwrap().findings, 25);
    assert!(!got.lock().unwrap().is_empty());
}

/// The security-lake format into the source's S3 prefix on the loopback server, through the
/// same client users get: one object per partition, each a whole Parquet file with the rows of
/// its day, and a rerun of the window replaces them rather than adding copies.
#[test]
fn security_lake_files_land_under_the_sources_s3_prefix() {
    let r = report_with(20);
    let (rt, client, b) = bucket("security-lake");
    let aws = rt.block_on(pipewarden::aws::AwsContext::load(&s3_options()));
    let dest = pipewarden::report::Destination::S3 {
        bucket: b.clone(),
        key: "ext/pipewarden/".into(),
    };
    let list = || {
        let l = rt
            .block_on(client.list_objects_v2().bucket(&b).send())
            .unwrap();
        let mut keys: Vec<String> = l
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        keys.sort();
        keys
    };
    let write = || {
        rt.block_on(pipewarden::report::write_security_lake(
            &dest,
            &r,
            "123456789012",
            "us-east-1",
            Some(&aws),
        ))
        .unwrap()
    };
    let n = write();
    let keys = list();
    assert_eq!(keys.len(), n);
    let mut rows = 0;
    for k in &keys {
        assert!(
            k.starts_with("ext/pipewarden/region=us-east-1/accountId=123456789012/eventDay="),
            "{k}"
        );
        let body = rt
            .block_on(client.get_object().bucket(&b).key(k).send())
            .unwrap();
        let bytes = rt.block_on(body.body.collect()).unwrap().into_bytes();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap();
        rows += reader.map(|b| b.unwrap().num_rows()).sum::<usize>();
    }
    assert_eq!(rows, r.findings.len());
    // The same window again: the same objects, no copies.
    assert_eq!(write(), n);
    assert_eq!(list(), keys);
}

/// A loopback Splunk HEC with indexer acknowledgement, one request per connection. Event
/// posts (numbered from 1) in `busy` get 503 "Server is busy" (code 9), those in `dropped`
/// lose their connection before any answer; neither is indexed. Every other post gets an
/// `ackId`; an ack becomes true after `late` polls of it, except for the ids `lost(id)` names
/// (received, never indexed). What the receiver indexed is counted per finding id.
struct Hec {
    url: String,
    indexed: Arc<Mutex<BTreeMap<String, usize>>>,
    posts: Arc<Mutex<usize>>,
}

fn hec_server(busy: Vec<usize>, dropped: Vec<usize>, late: usize, lost: fn(u64) -> bool) -> Hec {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/services/collector/event",
        l.local_addr().unwrap()
    );
    let indexed = Arc::new(Mutex::new(BTreeMap::new()));
    let posts = Arc::new(Mutex::new(0usize));
    let (ix, ps) = (indexed.clone(), posts.clone());
    std::thread::spawn(move || {
        let mut batches: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        let mut polls: BTreeMap<u64, usize> = BTreeMap::new();
        let mut indexed_acks: BTreeSet<u64> = BTreeSet::new();
        let mut next_ack = 0u64;
        for stream in l.incoming() {
            let Ok(mut stream) = stream else { continue };
            let req = read_request(&stream);
            let answer = |stream: &mut std::net::TcpStream, code: u16, text: String| {
                let _ = write!(
                    stream,
                    "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            };
            if !req
                .line("authorization")
                .unwrap_or_default()
                .contains("Splunk good-token")
            {
                answer(
                    &mut stream,
                    403,
                    r#"{"text":"Invalid token","code":4}"#.into(),
                );
                continue;
            }
            if req.header("x-splunk-request-channel").is_none() {
                answer(
                    &mut stream,
                    400,
                    r#"{"text":"Data channel is missing","code":10}"#.into(),
                );
                continue;
            }
            if req.first.contains("/services/collector/ack") {
                let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
                let mut acks = serde_json::Map::new();
                for id in v["acks"].as_array().unwrap() {
                    let id = id.as_u64().unwrap();
                    let n = polls.entry(id).or_default();
                    *n += 1;
                    if *n > late
                        && !lost(id)
                        && let Some(ids) = batches.remove(&id)
                    {
                        let mut ix = ix.lock().unwrap();
                        for f in ids {
                            *ix.entry(f).or_default() += 1;
                        }
                        indexed_acks.insert(id);
                    }
                    let ok = indexed_acks.contains(&id);
                    acks.insert(id.to_string(), serde_json::Value::Bool(ok));
                }
                answer(
                    &mut stream,
                    200,
                    serde_json::json!({ "acks": acks }).to_string(),
                );
                continue;
            }
            let n = {
                let mut p = ps.lock().unwrap();
                *p += 1;
                *p
            };
            if dropped.contains(&n) {
                drop(stream);
                continue;
            }
            if busy.contains(&n) {
                answer(
                    &mut stream,
                    503,
                    r#"{"text":"Server is busy","code":9}"#.into(),
                );
                continue;
            }
            let ids: Vec<String> = String::from_utf8_lossy(&req.body)
                .lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    v["event"]["id"].as_str().unwrap().to_string()
                })
                .collect();
            let ack = next_ack;
            next_ack += 1;
            batches.insert(ack, ids);
            answer(
                &mut stream,
                200,
                format!(r#"{{"text":"Success","code":0,"ackId":{ack}}}"#),
            );
        }
    });
    Hec {
        url,
        indexed,
        posts,
    }
}

fn hec_sink(url: &str, token: &str) -> pipewarden::report::siem::Sink {
    let mut sink = pipewarden::report::siem::Sink::parse(&format!("splunk-hec={url}")).unwrap();
    sink.token = Some(token.into());
    sink.batch = 5;
    sink.backoff = std::time::Duration::from_millis(10);
    sink.ack_poll = std::time::Duration::from_millis(20);
    sink.ack_timeout = std::time::Duration::from_millis(800);
    sink.timeout = std::time::Duration::from_secs(3);
    sink
}

/// Issue 22, item 4: with indexer acknowledgement a 200 from HEC only means "received". A busy
/// answer, a dropped connection, acks that come late and one batch that is never indexed: each
/// finding is indexed exactly once by the receiver's count, and what is never acknowledged is
/// reported, not taken for delivered.
#[test]
fn hec_acknowledgement_is_awaited_and_unindexed_batches_are_sent_again() {
    let r = report_with(20);
    let ids: BTreeSet<String> = r.findings.iter().map(|f| f.id.clone()).collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Post 1 busy, post 2 dropped; acks true after 2 polls; ack id 1 (the second batch) lost.
    let hec = hec_server(vec![1], vec![2], 2, |id| id == 1);
    let d = rt
        .block_on(pipewarden::report::siem::deliver(
            &hec_sink(&hec.url, "good-token"),
            &r,
        ))
        .unwrap();
    assert_eq!((d.batches, d.findings), (4, 20));
    // 4 batches, 2 failed posts, 1 resend of the lost batch.
    assert_eq!(*hec.posts.lock().unwrap(), 7);
    let indexed = hec.indexed.lock().unwrap();
    assert_eq!(indexed.keys().cloned().collect::<BTreeSet<_>>(), ids);
    assert!(indexed.values().all(|&n| n == 1), "{indexed:?}");

    // Nothing is ever indexed: after every try, the delivery fails and says so.
    let hec = hec_server(vec![], vec![], 0, |_| true);
    let mut sink = hec_sink(&hec.url, "good-token");
    sink.attempts = 2;
    let e = rt
        .block_on(pipewarden::report::siem::deliver(&sink, &r))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("4 batch(es) (20 finding(s)) received but never acknowledged"),
        "{e}"
    );
    assert!(e.contains("0 of 20"), "{e}");
    assert_eq!(*hec.posts.lock().unwrap(), 8);

    // HEC's error codes are explained; the token is not shown.
    let hec = hec_server(vec![], vec![], 0, |_| false);
    let e = rt
        .block_on(pipewarden::report::siem::deliver(
            &hec_sink(&hec.url, "bad-token"),
            &r,
        ))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("HEC code 4: invalid token: check PIPEWARDEN_HEC_TOKEN"),
        "{e}"
    );
    assert!(!e.contains("bad-token"), "{e}");
}

/// Issue 22, item 3: `--siem securityhub` through aws-sdk-securityhub's BatchImportFindings on
/// moto's Security Hub, read back with GetFindings through the same SDK: batches of at most
/// 100, every finding there once, and a second import updates in place (same Id, a newer
/// UpdatedAt, severity in FindingProviderFields).
#[test]
fn security_hub_import_batches_reads_back_and_updates_in_place() {
    // The SDK's Security Hub types overflow a test thread's stack in a debug build (see
    // `securityhub::STACK`): the test runs on a thread with a large one.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(security_hub_round_trip)
        .unwrap()
        .join()
        .expect("the Security Hub test failed (its message is above)");
}

fn security_hub_round_trip() {
    let base = report_with(30);
    let mut r = base.clone();
    r.findings.clear();
    for k in 0..5 {
        for f in &base.findings {
            let mut f = f.clone();
            f.id = format!("{}-{k}", f.id);
            r.findings.push(f);
        }
    }
    let n = r.findings.len();
    assert!(n > 100, "{n}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let aws = rt.block_on(pipewarden::aws::AwsContext::load(&s3_options()));
    let account = "123456789012";
    let t = pipewarden::report::securityhub::Target {
        account: account.into(),
        region: "us-east-1".into(),
        attempts: 3,
        endpoint: Some(s3_endpoint()),
    };
    let d = rt
        .block_on(Box::pin(pipewarden::report::securityhub::import(
            &aws, &t, &r,
        )))
        .unwrap();
    assert_eq!((d.findings, d.batches), (n, n.div_ceil(100)));
    let client = aws_sdk_securityhub::Client::from_conf(
        aws_sdk_securityhub::config::Builder::from(&aws.sdk)
            .endpoint_url(s3_endpoint())
            .region(aws_sdk_securityhub::config::Region::new("us-east-1"))
            .build(),
    );
    let read = || {
        let mut all = vec![];
        let mut token = None;
        loop {
            let out = rt
                .block_on(Box::pin(
                    client
                        .get_findings()
                        .max_results(100)
                        .set_next_token(token.clone())
                        .send(),
                ))
                .unwrap();
            all.extend(out.findings().iter().cloned());
            token = out
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        all
    };
    let first = read();
    let ours: Vec<_> = first
        .iter()
        .filter(|f| {
            f.product_arn()
                .is_some_and(|p| p.ends_with(&format!("{account}/default")))
        })
        .collect();
    assert_eq!(ours.len(), n);
    let by_id: BTreeMap<&str, _> = ours.iter().map(|f| (f.id().unwrap(), *f)).collect();
    assert_eq!(by_id.len(), n, "each finding once");
    let f0 = &r.findings[0];
    let got = by_id[f0.id.as_str()];
    assert_eq!(
        got.finding_provider_fields()
            .and_then(|p| p.severity())
            .and_then(|s| s.original()),
        Some(f0.score.to_string().as_str())
    );
    let updated = got.updated_at().unwrap().to_string();
    // Seen again: updated in place, not added.
    std::thread::sleep(std::time::Duration::from_millis(20));
    rt.block_on(Box::pin(pipewarden::report::securityhub::import(
        &aws, &t, &r,
    )))
    .unwrap();
    let second = read();
    let again: Vec<_> = second
        .iter()
        .filter(|f| f.id() == Some(f0.id.as_str()))
        .collect();
    assert_eq!(again.len(), 1);
    assert!(
        again[0].updated_at().unwrap() > updated.as_str(),
        "{updated}"
    );
    assert_eq!(second.len(), first.len());
}
