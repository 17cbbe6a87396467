//! A directory group over a console group: the LDAP pull creates `lastpass-team`, which
//! already exists in LastPass with a member nobody declares. The real controllers keep that
//! member (the group is held Additive), say so (`GroupTakeoverPending` and an Event), and
//! remove him only once a person annotates the group with `lastpass-operator.io/take-over`.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::ResourceExt;
use kube::api::{ListParams, Patch, PatchParams};
use lastpass_operator::crd::{DirectoryIntegration, LastPassGroup, TAKE_OVER_ANNOTATION};
use lastpass_operator::simulator::{Knobs, SeedUser};
use serde_json::json;
use support::account::{CID, PROVHASH, count_calls, simulator};
use support::builders::INTEGRATION;
use support::ldap::Ldif;
use support::ldap::scenario::*;
use support::operator::Operator;
use support::wait_for;

const CONSOLE: &str = "console.admin@example.org";

/// The group's `GroupTakeoverPending` condition: `(status, reason)`.
fn takeover(g: &LastPassGroup) -> Option<(String, String)> {
    g.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "GroupTakeoverPending")
        .map(|c| (c.status.clone(), c.reason.clone()))
}

#[tokio::test]
async fn a_directory_group_over_a_console_group_waits_for_take_over() {
    let ldif = Ldif::bulk(2, 2)
        + &Ldif::group(
            "lastpass-team",
            &[Ldif::person_dn("bulk0000"), Ldif::person_dn("bulk0001")],
        );
    let Some((slapd, ns)) = setup(&ldif).await else {
        return;
    };
    ldap_integration(&ns, &slapd, spec(&slapd.url)).await;
    let sim = simulator(Knobs::default()).await;
    sim.state.seed(&[SeedUser {
        username: CONSOLE.into(),
        fullname: "Made in the console".into(),
        groups: vec!["lastpass-team".into()],
        active: true,
        ..SeedUser::default()
    }]);
    ns.api::<Secret>()
        .patch(
            "lastpass-api",
            &PatchParams::default(),
            &Patch::Merge(json!({"stringData": {"cid": CID, "provhash": PROVHASH}})),
        )
        .await
        .unwrap();
    ns.api::<DirectoryIntegration>()
        .patch(
            INTEGRATION,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {
                "lastpass": {"endpoint": sim.url},
                "sync": {"debounce": "200ms", "unmanagedUsers": "Report",
                         "rateLimit": {"requestsPerSecond": 100, "burst": 100}},
            }})),
        )
        .await
        .unwrap();
    let op = Operator::start(&ns);
    pull(&ns).await.expect("pull");
    let groups = ns.api::<LastPassGroup>();
    let name = groups
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|g| g.spec.group_name == "lastpass-team")
        .expect("pulled group")
        .name_any();
    let members = |username: &str| {
        sim.state
            .store()
            .groups
            .get("lastpass-team")
            .is_some_and(|m| m.contains(&username.to_lowercase()))
    };

    // The engine has looked once the group's status says so; by then the declared members
    // are in and the console's member is still there.
    let pending = wait_for(Duration::from_secs(60), || async {
        let g = groups.get(&name).await.ok()?;
        (takeover(&g)? == ("True".into(), "GroupTakeoverPending".into())
            && members("bulk0000@example.org")
            && members("bulk0001@example.org"))
        .then_some(g)
    })
    .await
    .expect("GroupTakeoverPending=True and the declared members added");
    assert!(members(CONSOLE), "the console's member stays");
    let message = &pending.status.unwrap().conditions;
    assert!(
        message
            .iter()
            .any(|c| c.message.contains(TAKE_OVER_ANNOTATION)),
        "says how to take over: {message:?}"
    );
    let removals = count_calls(&sim.state, "batchchangegrp");
    let event = wait_for(Duration::from_secs(10), || async {
        let events = ns.api::<Event>().list(&ListParams::default()).await.ok()?;
        events.items.into_iter().find(|e| {
            e.reason.as_deref() == Some("GroupTakeoverPending")
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name.as_str())
        })
    })
    .await;
    assert!(event.is_some(), "a GroupTakeoverPending Event on the group");

    // A person takes it over: now Authoritative, the console's member is removed.
    groups
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {TAKE_OVER_ANNOTATION: "true"}}})),
        )
        .await
        .unwrap();
    let taken = wait_for(Duration::from_secs(60), || async {
        let g = groups.get(&name).await.ok()?;
        (takeover(&g)? == ("False".into(), "TakeoverNotNeeded".into()) && !members(CONSOLE))
            .then_some(())
    })
    .await;
    assert!(
        taken.is_some(),
        "taken over: the console's member removed ({removals} batchchangegrp before)"
    );
    assert!(members("bulk0000@example.org") && members("bulk0001@example.org"));
    op.stop().await;
    drop(slapd);
    cleanup(ns).await;
}
