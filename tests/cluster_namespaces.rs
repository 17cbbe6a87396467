//! `run --namespace a --namespace b`: the controllers watch exactly the listed namespaces (one
//! watch per namespace per kind) and leave every other namespace alone.

mod support;

use std::time::Duration;

use lastpass_operator::controller::{Options, Settings};
use lastpass_operator::crd::{LastPassUser, UserPhase};
use lastpass_operator::simulator::Knobs;
use serde_json::json;
use support::account::simulator;
use support::builders::user;
use support::operator::*;

#[tokio::test]
async fn two_watched_namespaces_are_served_and_a_third_is_ignored() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let watched = [cluster.namespace().await, cluster.namespace().await];
    let ignored = cluster.namespace().await;
    let sims = [
        simulator(Knobs::default()).await,
        simulator(Knobs::default()).await,
        simulator(Knobs::default()).await,
    ];
    for (ns, sim) in watched.iter().chain([&ignored]).zip(&sims) {
        create_integration(ns, sim, json!({})).await;
        create_user(ns, &user("jane", "jane@example.com", json!({}))).await;
    }

    let (ready_tx, mut ready_rx) = tokio::sync::watch::channel(false);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let options = Options {
        namespaces: watched.iter().map(|ns| ns.name.clone()).collect(),
        secret_namespaces: Vec::new(),
        instance: Some("namespaces-test".into()),
        ready: Some(ready_tx),
        settings: Settings {
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(2),
            ..Settings::default()
        },
    };
    let controllers = tokio::spawn(lastpass_operator::controller::run(
        watched[0].client.clone(),
        options,
        async {
            let _ = stop_rx.await;
        },
    ));
    tokio::time::timeout(Duration::from_secs(30), ready_rx.wait_for(|r| *r))
        .await
        .expect("every per-namespace cache is listed (readiness)")
        .expect("ready sender kept");

    for ns in &watched {
        wait_user(ns, "jane", 60, |u| is(u, UserPhase::Invited, "True")).await;
    }
    for sim in &sims[..2] {
        assert!(sim.state.store().user("jane@example.com").is_some());
    }
    // Evidence that the operator looked, instead of a sleep: every cache was listed before
    // `ready` (a watch covering the ignored namespace would have listed its user then), and
    // the watched users are Invited, which takes a reconcile (finalizer first), the debounce
    // and a whole account sync — a wrongly listed user would have had its finalizer, written
    // first by its reconcile, long before. A second sync of a watched account adds margin.
    let whole = sims[0].state.read_counts().whole;
    resync(&watched[0], "looked").await;
    let again = support::wait_for(Duration::from_secs(30), || async {
        (sims[0].state.read_counts().whole > whole).then_some(())
    })
    .await;
    assert!(again.is_some(), "the watched account was read again");
    assert!(
        sims[2].state.calls().is_empty(),
        "{:?}",
        sims[2].state.calls()
    );
    let untouched = ignored.api::<LastPassUser>().get("jane").await.unwrap();
    assert!(untouched.status.is_none(), "{:?}", untouched.status);
    assert!(untouched.metadata.finalizers.is_none());

    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(25), controllers).await;
    for ns in watched.into_iter().chain([ignored]) {
        ns.cleanup().await;
    }
}
