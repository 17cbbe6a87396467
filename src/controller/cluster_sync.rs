//! One sync of one account inside the cluster: credentials from the Secret, desired state from
//! the caches, the engine, then statuses, finalizers, Events and owned Secrets.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::Api;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use tracing::{info, warn};

use crate::crd::{DirectoryIntegration, DirectoryIntegrationStatus, LastPassGroup, LastPassUser};
use crate::engine::account::{AccountSync, client_config, generations_of, sync_desire};

use super::account_client::AccountClient;
use crate::engine::desire::{Desire, desire, resource_ref};
use crate::engine::model::ResourceRef;

use super::context::Context;
use super::debounce::Trigger;
use super::error::{Error, kube as kube_err};
use super::events;
use super::secrets::{credentials, forget_used_passwords, initial_passwords};
use super::status::{apply_status, remove_finalizer};
use super::status_writes::{Planned, StatusWrites};
use crate::status::writer::next_status;

/// Admitted users whose resource does not carry the finalizer yet (its controller adds it
/// first, then wakes the engine): nothing is invited for them until it does, or a deletion in
/// between would leave a LastPass account behind with nobody to deprovision it.
fn without_finalizer(
    desire: &Desire,
    users: &HashMap<ResourceRef, &Arc<LastPassUser>>,
) -> Vec<String> {
    desire
        .desired
        .users
        .iter()
        .filter(|(_, want)| {
            users.get(&want.resource).is_some_and(|u| {
                !u.metadata
                    .finalizers
                    .iter()
                    .flatten()
                    .any(|f| f == super::status::FINALIZER)
            })
        })
        .map(|(key, _)| key.clone())
        .collect()
}

/// The resources by reference: one lookup per status, not a scan of every resource (which
/// would make a sync quadratic in its users).
fn index<K: Resource<DynamicType = ()>>(all: &[Arc<K>]) -> HashMap<ResourceRef, &Arc<K>> {
    all.iter().map(|o| (resource_ref(o.as_ref()), o)).collect()
}

