//! `bench --cluster`: the real controllers (in this process) against the API server of
//! `KUBECONFIG`, with the simulator as LastPass. Measures the initial load (N users and G
//! groups created at once → all Ready) and a steady resync (asked for with the resync
//! annotation), including status writes and the share of time spent in them.
//!
//! Then 1 % of the users are deleted (phase `deprovision`, [`super::cluster_deprovision`]).
//! The drift and churn phases run in-process only.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Client, Resource, ResourceExt};
use secrecy::SecretString;
use serde_json::json;

use crate::controller::{Options as ControllerOptions, Settings};
use crate::crd::{LastPassUser, RESYNC_ANNOTATION};
use crate::engine::account::client_config;
use crate::simulator::{Knobs, RunningSimulator, SimState};
use crate::status::types;

use super::BenchError;
use super::inprocess::Options;
use super::measure::{
    Limits, calls_by_command, cpu_seconds, lower_bound_s, peak_rss_mib, read_pages,
};
use super::meter::{Metered, StatusMeter};
use super::report::{BenchReport, PhaseReport, StatusWrites};
use super::world::{IntegrationSettings, Resources, integration};

const CID: &str = "27182818";
const PROVHASH: &str = "bench-cluster-provhash-not-a-secret";
/// Concurrent creates while loading the resources.
const CREATE_CONCURRENCY: usize = 32;
/// How long the initial load may take before the run fails.
const READY_DEADLINE: Duration = Duration::from_secs(600);
/// Quiet period (no LastPass call, no status write) that ends the resync phase.
const QUIET: Duration = Duration::from_secs(3);

/// What `status_writes` counts in this mode.
pub const STATUS_WRITES_COUNTED: &str = "PATCH requests to a /status subresource made by the \
    controllers' Kubernetes client (counted by a tower layer); status_write_s is the time with \
    at least one in flight";

fn cluster_err(step: &str) -> impl FnOnce(kube::Error) -> BenchError + '_ {
    move |e| BenchError::Cluster {
        step: step.to_string(),
        reason: e.to_string(),
    }
}

/// A client configuration from the kubeconfig file of `--kubeconfig`.
pub(super) async fn load_kubeconfig(path: &std::path::Path) -> Result<kube::Config, BenchError> {
    let raw = kube::config::Kubeconfig::read_from(path)
        .map_err(|e| other_err("reading the kubeconfig", e))?;
    kube::Config::from_custom_kubeconfig(raw, &Default::default())
        .await
        .map_err(|e| other_err("loading the kubeconfig", e))
}

/// Installs the CRDs and creates a fresh namespace `<prefix>-<unix seconds>` for one run (left
/// in place: the envtest server never finishes deleting a namespace).
pub(super) async fn prepare(client: &Client, prefix: &str) -> Result<String, BenchError> {
    crate::cmd::demo_cluster::install_crds(client)
        .await
        .map_err(|e| other_err("installing the CRDs", e))?;
    let ns = format!("{prefix}-{}", jiff::Timestamp::now().as_second());
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}}))
        .map_err(BenchError::Integration)?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .map_err(cluster_err("creating the namespace"))?;
    Ok(ns)
}

pub(super) fn other_err(step: &str, e: impl std::fmt::Display) -> BenchError {
    BenchError::Cluster {
        step: step.to_string(),
        reason: e.to_string(),
    }
}

