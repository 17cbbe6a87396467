//! A burst of applies that goes on past the debounce, on the real API server: it is synced in
//! slices while it arrives (users are invited before the last one is created), every user is
//! added once, and the group's status is written when the burst ends, not once per slice.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::api::PostParams;
use lastpass_operator::crd::{LastPassGroup, UserPhase};
use serde_json::json;
use support::account::{count_calls, in_group, people_in};
use support::builders::{group, user};
use support::operator::*;
use support::wait_for;

const USERS: usize = 40;

#[tokio::test]
async fn a_long_burst_is_invited_while_it_arrives_and_its_group_written_once_it_ends() {
    // Slices of full batches: at least batchSize × burst = 4 changes, and as many as the
    // account has users.
    let Some((ns, sim, op)) = account_with_operator(json!({
        "debounce": "2s", "batchSize": 2,
        "rateLimit": {"requestsPerSecond": 100, "burst": 2},
    }))
    .await
    else {
        return;
    };
    let groups = ns.api::<LastPassGroup>();
    let eng = group(
        "eng",
        "Engineering",
        json!({"memberSelector": {"matchLabels": {"team": "eng"}}}),
    );
    groups.create(&PostParams::default(), &eng).await.unwrap();

    // Every member count the group's status shows while the burst goes on.
    let counts = Arc::new(Mutex::new(Vec::<Option<i64>>::new()));
    let watch = {
        let (groups, counts) = (groups.clone(), counts.clone());
        tokio::spawn(async move {
            loop {
                if let Ok(g) = groups.get("eng").await {
                    let count = g.status.and_then(|s| s.member_count);
                    let mut seen = counts.lock().unwrap();
                    if seen.last() != Some(&count) {
                        seen.push(count);
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    // One user every 150 ms: never 2 s of quiet until the last one.
    let users = ns.api::<lastpass_operator::crd::LastPassUser>();
    let mut first_invited_before = None;
    for i in 0..USERS {
        let mut u = user(
            &format!("u{i:02}"),
            &format!("u{i:02}@example.com"),
            json!({}),
        );
        u.metadata.labels = Some([("team".to_string(), "eng".to_string())].into());
        create_user(&ns, &u).await;
        let first = users.get("u00").await.unwrap();
        if first_invited_before.is_none() && is(&first, UserPhase::Invited, "True") {
            first_invited_before = Some(i);
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let Some(created) = first_invited_before else {
        panic!("no user was invited while the burst of {USERS} applies went on");
    };
    assert!(created < USERS - 1, "u00 invited after {created} creates");

    for i in 0..USERS {
        wait_user(&ns, &format!("u{i:02}"), 60, |u| {
            is(u, UserPhase::Invited, "True")
        })
        .await;
    }
    let settled = wait_for(Duration::from_secs(30), || async {
        let g = groups.get("eng").await.ok()?;
        (g.status?.member_count == Some(USERS as i64)).then_some(())
    })
    .await;
    watch.abort();
    assert!(settled.is_some(), "the group's status counts every member");
    assert_eq!(people_in(&sim.state), USERS, "every user added once");
    assert!(
        count_calls(&sim.state, "batchadd") > 1,
        "invited in more than one plan"
    );
    assert!(in_group(&sim.state, "u00@example.com", "Engineering"));
    let seen = counts.lock().unwrap().clone();
    let partial: Vec<i64> = seen
        .iter()
        .flatten()
        .copied()
        .filter(|&c| c != 0 && c != USERS as i64)
        .collect();
    assert!(
        partial.is_empty(),
        "the group's member count was written per slice: {seen:?}"
    );
    op.stop().await;
    ns.cleanup().await;
}
