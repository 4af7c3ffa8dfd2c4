//! The saved hunts of `queries/hunts/`: embedded in the binary, overridable and extendable from a
//! folder (`--queries DIR`: its `hunts/*.sql`, or its own `*.sql`), each with a header:
//!
//! ```sql
//! -- name: role_chains
//! -- question: Which sessions were reached through a chain of ${min_depth} or more role hops?
//! -- mitre: T1078.004 Valid Accounts: Cloud Accounts
//! -- param: min_depth = 2   hops from the first credential (an integer)
//! -- portable: duckdb
//! SELECT ... WHERE chain_depth >= ${min_depth}
//! ```
//!
//! A parameter whose default is an integer takes integers only and is written into the SQL as
//! it is; any other is a string, written as a quoted SQL literal. `portable: duckdb` marks the
//! hunts the benchmark also runs on DuckDB.

use std::collections::BTreeMap;
use std::path::Path;

use crate::bundled::{fill, header, mitre, placeholders};

/// One parameter of a hunt.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Name, used as `${name}`.
    pub name: String,
    /// Default value.
    pub default: String,
    /// What it means.
    pub doc: String,
}

impl Param {
    fn is_int(&self) -> bool {
        is_int(&self.default)
    }
}

fn is_int(s: &str) -> bool {
    let d = s.strip_prefix('-').unwrap_or(s);
    !d.is_empty() && d.len() <= 18 && d.bytes().all(|b| b.is_ascii_digit())
}

/// A saved query with its header.
#[derive(Debug, Clone)]
pub struct Hunt {
    /// `name:` (the file stem when missing).
    pub name: String,
    /// `question:`, the question it answers.
    pub question: String,
    /// `mitre:` technique id and name.
    pub mitre: (String, String),
    /// `param:` lines.
    pub params: Vec<Param>,
    /// `portable: duckdb`.
    pub portable: bool,
    /// The SQL, header included.
    pub sql: String,
    /// Where it came from (`queries/hunts/x.sql`, or the file it was read from).
    pub file: String,
}

/// The bundled hunts (every `queries/hunts/*.sql`).
pub const HUNT_FILES: &[(&str, &str)] = crate::bundled::HUNTS;

/// A hunt file that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct CatalogError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

