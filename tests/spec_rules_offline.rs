//! The integration rules outside the cluster: `plan -f` refuses an integration that breaks one
//! (before any LastPass call), and the engine's shared path (`sync_account`, used by `demo` and
//! `bench`) syncs nothing for it and says why — checked against the simulator's call log.

mod support;

use std::collections::BTreeMap;

use lastpass_operator::cmd::plan::{Format, PlanArgs, PlanError, run};
use lastpass_operator::crd::DirectoryIntegration;
use lastpass_operator::engine::account::{client_config, sync_account};
use lastpass_operator::lastpass::Client;
use lastpass_operator::simulator::Knobs;
use secrecy::SecretString;
use serde_json::json;
use support::account::{CID, PROVHASH, simulator};
use support::builders;

/// Integration `acme` of namespace `team` at `endpoint`, credentials in Secret `api`; `spec`
/// merged into its spec.
fn integration(endpoint: &str, spec: serde_json::Value) -> DirectoryIntegration {
    let mut base =
        json!({"lastpass": {"endpoint": endpoint, "credentialsSecretRef": {"name": "api"}}});
    builders::merge(&mut base, spec);
    let mut i = builders::integration("acme", base);
    i.metadata.namespace = Some("team".into());
    i
}

#[tokio::test]
async fn plan_refuses_a_broken_integration_without_calling_lastpass() {
    lastpass_operator::install_crypto_provider();
    let sim = simulator(Knobs::default()).await;
    let dir = std::env::temp_dir().join(format!("lpo-plan-spec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let creds = dir.join("creds.yaml");
    std::fs::write(&creds, format!("cid: {CID}\nprovhash: {PROVHASH}\n")).unwrap();
    let manifest = dir.join("integration.yaml");
    let broken = integration(&sim.url, json!({"sync": {"interval": "10s"}}));
    std::fs::write(&manifest, serde_json::to_string(&broken).unwrap()).unwrap();
    let args = |endpoint: Option<String>| PlanArgs {
        paths: vec![manifest.clone()],
        integration: None,
        namespace: "team".into(),
        endpoint,
        credentials: Some(creds.clone()),
        format: Format::Json,
        kubeconfig: None,
        cluster: false,
    };
    match run(args(None)).await {
        Err(PlanError::InvalidSpec { message, .. }) => assert!(
            message.contains("spec.sync.interval must be at least 1m"),
            "{message}"
        ),
        other => panic!("plan accepted a 10s interval: {other:?}"),
    }
    // `--endpoint` is checked too: plain http off loopback carries no provhash.
    let fixed = integration(&sim.url, json!({}));
    std::fs::write(&manifest, serde_json::to_string(&fixed).unwrap()).unwrap();
    match run(args(Some(
        "http://lastpass.example/enterpriseapi.php".into(),
    )))
    .await
    {
        Err(PlanError::InvalidSpec { message, .. }) => {
            assert!(message.contains("must use https"), "{message}")
        }
        other => panic!("plan accepted a plain-http endpoint: {other:?}"),
    }
    assert!(sim.state.calls().is_empty(), "{:?}", sim.state.calls());
    // The same files with a valid spec do reach LastPass (the refusal above was the rule).
    assert!(run(args(None)).await.is_ok());
    assert!(!sim.state.calls().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_shared_sync_path_syncs_nothing_for_a_broken_integration() {
    lastpass_operator::install_crypto_provider();
    let sim = simulator(Knobs::default()).await;
    let broken = integration(
        &sim.url,
        json!({"sync": {"rateLimit": {"requestsPerSecond": 0, "burst": 1}}}),
    );
    let client = Client::new(client_config(&broken, CID, SecretString::from(PROVHASH))).unwrap();
    let mut user = builders::user("jane", "jane@example.com", json!({}));
    user.metadata.namespace = Some("team".into());
    let sync = sync_account(
        &client,
        &broken,
        [&user],
        [],
        &BTreeMap::new(),
        BTreeMap::new(),
    )
    .await;
    assert!(!sync.outcome.succeeded());
    assert!(sim.state.calls().is_empty(), "{:?}", sim.state.calls());
    let ready = sync
        .report
        .integration
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .expect("Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "InvalidSpec")
    );
    assert!(ready.message.contains("rateLimit"), "{}", ready.message);
    assert!(sync.report.users.is_empty(), "no user status is touched");
    assert!(sync.report.release.is_empty(), "no finalizer is released");
}
