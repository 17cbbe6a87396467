//! The watches behind the SCIM server's stores: every replica (leader or not) follows the API
//! server's watch of LastPassUsers, LastPassGroups, DirectoryIntegrations and the token Secrets (by label) in
//! the watched namespaces into one [`Cache`] per kind, until the [`Stores`] are dropped.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ObjectMeta};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};

use super::cache::{Cache, Indexed};
use crate::crd::{DirectoryIntegration, LastPassGroup, LastPassUser};

/// Label of the token Secrets the SCIM server follows.
pub const TOKEN_SECRET_LABEL: &str = "lastpass-operator.io/scim-token";

/// Which namespaces the stores follow.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Namespaces of integrations, users and groups; every namespace when empty.
    pub namespaces: Vec<String>,
    /// Namespaces of token Secrets; `namespaces` when empty.
    pub secret_namespaces: Vec<String>,
}

/// The SCIM server's stores, each following its watch until dropped.
pub struct Stores {
    /// SCIM users, and users of other sources (for the uniqueness check).
    pub users: Arc<Cache<LastPassUser>>,
    /// LastPassGroups (SCIM groups by id, and every group's name for the uniqueness check).
    pub groups: Arc<Cache<LastPassGroup>>,
    /// DirectoryIntegrations (is SCIM on?).
    pub integrations: Arc<Cache<DirectoryIntegration>>,
    /// Token Secrets (label [`TOKEN_SECRET_LABEL`]).
    pub secrets: Arc<Cache<Secret>>,
    tasks: Vec<tokio::task::AbortHandle>,
}

impl Stores {
    /// Starts following the watches of `scope` (needs a tokio runtime).
    pub fn start(client: &Client, scope: &Scope) -> Self {
        let namespaces = scope.namespaces.clone();
        let secret_namespaces = if scope.secret_namespaces.is_empty() {
            namespaces.clone()
        } else {
            scope.secret_namespaces.clone()
        };
        let mut tasks = Vec::new();
        let users = spawn(client, &namespaces, watcher::Config::default(), &mut tasks);
        let groups = spawn(client, &namespaces, watcher::Config::default(), &mut tasks);
        let integrations = spawn(client, &namespaces, watcher::Config::default(), &mut tasks);
        let secrets = spawn(
            client,
            &secret_namespaces,
            watcher::Config::default().labels(&format!("{TOKEN_SECRET_LABEL}=true")),
            &mut tasks,
        );
        Self {
            users,
            groups,
            integrations,
            secrets,
            tasks,
        }
    }

    /// Waits, at most `bound`, until every store has listed once.
    pub async fn ready(&self, bound: Duration) -> bool {
        self.users.ready(bound).await
            && self.groups.ready(bound).await
            && self.integrations.ready(bound).await
            && self.secrets.ready(bound).await
    }

    /// Records a write of this replica (`kind` is the resource kind).
    pub fn wrote(&self, kind: &str, meta: &ObjectMeta) {
        if kind == LastPassUser::kind(&()) {
            self.users.wrote(meta);
        } else if kind == LastPassGroup::kind(&()) {
            self.groups.wrote(meta);
        }
    }

    /// Records a deletion by this replica (`kept`: the object a finalizer keeps).
    pub fn deleted(&self, kind: &str, meta: &ObjectMeta, kept: Option<&ObjectMeta>) {
        if kind == LastPassUser::kind(&()) {
            self.users.deleted(meta, kept);
        } else if kind == LastPassGroup::kind(&()) {
            self.groups.deleted(meta, kept);
        }
    }
}

impl Drop for Stores {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn spawn<K: Indexed>(
    client: &Client,
    namespaces: &[String],
    config: watcher::Config,
    tasks: &mut Vec<tokio::task::AbortHandle>,
) -> Arc<Cache<K>> {
    let scopes: Vec<String> = if namespaces.is_empty() {
        vec![String::new()]
    } else {
        namespaces.to_vec()
    };
    let cache = Arc::new(Cache::new(scopes.len()));
    for scope in scopes {
        let api = if scope.is_empty() {
            Api::<K>::all(client.clone())
        } else {
            Api::<K>::namespaced(client.clone(), &scope)
        };
        let task = tokio::spawn(follow(cache.clone(), api, scope, config.clone()));
        tasks.push(task.abort_handle());
    }
    cache
}

/// Follows `api`'s watch (scope: the namespace it covers, "" for all) into `cache`.
async fn follow<K: Indexed>(
    cache: Arc<Cache<K>>,
    api: Api<K>,
    scope: String,
    config: watcher::Config,
) {
    let stream = watcher(api, config).default_backoff();
    futures::pin_mut!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Ok(event) => {
                let lag = cache.lag();
                if !lag.is_zero() {
                    tokio::time::sleep(lag).await;
                }
                cache.apply(&scope, event);
            }
            Err(e) => {
                tracing::warn!(kind = %K::kind(&()), namespace = %scope, error = %e, "SCIM store watch failed; retrying");
            }
        }
    }
}
