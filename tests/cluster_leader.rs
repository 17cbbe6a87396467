//! Two `lastpass-operator run` processes against one API server and one simulated LastPass
//! account: leader election and graceful shutdown, as they behave in a cluster.
//!
//! - only the leader writes to LastPass (the follower makes no LastPass call at all);
//! - when the leader dies, the follower takes over within the lease duration (15 s) and
//!   carries on, repeating nothing;
//! - SIGTERM during a slow sync: the write in flight completes, no new write starts, the
//!   statuses say exactly what LastPass holds (`Synced=False`, reason `Interrupted` for the
//!   rest), the process exits 0 well within the grace period and the follower finishes the job
//!   with no write repeated.

mod support;

use std::time::{Duration, Instant};

use lastpass_operator::crd::{LastPassUser, UserPhase};
use lastpass_operator::simulator::{Knobs, RunningSimulator};
use serde_json::json;
use support::account::{count_calls, simulator};
use support::builders::user;
use support::operator::*;
use support::process::{OperatorProcess, holder, wait_holder};

/// `batchadd` calls naming `username`.
fn adds_of(sim: &RunningSimulator, username: &str) -> usize {
    sim.state
        .calls()
        .iter()
        .filter(|c| c.command == "batchadd" && c.targets.iter().any(|t| t == username))
        .count()
}

/// A time field of the test Lease.
async fn lease_time(
    ns: &support::TestNamespace,
    field: impl Fn(
        &k8s_openapi::api::coordination::v1::LeaseSpec,
    ) -> Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime>,
) -> jiff::Timestamp {
    let lease = ns
        .api::<k8s_openapi::api::coordination::v1::Lease>()
        .get(support::process::LEASE)
        .await
        .expect("the Lease exists");
    field(&lease.spec.unwrap_or_default())
        .expect("the Lease has the time")
        .0
}

/// Starts `op-a` watching the test namespace and waits until it holds the Lease.
async fn first_leader(
    cluster: &'static support::TestCluster,
    ns: &support::TestNamespace,
) -> OperatorProcess {
    let a = OperatorProcess::start(cluster, "op-a", &ns.name, &[&ns.name]);
    assert!(
        wait_holder(&ns.client, &ns.name, "op-a", Duration::from_secs(30))
            .await
            .is_some(),
        "op-a never led:\n{}",
        dump(&[&a]).await
    );
    a
}

