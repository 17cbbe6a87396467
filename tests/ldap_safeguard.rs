//! The pull's safeguard against a real directory (slapd) on a real API server: an emptied
//! users' OU or a filter that matches nobody deletes nothing (`LdapDeletionsHeld`) until the
//! pull id is approved or rejected; and a group's `policy` and take-over annotation, set by a
//! person, survive pulls.
//!
//! Each pull is awaited, so every assertion follows a pull that provably ran and wrote its
//! status.

mod support;

use k8s_openapi::api::events::v1::Event;
use kube::ResourceExt;
use kube::api::{ListParams, Patch, PatchParams};
use lastpass_operator::crd::{
    APPROVE_PLAN_ANNOTATION, APPROVED_PLAN_ANNOTATION, DirectoryIntegration, GroupPolicy,
    LastPassGroup, LastPassUser, LdapSpec, LdapStatus, REJECT_PLAN_ANNOTATION,
    TAKE_OVER_ANNOTATION,
};
use lastpass_operator::ldap::safeguard::{HoldCause, Verdict};
use serde_json::json;
use support::TestNamespace;
use support::builders::INTEGRATION;
use support::ldap::Ldif;
use support::ldap::scenario::*;

/// Eight people, two of them in `lastpass-team`.
fn eight() -> String {
    Ldif::bulk(8, 8)
        + &Ldif::group(
            "lastpass-team",
            &[Ldif::person_dn("bulk0000"), Ldif::person_dn("bulk0001")],
        )
}

async fn annotate(ns: &TestNamespace, key: &str, value: Option<&str>) {
    ns.api::<DirectoryIntegration>()
        .patch(
            INTEGRATION,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {key: value}}})),
        )
        .await
        .unwrap();
}

/// Notes of the Events with `reason` on the integration.
async fn events(ns: &TestNamespace, reason: &str) -> Vec<String> {
    let list = ns
        .api::<Event>()
        .list(&ListParams::default())
        .await
        .unwrap();
    list.items
        .into_iter()
        .filter(|e| {
            e.reason.as_deref() == Some(reason)
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(INTEGRATION)
        })
        .filter_map(|e| e.note)
        .collect()
}

async fn ldap_status(ns: &TestNamespace) -> LdapStatus {
    let di = ns
        .api::<DirectoryIntegration>()
        .get_status(INTEGRATION)
        .await
        .unwrap();
    di.status.and_then(|s| s.ldap).unwrap_or_default()
}

/// Users being deleted.
async fn terminating(ns: &TestNamespace) -> Vec<LastPassUser> {
    users(ns)
        .await
        .into_values()
        .filter(|u| u.metadata.deletion_timestamp.is_some())
        .collect()
}

/// Keeps every user Terminating once deleted, as the engine's finalizer would.
async fn hold_with_finalizers(ns: &TestNamespace) {
    let api = ns.api::<LastPassUser>();
    for u in users(ns).await.into_values() {
        let fin = json!({"metadata": {"finalizers": ["lastpass-operator.io/deprovision"]}});
        api.patch(&u.name_any(), &PatchParams::default(), &Patch::Merge(fin))
            .await
            .unwrap();
    }
}

async fn release_finalizers(ns: &TestNamespace) {
    let api = ns.api::<LastPassUser>();
    for u in users(ns).await.into_values() {
        let fin = json!({"metadata": {"finalizers": null}});
        let _ = api
            .patch(&u.name_any(), &PatchParams::default(), &Patch::Merge(fin))
            .await;
    }
}

