//! The engine's statuses of users, groups and integrations (what of them it owns, what it
//! compares, see [`crate::status::writer`]), and finalizer removal once the engine says a
//! deprovision is complete.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde::Serialize;
use serde_json::json;

use crate::crd::{DirectoryIntegrationStatus, LastPassGroupStatus, LastPassUserStatus};
use crate::status::kstatus::set_kstatus_conditions;
use crate::status::types;
use crate::status::writer::{self, Object, Status};

use super::error::{Error, kube as kube_err};

/// Field manager of every write of the controllers.
pub const MANAGER: &str = "lastpass-operator";

/// Finalizer on LastPassUsers and LastPassGroups: deleting one deprovisions through the engine.
pub const FINALIZER: &str = "lastpass-operator.io/deprovision";

/// The methods every status the engine writes shares: its conditions and observedGeneration,
/// kstatus's conditions derived from `Ready`, and (with `last_sync_time`) the sync time that is
/// left out of comparisons and set when written.
macro_rules! engine_status {
    () => {
        fn conditions_mut(&mut self) -> &mut Vec<Condition> {
            &mut self.conditions
        }
        fn observed_generation_mut(&mut self) -> Option<&mut Option<i64>> {
            Some(&mut self.observed_generation)
        }
        fn derive(&mut self) {
            set_kstatus_conditions(&mut self.conditions);
        }
    };
    (last_sync_time) => {
        engine_status!();
        fn clear_times(&mut self) {
            self.last_sync_time = None;
        }
        fn set_time(&mut self, now: &Time) {
            self.last_sync_time = Some(now.clone());
        }
    };
}

impl Status for LastPassUserStatus {
    engine_status!(last_sync_time);
}

impl Status for LastPassGroupStatus {
    engine_status!();
}

impl Status for DirectoryIntegrationStatus {
    engine_status!(last_sync_time);
    fn owned(&self) -> Self {
        // TokenReady belongs to the SCIM token manager, the Ldap* conditions to the pull.
        const OURS: [&str; 7] = [
            types::READY,
            types::CREDENTIALS_VALID,
            types::SYNCED,
            types::DEPROVISION_BLOCKED,
            types::SEATS_EXHAUSTED,
            types::RECONCILING,
            types::STALLED,
        ];
        let mut mine = self.clone();
        mine.ldap = None;
        mine.scim = None;
        mine.conditions.retain(|c| OURS.contains(&c.type_.as_str()));
        mine
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::writer::next_status;
    use crate::status::{Reason, condition};

    fn at(s: i64) -> Time {
        Time(jiff::Timestamp::from_second(s).unwrap())
    }

    #[test]
    fn a_status_that_only_differs_in_times_or_foreign_fields_is_not_written() {
        let ours = DirectoryIntegrationStatus {
            conditions: vec![condition(
                types::READY,
                true,
                Reason::SyncSucceeded,
                "",
                Some(1),
                &at(10),
            )],
            ..DirectoryIntegrationStatus::default()
        };
        let mut current = next_status(None, ours.clone(), Some(1), &at(10)).expect("first write");
        // Another manager (the LDAP pull) added its condition and block.
        current.conditions.push(condition(
            types::LDAP_REACHABLE,
            true,
            Reason::Active,
            "",
            Some(1),
            &at(11),
        ));
        current.ldap = Some(Default::default());
        let mut later = ours.clone();
        later.conditions[0].last_transition_time = at(50);
        assert_eq!(next_status(Some(&current), later, Some(1), &at(50)), None);

        let mut changed = ours;
        changed.conditions[0] = condition(
            types::READY,
            false,
            Reason::SyncFailed,
            "boom",
            Some(1),
            &at(60),
        );
        let written = next_status(Some(&current), changed, Some(2), &at(60))
            .expect("a real change is written");
        assert_eq!(written.observed_generation, Some(2));
        assert_eq!(written.last_sync_time, Some(at(60)));
    }

    #[test]
    fn a_digest_tells_what_a_status_says_not_when() {
        let user = |ready: bool, t: i64| {
            let reason = if ready {
                Reason::Invited
            } else {
                Reason::Pending
            };
            let c = condition(types::READY, ready, reason, "", Some(1), &at(t));
            next_status(
                None,
                LastPassUserStatus {
                    conditions: vec![c],
                    ..LastPassUserStatus::default()
                },
                Some(1),
                &at(t),
            )
            .unwrap()
        };
        use crate::status::writer::digest;
        assert_eq!(digest(&user(true, 10)), digest(&user(true, 99)));
        assert_ne!(digest(&user(true, 10)), digest(&user(false, 10)));
    }
}
