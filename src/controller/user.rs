//! The LastPassUser controller: finalizer, reference check, and waking the account engine.
//! The engine does the LastPass work and writes the status.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use tracing::{info, warn};

use crate::crd::{DirectoryIntegration, IntegrationRef, LastPassUser, UserPhase};
use crate::status::{Reason, condition, set_condition, types};

use super::context::Context;
use super::error::Error;
use super::events;
use super::reconciler::Reconciler;
use super::status::{FINALIZER, add_finalizer, apply_status, remove_finalizer};
use crate::status::writer::next_status;

/// The integration a reference names, resolved against the referring namespace.
pub fn integration_key(r: &IntegrationRef, own_ns: &str) -> ObjectRef<DirectoryIntegration> {
    ObjectRef::new(&r.name).within(r.namespace.as_deref().unwrap_or(own_ns))
}

/// What makes a change worth waking the engine for (not status writes).
pub fn fingerprint<K: kube::Resource>(obj: &K) -> u64 {
    let meta = obj.meta();
    let mut h = DefaultHasher::new();
    meta.generation.hash(&mut h);
    meta.deletion_timestamp.is_some().hash(&mut h);
    meta.labels.hash(&mut h);
    // Annotations the engine reads: taking a directory group over, an approval at the pull.
    for key in [
        crate::crd::TAKE_OVER_ANNOTATION,
        crate::crd::APPROVED_PLAN_ANNOTATION,
    ] {
        meta.annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .hash(&mut h);
    }
    meta.finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|f| f == FINALIZER))
        .hash(&mut h);
    h.finish()
}

/// Writes `Ready=False, IntegrationNotFound` (once) for a user whose integration is missing.
async fn not_found(
    ctx: &Context,
    user: &LastPassUser,
    key: &ObjectRef<DirectoryIntegration>,
) -> Result<(), Error> {
    let now = Time(jiff::Timestamp::now());
    let message = format!(
        "DirectoryIntegration {}/{} (spec.integrationRef) does not exist",
        key.namespace.as_deref().unwrap_or_default(),
        key.name
    );
    // Only Ready changes: the rest (the binding above all) is the engine's and stays, or the
    // forced apply would drop it and an immutable username would become editable.
    let mut status = user.status.clone().unwrap_or_default();
    status.phase = status.phase.or(Some(UserPhase::Pending));
    set_condition(
        &mut status.conditions,
        condition(
            types::READY,
            false,
            Reason::IntegrationNotFound,
            &message,
            None,
            &now,
        ),
    );
    if let Some(next) = next_status(user.status.as_ref(), status, user.metadata.generation, &now) {
        apply_status(&ctx.client, user, &next).await?;
        events::reference_problem(ctx, user, Reason::IntegrationNotFound, &message).await;
    }
    Ok(())
}

/// Reconciles one LastPassUser.
pub async fn reconcile(user: Arc<LastPassUser>, r: Arc<Reconciler>) -> Result<Action, Error> {
    let ctx = &r.ctx;
    let ns = user
        .namespace()
        .ok_or_else(|| Error::NoNamespace(user.name_any()))?;
    // Nothing is decided on a cache that has not been listed yet (start-up, fail-over): an
    // integration missing from it may only be missing from the cache.
    ctx.caches_synced().await;
    // A bound user belongs to the integration it was bound to, whatever its spec says now.
    let bound = user
        .status
        .as_ref()
        .and_then(|s| s.bound_integration.as_ref());
    let key = match bound {
        Some(b) => integration_key(b, &ns),
        None => integration_key(&user.spec.integration_ref, &ns),
    };
    let integration = ctx.integrations.get(&key);
    let changed = ctx.changed(
        format!("user/{ns}/{}", user.name_any()),
        fingerprint(user.as_ref()),
    );
    if user.metadata.deletion_timestamp.is_some() {
        if integration.is_some() {
            if changed {
                r.wake(key);
            }
        } else if ctx.integration_gone(&key).await? {
            // No account to deprovision through: deleting the integration never deprovisions.
            info!(user = %user.name_any(), "integration gone (confirmed by a direct read); releasing the finalizer without deprovisioning");
            remove_finalizer(&ctx.client, user.as_ref()).await?;
        } else {
            // The cache lags the API server: look again shortly.
            return Ok(Action::requeue(Duration::from_secs(2)));
        }
        return Ok(Action::await_change());
    }
    match integration {
        None => {
            not_found(ctx, &user, &key).await?;
            Ok(Action::requeue(Duration::from_secs(30)))
        }
        Some(_) => {
            add_finalizer(&ctx.client, user.as_ref()).await?;
            super::revocation::track_intent(ctx, user.as_ref()).await?;
            if changed {
                r.wake(key);
            }
            Ok(Action::await_change())
        }
    }
}

/// Requeues a failed reconcile after a delay chosen by the error.
pub fn error_policy<K>(_obj: Arc<K>, error: &Error, _ctx: Arc<Reconciler>) -> Action
where
    K: kube::Resource<DynamicType = ()>,
{
    warn!(error = %error, label = error.metric_label(), "reconcile failed");
    crate::telemetry::metrics::global().reconcile_error(&K::kind(&()), error.metric_label());
    Action::requeue(error.requeue_after())
}
