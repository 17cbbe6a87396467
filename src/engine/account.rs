//! One account end to end: the integration's spec turned into policy, guards and client
//! settings, and one sync from resources to statuses. Used by the controllers, `plan`, `demo`
//! and `bench` alike; where the resources come from and where statuses go is theirs.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use secrecy::SecretString;

use crate::crd::{
    APPROVE_PLAN_ANNOTATION, DirectoryIntegration, LastPassGroup, LastPassUser,
    REJECT_PLAN_ANNOTATION, parse_duration,
};
use crate::lastpass::{ClientConfig, LastPass, RateLimit};

use super::converge::{ConvergeInput, ConvergeOutcome, converge};
use super::desire::{Desire, desire, resource_ref};
use super::guard::Guards;
use super::model::{ResourceRef, UserKey};
use super::plan::Policy;
use super::report::{Report, report};
use super::spec_check::{check_integration, refused_status, summary};

/// The planner policy of an integration.
pub fn policy_of(integration: &DirectoryIntegration) -> Policy {
    Policy {
        unmanaged: integration.spec.sync.unmanaged_users,
        allow_delete: integration.spec.sync.deprovision.allow_delete,
    }
}

/// The guards of an integration at `now`: dry run, the safeguard's limits, the approve and
/// reject annotations, and the safeguard's record read back from its status.
/// `generations` (of the user and group resources) is filled by [`sync_account`].
pub fn guards_of(integration: &DirectoryIntegration, now: jiff::Timestamp) -> Guards {
    let d = &integration.spec.sync.deprovision;
    let annotation = |name: &str| {
        integration
            .annotations()
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let status = integration.status.as_ref();
    Guards {
        dry_run: integration.spec.sync.dry_run,
        max_per_sync: usize::try_from(d.max_per_sync).unwrap_or(0),
        max_percent: Some(u32::try_from(d.max_percent).unwrap_or(0)),
        max_membership_removals: Some(usize::try_from(d.max_membership_removals).unwrap_or(0)),
        // An unreadable window (the schema refuses one) counts as the default hour.
        window: parse_duration("spec.sync.deprovision.window", &d.window)
            .unwrap_or(std::time::Duration::from_secs(3600)),
        approved_plan: annotation(APPROVE_PLAN_ANNOTATION),
        rejected_plan: annotation(REJECT_PLAN_ANNOTATION),
        record: status.and_then(|s| s.safeguard.clone()).unwrap_or_default(),
        held: status.and_then(|s| s.held.clone()),
        trusted_approvals: status
            .and_then(|s| s.ldap.as_ref())
            .map(|l| l.consumed_approvals.iter().cloned().collect())
            .unwrap_or_default(),
        generations: BTreeMap::new(),
        now,
    }
}

/// The client configuration of an integration with its credentials.
pub fn client_config(
    integration: &DirectoryIntegration,
    cid: &str,
    provhash: SecretString,
) -> ClientConfig {
    let sync = &integration.spec.sync;
    let mut config = ClientConfig::new(&integration.spec.lastpass.endpoint, cid, provhash);
    config.allow_insecure_endpoint = integration.spec.lastpass.allow_insecure_endpoint;
    let positive =
        |n: i32| NonZeroU32::new(u32::try_from(n).unwrap_or(1)).unwrap_or(NonZeroU32::MIN);
    config.rate_limit = RateLimit {
        requests_per_second: positive(sync.rate_limit.requests_per_second),
        burst: positive(sync.rate_limit.burst),
    };
    config.max_batch = usize::try_from(sync.batch_size).unwrap_or(100).max(1);
    config
}

/// One sync of an account: what was declared, what happened, and the statuses it gives.
#[derive(Debug)]
pub struct AccountSync {
    /// What the resources declare.
    pub desire: Desire,
    /// What the sync found and did.
    pub outcome: ConvergeOutcome,
    /// The statuses to write.
    pub report: Report,
}

/// Syncs `integration`'s account from these resources (those of other integrations are skipped).
///
/// An integration that breaks a rule of its CRD ([`super::spec_check`]; API servers without
/// CEL admit it) is not synced: no LastPass call is made, the outcome's error says why, and
/// the report holds only the integration's status (`Ready=False`, `Synced=False`).
pub async fn sync_account<'a, L: LastPass>(
    lastpass: &L,
    integration: &DirectoryIntegration,
    users: impl IntoIterator<Item = &'a LastPassUser>,
    groups: impl IntoIterator<Item = &'a LastPassGroup>,
    namespace_labels: &BTreeMap<String, BTreeMap<String, String>>,
    passwords: BTreeMap<UserKey, SecretString>,
) -> AccountSync {
    let users: Vec<&LastPassUser> = users.into_iter().collect();
    let groups: Vec<&LastPassGroup> = groups.into_iter().collect();
    let desire = desire(
        integration,
        users.iter().copied(),
        groups.iter().copied(),
        namespace_labels,
    );
    let generations = generations_of(users, groups);
    sync_desire(lastpass, integration, desire, passwords, generations).await
}

/// `metadata.generation` of each user and group resource, so that a rejected change stays
/// unapplied exactly until the resource that asked for it changes.
pub fn generations_of<'a>(
    users: impl IntoIterator<Item = &'a LastPassUser>,
    groups: impl IntoIterator<Item = &'a LastPassGroup>,
) -> BTreeMap<ResourceRef, i64> {
    users
        .into_iter()
        .map(|u| (resource_ref(u), u.metadata.generation.unwrap_or(0)))
        .chain(
            groups
                .into_iter()
                .map(|g| (resource_ref(g), g.metadata.generation.unwrap_or(0))),
        )
        .collect()
}

/// Syncs `integration`'s account to an admitted [`Desire`] (for callers that refine the
/// admission, as the controllers do with initial-password Secrets).
pub async fn sync_desire<L: LastPass>(
    lastpass: &L,
    integration: &DirectoryIntegration,
    mut desire: Desire,
    passwords: BTreeMap<UserKey, SecretString>,
    generations: BTreeMap<ResourceRef, i64>,
) -> AccountSync {
    let now = jiff::Timestamp::now();
    let problems = check_integration(integration);
    if let Some((_, message)) = summary(&problems) {
        // A rule of the CRD is broken (no CEL on this API server): nothing goes to LastPass.
        let report = Report {
            integration: refused_status(integration.status.as_ref(), &problems, &Time(now)),
            ..Report::default()
        };
        let outcome = ConvergeOutcome {
            error: Some(crate::lastpass::ApiError::Config { reason: message }),
            ..ConvergeOutcome::default()
        };
        return AccountSync {
            desire,
            outcome,
            report,
        };
    }
    let mut guards = guards_of(integration, now);
    guards.generations = generations;
    // The desired state moves into the input and back: at 50,000 users a copy is ~28 MiB.
    let input = ConvergeInput {
        desired: std::mem::take(&mut desire.desired),
        policy: policy_of(integration),
        guards,
        passwords,
    };
    let outcome = converge(lastpass, &input).await;
    desire.desired = input.into_desired();
    let report = report(&desire, &outcome, &Time(now));
    AccountSync {
        desire,
        outcome,
        report,
    }
}
