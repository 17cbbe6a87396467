//! Events of bulk plans on the real API server: a plan touching more than 20 users is summarised
//! in one Event on the integration, while every deprovision keeps its own Event on its user.

mod support;

use std::time::Duration;

use kube::api::{DeleteParams, ListParams};
use lastpass_operator::controller::bulk::BULK_USERS;
use lastpass_operator::crd::{LastPassUser, UserPhase};
use serde_json::json;
use support::builders::user;
use support::operator::*;
use support::wait_for;

/// Events in the namespace with `reason`, as (kind, name) of what they regard.
async fn event_targets(ns: &support::TestNamespace, reason: &str) -> Vec<(String, String)> {
    events(ns)
        .await
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .filter_map(|e| {
            let r = e.regarding?;
            Some((r.kind?, r.name?))
        })
        .collect()
}

/// Waits until `n` Events with `reason` exist, and returns them.
async fn wait_events(ns: &support::TestNamespace, reason: &str, n: usize) -> Vec<(String, String)> {
    let found = wait_for(Duration::from_secs(60), || async {
        let e = event_targets(ns, reason).await;
        (e.len() >= n).then_some(e)
    })
    .await;
    match found {
        Some(e) => e,
        None => panic!(
            "never {n} {reason} Events: {:?}",
            event_targets(ns, reason).await
        ),
    }
}

fn names(n: usize, prefix: &str) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:02}")).collect()
}

#[tokio::test]
async fn a_bulk_plan_has_one_summary_event_and_each_deprovision_its_own() {
    // A debounce long enough for every user's controller to add its finalizer first: the 25
    // invitations are one plan. The budget lets the 25 deletions through in one plan too.
    let Some((ns, _sim, op)) = account_with_operator(json!({
        "debounce": "3s",
        "deprovision": {"maxPerSync": 30, "maxPercent": 100},
    }))
    .await
    else {
        return;
    };
    let all = names(BULK_USERS + 5, "bulk");
    for n in &all {
        create_user(&ns, &user(n, &format!("{n}@example.com"), json!({}))).await;
    }
    for n in &all {
        let u = wait_user(&ns, n, 60, |u| is(u, UserPhase::Invited, "True")).await;
        assert!(
            u.metadata
                .finalizers
                .unwrap_or_default()
                .contains(&"lastpass-operator.io/deprovision".to_string()),
            "{n} carries the finalizer"
        );
    }
    let summary = wait_events(&ns, "BulkApplied", 1).await;
    assert_eq!(
        summary,
        [("DirectoryIntegration".to_string(), "acme".to_string())]
    );
    let note = event_notes(&ns, "BulkApplied", None)
        .await
        .into_iter()
        .next()
        .unwrap();
    assert!(
        note.starts_with("bulk plan touching 25 users: invited 25 (bulk00@example.com"),
        "{note}"
    );
    assert!(note.contains("and 20 more"), "{note}");
    // The summary is published after the per-user Events of the same sync.
    assert_eq!(
        event_targets(&ns, "Invited").await,
        [],
        "no per-user Invited Events"
    );

    let api = ns.api::<LastPassUser>();
    for n in &all {
        api.delete(n, &DeleteParams::default()).await.unwrap();
    }
    let deprovisioned = wait_events(&ns, "Deprovisioned", all.len()).await;
    let mut regarding: Vec<String> = deprovisioned
        .into_iter()
        .map(|(kind, name)| {
            assert_eq!(kind, "LastPassUser");
            name
        })
        .collect();
    regarding.sort();
    assert_eq!(regarding, all, "one Deprovisioned Event per user");
    let gone = wait_for(Duration::from_secs(60), || async {
        api.list(&ListParams::default())
            .await
            .ok()?
            .items
            .is_empty()
            .then_some(())
    })
    .await;
    assert!(gone.is_some(), "every finalizer released");
    assert_eq!(
        event_targets(&ns, "BulkApplied").await.len(),
        1,
        "still one summary"
    );
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn a_small_plan_keeps_an_event_per_user() {
    let Some((ns, _sim, op)) = account_with_operator(json!({"debounce": "1s"})).await else {
        return;
    };
    let all = names(3, "small");
    for n in &all {
        create_user(&ns, &user(n, &format!("{n}@example.com"), json!({}))).await;
    }
    for n in &all {
        wait_user(&ns, n, 60, |u| is(u, UserPhase::Invited, "True")).await;
    }
    let mut invited: Vec<String> = wait_events(&ns, "Invited", all.len())
        .await
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    invited.sort();
    assert_eq!(invited, all);
    assert_eq!(event_targets(&ns, "BulkApplied").await, [], "no summary");
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn each_bulk_plan_keeps_its_own_summary() {
    // Two bulk plans one after the other: each summary is an Event of its own, not a series
    // that shows only the first plan's note.
    let Some((ns, _sim, op)) = account_with_operator(json!({"debounce": "2s"})).await else {
        return;
    };
    for prefix in ["first", "second"] {
        let all = names(BULK_USERS + 1, prefix);
        for n in &all {
            create_user(&ns, &user(n, &format!("{n}@example.com"), json!({}))).await;
        }
        for n in &all {
            wait_user(&ns, n, 60, |u| is(u, UserPhase::Invited, "True")).await;
        }
    }
    wait_events(&ns, "BulkApplied", 2).await;
    let mut notes = event_notes(&ns, "BulkApplied", None).await;
    notes.sort();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("(first00@example.com"), "{notes:?}");
    assert!(notes[1].contains("(second00@example.com"), "{notes:?}");
    op.stop().await;
    ns.cleanup().await;
}
