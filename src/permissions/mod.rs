//! `pipewarden permissions`: the SEC11-BP07 permissions review, per principal that a pipeline
//! uses: what it may do (`granted`), what it did (`used`, `denied`), what it never did
//! (`unused`), why the grant is too wide (`broad`) and the least-privilege policy that covers
//! exactly what it used (`suggested_policy`).
//!
//! ```text
//!  pipelines, principals ──► queries/permissions/principals.sql ──► one entry per role / user
//!  cloudtrail (IAM changes) ──► grants.sql ──► grants.rs (replay) ─┐   ◄── iam.rs (--iam, live)
//!  pipeline_events ──► used.sql ──► catalog.rs (event → IAM action) ├─► policy.rs (expand,
//!                                                                    │    broad, suggested)
//!                                               Review ◄────────────┘ ──► render.rs
//! ```
//!
//! - [`catalog`]: the bundled data (action catalogue, event → action mapping, AWS managed
//!   policies), each from a maintained public data set named in `data/README.md`.
//! - [`policy`]: policy documents, pure.
//! - [`grants`]: the trail's IAM changes replayed, pure.
//! - [`iam`]: the live account through aws-sdk-iam.
//! - [`render`]: table, JSON, Markdown and HTML.
//!
//! Its findings for detect (`permissions_admin`, `permissions_unused`) are [`findings`].

pub mod catalog;
pub mod grants;
pub mod iam;
pub mod policy;
pub mod render;

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::{Array, AsArray, RecordBatch};
use datafusion::prelude::SessionContext;
use serde::Serialize;
use serde_json::Value;

use crate::detect::columns::{ints, strs, times};
use crate::findings::Time;
use catalog::Mapped;
use grants::{Grants, IamEvent, Key, PrincipalKind, Source, key_of};
use policy::{Broad, Named, UsedAction};

/// Schema of the review's JSON.
pub const SCHEMA: &str = "pipewarden.permissions/v1";

/// The principals each pipeline uses.
pub const PRINCIPALS_SQL: (&str, &str) = (
    "queries/permissions/principals.sql",
    include_str!("../../queries/permissions/principals.sql"),
);
/// The trail's IAM changes, in time order.
pub const GRANTS_SQL: (&str, &str) = (
    "queries/permissions/grants.sql",
    include_str!("../../queries/permissions/grants.sql"),
);
/// What each principal called.
pub const USED_SQL: (&str, &str) = (
    "queries/permissions/used.sql",
    include_str!("../../queries/permissions/used.sql"),
);

const RESOURCE_PARAMS_TSV: &str = include_str!("data/resource_params.tsv");

/// Resource ARNs kept per action before they are generalised to patterns.
pub const RESOURCE_LIMIT: usize = 10;

/// A query of the review that failed, named.
#[derive(Debug, thiserror::Error)]
#[error("{query}: {source}")]
pub struct ReviewError {
    /// The query's file.
    pub query: String,
    /// Why.
    #[source]
    pub source: datafusion::error::DataFusionError,
}

/// The whole review.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// First instant of the period.
    pub since: Time,
    /// End of the period (exclusive).
    pub until: Time,
    /// Days between the lake's first event and the end of the period.
    pub history_days: i64,
    /// The bundled data's versions.
    pub data_version: &'static str,
    /// Whether the live account was read (`--iam`).
    pub iam: bool,
    /// One entry per principal a pipeline uses.
    pub entries: Vec<Entry>,
    /// Grant changes and documents that could not be read (each names its event).
    pub warnings: Vec<String>,
}

