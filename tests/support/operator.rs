//! The real controllers in this test process, against the test cluster and a simulated
//! LastPass account, scoped to one test namespace.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use lastpass_operator::controller::{Options, Settings};
use lastpass_operator::crd::{DirectoryIntegration, LastPassUser, UserPhase};
use lastpass_operator::simulator::{Knobs, RunningSimulator};
use serde_json::json;
use tokio::sync::oneshot;

use super::account::simulator;
use super::builders::{INTEGRATION, credentials, integration, merge, user};
use super::{TestCluster, TestNamespace, wait_for};

/// Controllers running for one namespace; stopped when dropped.
pub struct Operator {
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Operator {
    /// Starts the controllers for `ns` with fast timings.
    pub fn start(ns: &TestNamespace) -> Self {
        Self::start_watching(&[ns], Settings::default())
    }

    /// Starts the controllers for these namespaces with fast timings (`settings` otherwise).
    pub fn start_watching(namespaces: &[&TestNamespace], settings: Settings) -> Self {
        let ns = namespaces[0];
        if std::env::var_os("RUST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
        let (tx, rx) = oneshot::channel::<()>();
        let options = Options {
            namespaces: namespaces.iter().map(|n| n.name.clone()).collect(),
            secret_namespaces: Vec::new(),
            instance: Some("test".into()),
            ready: None,
            settings: Settings {
                min_backoff: Duration::from_millis(500),
                max_backoff: Duration::from_secs(2),
                write_concurrency: 8,
                ..settings
            },
        };
        let task = tokio::spawn(lastpass_operator::controller::run(
            ns.client.clone(),
            options,
            async {
                let _ = rx.await;
            },
        ));
        Self {
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the controllers and waits for them to end.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The usual start of a controller test: a fresh namespace, a simulated account, its
/// integration `acme` (`sync` merged into `spec.sync`) and the controllers running. `None`
/// when no cluster is available (outside CI the test then passes vacuously, loudly).
pub async fn account_with_operator(
    sync: serde_json::Value,
) -> Option<(TestNamespace, RunningSimulator, Operator)> {
    let (_, ns, sim) = account(sync).await?;
    let op = Operator::start(&ns);
    Some((ns, sim, op))
}

/// A fresh namespace, a simulated account and its integration `acme` (`sync` merged into
/// `spec.sync`), for tests that start the operator themselves; `None` without a cluster.
pub async fn account(
    sync: serde_json::Value,
) -> Option<(&'static TestCluster, TestNamespace, RunningSimulator)> {
    let cluster = super::cluster()?;
    let ns = cluster.namespace().await;
    let sim = simulator(Knobs::default()).await;
    create_integration(&ns, &sim, sync).await;
    Some((cluster, ns, sim))
}

/// Creates the credentials Secret `lastpass-api` and DirectoryIntegration `acme` pointing at
/// `sim`; `sync` is merged into the integration's `spec.sync`.
pub async fn create_integration(
    ns: &TestNamespace,
    sim: &RunningSimulator,
    sync: serde_json::Value,
) -> DirectoryIntegration {
    ns.api::<Secret>()
        .create(&PostParams::default(), &credentials())
        .await
        .expect("secret");
    let mut spec_sync = json!({
        "interval": "1m", "debounce": "200ms",
        "rateLimit": {"requestsPerSecond": 100, "burst": 100},
        // A share of a handful of test users would hold every deletion: tests that mean the
        // percentage set it.
        "deprovision": {"maxPerSync": 10, "maxPercent": 100},
    });
    merge(&mut spec_sync, sync);
    let i = integration(
        INTEGRATION,
        json!({"lastpass": {"endpoint": sim.url}, "sync": spec_sync}),
    );
    ns.api::<DirectoryIntegration>()
        .create(&PostParams::default(), &i)
        .await
        .expect("integration")
}

/// Creates a LastPassUser.
pub async fn create_user(ns: &TestNamespace, user: &LastPassUser) -> LastPassUser {
    ns.api::<LastPassUser>()
        .create(&PostParams::default(), user)
        .await
        .expect("create user")
}

/// (status, reason, message) of the condition `type_` in a list, if any.
pub fn find_condition(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    type_: &str,
) -> Option<(String, String, String)> {
    let c = conditions.iter().find(|c| c.type_ == type_)?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// (status, reason, message) of the condition `type_` of an integration, if any.
pub fn condition(i: &DirectoryIntegration, type_: &str) -> Option<(String, String, String)> {
    find_condition(&i.status.as_ref()?.conditions, type_)
}

/// The Ready condition's (status, reason, message) of a user, if any.
pub fn ready(u: &LastPassUser) -> Option<(String, String, String)> {
    find_condition(&u.status.as_ref()?.conditions, "Ready")
}

/// The Synced condition's (status, reason, message) of a user, if any.
pub fn synced(u: &LastPassUser) -> Option<(String, String, String)> {
    find_condition(&u.status.as_ref()?.conditions, "Synced")
}

/// Waits until user `name` satisfies `pred`, returning it; panics with the last state after
/// `secs` seconds.
pub async fn wait_user(
    ns: &TestNamespace,
    name: &str,
    secs: u64,
    pred: impl Fn(&LastPassUser) -> bool,
) -> LastPassUser {
    let api = ns.api::<LastPassUser>();
    let found = wait_for(Duration::from_secs(secs), || async {
        let u = api.get_opt(name).await.ok()??;
        pred(&u).then_some(u)
    })
    .await;
    match found {
        Some(u) => u,
        None => panic!(
            "user {name} never reached the expected state: {:?}",
            api.get_opt(name).await
        ),
    }
}

/// Waits (up to 30 s) until user `name` is Invited and Ready, returning it.
pub async fn wait_invited(ns: &TestNamespace, name: &str) -> LastPassUser {
    wait_user(ns, name, 30, |u| is(u, UserPhase::Invited, "True")).await
}

/// Creates LastPassUser `name` for `username` of `acme` (`spec` merged into its spec) and
/// waits until the operator has invited it.
pub async fn invite(
    ns: &TestNamespace,
    name: &str,
    username: &str,
    spec: serde_json::Value,
) -> LastPassUser {
    create_user(ns, &user(name, username, spec)).await;
    wait_invited(ns, name).await
}

/// Waits until integration `acme` satisfies `pred`, returning it; panics with `what` and its
/// last status after `secs` seconds.
pub async fn wait_integration(
    ns: &TestNamespace,
    secs: u64,
    what: &str,
    pred: impl Fn(&DirectoryIntegration) -> bool,
) -> DirectoryIntegration {
    let api = ns.api::<DirectoryIntegration>();
    let found = wait_for(Duration::from_secs(secs), || async {
        let i = api.get_opt(INTEGRATION).await.ok()??;
        pred(&i).then_some(i)
    })
    .await;
    match found {
        Some(i) => i,
        None => panic!(
            "{what}: never reached; last status {:?}",
            api.get_opt(INTEGRATION).await.map(|i| i.map(|i| i.status))
        ),
    }
}

/// Waits until condition `type_` of integration `acme` has `status`.
pub async fn wait_condition(ns: &TestNamespace, type_: &str, status: &str) -> DirectoryIntegration {
    let what = format!("{type_}={status}");
    wait_integration(ns, 30, &what, |i| {
        condition(i, type_).is_some_and(|c| c.0 == status)
    })
    .await
}

/// The Events (events.k8s.io) of the namespace.
pub async fn events(ns: &TestNamespace) -> Vec<Event> {
    ns.api::<Event>()
        .list(&ListParams::default())
        .await
        .expect("list Events")
        .items
}

/// Notes of the Events with `reason`, only those regarding object `name` when given.
pub async fn event_notes(ns: &TestNamespace, reason: &str, name: Option<&str>) -> Vec<String> {
    events(ns)
        .await
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .filter(|e| name.is_none() || e.regarding.as_ref().and_then(|r| r.name.as_deref()) == name)
        .filter_map(|e| e.note)
        .collect()
}

/// Whether the user's phase is `phase` and Ready is `ready`.
pub fn is(u: &LastPassUser, phase: UserPhase, ready_status: &str) -> bool {
    u.status.as_ref().and_then(|s| s.phase) == Some(phase)
        && ready(u).is_some_and(|(s, _, _)| s == ready_status)
}

/// Annotates the integration to ask for an immediate resync.
pub async fn resync(ns: &TestNamespace, value: &str) {
    annotate(ns, "lastpass-operator.io/resync", value).await;
}

/// Sets an annotation on integration `acme`.
pub async fn annotate(ns: &TestNamespace, key: &str, value: &str) {
    let patch = json!({"metadata": {"annotations": BTreeMap::from([(key, value)])}});
    ns.api::<DirectoryIntegration>()
        .patch("acme", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotate integration");
}
