//! Revocation latency with the real controllers on a real API server: a deletion counts from
//! its deletion timestamp, a suspension from the first sight of `suspended: true` — recorded on
//! the resource, so a new operator (after a restart, here with a held plan in between) keeps
//! it — until LastPass confirms. Each shows up in `status.revocation`, the histogram and an
//! Event. Every wait ends on something the operator wrote.

mod support;

use std::time::Duration;

use kube::ResourceExt;
use kube::api::{DeleteParams, Patch, PatchParams};
use lastpass_operator::crd::{
    DirectoryIntegration, LastPassUser, RevocationStatus, SUSPEND_REQUESTED_ANNOTATION, UserPhase,
};
use serde_json::json;
use support::builders::user;
use support::operator::*;
use support::{TestNamespace, wait_for};

async fn revocation(ns: &TestNamespace, secs: u64, count: i64) -> RevocationStatus {
    let api = ns.api::<DirectoryIntegration>();
    let found = wait_for(Duration::from_secs(secs), || async {
        let r = api.get("acme").await.ok()?.status?.revocation?;
        (r.count >= count).then_some(r)
    })
    .await;
    match found {
        Some(r) => r,
        None => panic!(
            "status.revocation never counted {count}: {:?}",
            api.get("acme").await.ok().and_then(|i| i.status)
        ),
    }
}

