//! In-memory stores of the SCIM server, with the indexes its reads need.
//!
//! A [`Cache`] per kind holds what the API server's watch shows ([`super::watch`] feeds it),
//! indexed by SCIM id, by userName hash and by externalId. Reads then cost a hash lookup
//! instead of a list on the API server; each cache also tracks this replica's own writes
//! ([`OwnWrites`]) so that a read waits for them (see [`super::consistency`]).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Resource;
use kube::api::ObjectMeta;
use kube::runtime::watcher;
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, watch};

use super::consistency::{OwnWrites, Pending};
use super::mapping::{self, EXTERNAL_ID_ANNOTATION, INTEGRATION_LABEL, SOURCE_SCIM};
use crate::crd::{DirectoryIntegration, LastPassGroup, LastPassUser, SOURCE_LABEL};

/// The kinds the SCIM server reads and writes (`LastPassUser`, `LastPassGroup`): namespaced,
/// decodable resources.
pub trait Kind:
    Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
    + Clone
    + DeserializeOwned
    + std::fmt::Debug
{
}

impl<K> Kind for K where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
{
}

/// Versions remembered per object (see `Inner::seen`).
const SEEN_VERSIONS: usize = 4;

/// Namespace and name of an object.
pub type Key = (String, String);

/// What a kind is indexed by besides its namespace and name.
pub trait Indexed: Kind + Send + Sync + 'static {
    /// The value that must be unique among an integration's resources, as indexed (the
    /// userName hash of a user, the lower-case name of a group); `None` when not indexed.
    fn unique_key(&self) -> Option<String> {
        None
    }
}

impl Indexed for LastPassUser {
    fn unique_key(&self) -> Option<String> {
        Some(mapping::username_hash(&self.spec.username))
    }
}

impl Indexed for LastPassGroup {
    fn unique_key(&self) -> Option<String> {
        Some(self.spec.group_name.to_lowercase())
    }
}

impl Indexed for DirectoryIntegration {}
impl Indexed for Secret {}

/// `(integration label value, SCIM id)` of a SCIM-sourced object.
fn scim_key(meta: &ObjectMeta) -> Option<(String, String)> {
    let labels = meta.labels.as_ref()?;
    if labels.get(SOURCE_LABEL).map(String::as_str) != Some(SOURCE_SCIM) {
        return None;
    }
    Some((
        labels.get(INTEGRATION_LABEL)?.clone(),
        mapping::scim_id(meta),
    ))
}

