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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::crd::*;
    use crate::engine::desire::desire;
    use crate::scim::mapping::labels;

    fn scim_user(ns: &str, name: &str, username: &str, id: &str) -> LastPassUser {
        let spec: LastPassUserSpec = serde_json::from_value(serde_json::json!({
            "integrationRef": {"name": "acme", "namespace": "it"}, "username": username,
        }))
        .unwrap();
        let mut u = LastPassUser::new(name, spec);
        u.metadata.namespace = Some(ns.into());
        u.metadata.labels = Some(labels("acme", id));
        u
    }

    #[test]
    fn pending_ids_join_when_their_users_exist_and_never_hold_the_rest_back() {
        let mut i: DirectoryIntegration = serde_json::from_value(serde_json::json!({
            "apiVersion": "lastpass-operator.io/v1alpha1", "kind": "DirectoryIntegration",
            "metadata": {"name": "acme", "namespace": "it"},
            "spec": {"lastpass": {"credentialsSecretRef": {"name": "lastpass-api"}},
                     "allowedNamespaces": {"from": "All"}}
        }))
        .unwrap();
        i.metadata.namespace = Some("it".into());
        let mut g = LastPassGroup::new(
            "eng",
            LastPassGroupSpec {
                integration_ref: IntegrationRef {
                    name: "acme".into(),
                    namespace: Some("it".into()),
                },
                group_name: "Eng".into(),
                members: vec!["known@x.io".into()],
                member_selector: None,
                policy: GroupPolicy::Authoritative,
            },
        );
        g.metadata.namespace = Some("it".into());
        g.metadata.labels = Some(labels("acme", "g1"));
        g.metadata.annotations = Some(BTreeMap::from([(
            PENDING_MEMBERS_ANNOTATION.to_string(),
            r#"["id-ann", "id-bob", "id-other-ns"]"#.to_string(),
        )]));
        let mut person_made = scim_user("it", "bob", "bob@x.io", "id-bob");
        person_made.metadata.labels = None; // not from SCIM: its id is not a SCIM id
        let users = [
            scim_user("it", "known", "known@x.io", "id-known"),
            scim_user("it", "ann", "ann@x.io", "id-ann"),
            person_made,
            scim_user("other", "x", "x@x.io", "id-other-ns"),
        ];
        let d = desire(&i, &users, &[g.clone()], &BTreeMap::new());
        let eng = &d.desired.groups["Eng"];
        assert!(eng.members.contains("known@x.io"), "the rest of the group");
        assert!(eng.members.contains("ann@x.io"), "arrived: joins");
        assert_eq!(eng.members.len(), 2, "{:?}", eng.members);
        assert_eq!(
            d.pending_members[&eng.resource],
            vec!["id-bob".to_string(), "id-other-ns".to_string()],
            "a user of another source or namespace never answers a SCIM id"
        );

        // Nothing pending: no entry at all.
        g.metadata.annotations = None;
        let d = desire(&i, &users, &[g], &BTreeMap::new());
        assert!(d.pending_members.is_empty());
    }
}