impl Hunt {
    /// Reads a hunt from its text.
    pub fn parse(file: &str, sql: &str) -> Result<Hunt, CatalogError> {
        let err = |reason: String| CatalogError {
            file: file.to_string(),
            reason,
        };
        let stem = Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = header(sql, "name").unwrap_or(&stem).to_string();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(err(format!(
                "hunt name {name:?} must be letters, digits and underscores"
            )));
        }
        let mut params = vec![];
        for line in sql
            .lines()
            .take_while(|l| l.starts_with("--") || l.trim().is_empty())
        {
            let Some(p) = line.trim_start_matches('-').trim().strip_prefix("param:") else {
                continue;
            };
            let (n, rest) = p
                .split_once('=')
                .ok_or_else(|| err(format!("param line {p:?} has no `= default`")))?;
            let rest = rest.trim();
            let (default, doc) = rest
                .split_once("  ")
                .map(|(d, doc)| (d.trim(), doc.trim()))
                .unwrap_or((rest, ""));
            params.push(Param {
                name: n.trim().to_string(),
                default: default.to_string(),
                doc: doc.to_string(),
            });
        }
        let h = Hunt {
            name,
            question: header(sql, "question").unwrap_or("").to_string(),
            mitre: mitre(header(sql, "mitre").unwrap_or("")),
            params,
            portable: header(sql, "portable").is_some_and(|v| v.contains("duckdb")),
            sql: sql.to_string(),
            file: file.to_string(),
        };
        for used in placeholders(&h.sql) {
            if !h.params.iter().any(|p| p.name == used) {
                return Err(err(format!(
                    "uses ${{{used}}} but declares no `-- param: {used} = ...`"
                )));
            }
        }
        Ok(h)
    }

    /// The SQL with `given` parameters (the rest at their defaults) written in.
    pub fn bind(&self, given: &[(String, String)]) -> Result<String, String> {
        for (k, _) in given {
            if !self.params.iter().any(|p| &p.name == k) {
                let known: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
                return Err(format!(
                    "hunt {} has no parameter {k:?} (it has: {})",
                    self.name,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            }
        }
        let mut values = std::collections::HashMap::new();
        for p in &self.params {
            let v = given
                .iter()
                .rev()
                .find(|(k, _)| k == &p.name)
                .map(|(_, v)| v.as_str())
                .unwrap_or(&p.default);
            let lit = if p.is_int() {
                if !is_int(v) {
                    return Err(format!(
                        "parameter {} of hunt {} takes an integer, not {v:?}",
                        p.name, self.name
                    ));
                }
                v.to_string()
            } else {
                format!("'{}'", v.replace('\'', "''"))
            };
            values.insert(p.name.as_str(), lit);
        }
        Ok(fill(&self.sql, &|n| values.get(n).cloned()))
    }

    /// The question with the default parameters written in.
    pub fn question_text(&self) -> String {
        fill(&self.question, &|n| {
            self.params
                .iter()
                .find(|p| p.name == n)
                .map(|p| p.default.clone())
        })
    }
}

/// The bundled hunts, then those of `dir` (its `hunts/` subfolder when it has one), a file there
/// replacing a bundled hunt of the same name. Unusable files are returned apart, so one bad file
/// costs only itself.
pub fn load(dir: Option<&Path>) -> (Vec<Hunt>, Vec<CatalogError>) {
    let mut by_name: BTreeMap<String, Hunt> = BTreeMap::new();
    let mut errors = vec![];
    for (file, sql) in HUNT_FILES {
        match Hunt::parse(file, sql) {
            Ok(h) => {
                by_name.insert(h.name.clone(), h);
            }
            Err(e) => errors.push(e),
        }
    }
    if let Some(dir) = dir {
        let d = if dir.join("hunts").is_dir() {
            dir.join("hunts")
        } else {
            dir.to_path_buf()
        };
        let mut files: Vec<_> = match std::fs::read_dir(&d) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "sql"))
                .collect(),
            Err(e) => {
                errors.push(CatalogError {
                    file: d.display().to_string(),
                    reason: e.to_string(),
                });
                vec![]
            }
        };
        files.sort();
        for p in files {
            let file = p.display().to_string();
            match std::fs::read_to_string(&p) {
                Ok(sql) => match Hunt::parse(&file, &sql) {
                    Ok(h) => {
                        by_name.insert(h.name.clone(), h);
                    }
                    Err(e) => errors.push(e),
                },
                Err(e) => errors.push(CatalogError {
                    file,
                    reason: e.to_string(),
                }),
            }
        }
    }
    (by_name.into_values().collect(), errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_hunt_has_a_complete_header() {
        let (hunts, errors) = load(None);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(hunts.len(), HUNT_FILES.len(), "names are unique");
        for h in hunts {
            assert!(h.file.ends_with(&format!("/{}.sql", h.name)), "{}", h.file);
            assert!(h.question.ends_with('?'), "{}: question", h.file);
            assert!(h.mitre.0.starts_with('T'), "{}: mitre", h.file);
            h.bind(&[]).unwrap();
        }
    }

    #[test]
    fn parameters_are_typed_and_quoted() {
        let h = Hunt::parse(
            "x.sql",
            "-- name: x\n-- question: q?\n-- param: n = 7  days\n-- param: like = %deploy%\n\
             SELECT ${n}, ${like}",
        )
        .unwrap();
        assert_eq!(h.params[0].doc, "days");
        assert_eq!(
            h.bind(&[]).unwrap().lines().last(),
            Some("SELECT 7, '%deploy%'")
        );
        let given = [("like".to_string(), "it's".to_string())];
        assert_eq!(
            h.bind(&given).unwrap().lines().last(),
            Some("SELECT 7, 'it''s'")
        );
        let bad = [("n".to_string(), "1; DROP TABLE x".to_string())];
        assert!(h.bind(&bad).unwrap_err().contains("integer"));
        let nested = [("like".to_string(), "${n}".to_string())];
        assert_eq!(
            h.bind(&nested).unwrap().lines().last(),
            Some("SELECT 7, '${n}'")
        );
        let unknown = [("m".to_string(), "1".to_string())];
        assert!(
            h.bind(&unknown)
                .unwrap_err()
                .contains("has no parameter \"m\"")
        );
        let undeclared = Hunt::parse("y.sql", "-- name: y\nSELECT ${z}").unwrap_err();
        assert!(undeclared.to_string().contains("${z}"), "{undeclared}");
        assert!(Hunt::parse("z.sql", "-- name: a b\nSELECT 1").is_err());
    }
}
