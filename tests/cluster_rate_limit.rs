//! One account, one rate limit: the account task keeps its LastPass client (token bucket and
//! connections) from one sync to the next, so syncs woken back to back — by annotations here,
//! as by SCIM or Git in production — stay within `requestsPerSecond` + `burst` over any one
//! second at LastPass (the simulator records when each request arrived). A client built anew
//! per sync starts each sync with a full burst and exceeds it.

mod support;

use std::time::Duration;

use lastpass_operator::crd::UserPhase;
use serde_json::json;
use support::operator::*;

#[tokio::test]
async fn back_to_back_syncs_share_one_token_bucket() {
    let Some((_, ns, sim, op)) = account_with_operator(json!({
        "debounce": "50ms",
        "rateLimit": {"requestsPerSecond": 1, "burst": 1},
    }))
    .await
    .map(|(ns, sim, op)| ((), ns, sim, op)) else {
        return;
    };
    create_user(&ns, &user("ann", "ann@example.com", json!({}))).await;
    wait_user(&ns, "ann", 60, |u| is(u, UserPhase::Invited, "True")).await;

    // Wake the account again and again: each wake is a sync that reads the account.
    let start = sim.state.calls().len();
    for i in 0..24 {
        resync(&ns, &format!("wake-{i}")).await;
        tokio::time::sleep(Duration::from_millis(125)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let at: Vec<jiff::Timestamp> = sim.state.calls()[start..].iter().map(|c| c.at).collect();
    assert!(at.len() >= 3, "the wakes made syncs: {} calls", at.len());
    // The most requests in any one-second window (starting at a request).
    let busiest = at
        .iter()
        .map(|t0| {
            at.iter()
                .filter(|t| {
                    **t >= *t0 && t.duration_since(*t0) < jiff::SignedDuration::from_secs(1)
                })
                .count()
        })
        .max()
        .unwrap_or(0);
    eprintln!(
        "rate limit: busiest one-second window {busiest} requests, {} calls in {:?}",
        at.len(),
        at.last().unwrap().duration_since(at[0])
    );
    assert!(
        busiest <= 2,
        "{busiest} requests within one second: more than requestsPerSecond 1 + burst 1 \
         ({} calls in {:?})",
        at.len(),
        at.last().unwrap().duration_since(at[0])
    );
    op.stop().await;
    ns.cleanup().await;
}