/// The value of the sample `name{integration="<ns>/acme",<rest>}` in this process's registry.
fn metric_value(ns: &TestNamespace, name: &str, rest: &str) -> Option<u64> {
    let text = lastpass_operator::telemetry::metrics::render();
    let prefix = format!("{name}{{integration=\"{}/acme\",{rest}}} ", ns.name);
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

/// The sample count of the revocation histogram for this label set, from the process's
/// registry (the controllers run in this test process).
fn histogram_count(ns: &TestNamespace, action: &str) -> Option<u64> {
    metric_value(
        ns,
        "lastpass_operator_revocation_seconds_count",
        &format!("source=\"git\",action=\"{action}\""),
    )
}

/// Successful account syncs of `acme` so far (0 before the first).
fn syncs(ns: &TestNamespace) -> u64 {
    metric_value(
        ns,
        "lastpass_operator_account_syncs_total",
        "outcome=\"success\"",
    )
    .unwrap_or(0)
}

/// Waits until `acme` has had a successful sync after the `before`-th; whether it had.
async fn synced_after(ns: &TestNamespace, before: u64) -> bool {
    wait_for(Duration::from_secs(30), || async {
        (syncs(ns) > before).then_some(())
    })
    .await
    .is_some()
}

#[tokio::test]
async fn a_held_deletion_counts_from_its_deletion_timestamp_to_the_confirmed_deactivation() {
    // One deletion of two users is more than 10 %: the safeguard holds it until approved.
    let Some((ns, sim, _op)) =
        account_with_operator(json!({"deprovision": {"maxPercent": 10}})).await
    else {
        return;
    };
    create_user(&ns, &user("cat", "cat@example.com", json!({}))).await;
    create_user(&ns, &user("dan", "dan@example.com", json!({}))).await;
    wait_user(&ns, "cat", 60, |u| is(u, UserPhase::Invited, "True")).await;
    let users = ns.api::<LastPassUser>();
    let deleted = users
        .delete("cat", &DeleteParams::default())
        .await
        .expect("delete")
        .left()
        .expect("the finalizer keeps the resource until LastPass confirms");
    let requested = deleted
        .metadata
        .deletion_timestamp
        .expect("a deletion timestamp")
        .0;
    let api = ns.api::<DirectoryIntegration>();
    let plan = wait_for(Duration::from_secs(30), || async {
        api.get("acme").await.ok()?.status?.held.map(|h| h.plan_id)
    })
    .await
    .expect("the deletion is held");
    annotate(&ns, "lastpass-operator.io/approve-plan", &plan).await;
    let gone = wait_for(Duration::from_secs(60), || async {
        users.get_opt("cat").await.ok()?.is_none().then_some(())
    })
    .await;
    assert!(gone.is_some(), "cat was never released");
    assert!(
        sim.state
            .store()
            .users
            .values()
            .any(|u| u.username == "cat@example.com" && u.disabled),
        "LastPass has cat deactivated"
    );

    let r = revocation(&ns, 30, 1).await;
    let sample = &r.recent[0];
    assert_eq!(
        (sample.user.as_str(), sample.action.as_str()),
        ("cat@example.com", "Deactivate")
    );
    assert_eq!(
        sample.requested_at.0, requested,
        "counted from deletionTimestamp"
    );
    let elapsed = jiff::Timestamp::now()
        .duration_since(requested)
        .as_secs_f64();
    assert!(
        sample.seconds >= 0.0 && sample.seconds <= elapsed + 1.0,
        "{} s, at most {elapsed} s since the deletion",
        sample.seconds
    );
    assert_eq!((r.count, r.p50, r.p99), (1, sample.seconds, sample.seconds));
    assert_eq!(
        r.slowest.as_ref().map(|s| s.user.as_str()),
        Some("cat@example.com")
    );
    assert_eq!(histogram_count(&ns, "Deactivate"), Some(1));
    let notes = wait_for(Duration::from_secs(10), || async {
        let n = event_notes(&ns, "Revoked", Some("cat")).await;
        (!n.is_empty()).then_some(n)
    })
    .await
    .expect("a Revoked Event on cat");
    assert!(
        notes[0].contains("Deactivate of cat@example.com"),
        "{notes:?}"
    );

    // A later sync, provably finished, counts nothing new.
    let before = syncs(&ns);
    resync(&ns, "again").await;
    assert!(synced_after(&ns, before).await, "no sync after the resync");
    assert_eq!(histogram_count(&ns, "Deactivate"), Some(1));
    assert_eq!(revocation(&ns, 5, 1).await.count, 1);
    ns.cleanup().await;
}

#[tokio::test]
async fn a_held_suspension_counts_from_its_first_sight_across_a_restart() {
    // One suspension of two users is more than 10 %: the safeguard holds it.
    let Some((_, ns, sim)) = account(json!({"deprovision": {"maxPercent": 10}})).await else {
        return;
    };
    let first = Operator::start(&ns);
    create_user(&ns, &user("ann", "ann@example.com", json!({}))).await;
    create_user(&ns, &user("bob", "bob@example.com", json!({}))).await;
    wait_user(&ns, "ann", 60, |u| is(u, UserPhase::Invited, "True")).await;
    wait_user(&ns, "bob", 60, |u| is(u, UserPhase::Invited, "True")).await;

    let users = ns.api::<LastPassUser>();
    users
        .patch(
            "ann",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"suspended": true}})),
        )
        .await
        .unwrap();
    let asked = jiff::Timestamp::now();
    let ann = wait_user(&ns, "ann", 30, |u| {
        u.annotations().contains_key(SUSPEND_REQUESTED_ANNOTATION)
    })
    .await;
    let intent: jiff::Timestamp = ann.annotations()[SUSPEND_REQUESTED_ANNOTATION]
        .parse()
        .expect("an RFC 3339 time");
    assert!(
        intent.duration_since(asked).abs() < jiff::SignedDuration::from_secs(10),
        "{intent} recorded for a change made at {asked}"
    );
    let api = ns.api::<DirectoryIntegration>();
    let plan = wait_for(Duration::from_secs(30), || async {
        api.get("acme").await.ok()?.status?.held.map(|h| h.plan_id)
    })
    .await
    .expect("the suspension is held");
    first.stop().await;

    // A new operator: new caches, nothing in memory from the first one.
    let before = syncs(&ns);
    let _second = Operator::start(&ns);
    // Once the new operator has synced (and held the plan again), the intent is the first one's.
    assert!(
        synced_after(&ns, before).await,
        "the new operator never synced"
    );
    let kept = users.get("ann").await.unwrap();
    assert_eq!(
        kept.annotations().get(SUSPEND_REQUESTED_ANNOTATION),
        ann.annotations().get(SUSPEND_REQUESTED_ANNOTATION),
        "a restart keeps the intent time"
    );
    annotate(&ns, "lastpass-operator.io/approve-plan", &plan).await;
    let r = revocation(&ns, 60, 1).await;
    let confirmed = jiff::Timestamp::now();
    assert!(
        sim.state
            .store()
            .users
            .values()
            .any(|u| u.username == "ann@example.com" && u.disabled),
        "LastPass has ann disabled"
    );
    let sample = &r.recent[0];
    assert_eq!(
        (sample.user.as_str(), sample.action.as_str()),
        ("ann@example.com", "Suspend")
    );
    assert_eq!(
        sample.requested_at.0.as_second(),
        intent.as_second(),
        "the first operator's intent time"
    );
    // The held time is in the figure: from the intent, not from the approval.
    let least = confirmed.duration_since(intent).as_secs_f64() - 60.0;
    assert!(
        sample.seconds > 0.0 && sample.seconds >= least.max(0.0),
        "{} s",
        sample.seconds
    );
    assert_eq!(histogram_count(&ns, "Suspend"), Some(1));
    let ann = wait_user(&ns, "ann", 30, |u| {
        !u.annotations().contains_key(SUSPEND_REQUESTED_ANNOTATION)
    })
    .await;
    assert_eq!(ann.status.and_then(|s| s.phase), Some(UserPhase::Suspended));
    let notes = wait_for(Duration::from_secs(10), || async {
        let n = event_notes(&ns, "Revoked", Some("ann")).await;
        (!n.is_empty()).then_some(n)
    })
    .await
    .expect("a Revoked Event on ann");
    assert!(notes[0].contains("Suspend of ann@example.com"), "{notes:?}");
    ns.cleanup().await;
}

