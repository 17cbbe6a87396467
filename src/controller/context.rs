//! State shared by the controllers and the account tasks.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::Api;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{ObjectRef, Store};

use crate::crd::{DirectoryIntegration, LastPassGroup, LastPassUser};

use super::stores::Stores;

/// Settings of the controllers.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Shortest wait after a failed sync; doubles up to `max_backoff`.
    pub min_backoff: Duration,
    /// Longest wait after failed syncs.
    pub max_backoff: Duration,
    /// Status writes in flight at once.
    pub write_concurrency: usize,
    /// At shutdown, how long a running account sync may take to finish (its write in
    /// flight, one re-read, the statuses) before it is abandoned.
    pub shutdown_grace: Duration,
    /// Test hook: the DirectoryIntegration watches start this much later, so tests can prove
    /// that nothing is released or planned before every cache has been listed. Zero in
    /// production.
    pub integrations_watch_delay: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            min_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(300),
            write_concurrency: 16,
            shutdown_grace: Duration::from_secs(20),
            integrations_watch_delay: Duration::ZERO,
        }
    }
}

/// Everything a reconcile or an account task needs.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// Publishes events.k8s.io/v1 Events.
    pub recorder: Recorder,
    /// Who publishes them (for Events published one per occurrence, see
    /// `events::emit_each`).
    pub reporter: Reporter,
    /// Cache of LastPassUsers.
    pub users: Stores<LastPassUser>,
    /// Cache of LastPassGroups.
    pub groups: Stores<LastPassGroup>,
    /// Cache of DirectoryIntegrations.
    pub integrations: Stores<DirectoryIntegration>,
    /// Cache of Namespaces (labels, for `allowedNamespaces.from: Selector`).
    pub namespaces: Store<Namespace>,
    /// Settings.
    pub settings: Settings,
    /// What each object looked like when it last woke its account, so status writes (which
    /// trigger reconciles too) do not wake it again.
    pub seen: Mutex<HashMap<String, u64>>,
}

impl Context {
    /// Labels of every cached namespace.
    pub fn namespace_labels(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        self.namespaces
            .state()
            .iter()
            .map(|ns| {
                (
                    ns.metadata.name.clone().unwrap_or_default(),
                    ns.metadata.labels.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Waits until every cache the controllers read has been listed once. Before that, a
    /// missing integration or user may only be missing from the cache: nothing may be released,
    /// planned or written on it.
    pub async fn caches_synced(&self) {
        let _ = self.users.wait_until_ready().await;
        let _ = self.groups.wait_until_ready().await;
        let _ = self.integrations.wait_until_ready().await;
        let _ = super::stores::wait_ready(&self.namespaces).await;
    }

    /// Whether the integration `key` is really gone: a direct read (not the cache) answers
    /// 404. Only then may a deleted user or group be released without deprovisioning.
    pub async fn integration_gone(
        &self,
        key: &ObjectRef<DirectoryIntegration>,
    ) -> Result<bool, super::error::Error> {
        let ns = key.namespace.as_deref().unwrap_or_default();
        let api: Api<DirectoryIntegration> = Api::namespaced(self.client.clone(), ns);
        let found = api
            .get_opt(&key.name)
            .await
            .map_err(super::error::kube(format!(
                "reading DirectoryIntegration {ns}/{}",
                key.name
            )))?;
        Ok(found.is_none())
    }

    /// Whether `key`'s fingerprint changed since the last call (and records it).
    pub fn changed(&self, key: String, fingerprint: u64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.insert(key, fingerprint) != Some(fingerprint)
    }
}
