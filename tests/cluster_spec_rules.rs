//! Every integration-level CEL rule of the DirectoryIntegration CRD, broken on an API server that
//! has no CEL (the v1.20 test server; CRDs applied with their rules stripped, as below 1.25):
//! the server admits each integration, and the operator still refuses it — `Ready=False` and
//! `Synced=False` with the rule's reason and fix, and nothing sent to LastPass: the simulator
//! behind the broken integrations records no call, and the non-loopback plain-http endpoint
//! receives no connection at all. A valid integration in the same namespace syncs normally
//! (the operator runs, and is not refusing everything).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::PostParams;
use lastpass_operator::crd::{DirectoryIntegration, UserPhase};
use lastpass_operator::simulator::Knobs;
use serde_json::{Value, json};
use support::account::simulator;
use support::builders::{credentials, integration, merge, user};
use support::operator::*;
use support::wait_for;

/// A plain-http URL on this machine's first non-loopback IPv4 address, served by a listener
/// that only counts connections; falls back to an unresolvable host when the machine has no
/// such address (then no connection can be made anyway).
async fn counting_remote_endpoint() -> (String, Arc<AtomicUsize>) {
    let accepted = Arc::new(AtomicUsize::new(0));
    let ip = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|a| a.parse::<std::net::Ipv4Addr>().ok())
                .find(|a| !a.is_loopback())
        });
    let Some(ip) = ip else {
        return (
            "http://lastpass-insecure.invalid/enterpriseapi.php".into(),
            accepted,
        );
    };
    let listener = tokio::net::TcpListener::bind((ip, 0))
        .await
        .expect("bind a non-loopback port");
    let port = listener.local_addr().expect("local addr").port();
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (format!("http://{ip}:{port}/enterpriseapi.php"), accepted)
}

/// Creates integration `name` at `endpoint` with `spec` merged into a working spec.
async fn create_named_integration(
    ns: &support::TestNamespace,
    name: &str,
    endpoint: &str,
    spec: Value,
) {
    let mut full = json!({
        "lastpass": {"endpoint": endpoint},
        "sync": {"interval": "1m", "debounce": "200ms",
                 "rateLimit": {"requestsPerSecond": 100, "burst": 100}},
    });
    merge(&mut full, spec);
    let i = integration(name, full);
    ns.api::<DirectoryIntegration>()
        .create(&PostParams::default(), &i)
        .await
        .unwrap_or_else(|e| panic!("the API server (no CEL) admits {name}: {e}"));
}

#[tokio::test]
async fn each_broken_integration_rule_is_reported_and_nothing_reaches_lastpass() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    assert!(
        cluster.server_minor < 25,
        "this test is about API servers without CEL (it runs on the v1.20 envtest server)"
    );
    let ns = cluster.namespace().await;
    let good_sim = simulator(Knobs::default()).await;
    let bad_sim = simulator(Knobs::default()).await;
    ns.api::<Secret>()
        .create(&PostParams::default(), &credentials())
        .await
        .expect("secret");
    let (remote, connections) = counting_remote_endpoint().await;

    // (name, endpoint, spec patch, reason, message fragment naming the rule and the fix)
    let cases: Vec<(&str, String, Value, &str, &str)> = vec![
        (
            "plain-http",
            remote.clone(),
            json!({}),
            "InsecureEndpoint",
            "spec.lastpass.endpoint must use https",
        ),
        (
            "interval-30s",
            bad_sim.url.clone(),
            json!({"sync": {"interval": "30s"}}),
            "InvalidSpec",
            "spec.sync.interval must be at least 1m (got 30s); set 1m or more",
        ),
        (
            "rps-zero",
            bad_sim.url.clone(),
            json!({"sync": {"rateLimit": {"requestsPerSecond": 0}}}),
            "InvalidSpec",
            "spec.sync.rateLimit.requestsPerSecond and burst must be positive",
        ),
        (
            "selector-missing",
            bad_sim.url.clone(),
            json!({"allowedNamespaces": {"from": "Selector"}}),
            "InvalidSpec",
            "spec.allowedNamespaces.selector is required when from is Selector; add a selector",
        ),
        (
            "ldap-incomplete",
            bad_sim.url.clone(),
            json!({"ldap": {"url": "ldaps://dc1.corp.example"}}),
            "InvalidSpec",
            "spec.ldap needs url, userBaseDN and bindSecretRef (missing: userBaseDN, bindSecretRef)",
        ),
    ];
    for (name, endpoint, spec, _, _) in &cases {
        create_named_integration(&ns, name, endpoint, spec.clone()).await;
    }
    create_named_integration(&ns, "good", &good_sim.url, json!({})).await;
    // Users that would be invited through two of the broken integrations, and one through the
    // good one.
    for (user_name, integration) in [
        ("via-interval", "interval-30s"),
        ("via-selector", "selector-missing"),
        ("via-good", "good"),
    ] {
        create_user(
            &ns,
            &user(
                user_name,
                &format!("{user_name}@example.com"),
                json!({"integrationRef": {"name": integration}}),
            ),
        )
        .await;
    }
    let op = Operator::start(&ns);

    let api = ns.api::<DirectoryIntegration>();
    for (name, _, _, reason, fragment) in &cases {
        let got = wait_for(Duration::from_secs(30), || async {
            let i = api.get_opt(name).await.ok()??;
            let ready = condition(&i, "Ready")?;
            (ready.1 == *reason).then_some(i)
        })
        .await;
        let Some(i) = got else {
            panic!(
                "{name}: no Ready reason {reason}: {:?}",
                api.get_opt(name).await.map(|i| i.map(|i| i.status))
            );
        };
        for type_ in ["Ready", "Synced"] {
            let (status, got_reason, message) = condition(&i, type_).expect("condition");
            assert_eq!(
                (status.as_str(), got_reason.as_str()),
                ("False", *reason),
                "{name} {type_}"
            );
            assert!(
                message.contains(fragment),
                "{name} {type_}: {message:?} lacks {fragment:?}"
            );
        }
    }
    // The good integration invites its user: the operator is at work, and the broken ones were
    // looked at (their conditions above) without a single call.
    wait_invited(&ns, "via-good").await;
    assert!(
        good_sim
            .state
            .calls()
            .iter()
            .any(|c| c.command == "batchadd"),
        "the valid integration synced"
    );
    assert_eq!(
        bad_sim.state.calls().len(),
        0,
        "broken integrations called LastPass: {:?}",
        bad_sim.state.calls()
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "a connection reached the plain-http endpoint {remote}"
    );
    for name in ["via-interval", "via-selector"] {
        let u = ns
            .api::<lastpass_operator::crd::LastPassUser>()
            .get(name)
            .await
            .expect("user");
        assert!(
            u.status
                .as_ref()
                .and_then(|s| s.lastpass_id.as_ref())
                .is_none(),
            "{name} was provisioned through a broken integration: {:?}",
            u.status
        );
    }

    // Fixing the spec lifts the refusal: the interval integration syncs and invites its user.
    let fix = json!({"spec": {"sync": {"interval": "1m"}}});
    api.patch(
        "interval-30s",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&fix),
    )
    .await
    .expect("fix the interval");
    wait_user(&ns, "via-interval", 30, |u| {
        is(u, UserPhase::Invited, "True")
    })
    .await;
    assert!(
        bad_sim.state.calls().iter().any(|c| c.command == "batchadd"
            && c.targets.iter().any(|t| t == "via-interval@example.com")),
        "the fixed integration invited its user"
    );
    op.stop().await;
    ns.cleanup().await;
}
