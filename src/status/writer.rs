//! The write-on-change status writer: every status write of the operator goes through
//! [`write`]. It skips the write when the status says nothing new (only times would differ),
//! and otherwise server-side applies it to `/status` under the writer's field manager, which
//! then owns exactly the fields it sent: the engine, the LDAP pull and the SCIM token manager
//! each apply their own part of an integration's status.

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::keep_transition_times;

/// A namespaced resource the operator writes the status of (any of its three kinds).
pub trait Object:
    Resource<Scope = NamespaceResourceScope, DynamicType = ()>
    + Clone
    + DeserializeOwned
    + std::fmt::Debug
{
}

impl<K> Object for K where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
{
}

/// A status, or the part of one a field manager owns, comparable without its timestamps.
pub trait Status: Clone + PartialEq + Serialize {
    /// The conditions, to carry transition times over.
    fn conditions_mut(&mut self) -> &mut Vec<Condition>;
    /// `status.observedGeneration`, where this status has one.
    fn observed_generation_mut(&mut self) -> Option<&mut Option<i64>> {
        None
    }
    /// Sets `observedGeneration` on the status (where it has one) and on each condition.
    fn set_generation(&mut self, generation: Option<i64>) {
        if let Some(observed) = self.observed_generation_mut() {
            *observed = generation;
        }
        self.conditions_mut()
            .iter_mut()
            .for_each(|c| c.observed_generation = generation);
    }
    /// Recomputes conditions derived from the others (kstatus's).
    fn derive(&mut self) {}
    /// Clears the fields that change on every write by nature (sync times).
    fn clear_times(&mut self) {}
    /// Sets the time of a written status.
    fn set_time(&mut self, _now: &Time) {}
    /// The part of the status this writer owns; other writers own the rest under their own
    /// field managers.
    fn owned(&self) -> Self {
        self.clone()
    }
}

/// The status to write, or `None` when `current` already says the same (only times would
/// differ): a steady sync writes nothing.
pub fn next_status<S: Status>(
    current: Option<&S>,
    mut next: S,
    generation: Option<i64>,
    now: &Time,
) -> Option<S> {
    next.derive();
    next.set_generation(generation);
    if let Some(cur) = current {
        let old_conditions = cur.clone().conditions_mut().clone();
        keep_transition_times(next.conditions_mut(), &old_conditions);
        let (mut a, mut b) = (cur.owned(), next.owned());
        a.clear_times();
        b.clear_times();
        if a == b {
            return None;
        }
    }
    next.set_time(now);
    Some(next)
}

/// A digest of what `status` says, times left out (sync times and condition transitions): the
/// memory of a status written, for as long as a watch cache may not show it yet, and how the
/// report knows a status would not change.
pub fn digest<S: Status>(status: &S) -> u64 {
    digest_of(status.owned())
}

/// [`digest`] of a status already reduced to the part the writer owns.
fn digest_of<S: Status>(mut s: S) -> u64 {
    use std::hash::Hasher;
    s.clear_times();
    for c in s.conditions_mut() {
        c.last_transition_time = Time(jiff::Timestamp::UNIX_EPOCH);
    }
    let mut h = HashWriter(std::hash::DefaultHasher::new());
    // Writing to a hasher cannot fail; a status that cannot serialize hashes what it wrote.
    let _ = serde_json::to_writer(&mut h, &s);
    h.0.finish()
}

/// The digest `status` will have once written for `generation` (observedGeneration set, the
/// derived conditions derived): equal to the [`digest`] of the status a resource shows exactly
/// when [`next_status`] would write nothing.
pub fn digest_for<S: Status>(status: &S, generation: Option<i64>) -> u64 {
    let mut status = status.owned();
    status.derive();
    status.set_generation(generation);
    digest_of(status)
}

/// Hashes what is written to it: a digest without the serialized text in memory.
struct HashWriter(std::hash::DefaultHasher);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::hash::Hasher::write(&mut self.0, buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A status write that failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The API server refused or did not answer.
    #[error("{action} failed: {source}")]
    Kube {
        /// What was being written, e.g. "writing status of LastPassUser team/jane".
        action: String,
        /// The cause.
        #[source]
        source: kube::Error,
    },
    /// The object has no namespace (the kinds are namespaced; this should not happen).
    #[error("{0} has no namespace")]
    NoNamespace(String),
}

/// Writes `next` to `obj`'s status under field manager `manager`, unless it says what
/// `current` says; returns whether it wrote.
pub async fn write<K, S>(
    client: &Client,
    manager: &str,
    obj: &K,
    current: Option<&S>,
    next: S,
    now: &Time,
) -> Result<bool, WriteError>
where
    K: Object,
    S: Status,
{
    match next_status(current, next, obj.meta().generation, now) {
        Some(status) => apply(client, manager, obj, &status).await.map(|()| true),
        None => Ok(false),
    }
}

/// Server-side applies `status` to `obj`'s `/status` under field manager `manager` (forced:
/// the writer owns what it sends). Callers that decided to write already use this directly.
pub async fn apply<K, S>(
    client: &Client,
    manager: &str,
    obj: &K,
    status: &S,
) -> Result<(), WriteError>
where
    K: Object,
    S: Serialize,
{
    let ns = obj
        .namespace()
        .ok_or_else(|| WriteError::NoNamespace(obj.name_any()))?;
    let api: Api<K> = Api::namespaced(client.clone(), &ns);
    let body = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(manager).force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(|source| WriteError::Kube {
        action: format!("writing status of {} {ns}/{}", K::kind(&()), obj.name_any()),
        source,
    })?;
    Ok(())
}