/// Runs the cluster benchmark against the API server of `kubeconfig`.
pub async fn run(opts: &Options, kubeconfig: PathBuf) -> Result<BenchReport, BenchError> {
    crate::install_crypto_provider();
    let cpu_start = cpu_seconds().unwrap_or_default();
    let config = load_kubeconfig(&kubeconfig).await?;
    let plain = Client::try_from(config.clone()).map_err(cluster_err("building a client"))?;
    let meter = StatusMeter::default();
    let m = meter.clone();
    let metered = kube::client::ClientBuilder::try_from(config)
        .map_err(cluster_err("building the controllers' client"))?
        .with_layer(&tower::layer::layer_fn(move |svc| {
            Metered::new(svc, m.clone())
        }))
        .build();

    let ns = prepare(&plain, "lastpass-bench").await?;

    let state = SimState::builder(CID, SecretString::from(PROVHASH))
        .knobs(Knobs::default().latency(opts.latency_ms, 0))
        .build();
    let sim = RunningSimulator::start(state)
        .await
        .map_err(BenchError::Simulator)?;
    let settings = IntegrationSettings {
        endpoint: sim.url.clone(),
        batch_size: opts.max_batch,
        requests_per_second: opts.rps,
        max_per_sync: opts.shape.one_percent().max(10),
    };
    let mut lpdi = integration(&settings).map_err(BenchError::Integration)?;
    lpdi.metadata.namespace = Some(ns.clone());
    lpdi.metadata.generation = None;
    let client_cfg = client_config(&lpdi, CID, SecretString::from(PROVHASH));
    let limits = Limits::of(&client_cfg, opts.latency_ms);
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "bench-api", "namespace": ns},
        "stringData": {"cid": CID, "provhash": PROVHASH},
    }))
    .map_err(BenchError::Integration)?;
    Api::<Secret>::namespaced(plain.clone(), &ns)
        .create(&PostParams::default(), &secret)
        .await
        .map_err(cluster_err("creating the credentials Secret"))?;
    Api::namespaced(plain.clone(), &ns)
        .create(&PostParams::default(), &lpdi)
        .await
        .map_err(cluster_err("creating the DirectoryIntegration"))?;

    // What the bench watches: every LastPassUser of the namespace, to see them Ready.
    let users_api: Api<LastPassUser> = Api::namespaced(plain.clone(), &ns);
    let (users, writer) = reflector::store::<LastPassUser>();
    let watch = reflector(
        writer,
        watcher(users_api.clone(), watcher::Config::default()),
    )
    .applied_objects()
    .for_each(|_| async {});
    let watch = tokio::spawn(watch);

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controllers = tokio::spawn(crate::controller::run(
        metered,
        ControllerOptions {
            namespaces: vec![ns.clone()],
            secret_namespaces: Vec::new(),
            instance: Some("bench".into()),
            settings: Settings::default(),
            ready: None,
        },
        async {
            let _ = stopped.await;
        },
    ));

    // Phase initial: everything created at once → all Ready.
    let world = Resources::generate(&opts.shape);
    let n = opts.shape.users;
    let started = Instant::now();
    let cpu0 = cpu_seconds().unwrap_or_default();
    create_all(&plain, &ns, &world).await?;
    let created_s = started.elapsed().as_secs_f64();
    let ready_at = loop {
        let ready = users.state().iter().filter(|u| is_ready(u)).count();
        if ready == n {
            break Instant::now();
        }
        if started.elapsed() > READY_DEADLINE {
            return Err(BenchError::NotReady {
                phase: "initial".into(),
                ready,
                total: n,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let wall_s = (ready_at - started).as_secs_f64();
    let reading = meter.read();
    let log = sim.state.calls();
    let min_calls = read_pages(0, limits.page_size) + n.div_ceil(limits.batch);
    let initial = phase(
        "initial",
        wall_s,
        &log,
        min_calls,
        reading.by_kind,
        reading.busy,
        n,
        &limits,
        cpu_seconds().unwrap_or_default() - cpu0,
    );
    eprintln!(
        "bench --cluster: {n} users created in {created_s:.1} s, all Ready after {wall_s:.1} s"
    );

    // Phase resync: wait for quiet, then ask for a resync and wait for quiet again.
    quiet(&sim, &meter).await;
    let log_start = sim.state.calls().len();
    let before = meter.read();
    let cpu0 = cpu_seconds().unwrap_or_default();
    let started = Instant::now();
    Api::<crate::crd::DirectoryIntegration>::namespaced(plain.clone(), &ns)
        .patch(
            &lpdi.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                RESYNC_ANNOTATION: jiff::Timestamp::now().to_string()
            }}})),
        )
        .await
        .map_err(cluster_err("annotating the integration for a resync"))?;
    let last = quiet_after(&sim, &meter, log_start).await;
    let log = sim.state.calls();
    let after = meter.read();
    let resync = phase(
        "resync",
        last.map_or(0.0, |t| (t - started).as_secs_f64()),
        &log[log_start..],
        read_pages(n, limits.page_size),
        StatusWrites {
            users: after.by_kind.users - before.by_kind.users,
            groups: after.by_kind.groups - before.by_kind.groups,
            integration: after.by_kind.integration - before.by_kind.integration,
        },
        after.busy.saturating_sub(before.busy),
        n,
        &limits,
        cpu_seconds().unwrap_or_default() - cpu0,
    );

    let mut resync = resync;
    resync.ready_users = users.state().iter().filter(|u| is_ready(u)).count();

    // Phase deprovision: 1 % of the users deleted at once, each revocation measured.
    quiet(&sim, &meter).await;
    let deprovision = super::cluster_deprovision::deprovision(
        &super::cluster_deprovision::Cluster {
            client: &plain,
            namespace: &ns,
            integration: &lpdi.name_any(),
            users: &users,
            sim: &sim,
            meter: &meter,
            limits: &limits,
        },
        opts.shape.one_percent(),
    )
    .await?;
    eprintln!(
        "bench --cluster: {} users deprovisioned in {:.1} s",
        deprovision.changes, deprovision.wall_s
    );
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), controllers).await;
    watch.abort();

    let s = opts.shape;
    let baseline_calls = s.users + s.users * s.memberships_per_user.min(s.groups);
    Ok(BenchReport {
        mode: "cluster".into(),
        users: s.users,
        groups: s.groups,
        memberships_per_user: s.memberships_per_user,
        latency_ms: opts.latency_ms,
        max_batch: limits.batch,
        rps: client_cfg.rate_limit.requests_per_second.get(),
        burst: client_cfg.rate_limit.burst.get(),
        page_size: limits.page_size,
        peak_rss_mib: peak_rss_mib().unwrap_or_default(),
        cpu_s: cpu_seconds().unwrap_or_default() - cpu_start,
        baseline_calls,
        baseline_ratio: baseline_calls as f64 / initial.total_calls.max(1) as f64,
        status_writes_counted: STATUS_WRITES_COUNTED.into(),
        phases: vec![initial, resync, deprovision],
    })
}