/// One principal's review.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The role or user ARN.
    pub role_arn: String,
    /// `role` or `user`.
    pub kind: PrincipalKind,
    /// Its account.
    pub account: String,
    /// The pipelines that use it.
    pub pipelines: Vec<String>,
    /// The environments its calls reached in the period.
    pub environments: Vec<String>,
    /// What it may do.
    pub granted: Granted,
    /// What it did, per IAM action.
    pub used: Vec<Used>,
    /// Actions it tried and was refused.
    pub denied: Vec<Denied>,
    /// Granted actions it did not use (a whole service as `ns:*`); empty when the grant is
    /// unknown.
    pub unused: Vec<String>,
    /// How many granted actions it did not use.
    pub unused_count: usize,
    /// Granted actions it used, over granted actions (`None` when the grant is unknown).
    pub fraction_used: Option<f64>,
    /// Why the grant is too wide.
    pub broad: Vec<Broad>,
    /// A least-privilege policy covering exactly `used`.
    pub suggested_policy: Value,
    /// A user's access keys (long-term credentials).
    pub access_keys: Vec<grants::AccessKey>,
    /// Calls whose IAM action is unknown, and why.
    pub unmapped: Vec<Unmapped>,
    /// Calls that need no permission (`sts:GetCallerIdentity`).
    pub permissionless_calls: i64,
}

/// What a principal may do.
#[derive(Debug, Clone, Serialize)]
pub struct Granted {
    /// `trail`, `iam`, `trail+iam`, or `unknown` when neither knows its grants.
    pub source: String,
    /// Whether the whole grant is known (the principal was created inside the lake, or read
    /// with `--iam`); otherwise policies attached before the lake's first day are missing.
    pub complete: bool,
    /// Its policies, with their documents.
    pub policies: Vec<GrantedPolicy>,
    /// The `Action` patterns its Allow statements grant, as written.
    pub actions: Vec<String>,
    /// Its `NotAction` patterns (each grants everything else).
    pub not_actions: Vec<String>,
    /// The patterns with a wildcard.
    pub wildcards: Vec<String>,
    /// The catalogue actions it allows.
    pub action_count: usize,
    /// The role's trust policy.
    pub trust_policy: Option<Value>,
    /// The trail events that changed it.
    pub event_ids: Vec<String>,
}

/// One policy of a grant.
#[derive(Debug, Clone, Serialize)]
pub struct GrantedPolicy {
    /// Managed policy ARN or inline policy name.
    pub name: String,
    /// `managed` or `inline`.
    pub kind: &'static str,
    /// Where it is known from.
    pub sources: Vec<Source>,
    /// Its document (`None`: a customer managed policy neither source holds).
    pub document: Option<Value>,
}

/// One used IAM action.
#[derive(Debug, Clone, Serialize)]
pub struct Used {
    /// `ns:Action`.
    pub action: String,
    /// Calls.
    pub calls: i64,
    /// The last call.
    pub last_used: Time,
    /// Resources it touched (ARNs, generalised to patterns past [`RESOURCE_LIMIT`]).
    pub resources: Vec<String>,
    /// Environments reached.
    pub environments: Vec<String>,
    /// The CloudTrail event names behind it.
    pub events: Vec<String>,
    /// Whether the grant allows it (`None` when the grant is unknown).
    pub granted: Option<bool>,
}

/// Refused attempts at one action.
#[derive(Debug, Clone, Serialize)]
pub struct Denied {
    /// `ns:Action`.
    pub action: String,
    /// Refused calls.
    pub calls: i64,
    /// The last.
    pub last_attempt: Time,
}

/// Calls with no known IAM action.
#[derive(Debug, Clone, Serialize)]
pub struct Unmapped {
    /// eventSource.
    pub event_source: String,
    /// eventName.
    pub event_name: String,
    /// Calls.
    pub calls: i64,
    /// Why it cannot be mapped.
    pub reason: String,
}

