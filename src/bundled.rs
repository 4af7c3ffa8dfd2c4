//! The bundled `queries/` folder, embedded at build time, and the one template syntax its files
//! share.
//!
//! - Rules and hunts are listed by the build script (`src/build.rs`): adding a file adds it.
//! - Every file opens with a header of `-- key: value` lines ([`header`]).
//! - Every placeholder, in SQL and in explanation templates, is `${name}` ([`fill`]): the window
//!   bounds of detect's queries, a detector's dimension, a hunt's parameters, a rule's `${value}`.

include!(concat!(env!("OUT_DIR"), "/bundled_queries.rs"));

/// The header lines of a file: the leading `--` comment lines (blank lines allowed).
pub fn header_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .take_while(|l| l.starts_with("--") || l.trim().is_empty())
        .map(|l| l.trim_start_matches('-').trim())
}

/// A header field (`-- key: value`).
pub fn header<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    header_lines(text).find_map(|l| {
        l.strip_prefix(key)
            .and_then(|r| r.strip_prefix(':'))
            .map(str::trim)
    })
}

/// Splits `T1234.001 Name of it` into id and name.
pub fn mitre(s: &str) -> (String, String) {
    let (id, name) = s.split_once(' ').unwrap_or((s, ""));
    (id.to_string(), name.trim().to_string())
}

/// Writes `value(name)` for each `${name}` it knows, in one pass: a value that itself reads
/// `${x}` stays as it is, and unknown names are left for the next filler.
pub fn fill(text: &str, value: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after
            .find('}')
            .and_then(|j| value(&after[..j]).map(|v| (j, v)))
        {
            Some((j, v)) => {
                out.push_str(&v);
                rest = &after[j + 1..];
            }
            None => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// [`fill`] from a list of names and values.
pub fn fill_with(text: &str, values: &[(&str, &str)]) -> String {
    fill(text, &|n| {
        values
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.to_string())
    })
}

/// Names used as `${name}` in a text's body (its header lines excepted).
pub fn placeholders(text: &str) -> Vec<String> {
    let body: String = text
        .lines()
        .skip_while(|l| l.starts_with("--") || l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = vec![];
    let mut rest = body.as_str();
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        if let Some(j) = rest.find('}') {
            out.push(rest[..j].to_string());
            rest = &rest[j..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_fill() {
        let v = [("a", "${b}"), ("b", "2")];
        assert_eq!(fill_with("x ${a} ${b} ${c}", &v), "x ${b} 2 ${c}");
        assert_eq!(fill_with("${", &v), "${");
        assert_eq!(fill_with("${a", &v), "${a");
    }

    #[test]
    fn headers() {
        let t = "-- rule: x\n-- score: 5\n\nSELECT 1 -- score: 9";
        assert_eq!(header(t, "score"), Some("5"));
        assert_eq!(header(t, "rule"), Some("x"));
        assert_eq!(
            placeholders("-- q: ${a}\nSELECT ${b}"),
            vec!["b".to_string()]
        );
    }

    #[test]
    fn every_folder_is_listed() {
        assert!(
            RULES
                .iter()
                .any(|(f, _)| *f == "queries/rules/root_activity.sql")
        );
        assert!(
            HUNTS
                .iter()
                .any(|(f, _)| *f == "queries/hunts/role_chains.sql")
        );
    }
}
