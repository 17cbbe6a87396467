//! State shared by the controllers and the account tasks.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::Store;

use crate::crd::{DirectoryIntegration, LastPassGroup, LastPassUser};

use super::accounts::Accounts;
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
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            min_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(300),
            write_concurrency: 16,
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

/// Everything a reconcile or an account task needs.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// Publishes events.k8s.io/v1 Events.
    pub recorder: Recorder,
    /// Cache of LastPassUsers.
    pub users: Stores<LastPassUser>,
    /// Cache of LastPassGroups.
    pub groups: Stores<LastPassGroup>,
    /// Cache of DirectoryIntegrations.
    pub integrations: Stores<DirectoryIntegration>,
    /// Cache of Namespaces (labels, for `allowedNamespaces.from: Selector`).
    pub namespaces: Store<Namespace>,
    /// One account task per DirectoryIntegration.
    pub accounts: Accounts,
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

    /// Whether `key`'s fingerprint changed since the last call (and records it).
    pub fn changed(&self, key: String, fingerprint: u64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.insert(key, fingerprint) != Some(fingerprint)
    }
}

/// The shared context.
pub type Ctx = Arc<Context>;