async fn dump(ops: &[&OperatorProcess]) -> String {
    ops.iter()
        .map(|o| format!("--- {} ---\n{}", o.name, o.logs()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn only_the_leader_writes_and_the_follower_takes_over_when_it_dies() {
    let Some((cluster, ns, sim)) = account(json!({})).await else {
        return;
    };

    let mut a = first_leader(cluster, &ns).await;
    let b = OperatorProcess::start(cluster, "op-b", &ns.name, &[&ns.name]);
    // The follower is ready too (it serves SCIM), but does not lead.
    let ready = support::wait_for(Duration::from_secs(30), || async {
        (b.get("/readyz").await?.0 == 200).then_some(())
    })
    .await;
    assert!(
        ready.is_some(),
        "follower never ready:\n{}",
        dump(&[&b]).await
    );

    for i in 0..3 {
        create_user(
            &ns,
            &user(&format!("u{i}"), &format!("u{i}@example.com"), json!({})),
        )
        .await;
    }
    for i in 0..3 {
        wait_user(&ns, &format!("u{i}"), 60, |u| {
            is(u, UserPhase::Invited, "True")
        })
        .await;
    }
    assert_eq!(holder(&ns.client, &ns.name).await.as_deref(), Some("op-a"));
    let leader_ready = support::wait_for(Duration::from_secs(10), || async {
        (a.get("/readyz").await?.0 == 200).then_some(())
    })
    .await;
    assert!(
        leader_ready.is_some(),
        "leader never ready: {:?}",
        a.get("/readyz").await
    );
    assert_eq!(a.metric("lastpass_operator_leader").await, 1.0);
    assert_eq!(b.metric("lastpass_operator_leader").await, 0.0);
    assert!(a.metric("lastpass_operator_lastpass_requests_total").await > 0.0);
    assert_eq!(
        b.metric("lastpass_operator_lastpass_requests_total").await,
        0.0,
        "the follower called LastPass:\n{}",
        dump(&[&b]).await
    );

    // The leader dies without a word (SIGKILL: no release): the follower waits out the lease.
    a.kill();
    let _ = a.wait_exit(Duration::from_secs(5)).await;
    let last_renewal = lease_time(&ns, |s| s.renew_time.clone()).await;
    let took = wait_holder(&ns.client, &ns.name, "op-b", Duration::from_secs(30)).await;
    assert!(
        took.is_some(),
        "op-b never took over:\n{}",
        dump(&[&b]).await
    );
    // Measured on the Lease itself (server-side times, not this test's polling): op-b acquired
    // it at most one lease duration after op-a's last renewal, plus the lease manager's random
    // wait of up to 1 s after clearing an expired lock, plus 1 s for the API calls.
    let acquired = lease_time(&ns, |s| s.acquire_time.clone()).await;
    let gap = acquired.duration_since(last_renewal);
    assert!(
        gap <= jiff::SignedDuration::from_secs(15 + 2),
        "takeover {gap:?} after the last renewal (lease duration 15 s)"
    );
    create_user(&ns, &user("u3", "u3@example.com", json!({}))).await;
    wait_user(&ns, "u3", 60, |u| is(u, UserPhase::Invited, "True")).await;
    for i in 0..4 {
        assert_eq!(
            adds_of(&sim, &format!("u{i}@example.com")),
            1,
            "u{i} invited once:\n{}",
            dump(&[&b]).await
        );
    }
    assert!(b.metric("lastpass_operator_lastpass_requests_total").await > 0.0);
    drop(b);
    ns.cleanup().await;
}

#[tokio::test]
async fn sigterm_mid_sync_finishes_the_call_in_flight_writes_statuses_and_hands_over() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let ns = cluster.namespace().await;
    let sim = simulator(Knobs::default()).await;
    // One user per batchadd, 2 s per call: 10 users take > 20 s, more than the grace period.
    create_integration(&ns, &sim, json!({"batchSize": 1})).await;
    let mut a = first_leader(cluster, &ns).await;
    let mut b = OperatorProcess::start(cluster, "op-b", &ns.name, &[&ns.name]);
    sim.state.set_knobs(Knobs {
        latency_ms: 2000,
        ..Knobs::default()
    });
    for i in 0..10 {
        create_user(
            &ns,
            &user(&format!("u{i}"), &format!("u{i}@example.com"), json!({})),
        )
        .await;
    }
    let started = support::wait_for(Duration::from_secs(60), || async {
        let adds = count_calls(&sim.state, "batchadd");
        (adds >= 2).then_some(())
    })
    .await;
    assert!(started.is_some(), "no batchadd:\n{}", dump(&[&a]).await);

    let term = Instant::now();
    a.terminate();
    let code = a.wait_exit(Duration::from_secs(19)).await;
    let stopped_after = term.elapsed();
    assert_eq!(
        code,
        Some(0),
        "exit within the grace period:\n{}",
        dump(&[&a]).await
    );
    assert!(
        stopped_after < Duration::from_secs(12),
        "stopped after {stopped_after:?}: the sync was not interrupted"
    );

    // Statuses match LastPass exactly: invited users carry their id, the others say why not.
    let in_lastpass = sim.state.store();
    let api = ns.api::<LastPassUser>();
    let mut interrupted = 0;
    for i in 0..10 {
        let username = format!("u{i}@example.com");
        let u = api.get(&format!("u{i}")).await.unwrap();
        let id = u.status.as_ref().and_then(|s| s.lastpass_id.clone());
        match in_lastpass.user(&username) {
            Some(_) => assert!(
                id.is_some(),
                "u{i} is in LastPass but its status does not say so: {:?}",
                u.status
            ),
            None => {
                assert!(id.is_none(), "u{i}");
                assert_eq!(
                    synced(&u).map(|(status, reason, _)| (status, reason)),
                    Some(("False".into(), "Interrupted".into())),
                    "u{i}: {:?}",
                    u.status
                );
                interrupted += 1;
            }
        }
    }
    assert!(interrupted > 0, "the sync was not interrupted at all");
    assert!(a.logs().contains("Lease released"), "{}", a.logs());

    // The follower takes over (within the lease duration; test 1 bounds it) and finishes.
    sim.state.set_knobs(Knobs::default());
    assert!(
        wait_holder(&ns.client, &ns.name, "op-b", Duration::from_secs(20))
            .await
            .is_some(),
        "op-b never took over:\n{}",
        dump(&[&b]).await
    );
    for i in 0..10 {
        wait_user(&ns, &format!("u{i}"), 90, |u| {
            is(u, UserPhase::Invited, "True")
        })
        .await;
        assert_eq!(
            adds_of(&sim, &format!("u{i}@example.com")),
            1,
            "u{i} invited once"
        );
    }
    b.terminate();
    assert_eq!(b.wait_exit(Duration::from_secs(20)).await, Some(0));
    ns.cleanup().await;
}

#[tokio::test]
async fn a_leader_that_loses_its_lease_stops_writing_and_exits_non_zero() {
    let Some((cluster, ns, sim)) = account(json!({})).await else {
        return;
    };
    let mut a = first_leader(cluster, &ns).await;
    create_user(&ns, &user("u0", "u0@example.com", json!({}))).await;
    wait_user(&ns, "u0", 60, |u| is(u, UserPhase::Invited, "True")).await;

    // Someone else takes the Lease (a split brain, a clock jump, a manual edit).
    let calls_before_steal = sim.state.calls().len();
    let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(jiff::Timestamp::now());
    let patch = json!({"spec": {"holderIdentity": "intruder", "renewTime": now, "leaseDurationSeconds": 15}});
    kube::Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(ns.client.clone(), &ns.name)
        .patch(
            support::process::LEASE,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .expect("steal the Lease");
    let stolen = Instant::now();
    let code = a.wait_exit(Duration::from_secs(10)).await;
    assert_eq!(code, Some(1), "exit non-zero at once:\n{}", a.logs());
    assert!(
        stolen.elapsed() < Duration::from_secs(5),
        "{:?}",
        stolen.elapsed()
    );
    assert!(a.logs().contains("lost leadership"), "{}", a.logs());

    // Nothing was written from the moment the Lease was taken until the process exited (a
    // dead process cannot write afterwards, so that is the window that matters; nothing was
    // pending, so any write there is one too many).
    let writes: Vec<String> = sim.state.calls()[calls_before_steal..]
        .iter()
        .filter(|c| c.command != "getuserdata")
        .map(|c| c.command.clone())
        .collect();
    assert!(
        writes.is_empty(),
        "written after losing the Lease: {writes:?}"
    );
    ns.cleanup().await;
}
