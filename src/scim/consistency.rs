//! Read-your-writes for the SCIM server's cached reads.
//!
//! The lookups an identity provider makes all the time (`userName eq`, `GET /Users/{id}`, the
//! pre-create uniqueness check) are served from the API server's watch cache: a quorum list
//! with a label selector reads and decodes every object of the namespace from etcd on API
//! servers before 1.31, so it costs O(namespace) per request. A cached list may lag a write by
//! milliseconds, so this replica remembers the newest `resourceVersion` it wrote per kind and
//! asks the cache for at least that version (`resourceVersionMatch=NotOlderThan`): a provider
//! sees its own POST, PATCH and DELETE on the next request. Where a write's version is unknown
//! (a delete that removed the object at once), reads of that kind are quorum reads for a while.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::api::{ListParams, ObjectMeta, VersionMatch};

/// How current a list must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// From the watch cache, not older than this replica's own writes of the kind.
    Cached,
    /// A quorum read: sees every completed write, of every replica.
    Fresh,
}

/// How long reads stay quorum reads after a write whose version is unknown.
const UNKNOWN_WRITE_FRESH_FOR: Duration = Duration::from_secs(5);

#[derive(Debug, Default, Clone, Copy)]
struct Mark {
    newest: u64,
    fresh_until: Option<Instant>,
}

/// The newest resource versions this replica wrote, per kind.
#[derive(Debug, Default)]
pub struct Written {
    marks: Mutex<HashMap<String, Mark>>,
}

impl Written {
    /// Records a write of `kind` that the API server answered with `meta`.
    pub fn wrote(&self, kind: &str, meta: &ObjectMeta) {
        let version = meta.resource_version.as_deref().map(str::parse::<u64>);
        let mut marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
        let mark = marks.entry(kind.to_string()).or_default();
        match version {
            Some(Ok(v)) => mark.newest = mark.newest.max(v),
            // Opaque (non-numeric) versions cannot be compared: read freshly for a while.
            _ => mark.fresh_until = Some(Instant::now() + UNKNOWN_WRITE_FRESH_FOR),
        }
    }

    /// Records a write of `kind` whose resulting version is unknown.
    pub fn wrote_unknown(&self, kind: &str) {
        let mut marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
        marks.entry(kind.to_string()).or_default().fresh_until =
            Some(Instant::now() + UNKNOWN_WRITE_FRESH_FOR);
    }

    /// `params` made a `read` of `kind`.
    pub fn params(&self, kind: &str, params: ListParams, read: Read) -> ListParams {
        if read == Read::Fresh {
            return params;
        }
        let mark = {
            let marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
            marks.get(kind).copied().unwrap_or_default()
        };
        if mark.fresh_until.is_some_and(|t| Instant::now() < t) {
            return params;
        }
        params
            .at(&mark.newest.to_string())
            .matching(VersionMatch::NotOlderThan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(rv: &str) -> ObjectMeta {
        ObjectMeta {
            resource_version: Some(rv.to_string()),
            ..Default::default()
        }
    }

    #[test]
    fn cached_reads_are_not_older_than_the_newest_own_write_of_the_kind() {
        let w = Written::default();
        let p = w.params("LastPassUser", ListParams::default(), Read::Cached);
        assert_eq!(
            (p.resource_version.as_deref(), p.version_match),
            (Some("0"), Some(VersionMatch::NotOlderThan))
        );
        w.wrote("LastPassUser", &meta("42"));
        w.wrote("LastPassUser", &meta("17"));
        w.wrote("LastPassGroup", &meta("99"));
        let p = w.params("LastPassUser", ListParams::default(), Read::Cached);
        assert_eq!(p.resource_version.as_deref(), Some("42"));
        let p = w.params("LastPassUser", ListParams::default(), Read::Fresh);
        assert_eq!(p.resource_version, None);
    }

    #[test]
    fn an_unknown_or_opaque_version_makes_reads_fresh() {
        let w = Written::default();
        w.wrote_unknown("LastPassUser");
        let p = w.params("LastPassUser", ListParams::default(), Read::Cached);
        assert_eq!(p.resource_version, None);
        let w = Written::default();
        w.wrote("LastPassUser", &meta("opaque-abc"));
        let p = w.params("LastPassUser", ListParams::default(), Read::Cached);
        assert_eq!(p.resource_version, None);
        let p = w.params("LastPassGroup", ListParams::default(), Read::Cached);
        assert_eq!(p.resource_version.as_deref(), Some("0"));
    }
}
