//! End to end: an identity provider pushes over SCIM → LastPassUser / LastPassGroup resources on
//! a real API server → the engine's desire and sync (as the lead's controllers will run them)
//! → the LastPass simulator. Deletion goes through a finalizer, as the user controller's will,
//! so the deprovision happens in the engine, within the deletion budget.

mod support;

use std::collections::BTreeMap;

use kube::ResourceExt;
use kube::api::{ListParams, Patch, PatchParams};
use lastpass_operator::crd::{DirectoryIntegration, LastPassGroup, LastPassUser};
use lastpass_operator::engine::desire::desire;
use lastpass_operator::simulator::Knobs;
use serde_json::json;
use support::builders::INTEGRATION;
use support::scim::{ScimServer, scim_group, scim_user};

async fn sync_from_cluster(s: &ScimServer, acct: &support::account::Account, budget: usize) {
    let di =
        s.ns.api::<DirectoryIntegration>()
            .get(INTEGRATION)
            .await
            .unwrap();
    let users =
        s.ns.api::<LastPassUser>()
            .list(&ListParams::default())
            .await
            .unwrap()
            .items;
    let groups =
        s.ns.api::<LastPassGroup>()
            .list(&ListParams::default())
            .await
            .unwrap()
            .items;
    let d = desire(&di, &users, &groups, &BTreeMap::new());
    assert!(d.issues.is_empty(), "{:?}", d.issues);
    let out = acct
        .sync(&d.desired, support::account::budget(budget))
        .await;
    assert!(out.succeeded(), "{:?}", out.error);
}

#[tokio::test]
async fn scim_push_reaches_the_simulator() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let s = ScimServer::start(cluster).await;
    let acct = support::account::Account::start(Knobs::default()).await;

    let mut ids = Vec::new();
    for (u, given, family) in [
        ("ann@example.com", "Ann", "Lee"),
        ("bob@example.com", "Bob", "Ray"),
    ] {
        ids.push(s.create_user(scim_user(u, given, family)).await);
    }
    s.create("/Groups", scim_group("Engineering", &[&ids[0], &ids[1]]))
        .await;
    // Entra disables Bob.
    let (st, _) = s
        .call(
            "PATCH",
            &format!("/Users/{}", ids[1]),
            Some(json!({"Operations": [{"op": "Replace", "path": "active", "value": "False"}]})),
        )
        .await;
    assert_eq!(st, 200);

    sync_from_cluster(&s, &acct, 10).await;
    let store = acct.state().store();
    let ann = store.user("ann@example.com").expect("ann invited");
    assert_eq!(ann.fullname, "Ann Lee");
    assert!(!ann.disabled);
    assert!(ann.groups.contains("Engineering"), "{:?}", ann.groups);
    let bob = store.user("bob@example.com").expect("bob invited");
    assert!(bob.disabled, "active false → suspended → disabled");

    // Hard delete of Ann: the resource is deleted; a finalizer (as the user controller adds)
    // keeps it until the engine has deprovisioned her.
    let api = s.ns.api::<LastPassUser>();
    let ann_res = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|u| u.spec.username == "ann@example.com")
        .unwrap();
    api.patch(
        &ann_res.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": ["lastpass-operator.io/test"]}})),
    )
    .await
    .unwrap();
    let (st, _) = s.call("DELETE", &format!("/Users/{}", ids[0]), None).await;
    assert_eq!(st, 204);
    let (st, _) = s.call("GET", &format!("/Users/{}", ids[0]), None).await;
    assert_eq!(st, 404, "gone for the IdP while the finalizer deprovisions");

    // A budget of 0 holds the deprovision back…
    sync_from_cluster(&s, &acct, 0).await;
    assert!(!acct.disabled("ann@example.com"));
    // …a budget of 1 lets it through: Deactivate (the default action) disables her.
    sync_from_cluster(&s, &acct, 1).await;
    let store = acct.state().store();
    let ann = store
        .user("ann@example.com")
        .expect("deactivated, not deleted");
    assert!(ann.disabled);
    s.stop().await;
}
