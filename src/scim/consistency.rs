//! Read-your-writes for the SCIM server's reads from memory.
//!
//! The reflector stores ([`super::cache`]) follow the API server's watch, so they may lag a
//! write by milliseconds. This replica remembers, per object, the `resourceVersion` the API
//! server answered to each of its own writes ([`OwnWrites`]), until the store has applied that
//! very version (or the object's deletion). A read that could see such an object first waits,
//! bounded, for the store to catch up. Versions are compared for equality only: Kubernetes
//! says resource versions are opaque, so "newer" is never computed from them. A relist of the
//! store that started after the write also shows it (a quorum list).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use kube::api::ObjectMeta;

/// How current a read must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// From the in-memory store, once it shows this replica's own writes.
    Cached,
    /// From the API server (a quorum read): sees every completed write, of every replica.
    Fresh,
}

/// A write the store has not applied after this long is forgotten (a store that lags this
/// much has readers falling back to the API server anyway).
const FORGET_AFTER: Duration = Duration::from_secs(60);

/// One write of this replica that the store does not show yet.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Namespace of the object.
    pub namespace: String,
    /// Labels of the object as written (SCIM id, integration, userName hash).
    pub labels: BTreeMap<String, String>,
    uid: Option<String>,
    /// The version the API server answered; `None` for a deletion that removed the object.
    version: Option<String>,
    /// [`OwnWrites::relists`] when written: a relist that starts later shows the write.
    relists: u64,
    at: Instant,
}

impl Pending {
    /// The value of label `key` on the object as written.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

/// This replica's writes of one kind that the store has not applied yet, by namespace and name.
#[derive(Debug, Default)]
pub struct OwnWrites {
    pending: HashMap<(String, String), Pending>,
    relists: u64,
}

fn key(meta: &ObjectMeta) -> (String, String) {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

impl OwnWrites {
    /// Records a create or update that the API server answered with `meta`.
    pub fn wrote(&mut self, meta: &ObjectMeta) {
        self.record(meta, meta.resource_version.clone());
    }

    /// Records the deletion of the object `meta`; `kept` is the object the API server answered
    /// when a finalizer keeps it (its deletion is then a new version of it).
    pub fn deleted(&mut self, meta: &ObjectMeta, kept: Option<&ObjectMeta>) {
        match kept {
            Some(k) => self.record(k, k.resource_version.clone()),
            None => self.record(meta, None),
        }
    }

    fn record(&mut self, meta: &ObjectMeta, version: Option<String>) {
        let pending = Pending {
            namespace: meta.namespace.clone().unwrap_or_default(),
            labels: meta.labels.clone().unwrap_or_default(),
            uid: meta.uid.clone(),
            version,
            relists: self.relists,
            at: Instant::now(),
        };
        self.pending.insert(key(meta), pending);
    }

    /// The store applied this version of an object.
    pub fn applied(&mut self, meta: &ObjectMeta) {
        let k = key(meta);
        if self
            .pending
            .get(&k)
            .is_some_and(|p| p.version.is_some() && p.version == meta.resource_version)
        {
            self.pending.remove(&k);
        }
    }

    /// The store removed an object: every earlier write of that object is shown.
    pub fn removed(&mut self, meta: &ObjectMeta) {
        let k = key(meta);
        if self
            .pending
            .get(&k)
            .is_some_and(|p| p.uid.is_none() || p.uid == meta.uid)
        {
            self.pending.remove(&k);
        }
    }

    /// A relist (a quorum list) starts; returns its number for [`Self::relisted`].
    pub fn relist_started(&mut self) -> u64 {
        self.relists += 1;
        self.relists
    }

    /// The relist `number` of `namespace` (every namespace when `None`) is in the store: it
    /// shows every write made before it started.
    pub fn relisted(&mut self, number: u64, namespace: Option<&str>) {
        self.pending
            .retain(|_, p| p.relists >= number || namespace.is_some_and(|ns| p.namespace != ns));
    }

    /// Whether a write matching `pred` is not shown yet (writes older than a minute are
    /// forgotten).
    pub fn any(&mut self, pred: impl Fn(&Pending) -> bool) -> bool {
        let now = Instant::now();
        self.pending
            .retain(|_, p| now.duration_since(p.at) < FORGET_AFTER);
        self.pending.values().any(pred)
    }

    /// Writes not shown yet.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether every write is shown.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str, uid: &str, rv: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some("ns".into()),
            uid: Some(uid.into()),
            resource_version: Some(rv.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_write_is_pending_until_the_store_applies_that_very_version() {
        let mut w = OwnWrites::default();
        w.wrote(&meta("a", "u1", "9"));
        // Versions are opaque: a "larger" one from elsewhere does not count.
        w.applied(&meta("a", "u1", "10"));
        assert!(w.any(|_| true));
        w.applied(&meta("a", "u1", "8"));
        assert!(w.any(|_| true));
        w.applied(&meta("a", "u1", "9"));
        assert!(!w.any(|_| true));
    }

    #[test]
    fn deletions_are_shown_by_the_removal_of_the_same_object() {
        let mut w = OwnWrites::default();
        w.deleted(&meta("a", "u1", "9"), None);
        w.applied(&meta("a", "u1", "9"));
        assert!(
            w.any(|_| true),
            "a removed object is shown only by its removal"
        );
        w.removed(&meta("a", "u0", "3"));
        assert!(w.any(|_| true), "another object of the same name");
        w.removed(&meta("a", "u1", "12"));
        assert!(!w.any(|_| true));
        // Kept by a finalizer: the version with the deletion timestamp shows it.
        w.deleted(&meta("b", "u2", "5"), Some(&meta("b", "u2", "6")));
        w.applied(&meta("b", "u2", "6"));
        assert!(w.is_empty());
    }

    #[test]
    fn a_relist_started_after_the_write_shows_it() {
        let mut w = OwnWrites::default();
        let before = w.relist_started();
        w.wrote(&meta("a", "u1", "9"));
        w.relisted(before, None);
        assert_eq!(w.len(), 1, "that relist started before the write");
        let after = w.relist_started();
        w.relisted(after, Some("other"));
        assert_eq!(w.len(), 1, "a relist of another namespace");
        w.relisted(after, Some("ns"));
        assert!(w.is_empty());
    }
}
