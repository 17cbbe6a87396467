//! Pending SCIM members seen through [`super::desire::desire`]: ids join their group once
//! their users exist, and never hold the rest of the group back.

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
