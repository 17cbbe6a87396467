//! [`Stores`]: the caches of one kind across the watched namespaces, read as one.
//!
//! A reflector store is fed by one watch, and a watch covers one namespace or all of them. To
//! watch a list of namespaces the controllers run one watch (and one controller) per namespace
//! per kind; the account tasks read the union through this type.

use std::sync::Arc;

use kube::Resource;
use kube::runtime::reflector::store::WriterDropped;
use kube::runtime::reflector::{ObjectRef, Store};

/// The stores of one kind, one per watched namespace (a single store when watching all).
pub struct Stores<K: Resource<DynamicType = ()> + Clone + 'static> {
    stores: Vec<Store<K>>,
}

impl<K> Stores<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    /// Wraps the stores of each watched namespace.
    pub fn new(stores: Vec<Store<K>>) -> Self {
        Self { stores }
    }

    /// Every cached object, across the stores.
    pub fn state(&self) -> Vec<Arc<K>> {
        self.stores.iter().flat_map(Store::state).collect()
    }

    /// The cached object `key`, from whichever store holds it.
    pub fn get(&self, key: &ObjectRef<K>) -> Option<Arc<K>> {
        self.stores.iter().find_map(|s| s.get(key))
    }

    /// Waits until every store has been listed once. Returns early (like
    /// [`Store::wait_until_ready`]) if a store's writer was dropped.
    pub async fn wait_until_ready(&self) -> Result<(), WriterDropped> {
        for s in &self.stores {
            wait_ready(s).await?;
        }
        Ok(())
    }
}

/// [`Store::wait_until_ready`] that works with several waiters.
///
/// kube-runtime 5 waits on a `futures` oneshot that keeps only the last waiter's waker: when
/// two tasks wait at once (the readiness task and an account task), the first is never woken
/// and `/readyz` stayed 503 for good. Polling again every 200 ms re-registers the waker and
/// sees the memoized value once anyone received it.
pub async fn wait_ready<K>(store: &Store<K>) -> Result<(), WriterDropped>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    loop {
        if let Ok(r) = tokio::time::timeout(RECHECK, store.wait_until_ready()).await {
            return r;
        }
    }
}

const RECHECK: std::time::Duration = std::time::Duration::from_millis(200);
