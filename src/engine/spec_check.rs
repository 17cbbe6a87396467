//! The DirectoryIntegration rules the CRD states in CEL, checked again by the operator.
//!
//! API servers before 1.25 (the v1.20 the tests run on among them) have no CEL and admit an
//! integration that breaks them. So the account task runs [`check_integration`] before it reads
//! credentials or calls LastPass: a broken rule stops the sync — nothing is sent to LastPass —
//! and shows as `Ready=False` / `Synced=False` with the rule's reason and a message that starts
//! with the CEL rule's own message and says the fix. Rules that v1.20 enforces from the
//! structural schema alone (patterns, enums, bounds, required fields) are not repeated here.
//!
//! Pure: no I/O, no clock (the time comes in).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::crd::{
    DirectoryIntegration, DirectoryIntegrationStatus, ENDPOINT_RULE_MESSAGE, NamespacesFrom,
    parse_duration,
};
use crate::lastpass::{LastPassZone, insecure_endpoint};

use crate::status::{Reason, condition, set_condition, types};

/// The shortest `spec.sync.interval` (the CEL rule `duration(self) >= duration('1m')`).
pub const MIN_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// One integration-level rule of the CRD.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SpecRule {
    /// `spec.lastpass.endpoint` is https, or http to loopback, or explicitly allowed.
    Endpoint,
    /// `spec.sync.interval` is at least 1m.
    SyncInterval,
    /// `spec.sync.rateLimit.requestsPerSecond` and `burst` are positive.
    RateLimit,
    /// `spec.allowedNamespaces.from: Selector` comes with a `selector`.
    SelectorRequired,
    /// `spec.ldap` has `url`, `userBaseDN` and `bindSecretRef`.
    LdapRequired,
    /// `spec.lastpass.timeZone` names a zone of the IANA database (no CEL rule can check it:
    /// only the operator does, on every API server).
    TimeZone,
}

impl SpecRule {
    /// The field the rule is about.
    pub fn field(self) -> &'static str {
        match self {
            Self::Endpoint => "spec.lastpass.endpoint",
            Self::SyncInterval => "spec.sync.interval",
            Self::RateLimit => "spec.sync.rateLimit",
            Self::SelectorRequired => "spec.allowedNamespaces.selector",
            Self::LdapRequired => "spec.ldap",
            Self::TimeZone => "spec.lastpass.timeZone",
        }
    }

    /// The condition reason: `InsecureEndpoint` for the endpoint, `InvalidSpec` otherwise.
    pub fn reason(self) -> Reason {
        match self {
            Self::Endpoint => Reason::InsecureEndpoint,
            _ => Reason::InvalidSpec,
        }
    }
}

/// A broken rule: which, and a message naming it and the fix (no secret is ever in it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecProblem {
    /// The rule.
    pub rule: SpecRule,
    /// Starts with the CEL rule's message, then what was found and what to do.
    pub message: String,
}

/// Every integration-level rule `integration` breaks, in [`SpecRule`] order (empty: none).
pub fn check_integration(integration: &DirectoryIntegration) -> Vec<SpecProblem> {
    let spec = &integration.spec;
    let mut out = Vec::new();
    let mut problem = |rule, message: String| out.push(SpecProblem { rule, message });

    if !spec.lastpass.allow_insecure_endpoint
        && let Some(why) = insecure_endpoint(&spec.lastpass.endpoint)
    {
        problem(
            SpecRule::Endpoint,
            format!("{ENDPOINT_RULE_MESSAGE} (got: {why}); nothing is sent to it"),
        );
    }

    let interval = &spec.sync.interval;
    match parse_duration("spec.sync.interval", interval) {
        Ok(d) if d >= MIN_INTERVAL => {}
        Ok(_) => problem(
            SpecRule::SyncInterval,
            format!("spec.sync.interval must be at least 1m (got {interval}); set 1m or more"),
        ),
        Err(e) => problem(
            SpecRule::SyncInterval,
            format!("spec.sync.interval must be at least 1m ({e})"),
        ),
    }

    let rate = &spec.sync.rate_limit;
    if rate.requests_per_second <= 0 || rate.burst <= 0 {
        problem(
            SpecRule::RateLimit,
            format!(
                "spec.sync.rateLimit.requestsPerSecond and burst must be positive (got {} and \
                 {}); set both to 1 or more",
                rate.requests_per_second, rate.burst
            ),
        );
    }

    let allowed = &spec.allowed_namespaces;
    if allowed.from == NamespacesFrom::Selector && allowed.selector.is_none() {
        problem(
            SpecRule::SelectorRequired,
            "spec.allowedNamespaces.selector is required when from is Selector; add a selector \
             (e.g. matchLabels), or use from: Same or All (until then no other namespace is \
             admitted)"
                .to_string(),
        );
    }

    if let Some(ldap) = &spec.ldap {
        let missing: Vec<&str> = [
            ("url", ldap.url.is_none()),
            ("userBaseDN", ldap.user_base_dn.is_none()),
            ("bindSecretRef", ldap.bind_secret_ref.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, absent)| absent.then_some(name))
        .collect();
        if !missing.is_empty() {
            problem(
                SpecRule::LdapRequired,
                format!(
                    "spec.ldap needs url, userBaseDN and bindSecretRef (missing: {}); add them, \
                     or remove spec.ldap",
                    missing.join(", ")
                ),
            );
        }
    }
    if let Some(Err(e)) = spec
        .lastpass
        .time_zone
        .as_deref()
        .map(|name| LastPassZone::named(Some(name)))
    {
        problem(
            SpecRule::TimeZone,
            format!("spec.lastpass.timeZone: {e}, or remove the field for US/Eastern"),
        );
    }
    out
}

