//! The DirectoryIntegration controller: starts and wakes the account task. No finalizer:
//! deleting an integration stops its task and never deprovisions anyone.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;

use crate::crd::{APPROVE_PLAN_ANNOTATION, DirectoryIntegration, RESYNC_ANNOTATION};

use super::context::Ctx;
use super::error::Error;

fn fingerprint(i: &DirectoryIntegration) -> u64 {
    let mut h = DefaultHasher::new();
    i.metadata.generation.hash(&mut h);
    i.annotations().get(APPROVE_PLAN_ANNOTATION).hash(&mut h);
    i.annotations().get(RESYNC_ANNOTATION).hash(&mut h);
    h.finish()
}

/// Reconciles one DirectoryIntegration.
pub async fn reconcile(integration: Arc<DirectoryIntegration>, ctx: Ctx) -> Result<Action, Error> {
    let ns = integration
        .namespace()
        .ok_or_else(|| Error::NoNamespace(integration.name_any()))?;
    let key = format!("integration/{ns}/{}", integration.name_any());
    if ctx.changed(key, fingerprint(&integration)) {
        ctx.accounts
            .wake(&ctx, ObjectRef::from_obj(integration.as_ref()));
    }
    Ok(Action::await_change())
}
