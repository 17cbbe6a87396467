//! One account end to end: the integration's spec turned into policy, guards and client
//! settings, and one sync from resources to statuses. Used by the controllers, `plan`, `demo`
//! and `bench` alike; where the resources come from and where statuses go is theirs.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use secrecy::SecretString;

use crate::crd::{APPROVE_PLAN_ANNOTATION, DirectoryIntegration, LastPassGroup, LastPassUser};
use crate::lastpass::{ClientConfig, LastPass, RateLimit};

use super::desire::{Desire, desire};
use super::guard::Guards;
use super::model::UserKey;
use super::plan::Policy;
use super::report::{Report, report};
use super::spec_check::{check_integration, refused_status, summary};
use super::sync::{SyncInput, SyncOutcome, sync};

/// The planner policy of an integration.
pub fn policy_of(integration: &DirectoryIntegration) -> Policy {
    Policy {
        unmanaged: integration.spec.sync.unmanaged_users,
        allow_delete: integration.spec.sync.deprovision.allow_delete,
    }
}

/// The guards of an integration: dry run, budget, and the approved plan from the annotation.
pub fn guards_of(integration: &DirectoryIntegration) -> Guards {
    Guards {
        dry_run: integration.spec.sync.dry_run,
        max_per_sync: usize::try_from(integration.spec.sync.deprovision.max_per_sync).unwrap_or(0),
        approved_plan: integration
            .annotations()
            .get(APPROVE_PLAN_ANNOTATION)
            .map(|v| v.trim().to_string()),
        pre_approved: Default::default(),
    }
}

/// Leaving users whose `lastpass-operator.io/approved-plan` names an LDAP pull approval the
/// integration recorded as used (`status.ldap.consumedApprovals`): a person approved exactly
/// their deletion at the pull. An annotation alone proves nothing.
pub fn pre_approved(
    integration: &DirectoryIntegration,
    desired: &super::model::Desired,
) -> std::collections::BTreeSet<UserKey> {
    let consumed: &[String] = integration
        .status
        .as_ref()
        .and_then(|s| s.ldap.as_ref())
        .map_or(&[], |l| l.consumed_approvals.as_slice());
    desired
        .leaving
        .iter()
        .filter(|(_, l)| {
            l.approved_plan
                .as_ref()
                .is_some_and(|id| consumed.contains(id))
        })
        .map(|(k, _)| k.clone())
        .collect()
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
    pub outcome: SyncOutcome,
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
    let desire = desire(integration, users, groups, namespace_labels);
    sync_desire(lastpass, integration, desire, passwords).await
}

/// Syncs `integration`'s account to an admitted [`Desire`] (for callers that refine the
/// admission, as the controllers do with initial-password Secrets).
pub async fn sync_desire<L: LastPass>(
    lastpass: &L,
    integration: &DirectoryIntegration,
    desire: Desire,
    passwords: BTreeMap<UserKey, SecretString>,
) -> AccountSync {
    let problems = check_integration(integration);
    if let Some((_, message)) = summary(&problems) {
        // A rule of the CRD is broken (no CEL on this API server): nothing goes to LastPass.
        let now = Time(jiff::Timestamp::now());
        let report = Report {
            integration: refused_status(integration.status.as_ref(), &problems, &now),
            ..Report::default()
        };
        let outcome = SyncOutcome {
            error: Some(crate::lastpass::ApiError::Config { reason: message }),
            ..SyncOutcome::default()
        };
        return AccountSync {
            desire,
            outcome,
            report,
        };
    }
    let input = SyncInput {
        desired: desire.desired.clone(),
        policy: policy_of(integration),
        guards: Guards {
            pre_approved: pre_approved(integration, &desire.desired),
            ..guards_of(integration)
        },
        passwords,
    };
    let outcome = sync(lastpass, &input).await;
    let report = report(&desire, &outcome, &Time(jiff::Timestamp::now()));
    AccountSync {
        desire,
        outcome,
        report,
    }
}