/// The reason and message of a non-empty list of problems: the first rule's reason, every
/// message.
pub fn summary(problems: &[SpecProblem]) -> Option<(Reason, String)> {
    let first = problems.first()?;
    let message = problems
        .iter()
        .map(|p| p.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    Some((first.rule.reason(), message))
}

/// The integration's status while its spec breaks a rule: `Ready=False` and `Synced=False`
/// with the rule's reason and message; every other field stays as it was (the account was not
/// read, so nothing new is known about it).
pub fn refused_status(
    old: Option<&DirectoryIntegrationStatus>,
    problems: &[SpecProblem],
    now: &Time,
) -> DirectoryIntegrationStatus {
    let mut status = old.cloned().unwrap_or_default();
    if let Some((reason, message)) = summary(problems) {
        for type_ in [types::READY, types::SYNCED] {
            set_condition(
                &mut status.conditions,
                condition(type_, false, reason, message.clone(), None, now),
            );
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"{
        "apiVersion": "lastpass-operator.io/v1alpha1", "kind": "DirectoryIntegration",
        "metadata": {"name": "acme", "namespace": "team"},
        "spec": {"lastpass": {"credentialsSecretRef": {"name": "api"}}}
    }"#;

    fn with(patch: serde_json::Value) -> DirectoryIntegration {
        fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
            match (a, b) {
                (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                    for (k, v) in b {
                        merge(a.entry(k).or_insert(serde_json::Value::Null), v);
                    }
                }
                (a, b) => *a = b,
            }
        }
        let mut v: serde_json::Value = serde_json::from_str(BASE).unwrap();
        merge(&mut v, serde_json::json!({ "spec": patch }));
        serde_json::from_value(v).expect("a DirectoryIntegration")
    }

    /// One row of `spec_check_cases.json`.
    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        why: String,
        /// Merged into a minimal integration's spec.
        spec: serde_json::Value,
        /// The rules broken, in order (their names).
        want: Vec<String>,
        /// A fragment of the message (the fix).
        says: String,
    }

    #[test]
    fn each_rule_is_checked() {
        let cases: Vec<Case> =
            serde_json::from_str(include_str!("spec_check_cases.json")).expect("the case table");
        assert!(cases.len() >= 16, "the table is read whole");
        for c in cases {
            let got = check_integration(&with(c.spec));
            let rules: Vec<String> = got.iter().map(|p| format!("{:?}", p.rule)).collect();
            assert_eq!(rules, c.want, "{}: {}", c.name, c.why);
            if !c.says.is_empty() {
                let all = summary(&got).map(|(_, m)| m).unwrap_or_default();
                assert!(all.contains(&c.says), "{}: {all}", c.name);
            }
        }
    }

    #[test]
    fn refused_status_sets_ready_and_synced_and_keeps_the_rest() {
        let now = Time(jiff::Timestamp::from_second(1_000).unwrap());
        let mut old = DirectoryIntegrationStatus {
            observed_generation: Some(3),
            ..DirectoryIntegrationStatus::default()
        };
        old.conditions.push(condition(
            types::CREDENTIALS_VALID,
            true,
            Reason::CredentialsAccepted,
            "",
            None,
            &now,
        ));
        let problems = check_integration(&with(
            serde_json::json!({"lastpass": {"endpoint": "http://lastpass.com/x"}}),
        ));
        let st = refused_status(Some(&old), &problems, &now);
        let get = |t: &str| st.conditions.iter().find(|c| c.type_ == t).cloned();
        for t in [types::READY, types::SYNCED] {
            let c = get(t).unwrap();
            assert_eq!(
                (c.status.as_str(), c.reason.as_str()),
                ("False", Reason::InsecureEndpoint.as_str())
            );
            assert!(c.message.contains("must use https"), "{}", c.message);
        }
        assert_eq!(get(types::CREDENTIALS_VALID).unwrap().status, "True");
        assert_eq!(st.observed_generation, Some(3));
    }
}
