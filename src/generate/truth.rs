//! The assessment the generated history must get (`truth/assessment.json`): per pipeline, the
//! status of each control that what the generator planted decides. It is written from the
//! generator's own knowledge (which pipeline runs on a long-term key, which anomaly it planted
//! where), not from pipewarden's detectors; controls it cannot decide are left out.

use serde_json::{Map, Value, json};

use super::Label;
use super::org::{Env, Kind, Pipeline};

/// The controls each planted anomaly kind breaks.
const BREAKS: &[(&str, &str)] = &[
    ("long_term_key", "long_term_credentials"),
    ("pipeline_role_broadened", "permissions_least_privilege"),
    ("checks_bypassed", "security_checks_enforced"),
    ("unusual_build_trigger", "security_checks_enforced"),
    ("codebuild_build_override", "security_checks_enforced"),
    ("self_approval", "security_checks_enforced"),
    ("pipeline_definition_changed", "security_checks_enforced"),
    ("pipeline_checks_removed", "security_checks_enforced"),
    ("stage_transition_disabled", "security_checks_enforced"),
    ("branch_protection_bypassed", "security_checks_enforced"),
    ("ruleset_weakened", "security_checks_enforced"),
    ("approval_rules_weakened", "security_checks_enforced"),
    ("dev_touches_prod", "environment_safeguards"),
    ("environment_protection_removed", "environment_safeguards"),
    ("oidc_trust_too_broad", "untrusted_input"),
    ("untrusted_trigger_credentials", "untrusted_input"),
    ("unknown_principal", "state_emitted"),
    ("activity_outside_runs", "state_emitted"),
    ("pipeline_silent", "state_emitted"),
    ("workflow_run_deleted", "state_emitted"),
];

/// The truth of every pipeline: `{"pipelines": {id: {control: status}}}`.
pub fn assessment(pipelines: &[Pipeline], labels: &[Label]) -> Value {
    let mut out = Map::new();
    for p in pipelines {
        let planted = |control: &str| {
            labels.iter().any(|l| {
                l.pipeline == p.id && BREAKS.iter().any(|(k, c)| *k == l.kind && *c == control)
            })
        };
        let fail_or = |control: &str, otherwise: Option<&'static str>| -> Option<&'static str> {
            if planted(control) {
                Some("fail")
            } else {
                otherwise
            }
        };
        let mut c = Map::new();
        let mut set = |control: &str, status: Option<&str>| {
            if let Some(s) = status {
                c.insert(control.to_string(), json!(s));
            }
        };
        // Jenkins signs its calls with an IAM user's access key; every other pipeline uses roles.
        let long_term = p.kind == Kind::Jenkins || planted("long_term_credentials");
        set(
            "long_term_credentials",
            Some(if long_term { "fail" } else { "pass" }),
        );
        // Nothing in the history shows what a role is granted: only a broadening decides.
        set(
            "permissions_least_privilege",
            fail_or("permissions_least_privilege", None),
        );
        // Whether a pipeline's checks can be learned depends on its history, not on a plant.
        set(
            "security_checks_enforced",
            fail_or("security_checks_enforced", None),
        );
        set(
            "environment_safeguards",
            fail_or("environment_safeguards", Some("pass")),
        );
        set("untrusted_input", fail_or("untrusted_input", Some("pass")));
        set("state_emitted", fail_or("state_emitted", Some("pass")));
        // No digests are generated: the trail is never verified, so it is unknown, unless the
        // trail of an account the pipeline acts in was tampered with. CodeBuild and
        // CodePipeline act in tooling (their service roles; CloudFormation deploys for them),
        // Jenkins with its tooling user and its roles, the others in the environments they
        // deploy to; a planted anomaly can take a pipeline into another.
        let mut acts_in: Vec<&str> = match p.kind {
            Kind::CodeBuild | Kind::CodePipeline => vec![Env::Tooling.name()],
            Kind::Jenkins => p
                .envs
                .iter()
                .map(|e| e.name())
                .chain([Env::Tooling.name()])
                .collect(),
            Kind::GithubActions | Kind::GitlabCi => p.envs.iter().map(|e| e.name()).collect(),
        };
        acts_in.extend(
            labels
                .iter()
                .filter(|l| l.pipeline == p.id)
                .map(|l| l.env.as_str()),
        );
        let tampered = labels
            .iter()
            .any(|l| l.kind == "cloudtrail_tampering" && acts_in.contains(&l.env.as_str()));
        set(
            "trail_integrity",
            Some(if tampered { "fail" } else { "unknown" }),
        );
        out.insert(p.id.to_string(), Value::Object(c));
    }
    json!({
        "schema": "pipewarden.assessment-truth/v1",
        "pipelines": out,
    })
}