fn key_of(meta: &ObjectMeta) -> Key {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

struct Inner<K> {
    objects: HashMap<Key, Arc<K>>,
    /// (namespace, integration label) → SCIM id → objects (two for a moment when a rename
    /// replaces a resource by a new one with the same SCIM id).
    scim: HashMap<(String, String), HashMap<String, BTreeSet<Key>>>,
    /// (namespace, unique key) → objects.
    unique: HashMap<(String, String), BTreeSet<Key>>,
    /// (namespace, integration label, externalId) → objects.
    external: HashMap<(String, String, String), BTreeSet<Key>>,
    own: OwnWrites,
    /// The last versions applied per object (newest last), so that a write whose watch event
    /// came before the writer recorded it is not waited for.
    seen: HashMap<Key, VecDeque<String>>,
    /// Objects of a relist in progress, by the namespace it covers ("" for all), with its
    /// number.
    relisting: HashMap<String, (u64, Vec<K>)>,
}

impl<K> Default for Inner<K> {
    fn default() -> Self {
        Self {
            objects: HashMap::new(),
            scim: HashMap::new(),
            unique: HashMap::new(),
            external: HashMap::new(),
            own: OwnWrites::default(),
            seen: HashMap::new(),
            relisting: HashMap::new(),
        }
    }
}

impl<K: Indexed> Inner<K> {
    fn unindex(&mut self, key: &Key) {
        let Some(old) = self.objects.remove(key) else {
            return;
        };
        let meta = old.meta();
        if let Some((integration, id)) = scim_key(meta) {
            let ik = (key.0.clone(), integration.clone());
            if let Some(ids) = self.scim.get_mut(&ik) {
                remove_from(ids, &id, key);
                if ids.is_empty() {
                    self.scim.remove(&ik);
                }
            }
            if let Some(ext) = meta
                .annotations
                .as_ref()
                .and_then(|a| a.get(EXTERNAL_ID_ANNOTATION))
            {
                remove_from(
                    &mut self.external,
                    &(key.0.clone(), integration, ext.clone()),
                    key,
                );
            }
        }
        if let Some(u) = old.unique_key() {
            remove_from(&mut self.unique, &(key.0.clone(), u), key);
        }
    }

    fn insert(&mut self, obj: K) {
        let key = key_of(obj.meta());
        self.unindex(&key);
        let meta = obj.meta();
        if let Some((integration, id)) = scim_key(meta) {
            if let Some(ext) = meta
                .annotations
                .as_ref()
                .and_then(|a| a.get(EXTERNAL_ID_ANNOTATION))
            {
                self.external
                    .entry((key.0.clone(), integration.clone(), ext.clone()))
                    .or_default()
                    .insert(key.clone());
            }
            self.scim
                .entry((key.0.clone(), integration))
                .or_default()
                .entry(id)
                .or_default()
                .insert(key.clone());
        }
        if let Some(u) = obj.unique_key() {
            self.unique
                .entry((key.0.clone(), u))
                .or_default()
                .insert(key.clone());
        }
        self.objects.insert(key, Arc::new(obj));
    }

    fn saw(&mut self, meta: &ObjectMeta) {
        if let Some(rv) = &meta.resource_version {
            let versions = self.seen.entry(key_of(meta)).or_default();
            if versions.len() >= SEEN_VERSIONS {
                versions.pop_front();
            }
            versions.push_back(rv.clone());
        }
    }

    fn shows(&self, meta: &ObjectMeta) -> bool {
        meta.resource_version.as_ref().is_some_and(|rv| {
            self.seen
                .get(&key_of(meta))
                .is_some_and(|versions| versions.contains(rv))
        })
    }

    fn get_all(&self, keys: Option<&BTreeSet<Key>>) -> Vec<Arc<K>> {
        keys.into_iter()
            .flatten()
            .filter_map(|k| self.objects.get(k).cloned())
            .collect()
    }
}

fn remove_from<I: std::hash::Hash + Eq>(index: &mut HashMap<I, BTreeSet<Key>>, at: &I, key: &Key) {
    if let Some(set) = index.get_mut(at) {
        set.remove(key);
        if set.is_empty() {
            index.remove(at);
        }
    }
}

/// How a read's wait for this replica's own writes ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Nothing of ours was pending.
    AtOnce,
    /// The store caught up within the bound.
    Waited,
    /// The bound passed first: the caller reads the API server instead.
    TimedOut,
}

/// The longest a read waits for the store to show this replica's own writes.
pub const WAIT_BOUND: Duration = Duration::from_secs(1);

/// One kind's in-memory store, its indexes and this replica's writes it does not show yet.
pub struct Cache<K> {
    inner: RwLock<Inner<K>>,
    changed: Notify,
    /// Watches that have not listed once yet.
    ready: watch::Sender<usize>,
    /// Scopes whose watch has listed once.
    listed: Mutex<BTreeSet<String>>,
    lag: Mutex<Duration>,
}

