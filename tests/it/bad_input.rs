//! A corpus of broken objects: each is reported with its name and reason, recorded in the
//! manifest (and `rejects`), counted, and the rest of the data lands. No input panics.

use std::path::Path;
use std::process::Command;

use crate::helpers::*;

const DAY: &str = "2024-05-01";

fn t(n: usize) -> String {
    format!("{DAY}T00:{:02}:{:02}Z", n / 60 % 60, n % 60)
}

/// Writes the corpus; returns how many good events it holds.
fn write_bad_corpus(dir: &Path) -> usize {
    std::fs::create_dir_all(dir).unwrap();
    let w = |name: &str, body: Vec<u8>| std::fs::write(dir.join(name), body).unwrap();
    let good = |prefix: &str, n: usize| -> Vec<serde_json::Value> {
        (0..n)
            .map(|i| record(&format!("{prefix}-{i}"), &t(i), "GetObject"))
            .collect()
    };
    let mut expected = 0;

    // Truncated gzip: the events before the cut land, the object is partial.
    let full = delivery(&good("trunc", 400));
    w("truncated.json.gz", full[..full.len() * 2 / 3].to_vec());

    // One invalid record between two good ones.
    let a = serde_json::to_string(&record("inv-a", &t(1), "A")).unwrap();
    let b = serde_json::to_string(&record("inv-b", &t(2), "B")).unwrap();
    w(
        "invalid-record.json",
        format!(
            r#"{{"Records":[{a},{{"eventTime":"{}","eventName":tru}},{b}]}}"#,
            t(3)
        )
        .into_bytes(),
    );
    expected += 2;

    // Records that is not an array.
    w(
        "records-object.json",
        br#"{"Records":{"eventTime":"2024-05-01T00:00:00Z"}}"#.to_vec(),
    );

    // Missing, malformed and mistyped eventTime; wrong types elsewhere (kept, coerced).
    let mut mixed = vec![
        serde_json::json!({"eventName": "NoTime", "eventID": "no-time"}),
        serde_json::json!({"eventTime": "2024-13-45T99:00:00Z", "eventID": "bad-time"}),
        serde_json::json!({"eventTime": 1714521600, "eventID": "num-time"}),
        serde_json::json!({"eventTime": t(5), "eventID": "wrong-types", "eventName": 42, "readOnly": "yes", "userIdentity": ["x"]}),
        serde_json::json!("just a string"),
    ];
    mixed.push(record("mixed-good", &t(6), "PutObject"));
    w("mixed.json.gz", delivery(&mixed));
    expected += 2;

    // Invalid UTF-8 inside a string: repaired, counted, kept.
    let mut bytes = format!(
        r#"{{"Records":[{{"eventTime":"{}","eventID":"utf8","userAgent":"ab"#,
        t(7)
    )
    .into_bytes();
    bytes.extend_from_slice(b"\xff\xfe");
    bytes.extend_from_slice(br#"cd"}]}"#);
    w("bad-utf8.json", bytes);
    expected += 1;

    // Empty object, whitespace only, not JSON, garbage after a gzip header.
    w("empty.json.gz", vec![]);
    w("blank.json", b"  \n\t ".to_vec());
    w("not-json.json", b"<html>AccessDenied</html>".to_vec());
    w(
        "garbage.json.gz",
        [&[0x1f, 0x8b, 8, 0][..], &[0xAB; 64][..]].concat(),
    );

    // A single huge record (8 MiB of request parameters) lands whole.
    let mut huge = record("huge", &t(8), "PutBucketPolicy");
    huge["requestParameters"] = serde_json::json!({"policy": "x".repeat(8 << 20)});
    w("huge.json.gz", delivery(&[huge]));
    expected += 1;

    // Deep nesting (valid JSON): kept as text, never a stack overflow.
    let deep = format!(
        r#"{{"eventTime":"{}","eventID":"deep","requestParameters":{}{}}}"#,
        t(9),
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let ok = serde_json::to_string(&record("after-deep", &t(10), "GetObject")).unwrap();
    w("deep.jsonl", format!("{deep}\n{ok}\n").into_bytes());
    expected += 2;

    // Hostile text in fields is data, kept verbatim.
    let mut hostile = record("hostile", &t(11), "GetObject");
    hostile["userAgent"] = serde_json::json!(
        "\u{1b}]0;pwned\u{7}\u{1b}[2J=cmd|' /C calc'!A0<script>alert(1)</script>"
    );
    w(
        "hostile.json",
        serde_json::to_vec(&serde_json::json!({"Records": [hostile]})).unwrap(),
    );
    expected += 1;

    // A good file next to all of it.
    w("good.json.gz", delivery(&good("good", 50)));
    expected += 50;
    expected
}

#[test]
fn broken_objects_and_records_are_reported_and_the_rest_lands() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    let expected_min = write_bad_corpus(&src);
    let lake = d.path().join("lake").display().to_string();
    let s = ingest(&plan(src.display().to_string(), &lake));

    // Truncated object: some of its 400 events landed, not all.
    let trunc: u64 = scalar(
        &lake,
        "SELECT count(*) FROM cloudtrail WHERE event_id LIKE 'trunc-%'",
    )
    .parse()
    .unwrap();
    assert!(trunc > 50 && trunc < 400, "{trunc}");
    assert_eq!(s.events, expected_min as u64 + trunc);
    assert_eq!(
        scalar(&lake, "SELECT count(*) FROM cloudtrail"),
        s.events.to_string()
    );

    let status = |name: &str| {
        table(
            &lake,
            &format!("SELECT status, error FROM manifest WHERE object LIKE '%/{name}'"),
        )
    };
    assert!(
        status("truncated.json.gz").contains("partial")
            && status("truncated.json.gz").contains("gzip")
    );
    assert!(status("records-object.json").contains("Records is an object, not an array"));
    assert!(status("empty.json.gz").contains("object is empty"));
    assert!(status("blank.json").contains("holds no JSON"));
    assert!(status("not-json.json").contains("not JSON"));
    assert!(status("garbage.json.gz").contains("failed"));
    assert!(status("good.json.gz").contains("| ok "));
    assert_eq!(s.failed, 5, "{}", s.line());
    assert_eq!(s.partial, 1);

    // Rejected records keep their reason, position and text.
    let r = table(
        &lake,
        "SELECT object, record_index, line, reason FROM rejects ORDER BY object, record_index",
    );
    for reason in [
        "eventTime is missing",
        "not an ISO 8601",
        "a number, not a string",
        "not a JSON object",
        "invalid JSON",
    ] {
        assert!(r.contains(reason), "{reason} missing in\n{r}");
    }
    assert_eq!(s.rejected, 5, "{r}");
    assert_eq!(scalar(&lake, "SELECT count(*) FROM rejects"), "5");
    assert_eq!(
        scalar(
            &lake,
            "SELECT source_line FROM cloudtrail WHERE event_id = 'after-deep'"
        ),
        "2"
    );

    // Coerced fields and repaired text are counted and explained.
    let m = table(
        &lake,
        "SELECT warnings, warning FROM manifest WHERE object LIKE '%/mixed.json.gz' OR object LIKE '%/bad-utf8.json' ORDER BY object",
    );
    assert!(
        m.contains("invalid UTF-8")
            && m.contains("| 3        | field userIdentity: expected an object, found an array"),
        "{m}"
    );
    assert_eq!(
        scalar(
            &lake,
            "SELECT event_name FROM cloudtrail WHERE event_id = 'wrong-types'"
        ),
        "42"
    );
    assert!(
        scalar(
            &lake,
            "SELECT user_agent FROM cloudtrail WHERE event_id = 'utf8'"
        )
        .contains('\u{fffd}')
    );

    // The huge record and the hostile one are stored as they were.
    assert_eq!(
        scalar(
            &lake,
            "SELECT length(request_parameters) > 8000000 FROM cloudtrail WHERE event_id = 'huge'"
        ),
        "true"
    );
    assert!(
        scalar(
            &lake,
            "SELECT user_agent FROM cloudtrail WHERE event_id = 'hostile'"
        )
        .starts_with('\u{1b}')
    );
}

#[test]
fn cli_strict_exits_2_and_sanitises_messages() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    write_bad_corpus(&src);
    std::fs::write(src.join("evil\u{1b}[31m.json"), b"nope").unwrap();
    let lake = d.path().join("lake");
    let run = |strict: bool, lake: &Path| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_pipewarden"));
        c.args(["ingest", "--from"])
            .arg(&src)
            .arg("--lake")
            .arg(lake);
        if strict {
            c.arg("--strict");
        }
        c.output().unwrap()
    };
    let out = run(false, &lake);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("truncated.json.gz") && err.contains("rejected records"),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "escape sequence reached the terminal: {err:?}"
    );
    assert!(err.contains("evil\\u{1b}[31m.json"), "{err}");
    let out = run(true, &d.path().join("lake2"));
    assert_eq!(out.status.code(), Some(2));
    // Nothing bad on a clean rerun of the same lake: everything is unchanged.
    let out = run(true, &lake);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