/// `sql` with the period and the lists written in.
pub fn fill(sql: &str, since: Time, until: Time, lists: &[(&str, &[String])]) -> String {
    let mut out = crate::assess::facts::fill(sql, since, until);
    for (name, items) in lists {
        let list = if items.is_empty() {
            "NULL".to_string()
        } else {
            items
                .iter()
                .map(|s| format!("'{}'", s.replace('\'', "''")))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out = out.replace(&format!("${{{name}}}"), &list);
    }
    out
}

/// Every query of the review with its placeholders filled, for `lint`.
pub fn queries(since: Time, until: Time) -> Vec<(String, String)> {
    let names: Vec<String> = grants::EVENT_NAMES.iter().map(|s| s.to_string()).collect();
    let some = vec!["arn:aws:iam::111111111111:role/lint".to_string()];
    [PRINCIPALS_SQL, GRANTS_SQL, USED_SQL]
        .iter()
        .map(|(n, sql)| {
            (
                n.to_string(),
                fill(
                    sql,
                    since,
                    until,
                    &[("event_names", &names), ("principals", &some)],
                ),
            )
        })
        .collect()
}

async fn run(ctx: &SessionContext, name: &str, sql: &str) -> Result<Vec<RecordBatch>, ReviewError> {
    let err = |source| ReviewError {
        query: name.to_string(),
        source,
    };
    ctx.sql(sql)
        .await
        .map_err(err)?
        .collect()
        .await
        .map_err(err)
}

/// The principals pipelines use: ARN → pipelines.
pub async fn principals(
    ctx: &SessionContext,
) -> Result<BTreeMap<String, BTreeSet<String>>, ReviewError> {
    let b = run(ctx, PRINCIPALS_SQL.0, PRINCIPALS_SQL.1).await?;
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for batch in &b {
        let (p, a) = (strs(batch, "pipeline_id"), strs(batch, "principal"));
        for i in 0..batch.num_rows() {
            if let (Some(p), Some(a)) = (&p[i], &a[i])
                && key_of(a).is_some_and(|k| k.1 != PrincipalKind::Group)
            {
                out.entry(a.clone()).or_default().insert(p.clone());
            }
        }
    }
    Ok(out)
}

/// The trail's grants up to `until`.
pub async fn trail_grants(ctx: &SessionContext, until: Time) -> Result<Grants, ReviewError> {
    let names: Vec<String> = grants::EVENT_NAMES.iter().map(|s| s.to_string()).collect();
    let sql = fill(
        GRANTS_SQL.1,
        Time::from_micros(0),
        until,
        &[("event_names", &names)],
    );
    let b = run(ctx, GRANTS_SQL.0, &sql).await?;
    let mut g = Grants::default();
    for batch in &b {
        let id = strs(batch, "event_id");
        let name = strs(batch, "event_name");
        let acct = strs(batch, "account");
        let user = strs(batch, "user_name");
        let req = strs(batch, "request_parameters");
        let resp = strs(batch, "response_elements");
        for i in 0..batch.num_rows() {
            let e = IamEvent {
                event_id: id[i].clone().unwrap_or_default(),
                event_name: name[i].clone().unwrap_or_default(),
                account: acct[i].clone().unwrap_or_default(),
                caller_user: user[i].clone(),
                request: req[i].clone(),
                response: resp[i].clone(),
            };
            g.apply(&e);
        }
    }
    Ok(g)
}

/// One grouped row of `used.sql`.
struct UseRow {
    principal: String,
    source: String,
    name: String,
    event_type: Option<String>,
    denied: bool,
    env: Option<String>,
    region: Option<String>,
    account: Option<String>,
    params: BTreeMap<String, String>,
    resources: Option<String>,
    calls: i64,
    last: i64,
}

/// A row of `resource_params.tsv`: namespace, the parameters it needs, the ARN template.
type Template = (String, Vec<String>, String);

fn resource_templates() -> &'static [Template] {
    static T: std::sync::LazyLock<Vec<Template>> = std::sync::LazyLock::new(|| {
        RESOURCE_PARAMS_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f.len() >= 3).then(|| {
                    (
                        f[0].to_string(),
                        f[1].split(',').map(str::to_string).collect(),
                        f[2].to_string(),
                    )
                })
            })
            .collect()
    });
    &T
}

