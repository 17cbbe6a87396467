//! `bench --cluster`: the real controllers (in this process) against the API server of
//! `KUBECONFIG`, with the simulator as LastPass, through every phase: the initial load (N
//! users and G groups created at once → all Ready), a steady resync and console drift (each
//! asked for with the resync annotation), churn through the API server, and deprovisioning
//! ([`super::cluster_deprovision`]). Each phase is reported with the operator's API writes and
//! its bound ([`super::cluster_bound`]), with the API server's write rate measured first.

use std::path::PathBuf;
use std::time::Duration;

use futures::{StreamExt, stream};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Client, Resource, ResourceExt};
use secrecy::SecretString;
use serde_json::json;

use crate::controller::{Options as ControllerOptions, Settings};
use crate::crd::LastPassUser;
use crate::engine::account::client_config;
use crate::simulator::{Knobs, RunningSimulator, SimState};

use super::BenchError;
use super::cluster_bound::{measure_write_rate, min_calls};
use super::cluster_deprovision::Cluster;
use super::cluster_phases::{
    BENCH_CONCURRENCY, Ending, all_ready, churn, churn_applied, drift, finish, mark, quiet,
    resync_and_wait,
};
use super::inprocess::Options;
use super::measure::{Limits, cpu_seconds, peak_rss_mib};
use super::meter::{Metered, StatusMeter};
use super::report::BenchReport;
use super::world::{IntegrationSettings, Resources, integration};

const CID: &str = "27182818";
const PROVHASH: &str = "bench-cluster-provhash-not-a-secret";
/// Concurrent creates while loading the resources.
const CREATE_CONCURRENCY: usize = BENCH_CONCURRENCY;

/// What `status_writes` counts in this mode.
pub const STATUS_WRITES_COUNTED: &str = "PATCH requests to a /status subresource made by the \
    controllers' Kubernetes client (counted by a tower layer, as are all its writes in api); \
    status_write_s is the time with at least one in flight";

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

    // The API server's write rate, before the controllers run so nothing competes with it, in
    // a namespace of its own that the controllers do not watch.
    let rate_ns = prepare(&plain, "lastpass-bench-rate").await?;
    let rate_n = (opts.shape.users / 5).clamp(500, 2000);
    let rate = measure_write_rate(&plain, &rate_ns, rate_n, BENCH_CONCURRENCY).await?;
    eprintln!(
        "bench --cluster: API server write rate {:.0}/s ({} writes in {:.1} s)",
        rate.per_second(),
        rate.writes,
        rate.seconds
    );
    let debounce_s = crate::crd::parse_duration("spec.sync.debounce", &lpdi.spec.sync.debounce)
        .map(|d| d.as_secs_f64())
        .unwrap_or(5.0);

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

    let c = Cluster {
        client: &plain,
        namespace: &ns,
        integration: &lpdi.name_any(),
        users: &users,
        sim: &sim,
        meter: &meter,
        limits: &limits,
    };
    let shape = opts.shape;
    let min = min_calls(&shape, &limits);
    let n = shape.users;
    let p = shape.one_percent();
    let ending = |name, wall_s, bench_writes, users_changed, users| Ending {
        name,
        wall_s,
        min_calls: min[name],
        bench_writes,
        users_changed,
        users,
        rate: &rate,
        debounce_s,
    };
    let mut phases = Vec::new();

    // Phase initial: everything created at once → all Ready.
    let mut world = Resources::generate(&shape);
    let m = mark(&c);
    create_all(&plain, &ns, &world).await?;
    let created_s = m.started.elapsed().as_secs_f64();
    let wall_s = (all_ready(&c, "initial", n).await? - m.started).as_secs_f64();
    eprintln!(
        "bench --cluster: {n} users created in {created_s:.1} s, all Ready after {wall_s:.1} s"
    );
    // The report counts the operator's writes until it is quiet (group and integration
    // statuses may follow the last user's).
    quiet(&c).await;
    phases.push(finish(
        &c,
        &m,
        &ending("initial", wall_s, n + shape.groups, n, n),
    ));

    // Phase resync: a resync asked for with nothing changed.
    let m = mark(&c);
    let wall_s = resync_and_wait(&c, &m).await?;
    phases.push(finish(&c, &m, &ending("resync", wall_s, 1, 0, n)));

    // Phase drift: console edits of 1 % of the users, corrected at the next sync.
    let m = mark(&c);
    let wall_s = drift(&c, &shape, &m).await?;
    phases.push(finish(&c, &m, &ending("drift", wall_s, 1, p, n)));

    // Phase churn: 1 % new, 1 % renamed, 1 % moved, through the API server.
    let m = mark(&c);
    let writes = churn(&c, &mut world, &shape).await?;
    let wall_s = (all_ready(&c, "churn", n + p).await? - m.started).as_secs_f64();
    quiet(&c).await;
    churn_applied(&c, &world)?;
    phases.push(finish(
        &c,
        &m,
        &ending("churn", wall_s, writes, writes, n + p),
    ));

    // Phase deprovision: 1 % of the users deleted at once, each revocation measured.
    let m = mark(&c);
    let (wall_s, revocation) = super::cluster_deprovision::deprovision(&c, p).await?;
    quiet(&c).await;
    let mut deprovision = finish(&c, &m, &ending("deprovision", wall_s, p, p, n));
    deprovision.revocation = Some(revocation);
    eprintln!("bench --cluster: {p} users deprovisioned in {wall_s:.1} s");
    phases.push(deprovision);

    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), controllers).await;
    watch.abort();

    let baseline_calls = shape.users + shape.users * shape.memberships_per_user.min(shape.groups);
    Ok(BenchReport {
        mode: "cluster".into(),
        users: shape.users,
        groups: shape.groups,
        memberships_per_user: shape.memberships_per_user,
        latency_ms: opts.latency_ms,
        max_batch: limits.batch,
        rps: client_cfg.rate_limit.requests_per_second.get(),
        burst: client_cfg.rate_limit.burst.get(),
        page_size: limits.page_size,
        peak_rss_mib: peak_rss_mib().unwrap_or_default(),
        cpu_s: cpu_seconds().unwrap_or_default() - cpu_start,
        baseline_calls,
        baseline_ratio: baseline_calls as f64 / phases[0].total_calls.max(1) as f64,
        status_writes_counted: STATUS_WRITES_COUNTED.into(),
        api_write_rate: Some(rate.per_second()),
        phases,
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
