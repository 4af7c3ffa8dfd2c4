//! Timestamps as CloudTrail writes them (`2024-01-02T03:04:05Z`), parsed fast, with a general
//! RFC 3339 fallback for the rarer forms (fractional seconds, numeric offsets).

/// Microseconds since the Unix epoch of an ISO 8601 / RFC 3339 time, or `None` if it is not one.
pub fn parse_timestamp_micros(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
    {
        let y = digits(&b[0..4])?;
        let mo = digits(&b[5..7])?;
        let d = digits(&b[8..10])?;
        let h = digits(&b[11..13])?;
        let mi = digits(&b[14..16])?;
        let sec = digits(&b[17..19])?;
        if !(1..=12).contains(&mo)
            || d == 0
            || d > days_in_month(y, mo)
            || h > 23
            || mi > 59
            || sec > 60
        {
            return None;
        }
        let days = days_from_civil(y, mo, d);
        return Some(((days * 86_400) + h * 3600 + mi * 60 + sec) * 1_000_000);
    }
    // ISO 8601 basic format, as some older records write session creation dates.
    if b.len() == 16 && s.is_ascii() && b[8] == b'T' && b[15] == b'Z' {
        let ext = format!(
            "{}-{}-{}T{}:{}:{}Z",
            &s[0..4],
            &s[4..6],
            &s[6..8],
            &s[9..11],
            &s[11..13],
            &s[13..15]
        );
        if ext.len() == 20 {
            return parse_timestamp_micros(&ext);
        }
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    // Exports from data lakes and SIEMs (Athena, Panther) write `2024-11-25 17:51:21.000000000`,
    // in UTC.
    if b.len() >= 19 && b[10] == b' ' {
        return chrono::NaiveDateTime::parse_from_str(
            s.trim_end_matches(" UTC"),
            "%Y-%m-%d %H:%M:%S%.f",
        )
        .ok()
        .map(|d| d.and_utc().timestamp_micros());
    }
    None
}

fn digits(b: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as i64;
    }
    Some(v)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since the Unix epoch of a timestamp in microseconds (floor division).
pub fn micros_to_days(micros: i64) -> i32 {
    micros.div_euclid(86_400_000_000) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, Option<i64>)] = &[
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2025-03-06T03:18:09Z", Some(1_741_231_089_000_000)),
            ("2024-02-29T23:59:59Z", Some(1_709_251_199_000_000)),
            ("2023-02-29T00:00:00Z", None),
            ("2024-13-01T00:00:00Z", None),
            ("2024-01-01T00:00:00.250Z", Some(1_704_067_200_250_000)),
            ("2024-01-01T01:00:00+01:00", Some(1_704_067_200_000_000)),
            ("2024-01-01 00:00:00", Some(1_704_067_200_000_000)),
            ("2024-11-25 17:51:21.000000000", Some(1_732_557_081_000_000)),
            ("2024-01-01 25:00:00", None),
            ("", None),
            ("20131102T010628Z", Some(1_383_354_388_000_000)),
            ("2021-02-21T23: 46: 28Z", None),
            ("２０２４-01-01T00:00:00Z", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_timestamp_micros(s), *want, "{s}");
        }
    }

    #[test]
    fn days_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(micros_to_days(-1), -1);
    }
}
