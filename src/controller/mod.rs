//! Controllers: thin reconcilers for the three kinds, and one account task per
//! DirectoryIntegration that runs the engine and writes statuses, Events and finalizers.
//!
//! Finalizers are released by the account task, not by kube's `finalizer` helper: the engine
//! deprovisions in batches per account, so a user's cleanup ends when LastPass reports its goal
//! met (disabled or gone), which may be several syncs later (for example when the deletion
//! budget holds it back until a plan is approved).

pub mod account_client;
pub mod account_tasks;
pub mod adopt;
pub mod bulk;
pub mod cluster_sync;
pub mod context;
pub mod debounce;
pub mod error;
pub mod events;
pub mod group;
pub mod integration;
pub mod invalid_spec;
pub mod reconciler;
pub mod revocation;
pub mod secrets;
pub mod status;
pub mod status_writes;
pub mod stores;
pub mod sync_metrics;
pub mod user;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, future};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{Controller, WatchStreamExt, reflector, watcher};
use kube::{Client, ResourceExt};
use tracing::{info, warn};

use crate::crd::{DirectoryIntegration, LastPassGroup, LastPassUser};

pub use context::{Context, Settings};
pub use error::Error;
pub use reconciler::Reconciler;
pub use stores::Stores;

/// What the controllers watch and how.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Only these namespaces (all namespaces when empty): one watch per namespace per kind.
    pub namespaces: Vec<String>,
    /// Watch Secrets (credentials) in these namespaces only, one watch each: where the RBAC
    /// grants Secrets (the chart's `rbac.secrets.namespaces`). Empty: as `namespaces`.
    pub secret_namespaces: Vec<String>,
    /// Reporter instance of Events (the pod name).
    pub instance: Option<String>,
    /// Timing settings.
    pub settings: Settings,
    /// Set to true once every cache has been listed (for `/readyz`).
    pub ready: Option<tokio::sync::watch::Sender<bool>>,
}

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// The watched scopes: each namespace of `options`, or `None` for all namespaces.
fn scopes(options: &Options) -> Vec<Option<&str>> {
    if options.namespaces.is_empty() {
        vec![None]
    } else {
        options
            .namespaces
            .iter()
            .map(|n| Some(n.as_str()))
            .collect()
    }
}

/// The Secret watch scopes: each of `secret_namespaces`, else the watched scopes.
fn secret_scopes(options: &Options) -> Vec<Option<&str>> {
    if options.secret_namespaces.is_empty() {
        scopes(options)
    } else {
        options
            .secret_namespaces
            .iter()
            .map(|n| Some(n.as_str()))
            .collect()
    }
}

/// Runs the controllers until `shutdown` completes, then lets running account syncs finish
/// (at most `settings.shutdown_grace`).
pub async fn run(
    client: Client,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let wc = watcher::Config::default();
    let scopes = scopes(&options);
    let users: Vec<_> = scopes
        .iter()
        .map(|ns| Controller::new(api::<LastPassUser>(&client, *ns), wc.clone()))
        .collect();
    let groups: Vec<_> = scopes
        .iter()
        .map(|ns| Controller::new(api::<LastPassGroup>(&client, *ns), wc.clone()))
        .collect();
    let integrations: Vec<_> = scopes
        .iter()
        .map(|ns| Controller::new(api::<DirectoryIntegration>(&client, *ns), wc.clone()))
        .collect();
    let (namespaces, ns_writer) = reflector::store::<Namespace>();
    let ns_reflector = reflector(
        ns_writer,
        watcher(Api::<Namespace>::all(client.clone()), wc.clone()),
    )
    .default_backoff()
    .applied_objects()
    .for_each(|_| future::ready(()));

    let reporter = Reporter {
        controller: "lastpass-operator".into(),
        instance: options.instance.clone(),
    };
    let ctx = Arc::new(Context {
        client: client.clone(),
        recorder: Recorder::new(client.clone(), reporter.clone()),
        reporter,
        users: Stores::new(users.iter().map(Controller::store).collect()),
        groups: Stores::new(groups.iter().map(Controller::store).collect()),
        integrations: Stores::new(integrations.iter().map(Controller::store).collect()),
        namespaces,
        settings: options.settings.clone(),
        seen: Mutex::new(HashMap::new()),
    });
    let reconciler = Arc::new(Reconciler {
        ctx: ctx.clone(),
        accounts: Default::default(),
    });

    // A changed Secret wakes the integrations that read it (fixing credentials recovers).
    let secret_scopes = secret_scopes(&options);
    info!(namespaces = ?options.secret_namespaces, "watching Secrets (no namespaces listed: as the resources)");
    let secret_watches = secret_scopes.iter().map(|ns| {
        let secret_ctx = reconciler.clone();
        watcher(api::<PartialObjectMeta<Secret>>(&client, *ns), wc.clone())
            .default_backoff()
            .applied_objects()
            .for_each(move |s| {
                // A refused watch (RBAC) is said, not swallowed: without it a fixed Secret is
                // noticed only at the next retry. `--secret-namespace` scopes it.
                if let Err(e) = &s {
                    warn!(error = %e, "Secret watch failed; changed credentials Secrets are noticed only at the next retry (see --secret-namespace)");
                }
                if let Ok(secret) = s {
                    let ns = secret.namespace().unwrap_or_default();
                    for i in secret_ctx.ctx.integrations.state() {
                        if i.namespace().as_deref() == Some(ns.as_str())
                            && i.spec.lastpass.credentials_secret_ref.name == secret.name_any()
                        {
                            secret_ctx.wake(cluster_sync::key_of(&i));
                        }
                    }
                }
                future::ready(())
            })
            .boxed()
    });
    let secret_watch = future::select_all(secret_watches);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let mut controllers: Vec<BoxFuture<'static, ()>> = Vec::new();
    for c in users {
        controllers.push(
            c.graceful_shutdown_on(stopped())
                .run(user::reconcile, user::error_policy, reconciler.clone())
                .for_each(|_| future::ready(()))
                .boxed(),
        );
    }
    for c in groups {
        controllers.push(
            c.graceful_shutdown_on(stopped())
                .run(group::reconcile, user::error_policy, reconciler.clone())
                .for_each(|_| future::ready(()))
                .boxed(),
        );
    }
    let delay = options.settings.integrations_watch_delay;
    for c in integrations {
        let run = c
            .graceful_shutdown_on(stopped())
            .run(
                integration::reconcile,
                user::error_policy,
                reconciler.clone(),
            )
            .for_each(|_| future::ready(()));
        // The watch starts when the stream is first polled: the test hook delays exactly that.
        controllers.push(tokio::time::sleep(delay).then(move |()| run).boxed());
    }
    info!(namespaces = ?options.namespaces, "controllers started (no namespaces listed: all)");
    if let Some(ready) = options.ready.clone() {
        let c = ctx.clone();
        tokio::spawn(async move {
            let _ = c.users.wait_until_ready().await;
            let _ = c.groups.wait_until_ready().await;
            let _ = c.integrations.wait_until_ready().await;
            let _ = stores::wait_ready(&c.namespaces).await;
            info!("caches synced");
            let _ = ready.send(true);
        });
    }
    let background = async {
        tokio::select! {
            () = ns_reflector => {}
            _ = secret_watch => {}
        }
    };
    tokio::select! {
        _ = future::join_all(controllers) => {}
        () = background => {}
        () = async { shutdown.await; let _ = stop_tx.send(true); future::pending::<()>().await } => {}
    }
    reconciler.accounts.drain(ctx.settings.shutdown_grace).await;
    info!("controllers stopped");
}
