//! The SCIM server reads memory, on a real API server: authentication before any API-server
//! call (counted on the client), one 401 for every failure, the failed-attempt limits (429 with
//! Retry-After, X-Forwarded-For only from trusted proxies), and read-your-writes of the
//! in-memory stores, lagging or not.

mod support;

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kube::api::PostParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use lastpass_operator::crd::DirectoryIntegration;
use lastpass_operator::scim::ScimState;
use lastpass_operator::scim::limit::AuthLimits;
use serde_json::{Value, json};
use support::scim::{ScimServer, scim_group, scim_integration, scim_user};

/// A client that counts every request it sends to the API server.
async fn counting_client(cluster: &support::TestCluster) -> (kube::Client, Arc<AtomicUsize>) {
    let raw = Kubeconfig::read_from(cluster.kubeconfig()).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(raw, &KubeConfigOptions::default())
        .await
        .expect("config");
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let count =
        tower::util::MapRequestLayer::new(move |req: axum::http::Request<kube::client::Body>| {
            counter.fetch_add(1, Ordering::SeqCst);
            req
        });
    let client = kube::client::ClientBuilder::try_from(config)
        .expect("client builder")
        .with_layer(&count)
        .build();
    (client, calls)
}

/// A SCIM server (no failed-auth limit in the way) whose API-server requests are counted.
async fn counted_server(cluster: &support::TestCluster) -> (ScimServer, Arc<AtomicUsize>) {
    let (client, calls) = counting_client(cluster).await;
    let l = limits(10_000, 10_000, &[]);
    let s = ScimServer::start_with(cluster, move |_, ns| {
        ScimState::start(client, &support::scim::scope(ns), &l)
    })
    .await;
    (s, calls)
}

fn limits(per_address: u32, per_integration: u32, trusted: &[&str]) -> AuthLimits {
    AuthLimits {
        per_address: NonZeroU32::new(per_address).unwrap(),
        per_integration: NonZeroU32::new(per_integration).unwrap(),
        trusted_proxies: trusted.iter().map(|c| c.parse().unwrap()).collect(),
    }
}

