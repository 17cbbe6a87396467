//! The whole path: a real directory (slapd) pulled into resources, provisioned by the real
//! controllers into the simulator, then a filter change that would remove 6 of 14 users:
//! the pull's safeguard holds every deletion (`LdapDeletionsHeld`, nothing deleted, no
//! resource Terminating) until the pull id is approved; then the 6 are deleted, carry the
//! approval, and the engine deactivates them without holding them a second time.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use lastpass_operator::crd::{
    APPROVE_PLAN_ANNOTATION, APPROVED_PLAN_ANNOTATION, DirectoryIntegration, LastPassUser,
};
use lastpass_operator::ldap::safeguard::{HoldCause, Verdict};
use lastpass_operator::simulator::Knobs;
use serde_json::json;
use support::account::{CID, PROVHASH, count_calls, people_in, simulator};
use support::builders::INTEGRATION;
use support::ldap::scenario::*;
use support::operator::{Operator, annotate};
use support::wait_for;

#[tokio::test]
async fn a_filter_change_removing_most_users_is_held_at_the_pull_until_approved() {
    // 10 bulk people, 4 staff and 6 contractors, plus the core people of `directory`.
    let Some((slapd, ns)) = setup(&directory(10, 4)).await else {
        return;
    };
    ldap_integration(&ns, &slapd, spec(&slapd.url)).await;
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
        let people = people_in(&sim.state);
        (people == expected).then_some(())
    })
    .await;
    assert!(provisioned.is_some(), "every pulled user reached LastPass");

    set_ldap(&ns, staff_only(&slapd.url)).await;
    // The pull is awaited: when it returns, it has judged and written everything it will.
    let second = pull(&ns).await.expect("pull");
    let Verdict::Held(held, HoldCause::OverCount) = &second.safeguard else {
        panic!("6 leaving > maxPerSync 3 is held: {second:?}");
    };
    assert_eq!((held.users, second.deleted), (6, 0), "{second:?}");
    let id = held.pull_id.clone();
    assert!(id.starts_with("ldap-") && id.len() == 5 + 64, "{id}");
    let (status, reason, message) = condition(&ns, "LdapDeletionsHeld").await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "OverSafeguard")
    );
    assert!(
        message.contains(&id) && message.contains("6 of"),
        "{message}"
    );
    let recorded = integrations.get_status(INTEGRATION).await.unwrap();
    let ldap = recorded.status.unwrap().ldap.unwrap();
    assert_eq!(
        ldap.held.as_ref().map(|h| h.pull_id.as_str()),
        Some(id.as_str())
    );
    assert_eq!(ldap.held.as_ref().map(|h| h.sample.len()), Some(6));
    let terminating = terminating_ldap_users(&ns).await;
    assert!(terminating.is_empty(), "nothing deleted: {terminating:?}");
    let before = users(&ns).await;
    assert_eq!(before.len(), expected, "every resource is still there");
    let leaving: Vec<String> = before
        .values()
        .filter(|u| {
            held.sample
                .contains(&format!("LastPassUser/{}", kube::ResourceExt::name_any(*u)))
        })
        .map(|u| u.spec.username.to_lowercase())
        .collect();
    assert_eq!(leaving.len(), 6, "{leaving:?}");

    // Held again on the next pull, with the same id: nothing was deleted meanwhile.
    let third = pull(&ns).await.expect("pull");
    assert_eq!(
        third.safeguard.held().map(|h| h.pull_id.as_str()),
        Some(id.as_str())
    );
    assert_eq!(third.deleted, 0);

    // Approved: the 6 are deleted, each carrying the approval; it is recorded as used.
    annotate(&ns, APPROVE_PLAN_ANNOTATION, &id).await;
    let approved = pull(&ns).await.expect("pull");
    assert!(
        matches!(&approved.safeguard, Verdict::Approved(h) if h.pull_id == id),
        "{approved:?}"
    );
    assert_eq!(approved.deleted, 6);
    for (username, approval) in terminating_ldap_users(&ns).await {
        assert_eq!(approval.as_deref(), Some(id.as_str()), "{username}");
    }
    let ldap = integrations
        .get_status(INTEGRATION)
        .await
        .unwrap()
        .status
        .unwrap()
        .ldap
        .unwrap();
    assert_eq!(ldap.consumed_approvals, std::slice::from_ref(&id));
    assert!(ldap.held.is_none());
    let (status, reason, _) = condition(&ns, "LdapDeletionsHeld").await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "PullApproved")
    );

    // The engine deactivates exactly those 6 (more than its maxPerSync 3) without holding
    // them again, and releases their resources.
    let leavers = wait_for(Duration::from_secs(60), || async {
        let all_disabled = {
            let store = sim.state.store();
            leaving.iter().all(|n| {
                store
                    .users
                    .values()
                    .any(|u| u.username.to_lowercase() == *n && u.disabled)
            })
        };
        let left = users(&ns).await.len();
        (all_disabled && left == expected - 6).then_some(())
    })
    .await;
    let i = integrations.get(INTEGRATION).await.unwrap();
    let blocked = i
        .status
        .as_ref()
        .and_then(|s| {
            s.conditions
                .iter()
                .find(|c| c.type_ == "DeprovisionBlocked")
        })
        .map(|c| (c.status.clone(), c.message.clone()));
    assert!(
        leavers.is_some(),
        "the approved 6 were deactivated and released; DeprovisionBlocked: {blocked:?}"
    );
    assert_eq!(blocked.map(|b| b.0).as_deref(), Some("False"));
    let dels = count_calls(&sim.state, "deluser");
    assert_eq!(dels, 6, "one deactivation per approved deletion");

    // The used approval, still on the integration, approves nothing more.
    let after = pull(&ns).await.expect("pull");
    assert_eq!(
        (after.deleted, after.safeguard.clone()),
        (0, Verdict::Proceed)
    );
    op.stop().await;
    cleanup(ns).await;
}

/// LDAP-sourced users being deleted, with their `approved-plan` annotation.
async fn terminating_ldap_users(ns: &support::TestNamespace) -> Vec<(String, Option<String>)> {
    users(ns)
        .await
        .into_values()
        .filter(|u: &LastPassUser| u.metadata.deletion_timestamp.is_some())
        .map(|u| {
            let approved = u
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(APPROVED_PLAN_ANNOTATION).cloned());
            (u.spec.username, approved)
        })
        .collect()
}