/// The request parameters `used.sql` reads (its `p_*` columns).
pub fn resource_params() -> BTreeSet<String> {
    resource_templates()
        .iter()
        .flat_map(|(_, p, _)| p.iter().cloned())
        .collect()
}

/// The resource ARNs one grouped call names: the event's `resources`, else the first
/// template of its namespace whose parameters are all present.
fn row_resources(r: &UseRow, ns: &str, partition: &str) -> Vec<String> {
    let mut out = vec![];
    if let Some(Value::Array(a)) = r
        .resources
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
    {
        for x in a {
            if let Some(arn) = x.get("ARN").and_then(Value::as_str)
                && arn.starts_with("arn:")
            {
                out.push(arn.to_string());
            }
        }
    }
    if !out.is_empty() {
        return out;
    }
    for (tns, params, template) in resource_templates() {
        if tns != ns || !params.iter().all(|p| r.params.contains_key(p)) {
            continue;
        }
        if params.len() == 1
            && let Some(v) = r.params.get(&params[0])
            && v.starts_with("arn:")
        {
            return vec![v.clone()];
        }
        if template.starts_with("${") {
            // The template is the parameter itself: only an ARN will do.
            continue;
        }
        let value = |n: &str| -> Option<String> {
            match n {
                "partition" => Some(partition.to_string()),
                "region" => r.region.clone(),
                "account" => r.account.clone(),
                _ => r.params.get(n).cloned(),
            }
        };
        let filled = crate::bundled::fill(template, &value);
        if !filled.contains("${") {
            return vec![filled];
        }
    }
    out
}

async fn used_rows(
    ctx: &SessionContext,
    since: Time,
    until: Time,
    principals: &[String],
) -> Result<Vec<UseRow>, ReviewError> {
    let sql = fill(USED_SQL.1, since, until, &[("principals", principals)]);
    let b = run(ctx, USED_SQL.0, &sql).await?;
    let params: Vec<String> = resource_params().into_iter().collect();
    let mut out = vec![];
    for batch in &b {
        let s = |c: &str| strs(batch, c);
        let (pr, src, name, et, env, reg, acct, res) = (
            s("principal"),
            s("event_source"),
            s("event_name"),
            s("event_type"),
            s("target_env"),
            s("aws_region"),
            s("account"),
            s("resources"),
        );
        let pcols: Vec<(String, Vec<Option<String>>)> = params
            .iter()
            .map(|p| (p.clone(), s(&format!("p_{}", p.to_ascii_lowercase()))))
            .collect();
        let denied = batch
            .column_by_name("denied")
            .map(|c| c.as_boolean().clone());
        let calls = ints(batch, "calls");
        let last = times(batch, "last_call");
        for i in 0..batch.num_rows() {
            let (Some(p), Some(so), Some(n)) = (&pr[i], &src[i], &name[i]) else {
                continue;
            };
            out.push(UseRow {
                principal: p.clone(),
                source: so.clone(),
                name: n.clone(),
                event_type: et[i].clone(),
                denied: denied.as_ref().is_some_and(|d| !d.is_null(i) && d.value(i)),
                env: env[i].clone(),
                region: reg[i].clone(),
                account: acct[i].clone(),
                params: pcols
                    .iter()
                    .filter_map(|(k, v)| v[i].clone().map(|x| (k.clone(), x)))
                    .collect(),
                resources: res[i].clone(),
                calls: calls[i],
                last: last[i],
            });
        }
    }
    Ok(out)
}

/// The accounts the lake's trail covers.
async fn lake_accounts(ctx: &SessionContext) -> Result<BTreeSet<String>, ReviewError> {
    let b = run(
        ctx,
        "accounts",
        "SELECT DISTINCT recipient_account_id AS a FROM cloudtrail WHERE recipient_account_id IS NOT NULL",
    )
    .await?;
    Ok(b.iter().flat_map(|b| strs(b, "a")).flatten().collect())
}

