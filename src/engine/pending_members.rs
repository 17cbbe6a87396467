//! Group members named by SCIM id before their user was known (the pending-members annotation
//! of a SCIM-made group): resolved here, at desire time, against the admitted users, so a
//! group converges as soon as a user carrying the id exists — whichever replica wrote it, and
//! with no further call from the identity provider. An id with no user yet stays pending and
//! holds nothing else back.

use std::collections::BTreeMap;

use kube::ResourceExt;

use crate::crd::{LastPassGroup, LastPassUser, SOURCE_LABEL, pending_member_ids};
use crate::scim::mapping::{SOURCE_SCIM, scim_id};

/// Admitted SCIM users by (namespace, SCIM id), to the user key the plan uses.
pub struct ScimIds<'a>(BTreeMap<(String, String), &'a str>);

impl<'a> ScimIds<'a> {
    /// Indexes the admitted users (with their keys) that came from SCIM.
    pub fn new(admitted: &'a [(&'a LastPassUser, String)]) -> Self {
        Self(
            admitted
                .iter()
                .filter(|(u, _)| {
                    u.labels().get(SOURCE_LABEL).map(String::as_str) == Some(SOURCE_SCIM)
                })
                .map(|(u, key)| {
                    (
                        (u.namespace().unwrap_or_default(), scim_id(&u.metadata)),
                        key.as_str(),
                    )
                })
                .collect(),
        )
    }

    /// The group's pending ids split into the keys of users that now exist (in the group's
    /// namespace) and the ids still unknown, in the annotation's order.
    pub fn resolve(&self, group: &LastPassGroup) -> (Vec<String>, Vec<String>) {
        let ns = group.namespace().unwrap_or_default();
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        for id in pending_member_ids(group) {
            let key = (ns.clone(), id);
            match self.0.get(&key) {
                Some(user) => known.push(user.to_string()),
                None => unknown.push(key.1),
            }
        }
        (known, unknown)
    }
}
