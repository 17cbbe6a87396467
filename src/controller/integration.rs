//! The DirectoryIntegration controller: starts and wakes the account task. No finalizer:
//! deleting an integration stops its task and never deprovisions anyone.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;

use crate::crd::{
    APPROVE_PLAN_ANNOTATION, DirectoryIntegration, REJECT_PLAN_ANNOTATION, RESYNC_ANNOTATION,
};

use super::context::Context;
use super::error::Error;
use super::reconciler::Reconciler;

fn fingerprint(i: &DirectoryIntegration) -> u64 {
    let mut h = DefaultHasher::new();
    i.metadata.generation.hash(&mut h);
    i.annotations().get(APPROVE_PLAN_ANNOTATION).hash(&mut h);
    i.annotations().get(REJECT_PLAN_ANNOTATION).hash(&mut h);
    i.annotations().get(RESYNC_ANNOTATION).hash(&mut h);
    // An approval the LDAP pull recorded as used releases deprovisions held for want of it.
    i.status
        .as_ref()
        .and_then(|s| s.ldap.as_ref())
        .map(|l| &l.consumed_approvals)
        .hash(&mut h);
    h.finish()
}

/// Reconciles one DirectoryIntegration: wakes its account on a spec or annotation change,
/// and keeps its SCIM bearer token minted and rotated when `spec.scim.enabled`.
pub async fn reconcile(
    integration: Arc<DirectoryIntegration>,
    r: Arc<Reconciler>,
) -> Result<Action, Error> {
    let ctx = &r.ctx;
    let ns = integration
        .namespace()
        .ok_or_else(|| Error::NoNamespace(integration.name_any()))?;
    let key = format!("integration/{ns}/{}", integration.name_any());
    if ctx.changed(key, fingerprint(&integration)) {
        r.wake(ObjectRef::from_obj(integration.as_ref()));
    }
    if integration.spec.scim.as_ref().is_some_and(|s| s.enabled) {
        let now = jiff::Timestamp::now();
        return match crate::scim::reconcile_tokens(ctx.client.clone(), &integration, now).await {
            Ok(next) => Ok(Action::requeue(next.max(Duration::from_secs(1)))),
            Err(e) => {
                token_not_ready(ctx, &integration, &e.to_string()).await;
                Err(Error::Sync(format!("SCIM token: {e}")))
            }
        };
    }
    Ok(Action::await_change())
}

/// `TokenReady=False` with the reason, under the SCIM token manager's field manager.
async fn token_not_ready(ctx: &Context, integration: &DirectoryIntegration, message: &str) {
    if let Err(e) = crate::scim::tokens::write_token_error(&ctx.client, integration, message).await
    {
        tracing::warn!(error = %e, "cannot write TokenReady=False");
    }
}