impl<K: Indexed> Cache<K> {
    /// An empty store fed by `streams` watches.
    pub(super) fn new(streams: usize) -> Self {
        Self {
            inner: RwLock::new(Inner::default()),
            changed: Notify::new(),
            ready: watch::Sender::new(streams),
            listed: Mutex::new(BTreeSet::new()),
            lag: Mutex::new(Duration::ZERO),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner<K>> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner<K>> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The object `namespace/name`.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        self.read()
            .objects
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// The SCIM-sourced object of `integration` (label value) with SCIM id `id`.
    /// With two (a rename in progress), the one not being deleted.
    pub fn by_id(&self, namespace: &str, integration: &str, id: &str) -> Option<Arc<K>> {
        let inner = self.read();
        let keys = inner
            .scim
            .get(&(namespace.to_string(), integration.to_string()))?
            .get(id)?;
        let mut found = inner.get_all(Some(keys));
        found.sort_by_key(|o| o.meta().deletion_timestamp.is_some());
        found.into_iter().next()
    }

    /// Every SCIM-sourced object of `integration` (label value) in `namespace`.
    pub fn of_integration(&self, namespace: &str, integration: &str) -> Vec<Arc<K>> {
        let inner = self.read();
        inner
            .scim
            .get(&(namespace.to_string(), integration.to_string()))
            .into_iter()
            .flat_map(|ids| ids.values().flatten())
            .filter_map(|k| inner.objects.get(k).cloned())
            .collect()
    }

    /// Every object of `namespace` (any source) whose [`Indexed::unique_key`] is `unique`.
    pub fn by_unique_key(&self, namespace: &str, unique: &str) -> Vec<Arc<K>> {
        let inner = self.read();
        inner.get_all(
            inner
                .unique
                .get(&(namespace.to_string(), unique.to_string())),
        )
    }

    /// The SCIM-sourced objects of `integration` (label value) with this externalId.
    pub fn by_external_id(&self, namespace: &str, integration: &str, ext: &str) -> Vec<Arc<K>> {
        let inner = self.read();
        inner.get_all(inner.external.get(&(
            namespace.to_string(),
            integration.to_string(),
            ext.to_string(),
        )))
    }

    /// Objects in the store.
    pub fn len(&self) -> usize {
        self.read().objects.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records a write of this replica that the API server answered with `meta` (unless the
    /// store applied that version already).
    pub fn wrote(&self, meta: &ObjectMeta) {
        let mut inner = self.write();
        if !inner.shows(meta) {
            inner.own.wrote(meta);
        }
    }

    /// Records the deletion of `meta` (`kept`: the object a finalizer keeps), unless the store
    /// shows it already.
    pub fn deleted(&self, meta: &ObjectMeta, kept: Option<&ObjectMeta>) {
        let mut inner = self.write();
        let shown = match kept {
            Some(k) => inner.shows(k),
            None => inner
                .objects
                .get(&key_of(meta))
                .is_none_or(|o| o.meta().uid != meta.uid),
        };
        if !shown {
            inner.own.deleted(meta, kept);
        }
    }

    /// Waits, at most `bound`, until no write of this replica matching `pred` is missing from
    /// the store.
    pub async fn settle(&self, pred: impl Fn(&Pending) -> bool, bound: Duration) -> Settled {
        let deadline = tokio::time::Instant::now() + bound;
        let mut waited = false;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if !self.write().own.any(&pred) {
                return if waited {
                    Settled::Waited
                } else {
                    Settled::AtOnce
                };
            }
            waited = true;
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Settled::TimedOut;
            }
        }
    }

    /// Waits, at most `bound`, for every watch of this store to have listed once.
    pub async fn ready(&self, bound: Duration) -> bool {
        let mut rx = self.ready.subscribe();
        tokio::time::timeout(bound, rx.wait_for(|left| *left == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Test hook: delay every watch event by `lag` before it is applied (a lagging store).
    #[doc(hidden)]
    pub fn inject_lag(&self, lag: Duration) {
        *self.lag.lock().unwrap_or_else(|p| p.into_inner()) = lag;
    }

    /// Applies one watch event of the watch covering `scope` (a namespace, "" for all).
    pub(super) fn apply(&self, scope: &str, event: watcher::Event<K>) {
        let mut inner = self.write();
        match event {
            watcher::Event::Apply(obj) => {
                inner.own.applied(obj.meta());
                inner.saw(obj.meta());
                inner.insert(obj);
            }
            watcher::Event::Delete(obj) => {
                inner.own.removed(obj.meta());
                let key = key_of(obj.meta());
                inner.seen.remove(&key);
                inner.unindex(&key);
            }
            watcher::Event::Init => {
                let number = inner.own.relist_started();
                inner
                    .relisting
                    .insert(scope.to_string(), (number, Vec::new()));
            }
            watcher::Event::InitApply(obj) => {
                if let Some((_, buf)) = inner.relisting.get_mut(scope) {
                    buf.push(obj);
                }
            }
            watcher::Event::InitDone => {
                let (number, objs) = inner.relisting.remove(scope).unwrap_or_default();
                let stale: Vec<Key> = inner
                    .objects
                    .keys()
                    .filter(|(ns, _)| scope.is_empty() || ns == scope)
                    .cloned()
                    .collect();
                for k in stale {
                    inner.seen.remove(&k);
                    inner.unindex(&k);
                }
                for obj in objs {
                    inner.saw(obj.meta());
                    inner.insert(obj);
                }
                inner
                    .own
                    .relisted(number, (!scope.is_empty()).then_some(scope));
                drop(inner);
                let first = self
                    .listed
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(scope.to_string());
                if first {
                    self.ready
                        .send_modify(|left| *left = left.saturating_sub(1));
                }
                self.changed.notify_waiters();
                return;
            }
        }
        drop(inner);
        self.changed.notify_waiters();
    }

    /// The injected lag (test hook; zero normally).
    pub(super) fn lag(&self) -> Duration {
        *self.lag.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::LastPassUserSpec;

    fn user(name: &str, rv: &str, id: &str) -> LastPassUser {
        let mut u = LastPassUser::new(
            name,
            LastPassUserSpec {
                username: format!("{name}@example.com"),
                ..serde_json::from_value(serde_json::json!({
                    "integrationRef": {"name": "acme"}, "username": "x@example.com"
                }))
                .unwrap()
            },
        );
        u.metadata.namespace = Some("ns".into());
        u.metadata.uid = Some(format!("uid-{name}"));
        u.metadata.resource_version = Some(rv.into());
        u.metadata.labels = Some(mapping::labels("acme", id));
        u
    }

    fn pending(c: &Cache<LastPassUser>) -> usize {
        c.read().own.len()
    }

    #[test]
    fn indexes_follow_applies_and_deletes() {
        let c = Cache::<LastPassUser>::new(1);
        c.apply("", watcher::Event::Apply(user("a", "1", "id-a")));
        let hash = mapping::username_hash("A@example.com");
        assert_eq!(
            c.by_id("ns", "acme", "id-a")
                .unwrap()
                .metadata
                .name
                .as_deref(),
            Some("a")
        );
        assert_eq!(c.by_unique_key("ns", &hash).len(), 1);
        assert_eq!(c.of_integration("ns", "acme").len(), 1);
        c.apply("", watcher::Event::Delete(user("a", "2", "id-a")));
        assert!(c.by_id("ns", "acme", "id-a").is_none());
        assert!(c.by_unique_key("ns", &hash).is_empty() && c.is_empty());
    }

    #[test]
    fn a_write_whose_event_came_first_is_not_waited_for() {
        let c = Cache::<LastPassUser>::new(1);
        // The watch event is applied before the writer records its write.
        c.apply("", watcher::Event::Apply(user("a", "7", "id-a")));
        c.wrote(&user("a", "7", "id-a").metadata);
        assert_eq!(pending(&c), 0);
        // ...even when another write of the object followed at once.
        c.apply("", watcher::Event::Apply(user("a", "9", "id-a")));
        c.wrote(&user("a", "7", "id-a").metadata);
        assert_eq!(pending(&c), 0);
        // In the usual order the write is pending until its event.
        c.wrote(&user("a", "11", "id-a").metadata);
        assert_eq!(pending(&c), 1);
        c.apply("", watcher::Event::Apply(user("a", "11", "id-a")));
        assert_eq!(pending(&c), 0);
        // A deletion the store shows already, and one it does not.
        c.apply("", watcher::Event::Delete(user("a", "12", "id-a")));
        c.deleted(&user("a", "11", "id-a").metadata, None);
        assert_eq!(pending(&c), 0);
        c.apply("", watcher::Event::Apply(user("b", "13", "id-b")));
        c.deleted(&user("b", "13", "id-b").metadata, None);
        assert_eq!(pending(&c), 1);
    }

    #[tokio::test]
    async fn reads_wait_for_the_store_within_the_bound() {
        let c = Arc::new(Cache::<LastPassUser>::new(1));
        c.wrote(&user("a", "5", "id-a").metadata);
        let late = c.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            late.apply("", watcher::Event::Apply(user("a", "5", "id-a")));
        });
        let s = c
            .settle(|p| p.label(mapping::ID_LABEL) == Some("id-a"), WAIT_BOUND)
            .await;
        assert_eq!(s, Settled::Waited);
        assert!(c.by_id("ns", "acme", "id-a").is_some());
        c.wrote(&user("a", "6", "id-a").metadata);
        let s = c.settle(|_| true, Duration::from_millis(30)).await;
        assert_eq!(s, Settled::TimedOut);
        let s = c
            .settle(|p| p.label(mapping::ID_LABEL) == Some("other"), WAIT_BOUND)
            .await;
        assert_eq!(s, Settled::AtOnce, "only matching writes are waited for");
    }
}