/// The first event time in the lake, if any.
async fn first_event(ctx: &SessionContext) -> Result<Option<i64>, ReviewError> {
    let b = run(
        ctx,
        "first event",
        "SELECT min(event_time) AS t FROM cloudtrail",
    )
    .await?;
    Ok(b.first()
        .filter(|b| b.num_rows() > 0 && !b.column(0).is_null(0))
        .map(|b| times(b, "t")[0]))
}

/// Reviews every principal a pipeline uses over `[since, until)`; `live` holds the account's
/// grants when `--iam` was given.
pub async fn review(
    ctx: &SessionContext,
    since: Time,
    until: Time,
    live: Option<Grants>,
) -> Result<Review, ReviewError> {
    let who = principals(ctx).await?;
    let mut g = trail_grants(ctx, until).await?;
    let iam = live.is_some();
    if let Some(l) = live {
        g.merge_live(l);
    }
    let list: Vec<String> = who.keys().cloned().collect();
    let rows = used_rows(ctx, since, until, &list).await?;
    let first = first_event(ctx).await?;
    let accounts = lake_accounts(ctx).await?;
    let history_days = first.map_or(0, |f| (until.micros() - f).max(0) / 86_400_000_000);
    let mut by: BTreeMap<&str, Vec<&UseRow>> = BTreeMap::new();
    for r in &rows {
        by.entry(r.principal.as_str()).or_default().push(r);
    }
    let c = catalog::catalogue();
    let mut entries = vec![];
    for (arn, pipelines) in &who {
        let Some(key) = key_of(arn) else { continue };
        entries.push(entry(
            c,
            arn,
            &key,
            pipelines,
            by.get(arn.as_str()).map(Vec::as_slice).unwrap_or(&[]),
            &g,
            &accounts,
        ));
    }
    Ok(Review {
        schema: SCHEMA,
        since,
        until,
        history_days,
        data_version: catalog::DATA_VERSION,
        iam,
        entries,
        warnings: g.warnings.clone(),
    })
}

#[derive(Default)]
struct UseAcc {
    calls: i64,
    last: i64,
    resources: BTreeSet<String>,
    no_resource: bool,
    envs: BTreeSet<String>,
    events: BTreeSet<String>,
}

