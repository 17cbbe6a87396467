//! Writing the engine's statuses of users, groups and integrations (what of them it owns and
//! compares is [`crate::status::engine_statuses`]), and finalizer removal once the engine says
//! a deprovision is complete.

use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde::Serialize;
use serde_json::json;

use crate::status::writer::{self, Object};

use super::error::{Error, kube as kube_err};

/// Field manager of every write of the controllers.
pub const MANAGER: &str = "lastpass-operator";

/// Finalizer on LastPassUsers and LastPassGroups: deleting one deprovisions through the engine.
pub const FINALIZER: &str = "lastpass-operator.io/deprovision";

/// Server-side applies `status` to `obj`'s `/status` under [`MANAGER`] (see
/// [`crate::status::writer`]).
pub async fn apply_status<K, S>(client: &Client, obj: &K, status: &S) -> Result<(), Error>
where
    K: Object,
    S: Serialize,
{
    Ok(writer::apply(client, MANAGER, obj, status).await?)
}

/// Replaces `obj`'s finalizer list, guarded by its resourceVersion: a concurrent change makes
/// the API answer 409 instead of losing someone else's finalizer.
async fn set_finalizers<K>(client: &Client, obj: &K, finalizers: Vec<String>) -> Result<(), Error>
where
    K: Object,
{
    let patch = json!({"metadata": {
        "finalizers": finalizers,
        "resourceVersion": obj.resource_version(),
    }});
    merge_patch(client, obj, &patch, "updating the finalizers of").await
}

/// Merge-patches `obj` (a metadata change of the operator's); an object deleted meanwhile is
/// no error. `doing` starts the error message, e.g. "updating the finalizers of".
pub async fn merge_patch<K>(
    client: &Client,
    obj: &K,
    patch: &serde_json::Value,
    doing: &str,
) -> Result<(), Error>
where
    K: Object,
{
    let ns = obj
        .namespace()
        .ok_or_else(|| Error::NoNamespace(obj.name_any()))?;
    let api: Api<K> = Api::namespaced(client.clone(), &ns);
    match api
        .patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(kube_err(format!("{doing} {ns}/{}", obj.name_any()))(e)),
    }
}

/// Removes the operator's finalizer from `obj`, if it has it.
pub async fn remove_finalizer<K>(client: &Client, obj: &K) -> Result<(), Error>
where
    K: Object,
{
    if !obj.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(());
    }
    let rest = obj
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    set_finalizers(client, obj, rest).await
}

/// Adds the operator's finalizer to `obj` if missing.
pub async fn add_finalizer<K>(client: &Client, obj: &K) -> Result<(), Error>
where
    K: Object,
{
    if obj.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(());
    }
    let mut all = obj.finalizers().to_vec();
    all.push(FINALIZER.to_string());
    set_finalizers(client, obj, all).await
}