/// The value of one sample of the process's metrics (0 when absent).
fn metric(sample: &str) -> f64 {
    lastpass_operator::telemetry::metrics::render()
        .lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// Waits until the server answers an authenticated request (its stores have listed).
async fn until_served(s: &ScimServer) {
    support::wait_for(Duration::from_secs(20), || async {
        (s.call("GET", "/Users?count=1", None).await.0 == 200).then_some(())
    })
    .await
    .expect("the SCIM server serves the integration");
}

fn new_user(username: &str) -> Value {
    scim_user(username, "Read", "Write")
}

fn filter_url(username: &str) -> String {
    format!("/Users?filter=userName%20eq%20%22{username}%22")
}

/// (status, Retry-After) of a request as the client `from` (X-Forwarded-For).
async fn attempt(s: &ScimServer, token: &str, from: &str) -> (u16, Option<u64>) {
    let resp = s
        .http
        .get(format!("{}/Users?count=1", s.base))
        .bearer_auth(token)
        .header("x-forwarded-for", from)
        .send()
        .await
        .expect("request");
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (resp.status().as_u16(), retry)
}

#[tokio::test]
async fn unauthenticated_requests_make_no_api_server_call_and_get_one_401() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let (s, calls) = counted_server(cluster).await;
    s.ns.api::<DirectoryIntegration>()
        .create(&PostParams::default(), &scim_integration("off", false))
        .await
        .unwrap();
    until_served(&s).await;
    let (st, user) = s
        .call("POST", "/Users", Some(new_user("known@example.com")))
        .await;
    assert_eq!(st, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_string();
    let before_unknown =
        metric("lastpass_operator_scim_auth_failures_total{reason=\"unknown_integration\"}");
    let before_wrong = metric("lastpass_operator_scim_auth_failures_total{reason=\"wrong_token\"}");

    let before = calls.load(Ordering::SeqCst);
    let other = |name: &str| s.base.replace("/acme", &format!("/{name}"));
    let elsewhere = s
        .base
        .replace(&format!("/{}/", s.ns.name), "/no-such-namespace/");
    let cases: Vec<(Option<&str>, &str, String, Option<Value>)> = vec![
        (None, "GET", format!("{}/Users", s.base), None),
        (Some("wrong"), "GET", format!("{}/Users", s.base), None),
        (Some("wrong"), "GET", format!("{}/Users/{id}", s.base), None),
        (
            Some("wrong"),
            "POST",
            format!("{}/Users", s.base),
            Some(new_user("x@example.com")),
        ),
        (
            Some("wrong"),
            "DELETE",
            format!("{}/Users/{id}", s.base),
            None,
        ),
        (Some("wrong"), "GET", format!("{}/Groups", s.base), None),
        // The right token of another endpoint, a disabled one, a missing one.
        (
            Some(&s.token),
            "GET",
            format!("{}/Users", other("off")),
            None,
        ),
        (
            Some(&s.token),
            "GET",
            format!("{}/Users", other("missing")),
            None,
        ),
        (Some("wrong"), "GET", format!("{elsewhere}/Users"), None),
        (
            None,
            "GET",
            format!("{}/ServiceProviderConfig", other("missing")),
            None,
        ),
    ];
    let mut bodies = BTreeSet::new();
    for (token, method, url, body) in &cases {
        let (st, h, body) = s.raw(*token, method, url, body.clone()).await;
        assert_eq!(st, 401, "{method} {url}: {body}");
        assert!(h.contains_key("www-authenticate"), "{method} {url}");
        bodies.insert(body.to_string());
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        before,
        "no API-server call for {} unauthenticated requests",
        cases.len()
    );
    assert_eq!(
        bodies.len(),
        1,
        "one 401 body for every failure: {bodies:?}"
    );
    assert!(
        metric("lastpass_operator_scim_auth_failures_total{reason=\"unknown_integration\"}")
            >= before_unknown + 2.0
    );
    assert!(
        metric("lastpass_operator_scim_auth_failures_total{reason=\"wrong_token\"}")
            >= before_wrong + 5.0
    );

    // The right token still works, and the user is still there.
    let (st, got) = s.call("GET", &format!("/Users/{id}"), None).await;
    assert_eq!((st, &got["id"]), (200, &json!(id)));
    s.stop().await;
}

#[tokio::test]
async fn failed_attempts_are_limited_per_client_and_per_endpoint() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    // Per client: 3 failed attempts a minute; loopback is a trusted proxy.
    let l = limits(3, 1000, &["127.0.0.1/32", "::1"]);
    let s = ScimServer::start_with(cluster, move |c, ns| {
        ScimState::start(c, &support::scim::scope(ns), &l)
    })
    .await;
    until_served(&s).await;
    let token = s.token.clone();
    for _ in 0..3 {
        assert_eq!(attempt(&s, "wrong", "198.51.100.7").await, (401, None));
    }
    let (st, retry) = attempt(&s, "wrong", "198.51.100.7").await;
    assert_eq!(st, 429);
    assert!(retry.is_some_and(|r| (1..=60).contains(&r)), "{retry:?}");
    // The client is held back before its token is looked at...
    assert_eq!(attempt(&s, &token, "198.51.100.7").await.0, 429);
    // ...another client behind the same proxy is not, and the proxy's own hop is skipped.
    assert_eq!(attempt(&s, "wrong", "198.51.100.8").await, (401, None));
    assert_eq!(attempt(&s, &token, "198.51.100.8, 127.0.0.1").await.0, 200);
    assert!(metric("lastpass_operator_scim_auth_failures_total{reason=\"rate_limited\"}") >= 2.0);
    s.stop().await;

    // Untrusted peer: its X-Forwarded-For is ignored, every attempt counts for the peer.
    let l = limits(2, 1000, &[]);
    let s = ScimServer::start_with(cluster, move |c, ns| {
        ScimState::start(c, &support::scim::scope(ns), &l)
    })
    .await;
    until_served(&s).await;
    assert_eq!(attempt(&s, "wrong", "198.51.100.1").await.0, 401);
    assert_eq!(attempt(&s, "wrong", "198.51.100.2").await.0, 401);
    assert_eq!(attempt(&s, "wrong", "198.51.100.3").await.0, 429);
    s.stop().await;

    // Per endpoint: failed attempts from many clients run out the path's budget; its own
    // provider, with the right token, is not locked out.
    let l = limits(1000, 2, &["127.0.0.1/32", "::1"]);
    let s = ScimServer::start_with(cluster, move |c, ns| {
        ScimState::start(c, &support::scim::scope(ns), &l)
    })
    .await;
    until_served(&s).await;
    let token = s.token.clone();
    assert_eq!(attempt(&s, "wrong", "203.0.113.1").await.0, 401);
    assert_eq!(attempt(&s, "wrong", "203.0.113.2").await.0, 401);
    let (st, retry) = attempt(&s, "wrong", "203.0.113.3").await;
    assert_eq!(st, 429);
    assert!(retry.is_some());
    assert_eq!(attempt(&s, &token, "203.0.113.3").await.0, 200);
    s.stop().await;
}

#[tokio::test]
async fn post_then_filter_on_the_same_replica_finds_the_user_1000_times_in_a_row() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let s = ScimServer::start(cluster).await;
    until_served(&s).await;
    for i in 0..1000 {
        let username = format!("ryw{i}@example.com");
        let (st, created) = s.call("POST", "/Users", Some(new_user(&username))).await;
        assert_eq!(st, 201, "{i}: {created}");
        let (st, found) = s.call("GET", &filter_url(&username), None).await;
        assert_eq!(st, 200);
        assert_eq!(found["totalResults"], json!(1), "{i}: {found}");
        assert_eq!(found["Resources"][0]["id"], created["id"], "{i}");
    }
    // Answered by the store every time: the API-server fall-back was never needed.
    assert_eq!(
        metric("lastpass_operator_scim_store_fallbacks_total{kind=\"LastPassUser\"}"),
        0.0
    );
    s.stop().await;
}