#[tokio::test]
async fn an_emptied_users_ou_deletes_nothing_until_approved() {
    let Some((slapd, ns)) = setup(&eight()).await else {
        return;
    };
    ldap_integration(&ns, &slapd, spec(&slapd.url)).await;
    let first = pull(&ns).await.expect("pull");
    assert_eq!((first.managed_users, first.created), (8, 9), "{first:?}");
    hold_with_finalizers(&ns).await;

    // The OU is emptied: the search succeeds with no entry.
    let deletes: String = (0..8)
        .map(|i| {
            format!(
                "dn: {}\nchangetype: delete\n\n",
                Ldif::person_dn(&format!("bulk{i:04}"))
            )
        })
        .collect();
    slapd.modify(&deletes);
    let empty = pull(&ns)
        .await
        .expect("an empty search is a successful read");
    assert_eq!(empty.users_seen, 0);
    let Verdict::Held(held, HoldCause::NoUsersSeen) = &empty.safeguard else {
        panic!("a pull that sees nobody is held: {empty:?}");
    };
    assert_eq!((held.users, held.managed_users), (8, 8));
    assert_eq!((empty.created, empty.updated, empty.deleted), (0, 0, 0));
    let id = held.pull_id.clone();
    let (status, reason, message) = condition(&ns, "LdapDeletionsHeld").await;
    assert_eq!((status.as_str(), reason.as_str()), ("True", "NoUsersSeen"));
    assert!(
        message.contains(&id) && message.contains("no users"),
        "{message}"
    );
    let (synced, _, _) = condition(&ns, "LdapSynced").await;
    assert_eq!(synced, "False");
    assert!(terminating(&ns).await.is_empty(), "no resource deleted");
    assert_eq!(
        group_members(&ns, "lastpass-team").await.unwrap().len(),
        2,
        "not even the group's members change"
    );
    assert_eq!(
        ldap_status(&ns).await.held.map(|h| h.pull_id),
        Some(id.clone())
    );

    // An approval of another id releases nothing.
    annotate(&ns, APPROVE_PLAN_ANNOTATION, Some("ldap-0000")).await;
    let wrong = pull(&ns).await.expect("pull");
    assert!(matches!(wrong.safeguard, Verdict::Held(..)), "{wrong:?}");
    assert!(terminating(&ns).await.is_empty());
    let said = events(&ns, "LdapDeletionsHeld").await;
    assert_eq!(said.len(), 1, "one Event per held id: {said:?}");
    assert!(said[0].contains(&id), "{said:?}");

    // Approved: all eight are deleted, each marked with the approval first.
    annotate(&ns, APPROVE_PLAN_ANNOTATION, Some(&id)).await;
    let approved = pull(&ns).await.expect("pull");
    assert!(
        matches!(approved.safeguard, Verdict::Approved(_)),
        "{approved:?}"
    );
    assert_eq!(approved.deleted, 8);
    let said = events(&ns, "PullApproved").await;
    assert!(said.len() == 1 && said[0].contains(&id), "{said:?}");
    let gone = terminating(&ns).await;
    assert_eq!(gone.len(), 8);
    for u in &gone {
        assert_eq!(
            u.annotations().get(APPROVED_PLAN_ANNOTATION),
            Some(&id),
            "{}",
            u.name_any()
        );
    }
    let recorded = ldap_status(&ns).await;
    assert_eq!(recorded.consumed_approvals, std::slice::from_ref(&id));
    assert!(recorded.held.is_none());
    let (status, reason, _) = condition(&ns, "LdapDeletionsHeld").await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "PullApproved")
    );

    // Nothing left to judge: the next pull is quiet.
    let after = pull(&ns).await.expect("pull");
    assert_eq!(
        (after.deleted, after.safeguard.clone()),
        (0, Verdict::Proceed)
    );
    release_finalizers(&ns).await;
    drop(slapd);
    cleanup(ns).await;
}

#[tokio::test]
async fn a_rejected_pull_keeps_every_resource() {
    let Some((slapd, ns)) = setup(&eight()).await else {
        return;
    };
    ldap_integration(&ns, &slapd, spec(&slapd.url)).await;
    pull(&ns).await.expect("pull");

    // A filter that matches nobody.
    set_ldap(
        &ns,
        LdapSpec {
            user_filter: "(&(objectClass=inetOrgPerson)(employeeType=nobody))".into(),
            ..spec(&slapd.url)
        },
    )
    .await;
    let held = pull(&ns).await.expect("pull");
    let id = held.safeguard.held().expect("held").pull_id.clone();
    assert_eq!(held.deleted, 0);

    annotate(&ns, REJECT_PLAN_ANNOTATION, Some(&id)).await;
    let rejected = pull(&ns).await.expect("pull");
    assert!(
        matches!(rejected.safeguard, Verdict::Rejected(_)),
        "{rejected:?}"
    );
    assert_eq!(rejected.deleted, 0);
    assert_eq!(users(&ns).await.len(), 8, "the resources stay");
    assert!(terminating(&ns).await.is_empty());
    assert_eq!(ldap_status(&ns).await.rejected, std::slice::from_ref(&id));
    let (status, reason, message) = condition(&ns, "LdapDeletionsHeld").await;
    assert_eq!((status.as_str(), reason.as_str()), ("True", "PullRejected"));
    assert!(message.contains(&id), "{message}");
    let said = events(&ns, "PullRejected").await;
    assert!(said.len() == 1 && said[0].contains(&id), "{said:?}");

    // The record decides once the annotation is gone; an approval cannot undo a rejection.
    annotate(&ns, REJECT_PLAN_ANNOTATION, None).await;
    annotate(&ns, APPROVE_PLAN_ANNOTATION, Some(&id)).await;
    let again = pull(&ns).await.expect("pull");
    assert!(matches!(again.safeguard, Verdict::Rejected(_)), "{again:?}");
    assert_eq!(again.deleted, 0);
    assert_eq!(users(&ns).await.len(), 8);

    // The directory back: nothing to judge.
    set_ldap(&ns, spec(&slapd.url)).await;
    let back = pull(&ns).await.expect("pull");
    assert_eq!(
        (back.deleted, back.safeguard.clone()),
        (0, Verdict::Proceed)
    );
    let (status, reason, _) = condition(&ns, "LdapDeletionsHeld").await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "WithinSafeguard")
    );
    drop(slapd);
    cleanup(ns).await;
}