/// Syncs one account and writes back what happened; returns how many users it manages (the
/// resources of the plan, held-back ones not counted).
pub async fn sync_from_cluster(
    ctx: &Arc<Context>,
    integration: &DirectoryIntegration,
    account: &mut AccountClient,
    statuses: &mut StatusWrites,
    trigger: Trigger,
) -> Result<usize, Error> {
    let now = Time(jiff::Timestamp::now());
    // The safeguard's record (window, consumed approvals) lives in status: read it fresh, as
    // the cache may not yet hold the previous sync's write.
    let Some(fresh) = fresh_integration(ctx, integration).await? else {
        return Ok(0);
    };
    let integration = &fresh;
    // A spec breaking a CRD rule (no CEL on old API servers) reaches neither Secret nor LastPass.
    super::invalid_spec::refuse(ctx, integration, &now).await?;
    let (cid, provhash) = match credentials(ctx, integration).await {
        Ok(c) => c,
        Err(e) => {
            events::credentials_missing(ctx, integration, &e.to_string()).await;
            write_integration_error(ctx, integration, &e, &now).await?;
            return Err(e);
        }
    };
    let client = account.for_config(client_config(integration, &cid, provhash))?;
    let users = ctx.users.state();
    let groups = ctx.groups.state();
    let users_by_ref = index(&users);
    let groups_by_ref = index(&groups);
    let mut desire = desire(
        integration,
        users.iter().map(|u| u.as_ref()),
        groups.iter().map(|g| g.as_ref()),
        &ctx.namespace_labels(),
    );
    for key in without_finalizer(&desire, &users_by_ref) {
        desire.hold_back_user(&key);
    }
    statuses.distrust_recent(&mut desire);
    let passwords = initial_passwords(ctx, &mut desire, &users_by_ref).await;
    let generations = generations_of(
        users.iter().map(|u| u.as_ref()),
        groups.iter().map(|g| g.as_ref()),
    );
    let sync = sync_desire(&client, integration, desire, passwords, generations).await;
    let confirmed_at = jiff::Timestamp::now();
    let revoked = crate::engine::revocation::confirmed(
        &sync.desire,
        &sync.outcome,
        &super::revocation::intents(users.iter().map(|u| u.as_ref())),
        confirmed_at,
    );
    super::sync_metrics::record(&super::revocation::integration_label(integration), &sync);
    info!(
        applied = sync.outcome.applied.len(),
        failures = sync.outcome.failures.len(),
        observations = sync.outcome.observations,
        ?trigger,
        "account synced"
    );

    // Statuses, only where they changed; written while the task goes on.
    let planned = Planned {
        users: &users_by_ref,
        groups: &groups_by_ref,
    };
    // A confirmed suspension's intent is removed once it is recorded in the integration's
    // status (below) and the status that says Suspended has landed.
    let intents_done = super::revocation::intents_done(&revoked);
    statuses.start(ctx, &sync, &planned, trigger, &now).await;

    // The integration's status first: it carries the safeguard's window and consumed
    // approvals, which must be recorded even if a finalizer below cannot be removed.
    // `status.revocation` changes only when a revocation happened; it is carried over otherwise.
    let mut integration_status = sync.report.integration.clone();
    let (revocation, fresh_revocations) =
        super::revocation::window(integration, revoked, confirmed_at);
    integration_status.revocation = revocation;
    if let Some(next) = next_status(
        integration.status.as_ref(),
        integration_status,
        integration.metadata.generation,
        &now,
    ) {
        apply_status(&ctx.client, integration, &next).await?;
    }
    // Recorded in status: reported once (a revocation seen again is already in the window),
    // and only now are the intents it closes let go of.
    super::revocation::report(ctx, integration, &users_by_ref, &fresh_revocations).await;
    statuses.forget_intents(ctx, &sync, &planned, &intents_done);

    // Finalizers of users whose deprovisioning is complete (or never needed). A failure (say
    // a conflict with this sync's own status write) does not stop the others; the sync then
    // fails, so the backoff retries soon, and the next sync finds the same.
    let mut finalizer_error = None;
    for r in sync.report.release.iter() {
        let released = if let Some(&u) = users_by_ref.get(r) {
            remove_finalizer(&ctx.client, u.as_ref()).await
        } else if let Some(&g) = groups_by_ref.get(r) {
            remove_finalizer(&ctx.client, g.as_ref()).await
        } else {
            Ok(())
        };
        if let Err(e) = released {
            warn!(error = %e, "cannot remove a finalizer; retried shortly");
            finalizer_error.get_or_insert(e);
        }
    }
    if let Err(e) = release_groups(ctx, &groups_by_ref, &sync).await {
        warn!(error = %e, "cannot remove a group's finalizer; retried shortly");
        finalizer_error.get_or_insert(e);
    }
    forget_used_passwords(ctx, &users_by_ref, &sync).await;
    super::adopt::adopt(ctx, integration, &sync).await;
    events::publish(ctx, integration, &users, &sync).await;
    events::takeover_pending(ctx, &groups, &sync).await;

    match &sync.outcome.error {
        Some(e) if e.class() == crate::lastpass::ErrorClass::Auth => {
            Err(Error::Credentials(e.to_string()))
        }
        Some(e) => Err(Error::Sync(e.to_string())),
        None => finalizer_error.map_or(Ok(sync.desire.desired.users.len()), Err),
    }
}

/// Releases this integration's deleted LastPassGroups (the owners of their names) once no
/// membership removal of theirs is pending. Groups of other integrations are theirs to release.
async fn release_groups(
    ctx: &Context,
    groups: &HashMap<ResourceRef, &Arc<LastPassGroup>>,
    sync: &AccountSync,
) -> Result<(), Error> {
    if sync.outcome.error.is_some() {
        return Ok(());
    }
    for want in sync.desire.desired.groups.values() {
        let Some(&g) = groups.get(&want.resource) else {
            continue;
        };
        if g.metadata.deletion_timestamp.is_none() {
            continue;
        }
        let pending = sync
            .outcome
            .remaining
            .group_changes
            .iter()
            .any(|c| c.del.contains(&want.name));
        if !pending {
            remove_finalizer(&ctx.client, g.as_ref()).await?;
        }
    }
    Ok(())
}

async fn write_integration_error(
    ctx: &Context,
    integration: &DirectoryIntegration,
    e: &Error,
    now: &Time,
) -> Result<(), Error> {
    let status = credentials_error_status(integration.status.as_ref(), &e.to_string(), now);
    if let Some(next) = next_status(
        integration.status.as_ref(),
        status,
        integration.metadata.generation,
        now,
    ) {
        apply_status(&ctx.client, integration, &next).await?;
    }
    Ok(())
}