/// Creates the groups and users, `CREATE_CONCURRENCY` at a time.
async fn create_all(client: &Client, ns: &str, world: &Resources) -> Result<(), BenchError> {
    let groups: Api<crate::crd::LastPassGroup> = Api::namespaced(client.clone(), ns);
    let users: Api<LastPassUser> = Api::namespaced(client.clone(), ns);
    let pp = PostParams::default();
    let fresh = |meta: &mut kube::api::ObjectMeta| {
        meta.namespace = Some(ns.to_string());
        meta.uid = None;
        meta.generation = None;
    };
    let group_creates = world.groups.values().cloned().map(|mut g| {
        fresh(g.meta_mut());
        let (api, pp) = (groups.clone(), pp.clone());
        async move { api.create(&pp, &g).await.map(|_| ()) }
    });
    let user_creates = world.users.values().cloned().map(|mut u| {
        fresh(u.meta_mut());
        let (api, pp) = (users.clone(), pp.clone());
        async move { api.create(&pp, &u).await.map(|_| ()) }
    });
    let results: Vec<Result<(), kube::Error>> = stream::iter(
        group_creates
            .map(futures::future::Either::Left)
            .chain(user_creates.map(futures::future::Either::Right)),
    )
    .buffer_unordered(CREATE_CONCURRENCY)
    .collect()
    .await;
    results
        .into_iter()
        .collect::<Result<Vec<()>, _>>()
        .map_err(cluster_err("creating the resources"))?;
    Ok(())
}

fn is_ready(u: &LastPassUser) -> bool {
    u.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == types::READY && c.status == "True")
    })
}

/// Waits until neither a LastPass call nor a status write happened for [`QUIET`].
async fn quiet(sim: &RunningSimulator, meter: &StatusMeter) {
    let _ = quiet_after(sim, meter, usize::MAX).await;
}

/// Waits for [`QUIET`] after the last activity (a LastPass call from `log_start` on, or a
/// status write); returns when the last activity ended (`None`: none at all).
async fn quiet_after(
    sim: &RunningSimulator,
    meter: &StatusMeter,
    log_start: usize,
) -> Option<Instant> {
    let begun = Instant::now();
    let mut seen_calls = sim.state.calls().len();
    let mut seen_writes = meter.read().writes;
    let mut last_activity: Option<Instant> = None;
    let mut quiet_since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let calls = sim.state.calls().len();
        let r = meter.read();
        if calls != seen_calls || r.writes != seen_writes || r.in_flight > 0 {
            seen_calls = calls;
            seen_writes = r.writes;
            quiet_since = Instant::now();
            if calls > log_start || r.writes > 0 {
                last_activity = Some(Instant::now());
            }
        }
        let waited_for_first = log_start != usize::MAX && seen_calls <= log_start;
        if !waited_for_first && quiet_since.elapsed() >= QUIET {
            return last_activity;
        }
        if begun.elapsed() > READY_DEADLINE {
            return last_activity;
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn phase(
    name: &str,
    wall_s: f64,
    log: &[crate::simulator::CallRecord],
    min_calls: usize,
    status_writes: StatusWrites,
    status_busy: Duration,
    users: usize,
    limits: &Limits,
    cpu_s: f64,
) -> PhaseReport {
    let calls = calls_by_command(log);
    let total_calls: usize = calls.values().sum();
    let reads = calls.get("getuserdata").copied().unwrap_or(0);
    let status_write_s = status_busy.as_secs_f64();
    PhaseReport {
        name: name.into(),
        wall_s,
        total_calls,
        write_calls: total_calls - reads,
        calls,
        calls_per_user: total_calls as f64 / users.max(1) as f64,
        min_calls,
        min_calls_all_batched: min_calls,
        status_writes: status_writes.total(),
        status_writes_by_kind: status_writes,
        lower_bound_s: lower_bound_s(min_calls, limits),
        changes: 0,
        syncs: 0,
        users,
        ready_users: users,
        cpu_s,
        repeat: None,
        status_write_s: Some(status_write_s),
        status_write_share: Some(if wall_s > 0.0 {
            status_write_s / wall_s
        } else {
            0.0
        }),
        revocation: None,
    }
}
