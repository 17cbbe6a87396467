//! Carries out [`Changes`]: server-side apply of created and updated resources (field
//! manager `lastpass-operator-ldap`), deletion of the ones that left. A few writes run at
//! once; one failure does not stop the others.

use futures::{StreamExt, stream};
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::FIELD_MANAGER;
use super::reconcile::Changes;

/// Writes in flight at once.
const CONCURRENCY: usize = 16;

/// What was written.
#[derive(Debug, Default)]
pub struct Applied {
    /// Resources created.
    pub created: usize,
    /// Resources updated.
    pub updated: usize,
    /// Resources deleted (or already gone).
    pub deleted: usize,
    /// Writes that failed: `(what, error)`.
    pub failures: Vec<(String, kube::Error)>,
}

/// Applies the changes in `namespace`.
pub async fn apply(client: &Client, namespace: &str, changes: &Changes) -> Applied {
    let mut out = Applied::default();
    let users = Api::namespaced(client.clone(), namespace);
    let groups = Api::namespaced(client.clone(), namespace);
    out.created += write_all(&users, &changes.create_users, false, &mut out.failures).await;
    out.updated += write_all(&users, &changes.update_users, true, &mut out.failures).await;
    out.created += write_all(&groups, &changes.create_groups, false, &mut out.failures).await;
    out.updated += write_all(&groups, &changes.update_groups, true, &mut out.failures).await;
    out.deleted += delete_all(&users, &changes.delete_users, &mut out.failures).await;
    out.deleted += delete_all(&groups, &changes.delete_groups, &mut out.failures).await;
    out
}

/// Server-side applies each object; `force` only for updates of resources known to be ours,
/// so a create never takes over an object someone else created meanwhile.
async fn write_all<K>(
    api: &Api<K>,
    objects: &[K],
    force: bool,
    failures: &mut Vec<(String, kube::Error)>,
) -> usize
where
    K: Resource + Clone + Serialize + DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = force;
    let results: Vec<_> = stream::iter(objects)
        .map(|obj| {
            let params = params.clone();
            async move {
                let name = obj.name_any();
                let mut body = serde_json::to_value(obj).expect("resources serialize");
                if let Some(map) = body.as_object_mut() {
                    map.remove("status");
                }
                let res = api.patch(&name, &params, &Patch::Apply(&body)).await;
                (
                    format!("applying {} {name}", K::kind(&K::DynamicType::default())),
                    res,
                )
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut ok = 0;
    for (what, res) in results {
        match res {
            Ok(_) => ok += 1,
            Err(e) => failures.push((what, e)),
        }
    }
    ok
}

async fn delete_all<K>(
    api: &Api<K>,
    names: &[String],
    failures: &mut Vec<(String, kube::Error)>,
) -> usize
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let results: Vec<_> = stream::iter(names)
        .map(|name| async move {
            let res = match api.delete(name, &DeleteParams::default()).await {
                Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
                other => other.map(|_| ()),
            };
            (
                format!("deleting {} {name}", K::kind(&K::DynamicType::default())),
                res,
            )
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut ok = 0;
    for (what, res) in results {
        match res {
            Ok(()) => ok += 1,
            Err(e) => failures.push((what, e)),
        }
    }
    ok
}
