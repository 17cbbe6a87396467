//! The safeguard with the real controllers on a real API server: SCIM deletions and
//! `active: false` spaced out over many syncs, an Authoritative group emptied in Git, and a
//! person's approval and rejection. Every wait ends on something the operator wrote (a held
//! count, a finalizer released, a status) before anything is asserted.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use kube::ResourceExt;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use lastpass_operator::crd::{DirectoryIntegration, HeldPlan, LastPassGroup, LastPassUser};
use lastpass_operator::simulator::RunningSimulator;
use serde_json::json;
use support::account::{count_calls, people_in};
use support::builders::{group, user};
use support::operator::*;
use support::scim::{ScimClient, serve_with_operator};
use support::{TestNamespace, wait_for};

async fn integration(ns: &TestNamespace) -> DirectoryIntegration {
    ns.api::<DirectoryIntegration>().get("acme").await.unwrap()
}

fn held(i: &DirectoryIntegration) -> Option<HeldPlan> {
    i.status.as_ref()?.held.clone()
}

/// Sets an annotation on `acme` with server-side apply under `manager`, so that the
/// operator can say who decided.
async fn decide(ns: &TestNamespace, manager: &str, key: &str, value: &str) {
    let patch = json!({
        "apiVersion": "lastpass-operator.io/v1alpha1", "kind": "DirectoryIntegration",
        "metadata": {"name": "acme", "annotations": {key: value}},
    });
    ns.api::<DirectoryIntegration>()
        .patch("acme", &PatchParams::apply(manager), &Patch::Apply(&patch))
        .await
        .expect("annotate");
}

/// The SCIM endpoint of `acme` (next to the running controllers) with `n` users u0.. created
/// through it; their SCIM ids.
async fn scim_with_users(ns: &TestNamespace, n: usize) -> (ScimClient, Vec<String>) {
    let (scim, _served) = serve_with_operator(ns).await;
    let mut ids = Vec::new();
    for i in 0..n {
        let body = json!({"userName": format!("u{i}@example.com"), "active": true});
        ids.push(scim.create_user(body).await);
    }
    (scim, ids)
}

/// Whether the user's status records its LastPass id.
fn has_lastpass_id(u: &LastPassUser) -> bool {
    u.status.as_ref().is_some_and(|s| s.lastpass_id.is_some())
}

/// Creates users `<name>@example.com` for `names` and waits until LastPass has them all and
/// each user's status records its LastPass id.
async fn provisioned(ns: &TestNamespace, sim: &RunningSimulator, names: &[&str]) {
    for n in names {
        create_user(ns, &user(n, &format!("{n}@example.com"), json!({}))).await;
    }
    invited(sim, names.len()).await;
    for n in names {
        wait_user(ns, n, 30, has_lastpass_id).await;
    }
}

/// Waits until LastPass has `n` users besides its admin.
async fn invited(sim: &RunningSimulator, n: usize) {
    let all = wait_for(Duration::from_secs(90), || async {
        (people_in(&sim.state) == n).then_some(())
    })
    .await;
    assert!(
        all.is_some(),
        "{} of {n} users invited",
        people_in(&sim.state)
    );
}

fn disabled(sim: &RunningSimulator) -> usize {
    sim.state
        .store()
        .users
        .values()
        .filter(|u| u.disabled)
        .count()
}