/// The integration status to apply when its credentials cannot be read: only the engine's part
/// (under its field manager), with `Ready` and `CredentialsValid` false. The whole status would
/// take `status.ldap`, `status.scim` and `TokenReady` from their owners (the apply is forced),
/// and the next engine apply, which leaves them out, would then delete them.
fn credentials_error_status(
    current: Option<&DirectoryIntegrationStatus>,
    message: &str,
    now: &Time,
) -> DirectoryIntegrationStatus {
    use crate::status::writer::Status as _;
    use crate::status::{Reason, condition, set_condition, types};
    let mut status = current.cloned().unwrap_or_default().owned();
    for type_ in [types::READY, types::CREDENTIALS_VALID] {
        let c = condition(type_, false, Reason::CredentialsMissing, message, None, now);
        set_condition(&mut status.conditions, c);
    }
    status
}

/// The integration as the API server has it now; `None` if it is gone. A failed read fails
/// the sync: planning from a cached copy could overwrite a newer safeguard window.
async fn fresh_integration(
    ctx: &Context,
    integration: &DirectoryIntegration,
) -> Result<Option<DirectoryIntegration>, Error> {
    let ns = integration.namespace().unwrap_or_default();
    let api: Api<DirectoryIntegration> = Api::namespaced(ctx.client.clone(), &ns);
    api.get_opt(&integration.name_any())
        .await
        .map_err(kube_err(format!(
            "reading DirectoryIntegration {ns}/{}",
            integration.name_any()
        )))
}

/// The account task key of an integration.
pub fn key_of(i: &DirectoryIntegration) -> ObjectRef<DirectoryIntegration> {
    ObjectRef::from_obj(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{Reason, condition, types};

    #[test]
    fn users_without_the_finalizer_are_held_back() {
        let user = |name: &str, finalized: bool| {
            let spec: crate::crd::LastPassUserSpec = serde_json::from_value(serde_json::json!({
                "integrationRef": {"name": "acme"}, "username": format!("{name}@x.io"),
            }))
            .unwrap();
            let mut u = LastPassUser::new(name, spec);
            u.metadata.namespace = Some("it".into());
            if finalized {
                u.metadata.finalizers = Some(vec![super::super::status::FINALIZER.into()]);
            }
            Arc::new(u)
        };
        let users = vec![user("ann", true), user("bob", false)];
        let mut spec: crate::crd::DirectoryIntegrationSpec =
            serde_json::from_value(serde_json::json!({
                "lastpass": {"credentialsSecretRef": {"name": "lastpass-api"}}
            }))
            .unwrap();
        spec.allowed_namespaces = Default::default();
        let mut i = DirectoryIntegration::new("acme", spec);
        i.metadata.namespace = Some("it".into());
        let d = desire(
            &i,
            users.iter().map(|u| u.as_ref()),
            [],
            &Default::default(),
        );
        assert_eq!(without_finalizer(&d, &index(&users)), ["bob@x.io"]);
    }

    #[test]
    fn a_credentials_error_writes_only_the_engines_part_of_the_status() {
        let now = Time(jiff::Timestamp::from_second(1_700_000_000).unwrap());
        let current = DirectoryIntegrationStatus {
            conditions: vec![
                condition(types::READY, true, Reason::SyncSucceeded, "", None, &now),
                condition(
                    types::DEPROVISION_BLOCKED,
                    true,
                    Reason::DeprovisionBlocked,
                    "held",
                    None,
                    &now,
                ),
                condition(types::TOKEN_READY, true, Reason::Active, "", None, &now),
                condition(types::LDAP_SYNCED, true, Reason::Active, "", None, &now),
            ],
            scim: Some(crate::crd::ScimStatus::default()),
            ldap: Some(crate::crd::LdapStatus::default()),
            ..DirectoryIntegrationStatus::default()
        };
        let next = credentials_error_status(Some(&current), "Secret x has no key cid", &now);
        assert!(
            next.scim.is_none() && next.ldap.is_none(),
            "other managers' fields"
        );
        let written: Vec<&str> = next.conditions.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(
            written,
            [
                types::READY,
                types::DEPROVISION_BLOCKED,
                types::CREDENTIALS_VALID
            ]
        );
        let ready = &next.conditions[0];
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", Reason::CredentialsMissing.as_str())
        );
    }
}