#[tokio::test]
async fn a_small_change_within_the_limits_is_applied() {
    // 1 of 8 leaving: within maxPerSync 10, but 12.5 % is over the default maxPercent 10.
    let Some((slapd, ns)) = setup(&eight()).await else {
        return;
    };
    ldap_integration(&ns, &slapd, spec(&slapd.url)).await;
    pull(&ns).await.expect("pull");
    slapd.modify(&format!(
        "dn: {}\nchangetype: delete\n",
        Ldif::person_dn("bulk0001")
    ));
    let over = pull(&ns).await.expect("pull");
    assert!(
        matches!(over.safeguard, Verdict::Held(_, HoldCause::OverPercent)),
        "{over:?}"
    );
    assert_eq!((over.deleted, over.updated), (0, 0), "{over:?}");
    assert_eq!(
        group_members(&ns, "lastpass-team").await.unwrap(),
        ["bulk0000@example.org", "bulk0001@example.org"],
        "the held user keeps his membership"
    );
    set_limits(&ns, 10, 20).await;
    let within = pull(&ns).await.expect("pull");
    assert_eq!(
        (within.deleted, within.safeguard.clone()),
        (1, Verdict::Proceed)
    );
    assert_eq!(
        group_members(&ns, "lastpass-team").await.unwrap(),
        ["bulk0000@example.org"]
    );
    drop(slapd);
    cleanup(ns).await;
}

#[tokio::test]
async fn a_policy_and_take_over_a_person_set_survive_pulls() {
    let Some((slapd, ns)) = setup(&eight()).await else {
        return;
    };
    ldap_integration(&ns, &slapd, spec(&slapd.url)).await;
    pull(&ns).await.expect("pull");
    let api = ns.api::<LastPassGroup>();
    let team = api
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|g| g.spec.group_name == "lastpass-team")
        .expect("pulled group");
    assert_eq!(
        team.spec.policy,
        GroupPolicy::Authoritative,
        "the CRD default"
    );
    let name = team.name_any();

    // A person makes it Additive and marks it for take-over (as `kubectl edit` would).
    let edit = json!({
        "metadata": {"annotations": {TAKE_OVER_ANNOTATION: "true"}},
        "spec": {"policy": "Additive"},
    });
    let params = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..PatchParams::default()
    };
    api.patch(&name, &params, &Patch::Merge(&edit))
        .await
        .unwrap();

    // The directory adds a member: the pull updates the group.
    slapd.modify(&format!(
        "dn: {}\nchangetype: modify\nadd: member\nmember: {}\n",
        Ldif::group_dn("lastpass-team"),
        Ldif::person_dn("bulk0002")
    ));
    let r = pull(&ns).await.expect("pull");
    assert_eq!(r.updated, 1, "{r:?}");
    let after = api.get(&name).await.unwrap();
    assert_eq!(after.spec.members.len(), 3, "{:?}", after.spec.members);
    assert_eq!(
        after.spec.policy,
        GroupPolicy::Additive,
        "the person's policy stays"
    );
    assert_eq!(
        after
            .annotations()
            .get(TAKE_OVER_ANNOTATION)
            .map(String::as_str),
        Some("true"),
        "the pull never removes the take-over annotation"
    );
    drop(slapd);
    cleanup(ns).await;
}