#[tokio::test]
async fn scim_deletions_one_sync_apart_are_held_beyond_the_window_then_approved_once() {
    let Some((ns, sim, op)) =
        account_with_operator(json!({"deprovision": {"maxPerSync": 5, "maxPercent": 100}})).await
    else {
        return;
    };
    let (scim, ids) = scim_with_users(&ns, 10).await;
    invited(&sim, 10).await;
    let users = ns.api::<LastPassUser>();

    for (n, id) in ids.iter().take(8).enumerate() {
        let (st, _) = scim.call("DELETE", &format!("/Users/{id}"), None).await;
        assert_eq!(st, 204);
        if n < 5 {
            // Within the window's budget: deactivated and the finalizer released.
            let username = format!("u{n}@example.com");
            let done = wait_for(Duration::from_secs(30), || async {
                let gone = users
                    .list(&ListParams::default())
                    .await
                    .ok()?
                    .items
                    .iter()
                    .all(|u| u.spec.username != username);
                let off = sim.state.store().user(&username)?.disabled;
                (gone && off).then_some(())
            })
            .await;
            assert!(done.is_some(), "deletion {} went through", n + 1);
        } else {
            let want = (n - 4) as i64;
            wait_integration(&ns, 30, "held deletions grow", |i| {
                held(i).is_some_and(|h| h.deprovisions == want)
            })
            .await;
        }
    }
    assert_eq!(
        count_calls(&sim.state, "deluser"),
        5,
        "the 6th and later are held"
    );
    assert_eq!(disabled(&sim), 5);
    let i = integration(&ns).await;
    let h = held(&i).unwrap();
    assert_eq!(h.changes.len(), 3);
    let blocked = condition(&i, "DeprovisionBlocked").unwrap();
    assert_eq!(blocked.0, "True");
    assert!(
        blocked.2.contains(&h.plan_id) && blocked.2.contains("maxPerSync 5"),
        "{blocked:?}"
    );
    let window = i.status.as_ref().unwrap().safeguard.as_ref().unwrap();
    let executed: i64 = window.window.iter().map(|e| e.deprovisions).sum();
    assert_eq!(
        executed, 5,
        "the window in status holds the five deactivations"
    );

    decide(
        &ns,
        "alice-gitops",
        "lastpass-operator.io/approve-plan",
        &h.plan_id,
    )
    .await;
    let i = wait_integration(&ns, 30, "approval consumed", |i| {
        i.status
            .as_ref()
            .and_then(|s| s.safeguard.as_ref())
            .is_some_and(|s| s.consumed_approvals.contains(&h.plan_id))
            && held(i).is_none()
    })
    .await;
    assert_eq!(condition(&i, "DeprovisionBlocked").unwrap().0, "False");
    assert_eq!(
        count_calls(&sim.state, "deluser"),
        8,
        "exactly the approved three more"
    );
    let approved = wait_for(Duration::from_secs(10), || async {
        let notes = event_notes(&ns, "PlanApproved", None).await;
        notes.into_iter().find(|n| n.contains(&h.plan_id))
    })
    .await
    .expect("a PlanApproved Event");
    assert!(approved.contains("alice-gitops"), "{approved}");

    // The ninth deletion is judged afresh: the window is full, and the used approval does
    // not carry it.
    let (st, _) = scim
        .call("DELETE", &format!("/Users/{}", ids[8]), None)
        .await;
    assert_eq!(st, 204);
    let i = wait_integration(&ns, 30, "the ninth is held", |i| {
        held(i).is_some_and(|h| h.deprovisions == 1)
    })
    .await;
    assert_ne!(held(&i).unwrap().plan_id, h.plan_id);
    assert_eq!(count_calls(&sim.state, "deluser"), 8);
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn a_hundred_scim_active_false_one_sync_apart_are_held_beyond_the_window() {
    let Some((ns, sim, op)) =
        account_with_operator(json!({"deprovision": {"maxPerSync": 5, "maxPercent": 100}})).await
    else {
        return;
    };
    let (scim, ids) = scim_with_users(&ns, 100).await;
    invited(&sim, 100).await;
    for (n, id) in ids.iter().enumerate() {
        let body = json!({"Operations": [{"op": "Replace", "path": "active", "value": false}]});
        let (st, v) = scim
            .call("PATCH", &format!("/Users/{id}"), Some(body))
            .await;
        assert_eq!(st, 200, "{v}");
        let username = format!("u{n}@example.com");
        if n < 5 {
            let off = wait_for(Duration::from_secs(30), || async {
                sim.state.store().user(&username)?.disabled.then_some(())
            })
            .await;
            assert!(off.is_some(), "suspension {} went through", n + 1);
        } else {
            let want = (n - 4) as i64;
            wait_integration(&ns, 30, "held suspensions grow", |i| {
                held(i).is_some_and(|h| h.suspensions == want)
            })
            .await;
        }
    }
    assert_eq!(disabled(&sim), 5, "the 6th and later suspensions are held");
    let i = integration(&ns).await;
    assert_eq!(held(&i).unwrap().suspensions, 95);
    assert_eq!(condition(&i, "DeprovisionBlocked").unwrap().0, "True");
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn an_authoritative_group_emptied_in_git_is_held_and_a_rejection_leaves_it_until_the_spec_changes()
 {
    let Some((ns, sim, op)) = account_with_operator(
        json!({"deprovision": {"maxPerSync": 5, "maxPercent": 100, "maxMembershipRemovals": 5}}),
    )
    .await
    else {
        return;
    };
    let names: Vec<String> = (0..10).map(|i| format!("u{i}@example.com")).collect();
    for (i, n) in names.iter().enumerate() {
        create_user(&ns, &user(&format!("u{i}"), n, json!({}))).await;
    }
    let group = group(
        "eng",
        "Engineering",
        json!({"members": names, "policy": "Authoritative"}),
    );
    let groups = ns.api::<LastPassGroup>();
    groups.create(&PostParams::default(), &group).await.unwrap();
    let members = || {
        sim.state
            .store()
            .users
            .values()
            .filter(|u| u.groups.contains("Engineering"))
            .count()
    };
    let all_in = wait_for(Duration::from_secs(60), || async {
        (members() == 10).then_some(())
    })
    .await;
    assert!(all_in.is_some(), "{} members", members());

    // A bad overlay empties the member list.
    groups
        .patch(
            "eng",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"members": []}})),
        )
        .await
        .unwrap();
    let i = wait_integration(&ns, 30, "removals held", |i| {
        held(i).is_some_and(|h| h.membership_removals == 10)
    })
    .await;
    assert_eq!(members(), 10, "nobody removed");
    let h = held(&i).unwrap();
    let says = wait_for(Duration::from_secs(30), || async {
        let g = groups.get("eng").await.ok()?;
        let ready = g
            .status?
            .conditions
            .into_iter()
            .find(|c| c.type_ == "Ready")?;
        (ready.reason == "DeprovisionBlocked" && ready.message.contains(&h.plan_id)).then_some(())
    })
    .await;
    assert!(says.is_some(), "the group says its removals are held");
    assert!(
        condition(&i, "DeprovisionBlocked")
            .unwrap()
            .2
            .contains("maxMembershipRemovals 5")
    );

    decide(
        &ns,
        "bob-console",
        "lastpass-operator.io/reject-plan",
        &h.plan_id,
    )
    .await;
    let g = wait_for(Duration::from_secs(30), || async {
        let g = groups.get("eng").await.ok()?;
        let synced = g
            .status
            .as_ref()?
            .conditions
            .iter()
            .find(|c| c.type_ == "Synced")?
            .clone();
        (synced.reason == "PlanRejected").then_some((g, synced))
    })
    .await;
    let (g, synced) = g.expect("the group shows PlanRejected");
    assert_eq!(synced.status, "False");
    assert!(synced.message.contains(&h.plan_id), "{}", synced.message);
    // The integration's status is written after the group's, in the same sync.
    let i = wait_integration(&ns, 30, "nothing held any more", |i| held(i).is_none()).await;
    assert_eq!(condition(&i, "DeprovisionBlocked").unwrap().0, "False");
    assert_eq!(members(), 10, "a rejected removal never reaches LastPass");
    let rejected = wait_for(Duration::from_secs(10), || async {
        event_notes(&ns, "PlanRejected", None)
            .await
            .into_iter()
            .find(|n| n.contains(&h.plan_id))
    })
    .await
    .expect("a PlanRejected Event");
    assert!(rejected.contains("bob-console"), "{rejected}");

    let generation = g.metadata.generation;
    // The spec changes (a new generation): the removals are judged afresh, and held again.
    groups
        .patch(
            "eng",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"members": [names[0].clone()]}})),
        )
        .await
        .unwrap();
    let i = wait_integration(&ns, 30, "held again after the spec changed", |i| {
        held(i).is_some_and(|h| h.membership_removals == 9)
    })
    .await;
    assert_ne!(held(&i).unwrap().plan_id, h.plan_id);
    assert_ne!(
        groups.get("eng").await.unwrap().metadata.generation,
        generation
    );
    assert_eq!(members(), 10);
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn a_rejected_deletion_releases_the_resources_without_lastpass_and_adopt_skips_them() {
    let Some((ns, sim, op)) = account_with_operator(json!({
        "unmanagedUsers": "Adopt",
        "deprovision": {"maxPerSync": 1, "maxPercent": 100},
    }))
    .await
    else {
        return;
    };
    provisioned(&ns, &sim, &["a", "b", "c"]).await;
    let api = ns.api::<LastPassUser>();
    api.delete("a", &DeleteParams::default()).await.unwrap();
    api.delete("b", &DeleteParams::default()).await.unwrap();
    let i = wait_integration(&ns, 30, "both deletions held", |i| {
        held(i).is_some_and(|h| h.deprovisions == 2)
    })
    .await;
    let h = held(&i).unwrap();
    decide(&ns, "carol", "lastpass-operator.io/reject-plan", &h.plan_id).await;
    let gone = wait_for(Duration::from_secs(30), || async {
        (api.get_opt("a").await.ok()?.is_none() && api.get_opt("b").await.ok()?.is_none())
            .then_some(())
    })
    .await;
    assert!(
        gone.is_some(),
        "the rejected deletions' finalizers are released"
    );
    // A later sync (asked for now rather than at the interval) sees them as unmanaged: that
    // sync also ran the adoption step.
    resync(&ns, "after-reject").await;
    let i = wait_integration(&ns, 30, "released users reported unmanaged", |i| {
        i.status.as_ref().is_some_and(|s| {
            ["a@example.com", "b@example.com"]
                .iter()
                .all(|u| s.unmanaged_sample.iter().any(|x| x == u))
        })
    })
    .await;
    assert_eq!(
        count_calls(&sim.state, "deluser"),
        0,
        "a rejected deprovision never reaches LastPass"
    );
    assert_eq!(disabled(&sim), 0);
    let rejected = &i
        .status
        .as_ref()
        .unwrap()
        .safeguard
        .as_ref()
        .unwrap()
        .rejected;
    assert_eq!(rejected[0].plan_id, h.plan_id);
    let names: BTreeMap<String, String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|u| (u.spec.username.clone(), u.name_any()))
        .collect();
    assert!(
        !names.contains_key("a@example.com") && !names.contains_key("b@example.com"),
        "released users are not adopted: {names:?}"
    );

    // Declared again: managed again with no new invitation, and forgotten by the record.
    let before = count_calls(&sim.state, "batchadd");
    create_user(&ns, &user("a2", "a@example.com", json!({}))).await;
    wait_user(&ns, "a2", 30, has_lastpass_id).await;
    wait_integration(&ns, 30, "a is forgotten by the rejection", |i| {
        i.status
            .as_ref()
            .and_then(|s| s.safeguard.as_ref())
            .is_some_and(|s| s.rejected[0].released == vec!["b@example.com".to_string()])
    })
    .await;
    assert_eq!(
        count_calls(&sim.state, "batchadd"),
        before,
        "no new invitation"
    );
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn the_window_survives_a_restart_of_the_operator() {
    let Some((ns, sim, op)) =
        account_with_operator(json!({"deprovision": {"maxPerSync": 2, "maxPercent": 100}})).await
    else {
        return;
    };
    provisioned(&ns, &sim, &["a", "b", "c", "d"]).await;
    let api = ns.api::<LastPassUser>();
    for n in ["a", "b"] {
        api.delete(n, &DeleteParams::default()).await.unwrap();
        let gone = wait_for(Duration::from_secs(30), || async {
            api.get_opt(n).await.ok()?.is_none().then_some(())
        })
        .await;
        assert!(
            gone.is_some(),
            "{n} deprovisioned within the window's budget"
        );
    }
    wait_integration(&ns, 30, "the window records both", |i| {
        i.status
            .as_ref()
            .and_then(|s| s.safeguard.as_ref())
            .is_some_and(|s| s.window.iter().map(|e| e.deprovisions).sum::<i64>() == 2)
    })
    .await;

    // A new process: nothing in memory, only what the integration's status says.
    op.stop().await;
    let op = Operator::start(&ns);
    api.delete("c", &DeleteParams::default()).await.unwrap();
    wait_integration(
        &ns,
        30,
        "the third deletion is held after the restart",
        |i| held(i).is_some_and(|h| h.deprovisions == 1),
    )
    .await;
    assert_eq!(count_calls(&sim.state, "deluser"), 2);
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn a_rejected_suspension_stays_unapplied_until_the_users_spec_changes() {
    let Some((ns, sim, op)) =
        account_with_operator(json!({"deprovision": {"maxPerSync": 0, "maxPercent": 100}})).await
    else {
        return;
    };
    provisioned(&ns, &sim, &["a", "b", "c"]).await;
    let api = ns.api::<LastPassUser>();
    for n in ["a", "b"] {
        api.patch(
            n,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"suspended": true}})),
        )
        .await
        .unwrap();
    }
    let i = wait_integration(&ns, 30, "both suspensions held", |i| {
        held(i).is_some_and(|h| h.suspensions == 2)
    })
    .await;
    let h = held(&i).unwrap();
    let a = wait_user(&ns, "a", 30, |u| {
        ready(u).is_some_and(|r| r.1 == "DeprovisionBlocked")
    })
    .await;
    assert!(ready(&a).unwrap().2.contains(&h.plan_id));

    decide(&ns, "dave", "lastpass-operator.io/reject-plan", &h.plan_id).await;
    for n in ["a", "b"] {
        let u = wait_user(&ns, n, 30, |u| {
            synced(u).is_some_and(|s| s.1 == "PlanRejected")
        })
        .await;
        let (status, _, message) = synced(&u).unwrap();
        assert_eq!(status, "False");
        assert!(message.contains(&h.plan_id), "{message}");
    }
    wait_integration(&ns, 30, "nothing held after the rejection", |i| {
        held(i).is_none()
    })
    .await;
    assert_eq!(
        disabled(&sim),
        0,
        "a rejected suspension never reaches LastPass"
    );

    // Only a's spec changes: its suspension is judged afresh (and held again, alone); b's
    // stays rejected.
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"fullName": "A"}})),
    )
    .await
    .unwrap();
    let i = wait_integration(&ns, 30, "a's suspension held again", |i| {
        held(i).is_some_and(|h| h.suspensions == 1)
    })
    .await;
    let again = held(&i).unwrap();
    assert_ne!(again.plan_id, h.plan_id);
    assert_eq!(again.sample[0].username, "a@example.com");
    let b = api.get("b").await.unwrap();
    assert_eq!(synced(&b).unwrap().1, "PlanRejected");
    assert_eq!(disabled(&sim), 0);
    op.stop().await;
    ns.cleanup().await;
}
