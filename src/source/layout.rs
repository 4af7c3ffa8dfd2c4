//! The CloudTrail delivery layout: what an S3 key or file path says about the object in it.
//!
//! `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<file>`, with an optional organization id
//! (`AWSLogs/<o-id>/<account>/...`) and any prefix before `AWSLogs/`. Digest and Insight folders
//! sit beside `CloudTrail/` and are not logs to ingest.

use chrono::NaiveDate;

/// What kind of object a key holds, from its place in the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A CloudTrail log delivery file (under `CloudTrail/`).
    Log,
    /// A digest file (under `CloudTrail-Digest/`), for `verify`.
    Digest,
    /// A CloudTrail Insights file (under `CloudTrail-Insight/`).
    Insight,
    /// Outside the layout: a folder of exports, arrays or line-delimited events.
    Other,
}

/// What the path says, as far as it goes (folders stop part-way).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// Whether an `AWSLogs` segment was found.
    pub in_layout: bool,
    /// Organization id of an organization trail.
    pub org_id: Option<String>,
    /// Account id.
    pub account: Option<String>,
    /// The service folder (`CloudTrail`, `CloudTrail-Digest`, ...).
    pub service: Option<String>,
    /// Region folder.
    pub region: Option<String>,
    /// Year, month and day folders, as far as present.
    pub year: Option<i32>,
    /// Month folder.
    pub month: Option<u32>,
    /// Day folder.
    pub day: Option<u32>,
}

impl Layout {
    /// The kind of object at this path.
    pub fn kind(&self) -> KeyKind {
        match self.service.as_deref() {
            Some("CloudTrail") => KeyKind::Log,
            Some("CloudTrail-Digest") => KeyKind::Digest,
            Some("CloudTrail-Insight") => KeyKind::Insight,
            _ => KeyKind::Other,
        }
    }

    /// The delivery date, when year, month and day are all present and valid.
    pub fn date(&self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year?, self.month?, self.day?)
    }

    /// Whether a folder at this path can hold objects dated within `[since, until]`.
    pub fn may_overlap(&self, since: Option<NaiveDate>, until: Option<NaiveDate>) -> bool {
        let Some(y) = self.year else { return true };
        let (lo, hi) = match (self.month, self.day) {
            (None, _) => (
                NaiveDate::from_ymd_opt(y, 1, 1),
                NaiveDate::from_ymd_opt(y, 12, 31),
            ),
            (Some(m), None) => (
                NaiveDate::from_ymd_opt(y, m, 1),
                NaiveDate::from_ymd_opt(y, m, 1)
                    .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
                    .and_then(|d| d.pred_opt()),
            ),
            (Some(_), Some(_)) => (self.date(), self.date()),
        };
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return true;
        };
        since.is_none_or(|s| hi >= s) && until.is_none_or(|u| lo <= u)
    }
}

/// Reads the layout from a `/`-separated path (an S3 key or a relative file path).
///
/// Complete segments only: for a folder, pass it with its trailing `/`; for an object, the last
/// segment (the file name) is ignored.
pub fn parse(path: &str) -> Layout {
    let mut segs: Vec<&str> = path.split('/').collect();
    // Drop the file name (or the empty string after a trailing slash).
    segs.pop();
    let mut l = Layout::default();
    let Some(at) = segs.iter().rposition(|s| *s == "AWSLogs") else {
        return l;
    };
    l.in_layout = true;
    let mut rest = segs[at + 1..].iter().copied();
    let mut next = rest.next();
    if let Some(s) = next
        && s.starts_with("o-")
    {
        l.org_id = Some(s.to_string());
        next = rest.next();
    }
    let Some(account) = next else { return l };
    l.account = Some(account.to_string());
    let Some(service) = rest.next() else { return l };
    l.service = Some(service.to_string());
    let Some(region) = rest.next() else { return l };
    l.region = Some(region.to_string());
    l.year = rest.next().and_then(|s| num(s, 4)).map(|v| v as i32);
    if l.year.is_none() {
        return l;
    }
    l.month = rest
        .next()
        .and_then(|s| num(s, 2))
        .filter(|m| (1..=12).contains(m));
    if l.month.is_none() {
        return l;
    }
    l.day = rest
        .next()
        .and_then(|s| num(s, 2))
        .filter(|d| (1..=31).contains(d));
    l
}

fn num(s: &str, len: usize) -> Option<u32> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Whether a file name is never a log: hidden files, markers, our own outputs.
pub fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('_')
        || name.ends_with(".parquet")
        || name.ends_with(".crc")
        || name.ends_with(".md")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_keys() {
        let l = parse(
            "AWSLogs/333333333333/CloudTrail/us-east-1/2025/03/06/333333333333_CloudTrail_us-east-1_20250306T0320Z_Zg.json.gz",
        );
        assert_eq!(l.kind(), KeyKind::Log);
        assert_eq!(l.account.as_deref(), Some("333333333333"));
        assert_eq!(l.region.as_deref(), Some("us-east-1"));
        assert_eq!(l.date(), NaiveDate::from_ymd_opt(2025, 3, 6));
        assert_eq!(l.org_id, None);
    }

    #[test]
    fn organization_trail_with_prefix() {
        let l = parse(
            "trails/main/AWSLogs/o-1234abcde/222222222222/CloudTrail/eu-west-1/2025/03/06/x.json.gz",
        );
        assert_eq!(l.org_id.as_deref(), Some("o-1234abcde"));
        assert_eq!(l.account.as_deref(), Some("222222222222"));
        assert_eq!(l.date(), NaiveDate::from_ymd_opt(2025, 3, 6));
    }

    #[test]
    fn digests_and_insights() {
        assert_eq!(
            parse("AWSLogs/1/CloudTrail-Digest/us-east-1/2025/03/06/d.json.gz").kind(),
            KeyKind::Digest
        );
        assert_eq!(
            parse("AWSLogs/1/CloudTrail-Insight/us-east-1/2025/03/06/i.json.gz").kind(),
            KeyKind::Insight
        );
        assert_eq!(parse("exports/events.jsonl").kind(), KeyKind::Other);
    }

    #[test]
    fn folders_overlap_date_ranges() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let month = parse("AWSLogs/1/CloudTrail/us-east-1/2025/02/");
        assert_eq!(
            (month.year, month.month, month.day),
            (Some(2025), Some(2), None)
        );
        assert!(month.may_overlap(d("2025-02-28"), None));
        assert!(!month.may_overlap(d("2025-03-01"), None));
        assert!(!month.may_overlap(None, d("2025-01-31")));
        let year = parse("AWSLogs/1/CloudTrail/us-east-1/2024/");
        assert!(year.may_overlap(d("2024-12-31"), d("2025-01-05")));
        assert!(!year.may_overlap(d("2025-01-01"), None));
        assert!(parse("AWSLogs/1/CloudTrail/").may_overlap(d("2030-01-01"), None));
    }

    #[test]
    fn bad_date_segments_do_not_parse() {
        let l = parse("AWSLogs/1/CloudTrail/us-east-1/2025/13/06/x");
        assert_eq!((l.year, l.month, l.day), (Some(2025), None, None));
        assert_eq!(
            parse("AWSLogs/1/CloudTrail/us-east-1/2025/02/30/x").date(),
            None
        );
    }
}
