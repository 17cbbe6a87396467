//! The write habits shared by `/Users` and `/Groups`: re-read and re-apply after a concurrent
//! write, and conditional deletes that honour `If-Match`.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use axum::response::Response;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use serde_json::{Value, json};

use super::endpoint::Endpoint;
use super::error::Error;
use super::mapping;
use super::patch::{self, Operation};
use super::store;

/// Re-reads and re-applies after a concurrent write this many times.
pub const RETRIES: u32 = 30;

/// A short random pause before re-reading after a conflict, so racing writers spread out.
pub async fn conflict_pause(attempt: u32) {
    let ms = rand::random_range(5..=20 + 10 * u64::from(attempt.min(10)));
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

/// Runs `write` (which reads the resource afresh each time) until it succeeds or fails with
/// something other than a conflict. A request with `If-Match` is never retried: its 409 is the
/// client's 412.
pub async fn retry_conflicts<F, Fut>(version: Option<&str>, mut write: F) -> Result<Response, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Response, Error>>,
{
    let mut attempt = 0;
    loop {
        match write().await {
            Err(e) if e.is_conflict() && version.is_none() && attempt < RETRIES => {
                attempt += 1;
                conflict_pause(attempt).await;
            }
            other => return other,
        }
    }
}

/// How a `PUT` or a `PATCH` changes one resource's SCIM document.
pub enum Edit {
    /// `PUT`: the request's document replaces the resource's.
    Replace(Value),
    /// `PATCH`: the operations apply to the resource's current document.
    Patch(Vec<Operation>),
}

impl Edit {
    /// The document to write: the replacement, or `current` patched (`current` is awaited only
    /// for a `PATCH`, so a `PUT` never builds a document it throws away).
    pub async fn apply(
        &self,
        current: impl Future<Output = Result<Value, Error>>,
    ) -> Result<Value, Error> {
        match self {
            Self::Replace(doc) => Ok(doc.clone()),
            Self::Patch(ops) => {
                let mut doc = current.await?;
                patch::apply(&mut doc, ops)?;
                Ok(doc)
            }
        }
    }
}

/// Merge-patches `obj`'s `metadata` and `spec`, always on condition of a version (the client's
/// `If-Match`, else the one read): a concurrent write makes this a conflict, which the handler
/// meets by re-reading and re-applying instead of losing the other write. The write is
/// recorded for read-your-writes.
pub async fn merge_patch<K>(
    ep: &Endpoint,
    obj: &K,
    mut metadata: Value,
    spec: Value,
    version: Option<&str>,
) -> Result<K, Error>
where
    K: super::cache::Kind + serde::Serialize,
{
    let (kind, name) = (K::kind(&()), obj.name_any());
    let condition = version
        .map(str::to_string)
        .or(obj.meta().resource_version.clone());
    metadata["resourceVersion"] = json!(condition);
    let body = json!({"metadata": metadata, "spec": spec});
    let updated = Api::<K>::namespaced(ep.client.clone(), &ep.namespace)
        .patch(&name, &PatchParams::default(), &Patch::Merge(&body))
        .await
        .map_err(|e| {
            let what = format!("update {kind} {}/{name}", ep.namespace);
            store::precondition(Error::kube(what, e), version)
        })?;
    ep.stores.wrote(&kind, updated.meta());
    Ok(updated)
}

/// Deletes `obj`, on condition that it is still the same object (uid) and, with `If-Match`,
/// the same version.
pub async fn delete<K>(ep: &Endpoint, obj: &K, version: Option<String>) -> Result<(), Error>
where
    K: super::cache::Kind,
{
    let name = obj.name_any();
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: obj.meta().uid.clone(),
            resource_version: version.clone(),
        }),
        ..Default::default()
    };
    let gone = Api::<K>::namespaced(ep.client.clone(), &ep.namespace)
        .delete(&name, &dp)
        .await
        .map_err(|e| {
            store::precondition(
                Error::kube(
                    format!("delete {} {}/{name}", K::kind(&()), ep.namespace),
                    e,
                ),
                version.as_deref(),
            )
        })?;
    // Kept by a finalizer, the deletion is a new version of the object; removed at once, the
    // store shows it by the object's removal.
    let kind = K::kind(&());
    gone.either(
        |kept| ep.stores.deleted(&kind, obj.meta(), Some(kept.meta())),
        |_| ep.stores.deleted(&kind, obj.meta(), None),
    );
    Ok(())
}

/// The `{id}` of the request path.
pub fn id(params: &HashMap<String, String>) -> String {
    params.get("id").cloned().unwrap_or_default()
}

/// `meta.lastModified` of a write made now.
pub fn now() -> String {
    jiff::Timestamp::now().to_string()
}

/// The annotations every SCIM create and write sets: the attributes beyond the resource's
/// spec, `meta.lastModified` and, when the client sent one, the externalId.
pub fn annotations(
    attributes: &str,
    external_id: Option<&String>,
    stamp: &str,
) -> BTreeMap<String, String> {
    let mut a = BTreeMap::from([
        (
            mapping::ATTRIBUTES_ANNOTATION.to_string(),
            attributes.to_string(),
        ),
        (
            mapping::LAST_MODIFIED_ANNOTATION.to_string(),
            stamp.to_string(),
        ),
    ]);
    if let Some(ext) = external_id {
        a.insert(mapping::EXTERNAL_ID_ANNOTATION.to_string(), ext.clone());
    }
    a
}