fn entry(
    c: &catalog::Catalogue,
    arn: &str,
    key: &Key,
    pipelines: &BTreeSet<String>,
    rows: &[&UseRow],
    g: &Grants,
    accounts: &BTreeSet<String>,
) -> Entry {
    let partition = arn.split(':').nth(1).unwrap_or("aws").to_string();
    let mut used: BTreeMap<String, UseAcc> = BTreeMap::new();
    let mut denied: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut unmapped: BTreeMap<(String, String), (i64, String)> = BTreeMap::new();
    let mut permissionless = 0;
    let mut envs = BTreeSet::new();
    for r in rows {
        if let Some(e) = &r.env {
            envs.insert(e.clone());
        }
        let actions = match catalog::map_event(&r.source, &r.name, r.event_type.as_deref()) {
            Mapped::Actions(a) => a,
            Mapped::NoPermission => {
                permissionless += r.calls;
                continue;
            }
            Mapped::Unmapped(why) => {
                let u = unmapped
                    .entry((r.source.clone(), r.name.clone()))
                    .or_insert((0, why));
                u.0 += r.calls;
                continue;
            }
        };
        let ns = catalog::namespace_of(&r.source);
        for a in actions {
            if r.denied {
                let d = denied.entry(a).or_insert((0, i64::MIN));
                d.0 += r.calls;
                d.1 = d.1.max(r.last);
                continue;
            }
            let res = row_resources(r, a.split(':').next().unwrap_or(&ns), &partition);
            let u = used.entry(a).or_default();
            u.calls += r.calls;
            u.last = u.last.max(r.last);
            if res.is_empty() {
                u.no_resource = true;
            }
            u.resources.extend(res);
            if let Some(e) = &r.env {
                u.envs.insert(e.clone());
            }
            u.events.insert(r.name.clone());
        }
    }
    let known = g.principals.get(key);
    let named: Vec<Named> = g.effective(key);
    let parsed: Vec<(Named, Vec<policy::Statement>)> = named
        .into_iter()
        .map(|n| {
            let st = n
                .document
                .as_ref()
                .and_then(|d| policy::statements(d).ok())
                .unwrap_or_default();
            (n, st)
        })
        .collect();
    let refs: Vec<(&Named, &[policy::Statement])> =
        parsed.iter().map(|(n, s)| (n, s.as_slice())).collect();
    let allowed = policy::allowed(c, &refs);
    let trust_st = known
        .and_then(|p| p.trust.as_ref())
        .and_then(|t| policy::statements(t).ok());
    let mut broad = policy::broad(c, arn, &key.0, &refs, trust_st.as_deref(), accounts);
    // A grant is known when the principal was created in the lake or read from the account;
    // a partial one (policies attached in the lake to a principal made before it) still
    // says what it grants at least.
    let grant_known = known.is_some_and(|p| p.complete) || !parsed.is_empty();
    let used_actions: BTreeSet<String> = used
        .keys()
        .map(|a| c.get(a).map_or_else(|| a.clone(), |(s, _)| s.to_string()))
        .collect();
    let used_granted = used_actions
        .iter()
        .filter(|a| allowed.actions.contains(*a))
        .count();
    let fraction = (grant_known && !allowed.actions.is_empty())
        .then(|| used_granted as f64 / allowed.actions.len() as f64);
    if let Some(f) = fraction
        && f < 0.10
    {
        broad.push(Broad {
            reason: "mostly_unused",
            detail: format!(
                "it used {used_granted} of the {} actions it is granted ({:.1}%)",
                allowed.actions.len(),
                f * 100.0
            ),
            policy: None,
        });
    }
    let unused_set: BTreeSet<String> = if grant_known {
        allowed
            .actions
            .iter()
            .filter(|a| !used_actions.contains(*a))
            .cloned()
            .collect()
    } else {
        BTreeSet::new()
    };
    let unused = compress(c, &unused_set, &allowed.actions);
    let sources: BTreeSet<Source> = known.map(|p| p.sources.clone()).unwrap_or_default();
    let source = match (
        sources.contains(&Source::Trail),
        sources.contains(&Source::Iam),
    ) {
        (true, true) => "trail+iam",
        (true, false) => "trail",
        (false, true) => "iam",
        (false, false) => "unknown",
    };
    let mut policies: Vec<GrantedPolicy> = parsed
        .iter()
        .map(|(n, _)| {
            let base = n.name.split(" (group ").next().unwrap_or(&n.name);
            let srcs = known
                .and_then(|p| {
                    p.managed
                        .get(base)
                        .cloned()
                        .or_else(|| p.inline.get(base).map(|i| i.sources.clone()))
                })
                .unwrap_or_default();
            GrantedPolicy {
                name: n.name.clone(),
                kind: n.kind,
                sources: srcs.into_iter().collect(),
                document: n.document.clone(),
            }
        })
        .collect();
    policies.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    let used_list: Vec<Used> = used
        .into_iter()
        .map(|(a, u)| {
            let mut resources = if u.no_resource {
                vec![]
            } else {
                policy::generalise(&u.resources, RESOURCE_LIMIT)
            };
            resources.sort();
            Used {
                granted: grant_known.then(|| allowed.actions.contains(&a)),
                action: a,
                calls: u.calls,
                last_used: Time::from_micros(u.last),
                resources,
                environments: u.envs.into_iter().collect(),
                events: u.events.into_iter().collect(),
            }
        })
        .collect();
    let suggested = policy::suggested_policy(
        &used_list
            .iter()
            .map(|u| UsedAction {
                action: u.action.clone(),
                resources: u.resources.clone(),
            })
            .collect::<Vec<_>>(),
    );
    let mut keys: Vec<grants::AccessKey> = known
        .map(|p| p.keys.values().cloned().collect())
        .unwrap_or_default();
    keys.sort_by(|a, b| a.access_key_id.cmp(&b.access_key_id));
    Entry {
        role_arn: arn.to_string(),
        kind: key.1,
        account: key.0.clone(),
        pipelines: pipelines.iter().cloned().collect(),
        environments: envs.into_iter().collect(),
        granted: Granted {
            source: source.into(),
            complete: known.is_some_and(|p| p.complete),
            policies,
            wildcards: allowed
                .patterns
                .iter()
                .filter(|p| p.contains(['*', '?']))
                .cloned()
                .collect(),
            actions: allowed.patterns.iter().cloned().collect(),
            not_actions: allowed.not_actions.iter().cloned().collect(),
            action_count: allowed.actions.len(),
            trust_policy: known.and_then(|p| p.trust.clone()),
            event_ids: known.map(|p| p.event_ids.clone()).unwrap_or_default(),
        },
        unused_count: unused_set.len(),
        unused,
        fraction_used: fraction,
        broad,
        suggested_policy: suggested,
        access_keys: keys,
        unmapped: unmapped
            .into_iter()
            .map(|((s, n), (calls, reason))| Unmapped {
                event_source: s,
                event_name: n,
                calls,
                reason,
            })
            .collect(),
        permissionless_calls: permissionless,
        used: used_list,
        denied: denied
            .into_iter()
            .map(|(a, (calls, last))| Denied {
                action: a,
                calls,
                last_attempt: Time::from_micros(last),
            })
            .collect(),
    }
}

