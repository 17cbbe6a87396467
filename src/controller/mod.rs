//! Controllers: thin reconcilers for the three kinds, and one account task per
//! DirectoryIntegration that runs the engine and writes statuses, Events and finalizers.
//!
//! Finalizers are released by the account task, not by kube's `finalizer` helper: the engine
//! deprovisions in batches per account, so a user's cleanup ends when LastPass reports its goal
//! met (disabled or gone), which may be several syncs later (for example when the deletion
//! budget holds it back until a plan is approved).

pub mod account_sync;
pub mod accounts;
pub mod adopt;
pub mod context;
pub mod error;
pub mod events;
pub mod group;
pub mod integration;
pub mod status;
pub mod user;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::{StreamExt, future};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{Controller, WatchStreamExt, reflector, watcher};
use kube::{Client, ResourceExt};
use tracing::info;

use crate::crd::{DirectoryIntegration, LastPassGroup, LastPassUser};

pub use context::{Context, Ctx, Settings};
pub use error::Error;

/// What the controllers watch and how.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Only this namespace (all namespaces when `None`).
    pub namespace: Option<String>,
    /// Reporter instance of Events (the pod name).
    pub instance: Option<String>,
    /// Timing settings.
    pub settings: Settings,
    /// Set to true once every cache has been listed (for `/readyz`).
    pub ready: Option<tokio::sync::watch::Sender<bool>>,
}

fn api<K>(client: &Client, namespace: &Option<String>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Runs the controllers until `shutdown` completes.
pub async fn run(
    client: Client,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let wc = watcher::Config::default();
    let users = Controller::new(api::<LastPassUser>(&client, &options.namespace), wc.clone());
    let groups = Controller::new(
        api::<LastPassGroup>(&client, &options.namespace),
        wc.clone(),
    );
    let integrations = Controller::new(
        api::<DirectoryIntegration>(&client, &options.namespace),
        wc.clone(),
    );
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
        recorder: Recorder::new(client.clone(), reporter),
        users: users.store(),
        groups: groups.store(),
        integrations: integrations.store(),
        namespaces,
        accounts: Default::default(),
        settings: options.settings.clone(),
        seen: Mutex::new(HashMap::new()),
    });

    // A changed Secret wakes the integrations that read it (fixing credentials recovers).
    let secrets = api::<PartialObjectMeta<Secret>>(&client, &options.namespace);
    let secret_ctx = ctx.clone();
    let secret_watch = watcher(secrets, wc.clone())
        .default_backoff()
        .applied_objects()
        .for_each(move |s| {
            if let Ok(secret) = s {
                let ns = secret.namespace().unwrap_or_default();
                for i in secret_ctx.integrations.state() {
                    if i.namespace().as_deref() == Some(ns.as_str())
                        && i.spec.lastpass.credentials_secret_ref.name == secret.name_any()
                    {
                        secret_ctx
                            .accounts
                            .wake(&secret_ctx, account_sync::key_of(&i));
                    }
                }
            }
            future::ready(())
        });

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let users = users
        .graceful_shutdown_on(stopped())
        .run(user::reconcile, user::error_policy, ctx.clone())
        .for_each(|_| future::ready(()));
    let groups = groups
        .graceful_shutdown_on(stopped())
        .run(group::reconcile, user::error_policy, ctx.clone())
        .for_each(|_| future::ready(()));
    let integrations = integrations
        .graceful_shutdown_on(stopped())
        .run(integration::reconcile, user::error_policy, ctx.clone())
        .for_each(|_| future::ready(()));
    info!("controllers started");
    if let Some(ready) = options.ready.clone() {
        let c = ctx.clone();
        tokio::spawn(async move {
            let _ = c.users.wait_until_ready().await;
            let _ = c.groups.wait_until_ready().await;
            let _ = c.integrations.wait_until_ready().await;
            let _ = c.namespaces.wait_until_ready().await;
            let _ = ready.send(true);
        });
    }
    let background = async {
        tokio::select! {
            () = ns_reflector => {}
            () = secret_watch => {}
        }
    };
    tokio::select! {
        _ = future::join3(users, groups, integrations) => {}
        () = background => {}
        () = async { shutdown.await; let _ = stop_tx.send(true); future::pending::<()>().await } => {}
    }
    ctx.accounts.stop_all();
    info!("controllers stopped");
}