#[tokio::test]
async fn a_lagging_store_is_waited_for_and_past_the_bound_bypassed() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let s = ScimServer::start(cluster).await;
    until_served(&s).await;
    let waits = "lastpass_operator_scim_store_waits_total{kind=\"LastPassUser\"}";
    let fallbacks = "lastpass_operator_scim_store_fallbacks_total{kind=\"LastPassUser\"}";
    let (w0, f0) = (metric(waits), metric(fallbacks));

    // Within the bound: the read waits for the store, it is not answered stale.
    s.ctx.stores.users.inject_lag(Duration::from_millis(400));
    let (st, created) = s
        .call("POST", "/Users", Some(new_user("lag1@example.com")))
        .await;
    assert_eq!(st, 201, "{created}");
    let started = Instant::now();
    let (_, found) = s.call("GET", &filter_url("lag1@example.com"), None).await;
    assert_eq!(found["totalResults"], json!(1), "{found}");
    assert!(started.elapsed() >= Duration::from_millis(100), "it waited");
    assert!(metric(waits) > w0, "the wait is counted");
    assert_eq!(metric(fallbacks), f0, "no fall-back within the bound");
    let id = created["id"].as_str().unwrap();
    let (st, _) = s.call("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(st, 200);

    // Past the bound: answered from the API server, and counted.
    s.ctx.stores.users.inject_lag(Duration::from_secs(3));
    let (st, created) = s
        .call("POST", "/Users", Some(new_user("lag2@example.com")))
        .await;
    assert_eq!(st, 201, "{created}");
    let started = Instant::now();
    let (_, found) = s.call("GET", &filter_url("lag2@example.com"), None).await;
    assert_eq!(found["totalResults"], json!(1), "{found}");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "bounded wait first"
    );
    assert!(metric(fallbacks) > f0, "the fall-back is counted");
    let id = created["id"].as_str().unwrap();
    let (st, got) = s.call("GET", &format!("/Users/{id}"), None).await;
    assert_eq!((st, &got["userName"]), (200, &json!("lag2@example.com")));
    s.ctx.stores.users.inject_lag(Duration::ZERO);
    s.stop().await;
}

/// Groups are read from memory too: once the stores have listed, `GET /Groups/{id}` and
/// `GET /Groups` make no API-server call, and a group's own write (create, member PATCH, name
/// change) is what the next read on this replica shows, 50 times in a row.
#[tokio::test]
async fn groups_are_read_from_memory_with_read_your_writes() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let (s, calls) = counted_server(cluster).await;
    until_served(&s).await;
    let (st, ann) = s
        .call("POST", "/Users", Some(new_user("grp-ann@example.com")))
        .await;
    assert_eq!(st, 201, "{ann}");
    let ann_id = ann["id"].clone();
    for i in 0..50 {
        let name = format!("Team {i}");
        let g = s.create("/Groups", scim_group(&name, &[])).await;
        let id = g["id"].as_str().unwrap().to_string();
        let (st, got) = s.call("GET", &format!("/Groups/{id}"), None).await;
        assert_eq!((st, &got["displayName"]), (200, &json!(name)), "{i}: {got}");
        let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": ann_id}]},
                           {"op": "replace", "path": "displayName", "value": format!("{name}!")}]});
        let (st, patched) = s.call("PATCH", &format!("/Groups/{id}"), Some(patch)).await;
        assert!(st == 200 || st == 204, "{i}: {st} {patched}");
        let (st, got) = s.call("GET", &format!("/Groups/{id}"), None).await;
        assert_eq!(st, 200, "{i}: {got}");
        assert_eq!(got["displayName"], json!(format!("{name}!")), "{i}: {got}");
        assert_eq!(got["members"][0]["value"], ann_id, "{i}: {got}");
    }
    // Settled: reads of groups answer from memory alone.
    let before = calls.load(Ordering::SeqCst);
    let (st, list) = s.call("GET", "/Groups?count=100", None).await;
    assert_eq!(st, 200);
    assert_eq!(list["totalResults"], json!(50), "{list}");
    let id = list["Resources"][0]["id"].as_str().unwrap().to_string();
    let (st, _) = s.call("GET", &format!("/Groups/{id}"), None).await;
    assert_eq!(st, 200);
    assert_eq!(
        calls.load(Ordering::SeqCst) - before,
        0,
        "group reads went to the API server"
    );
    s.stop().await;
}
