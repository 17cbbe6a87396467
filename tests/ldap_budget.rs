//! The whole path: a real directory (slapd) pulled into resources, provisioned by the real
//! controllers into the simulator, then a filter change that would remove 60 % of the
//! contractors: the deletion budget trips and nobody is deprovisioned until approved.

mod ldap_support;
mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use lastpass_operator::crd::{DirectoryIntegration, LdapSpec};
use lastpass_operator::simulator::Knobs;
use ldap_support::scenario::*;
use serde_json::json;
use support::operator::{CID, Operator, PROVHASH, simulator};
use support::wait_for;

#[tokio::test]
async fn a_filter_change_removing_most_users_trips_the_deletion_budget() {
    // 10 bulk people, 4 staff and 6 contractors, plus the core people of `directory`.
    let Some((slapd, ns)) = setup(&directory(10, 4)).await else {
        return;
    };
    integration(&ns, &slapd, spec(&slapd.url)).await;
    let sim = simulator(Knobs::default()).await;
    let creds = json!({"stringData": {"cid": CID, "provhash": PROVHASH}});
    ns.api::<Secret>()
        .patch(
            "lastpass-api",
            &PatchParams::default(),
            &Patch::Merge(&creds),
        )
        .await
        .unwrap();
    let point = json!({"spec": {
        "lastpass": {"endpoint": sim.url},
        "sync": {"debounce": "200ms", "deprovision": {"maxPerSync": 3},
                 "rateLimit": {"requestsPerSecond": 100, "burst": 100}},
    }});
    let integrations = ns.api::<DirectoryIntegration>();
    integrations
        .patch(INTEGRATION, &PatchParams::default(), &Patch::Merge(&point))
        .await
        .unwrap();
    let op = Operator::start(&ns);

    let first = pull(&ns).await.expect("pull");
    let expected = first.managed_users;
    assert!(expected >= 10, "{first:?}");
    let provisioned = wait_for(Duration::from_secs(60), || async {
        // Every pulled user, next to the account's admin.
        let people = sim
            .state
            .with_store(|s| s.users.values().filter(|u| !u.admin).count());
        (people == expected).then_some(())
    })
    .await;
    assert!(provisioned.is_some(), "every pulled user reached LastPass");

    set_ldap(
        &ns,
        LdapSpec {
            user_filter: "(&(objectClass=inetOrgPerson)(employeeType=staff))".into(),
            ..spec(&slapd.url)
        },
    )
    .await;
    let second = pull(&ns).await.expect("pull");
    assert_eq!(
        second.deleted, 6,
        "the six contractors left the filter: {second:?}"
    );

    let blocked = wait_for(Duration::from_secs(30), || async {
        let i = integrations.get(INTEGRATION).await.ok()?;
        let c = i
            .status?
            .conditions
            .into_iter()
            .find(|c| c.type_ == "DeprovisionBlocked")?;
        (c.status == "True").then_some(c.message)
    })
    .await
    .expect("DeprovisionBlocked=True");
    assert!(blocked.contains("6 users"), "{blocked}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let dels = sim
        .state
        .calls()
        .iter()
        .filter(|c| c.command == "deluser")
        .count();
    assert_eq!(dels, 0, "nobody deprovisioned over budget");
    assert!(
        sim.state
            .store()
            .users
            .values()
            .all(|u| !u.disabled || u.username.starts_with("bob")),
        "no account was disabled"
    );
    op.stop().await;
    ns.cleanup().await;
}
