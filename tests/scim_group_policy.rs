//! The SCIM server never overwrites a group's `policy` a person set, nor writes or removes
//! the take-over annotation: member changes leave both alone, and a rename (a new resource)
//! keeps the policy.

mod support;

use kube::ResourceExt;
use kube::api::{Patch, PatchParams};
use lastpass_operator::crd::{GroupPolicy, LastPassGroup, TAKE_OVER_ANNOTATION};
use serde_json::json;
use support::scim::ScimServer;

#[tokio::test]
async fn a_policy_a_person_set_survives_scim_writes() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let s = ScimServer::start(cluster).await;
    let (st, v) = s
        .call(
            "POST",
            "/Users",
            Some(json!({"userName": "ann@example.com", "active": true})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let uid = v["id"].as_str().unwrap().to_string();
    let (st, v) = s
        .call(
            "POST",
            "/Groups",
            Some(json!({"displayName": "Engineering"})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let path = format!("/Groups/{}", v["id"].as_str().unwrap());
    let created = s.groups().await.remove(0);
    assert_eq!(created.spec.policy, GroupPolicy::Authoritative);
    assert!(!created.annotations().contains_key(TAKE_OVER_ANNOTATION));

    // A person makes it Additive and takes it over.
    let edit = json!({
        "metadata": {"annotations": {TAKE_OVER_ANNOTATION: "true"}},
        "spec": {"policy": "Additive"},
    });
    s.ns.api::<LastPassGroup>()
        .patch(
            &created.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&edit),
        )
        .await
        .unwrap();

    // Members added (PATCH) and replaced (PUT): both stay.
    let (st, v) = s
        .call(
            "PATCH",
            &path,
            Some(json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}]})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = s
        .call(
            "PUT",
            &path,
            Some(json!({"displayName": "Engineering", "members": []})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let g = s.groups().await.remove(0);
    assert_eq!(g.spec.policy, GroupPolicy::Additive);
    assert_eq!(
        g.annotations()
            .get(TAKE_OVER_ANNOTATION)
            .map(String::as_str),
        Some("true")
    );

    // Renamed: a new resource, the person's policy carried over.
    let (st, v) = s
        .call(
            "PUT",
            &path,
            Some(json!({"displayName": "Platform", "members": []})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let groups = s.groups().await;
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].spec.group_name, "Platform");
    assert_eq!(
        groups[0].spec.policy,
        GroupPolicy::Additive,
        "kept across the rename"
    );
    s.stop().await;
}
