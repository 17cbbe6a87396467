//! Carries out [`Changes`]: server-side apply of created and updated resources (field
//! manager `lastpass-operator-ldap`), deletion of the ones that left. A few writes run at
//! once; one failure does not stop the others.

use futures::{StreamExt, stream};
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::FIELD_MANAGER;
use super::reconcile::Changes;
use crate::crd::{APPROVED_PLAN_ANNOTATION, LastPassUser};

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
    let (f, no_policy) = (&mut out.failures, without_policy as fn(&mut Value));
    let keep = (|_: &mut Value| {}) as fn(&mut Value);
    out.created += write_all(&users, &changes.create_users, false, keep, f).await;
    out.updated += write_all(&users, &changes.update_users, true, keep, f).await;
    out.created += write_all(&groups, &changes.create_groups, false, no_policy, f).await;
    out.updated += write_all(&groups, &changes.update_groups, true, no_policy, f).await;
    out.deleted += delete_all(&users, &changes.delete_users, &mut out.failures).await;
    out.deleted += delete_all(&groups, &changes.delete_groups, &mut out.failures).await;
    out
}

/// Annotates each LastPassUser of `names` with `lastpass-operator.io/approved-plan: <id>`
/// (a merge patch of that one annotation, so the applied fields keep their owner), before an
/// approved pull deletes them: the engine then does not hold their deprovisions again. A
/// user already gone is skipped; the first other failure is returned.
pub async fn mark_approved(
    client: &Client,
    namespace: &str,
    names: &[String],
    id: &str,
) -> Result<(), super::Error> {
    let api: Api<LastPassUser> = Api::namespaced(client.clone(), namespace);
    let body = serde_json::json!({"metadata": {"annotations": {APPROVED_PLAN_ANNOTATION: id}}});
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    };
    let results: Vec<_> = stream::iter(names)
        .map(|name| {
            let (api, body, params) = (&api, &body, &params);
            async move {
                match api.patch(name, params, &Patch::Merge(body)).await {
                    Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
                    other => other.map(|_| ()).map_err(|source| super::Error::Kube {
                        step: format!("annotating LastPassUser {namespace}/{name} as approved"),
                        source,
                    }),
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

/// A group's `spec.policy` is never applied: the field stays with whoever set it (a person
/// with `kubectl`), and a new group gets the CRD's default, `Authoritative` — which the
/// engine holds Additive over a LastPass group with members it does not manage, until the
/// `lastpass-operator.io/take-over` annotation (also never written here).
fn without_policy(body: &mut Value) {
    if let Some(spec) = body.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("policy");
    }
}

/// Server-side applies each object; `force` only for updates of resources known to be ours,
/// so a create never takes over an object someone else created meanwhile.
async fn write_all<K>(
    api: &Api<K>,
    objects: &[K],
    force: bool,
    prepare: fn(&mut Value),
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
                prepare(&mut body);
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
    tally(results, failures)
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
    tally(results, failures)
}

/// The number of requests that succeeded; the failures, each with what was attempted, go to
/// `failures`.
fn tally<T>(
    results: Vec<(String, Result<T, kube::Error>)>,
    failures: &mut Vec<(String, kube::Error)>,
) -> usize {
    let mut ok = 0;
    for (what, res) in results {
        match res {
            Ok(_) => ok += 1,
            Err(e) => failures.push((what, e)),
        }
    }
    ok
}