#[tokio::test]
async fn many_suspensions_at_once_are_each_counted_once_and_their_intents_forgotten() {
    // Twenty suspensions confirmed by one sync: the intents are removed only once each user's
    // status says Suspended, so no controller sees a suspended user with neither and records a
    // second intent (which a later sync would count as a second revocation).
    let Some((ns, _sim, _op)) =
        account_with_operator(json!({"deprovision": {"maxPerSync": 50}})).await
    else {
        return;
    };
    let names: Vec<String> = (0..20).map(|i| format!("u{i:02}")).collect();
    for n in &names {
        create_user(&ns, &user(n, &format!("{n}@example.com"), json!({}))).await;
    }
    for n in &names {
        wait_user(&ns, n, 60, |u| is(u, UserPhase::Invited, "True")).await;
    }
    let users = ns.api::<LastPassUser>();
    for n in &names {
        users
            .patch(
                n,
                &PatchParams::default(),
                &Patch::Merge(&json!({"spec": {"suspended": true}})),
            )
            .await
            .unwrap();
    }
    let r = revocation(&ns, 60, 20).await;
    assert_eq!(r.count, 20, "{r:?}");
    for n in &names {
        wait_user(&ns, n, 30, |u| {
            !u.annotations().contains_key(SUSPEND_REQUESTED_ANNOTATION)
                && u.status.as_ref().and_then(|s| s.phase) == Some(UserPhase::Suspended)
        })
        .await;
    }
    // Two later syncs, provably finished: nothing recorded again, nothing counted again.
    for round in ["one", "two"] {
        let before = syncs(&ns);
        resync(&ns, round).await;
        assert!(
            synced_after(&ns, before).await,
            "no sync after resync {round}"
        );
    }
    for n in &names {
        let u = users.get(n).await.unwrap();
        assert!(
            !u.annotations().contains_key(SUSPEND_REQUESTED_ANNOTATION),
            "{n} has an intent again: {:?}",
            u.annotations()
        );
    }
    assert_eq!(revocation(&ns, 5, 20).await.count, 20);
    assert_eq!(histogram_count(&ns, "Suspend"), Some(20));
    ns.cleanup().await;
}
