//! The LastPassGroup controller: finalizer (deleting a group removes its memberships per
//! policy, through the engine) and waking the account engine.

use std::sync::Arc;
use std::time::Duration;

use kube::ResourceExt;
use kube::runtime::controller::Action;

use crate::crd::LastPassGroup;

use super::error::Error;
use super::reconciler::Reconciler;
use super::status::{add_finalizer, remove_finalizer};
use super::user::{fingerprint, integration_key};

/// Reconciles one LastPassGroup.
pub async fn reconcile(group: Arc<LastPassGroup>, r: Arc<Reconciler>) -> Result<Action, Error> {
    let ctx = &r.ctx;
    let ns = group
        .namespace()
        .ok_or_else(|| Error::NoNamespace(group.name_any()))?;
    // Nothing is decided on a cache that has not been listed yet (see the user controller).
    ctx.caches_synced().await;
    let bound = group
        .status
        .as_ref()
        .and_then(|s| s.bound_integration.as_ref());
    let key = match bound {
        Some(b) => integration_key(b, &ns),
        None => integration_key(&group.spec.integration_ref, &ns),
    };
    let integration = ctx.integrations.get(&key);
    let changed = ctx.changed(
        format!("group/{ns}/{}", group.name_any()),
        fingerprint(group.as_ref()),
    );
    if group.metadata.deletion_timestamp.is_some() && integration.is_none() {
        if ctx.integration_gone(&key).await? {
            remove_finalizer(&ctx.client, group.as_ref()).await?;
            return Ok(Action::await_change());
        }
        return Ok(Action::requeue(Duration::from_secs(2)));
    }
    if integration.is_none() {
        return Ok(Action::requeue(Duration::from_secs(30)));
    }
    if group.metadata.deletion_timestamp.is_none() {
        add_finalizer(&ctx.client, group.as_ref()).await?;
    }
    if changed {
        r.wake(key);
    }
    Ok(Action::await_change())
}