/// `unused` for people and machines alike: a namespace whose every catalogue action is
/// granted and unused is `ns:*`; the rest one by one.
fn compress(
    c: &catalog::Catalogue,
    unused: &BTreeSet<String>,
    granted: &BTreeSet<String>,
) -> Vec<String> {
    let mut by: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for a in unused {
        by.entry(a.split(':').next().unwrap_or(""))
            .or_default()
            .push(a);
    }
    let mut out = vec![];
    for (ns, acts) in by {
        let whole = c.namespace_len(ns);
        if acts.len() == whole
            && whole > 0
            && granted
                .iter()
                .filter(|g| g.starts_with(&format!("{ns}:")))
                .count()
                == whole
        {
            out.push(format!("{ns}:*"));
        } else {
            out.extend(acts.into_iter().cloned());
        }
    }
    out
}

/// The permission findings of a review: `permissions_admin` (administrator-equivalent) and
/// `permissions_unused` (under 10% of the grant used over 30 or more days of history), each
/// with the grant's events as evidence.
pub fn findings(r: &Review) -> Vec<crate::findings::Finding> {
    use crate::findings::{Finding, Kind, Severity};
    let mut out = vec![];
    for e in &r.entries {
        let admin: Vec<&Broad> = e
            .broad
            .iter()
            .filter(|b| matches!(b.reason, "administrator" | "self_modify"))
            .collect();
        let base = |detector: &str,
                    score: u32,
                    mitre: (&'static str, &'static str),
                    explanation: String| Finding {
            id: String::new(),
            rank: 0,
            detector: detector.into(),
            kind: Kind::Rule,
            pipeline_id: e.pipelines.first().cloned(),
            value: e.role_arn.clone(),
            environments: e.environments.clone(),
            run_ids: vec![],
            first_seen: r.since,
            // Its last call: the grant was still in use then.
            last_seen: e
                .used
                .iter()
                .map(|u| u.last_used)
                .max()
                .unwrap_or(Time::from_micros(r.until.micros() - 1)),
            count: e
                .used
                .iter()
                .map(|u| u.calls.max(0) as u64)
                .sum::<u64>()
                .max(1),
            score,
            severity: Severity::of(score),
            mitre: mitre.into(),
            event_ids: e.granted.event_ids.iter().take(100).cloned().collect(),
            explanation,
            baseline: None,
            suppressed: None,
            session_chains: vec![],
            incident_id: None,
            subject: String::new(),
        };
        if !admin.is_empty() {
            out.push(base(
                "permissions_admin",
                85,
                ("T1098.003", "Account Manipulation: Additional Cloud Roles"),
                format!(
                    "{} of {} is administrator-equivalent: {}; it used {} action(s) in the period",
                    e.role_arn,
                    e.pipelines.join(", "),
                    admin
                        .iter()
                        .map(|b| format!(
                            "{}{}",
                            b.detail,
                            b.policy
                                .as_ref()
                                .map(|p| format!(" ({p})"))
                                .unwrap_or_default()
                        ))
                        .collect::<Vec<_>>()
                        .join("; "),
                    e.used.len()
                ),
            ));
        }
        if let Some(f) = e.fraction_used
            && f < 0.10
            && r.history_days >= 30
        {
            out.push(base(
                "permissions_unused",
                55,
                ("T1078.004", "Valid Accounts: Cloud Accounts"),
                format!(
                    "{} of {} used {} of its {} granted actions ({:.1}%) over {} days; \
                     {} unused, for example {}",
                    e.role_arn,
                    e.pipelines.join(", "),
                    e.used.iter().filter(|u| u.granted == Some(true)).count(),
                    e.granted.action_count,
                    f * 100.0,
                    r.history_days,
                    e.unused_count,
                    e.unused
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_parameter_is_a_column_of_used_sql() {
        for p in resource_params() {
            // Each parameter is read for its service (`… END AS p_bucketName,`), the object
            // key through its top folder (`… END AS p_key`).
            assert!(
                USED_SQL.1.contains(&format!("'{p}') END AS p_{p},"))
                    || USED_SQL.1.contains(&format!(" END AS p_{p}\n")),
                "queries/permissions/used.sql reads no p_{p}"
            );
        }
    }

    fn row(ns_source: &str, params: &[(&str, &str)], resources: Option<&str>) -> UseRow {
        UseRow {
            principal: "arn:aws:iam::1:role/r".into(),
            source: ns_source.into(),
            name: "X".into(),
            event_type: None,
            denied: false,
            env: None,
            region: Some("eu-west-1".into()),
            account: Some("111111111111".into()),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            resources: resources.map(str::to_string),
            calls: 1,
            last: 0,
        }
    }

    #[test]
    fn resources_come_from_the_event_then_from_its_parameters() {
        let r = row(
            "s3.amazonaws.com",
            &[("bucketName", "b"), ("key", "releases/1/*")],
            None,
        );
        assert_eq!(
            row_resources(&r, "s3", "aws"),
            ["arn:aws:s3:::b/releases/1/*"]
        );
        let r = row("s3.amazonaws.com", &[("bucketName", "b")], None);
        assert_eq!(row_resources(&r, "s3", "aws"), ["arn:aws:s3:::b"]);
        let r = row(
            "lambda.amazonaws.com",
            &[("functionName", "arn:aws:lambda:eu-west-1:1:function:f")],
            None,
        );
        assert_eq!(
            row_resources(&r, "lambda", "aws"),
            ["arn:aws:lambda:eu-west-1:1:function:f"]
        );
        let r = row(
            "kms.amazonaws.com",
            &[("keyId", "alias/x")],
            Some(r#"[{"ARN":"arn:aws:kms:eu-west-1:1:key/k","type":"AWS::KMS::Key"}]"#),
        );
        assert_eq!(
            row_resources(&r, "kms", "aws"),
            ["arn:aws:kms:eu-west-1:1:key/k"]
        );
        // A key id that is not an ARN makes none; hostile text stays text.
        let r = row(
            "kms.amazonaws.com",
            &[("keyId", "alias/\u{202e}x")],
            Some("not json"),
        );
        assert!(row_resources(&r, "kms", "aws").is_empty());
    }
}
