//! [`Stores`]: the caches of one kind across the watched namespaces, read as one.
//!
//! A reflector store is fed by one watch, and a watch covers one namespace or all of them. To
//! watch a list of namespaces the controllers run one watch (and one controller) per namespace
//! per kind; the account tasks read the union through this type.

use std::sync::Arc;

use kube::Resource;
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
    pub async fn wait_until_ready(
        &self,
    ) -> Result<(), kube::runtime::reflector::store::WriterDropped> {
        for s in &self.stores {
            s.wait_until_ready().await?;
        }
        Ok(())
    }
}
