//! `plan -f DIR --kubeconfig K`: the files laid over what the cluster holds now, so that the
//! plan shows what applying (and pruning) them would do to LastPass.
//!
//! - A Git-made resource (no source label, or `git`) in a namespace the files cover that the
//!   files no longer contain is what a GitOps prune deletes: it is planned as deleted (its
//!   deprovision, or its safeguard hold).
//! - A resource the files contain keeps what the cluster knows of it (uid, creation time,
//!   finalizers, status: the username and integration it is bound to), so a rename shows as
//!   what the operator would do with it (`UsernameChanged`, nothing sent to LastPass).
//! - Resources of other sources (SCIM, LDAP, adopted) stay as they are.
//! - The integration keeps its status (the safeguard's rolling window) and the approve and
//!   reject annotations set on it, so holds are judged as the operator would judge them.
//!
//! [`overlay`] is pure; [`read_cluster`] is the only I/O.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, ListParams};
use kube::{Client, Resource, ResourceExt};

use crate::crd::{
    APPROVE_PLAN_ANNOTATION, DirectoryIntegration, LastPassGroup, LastPassUser,
    REJECT_PLAN_ANNOTATION, SOURCE_LABEL,
};
use crate::source::files::Manifests;

/// What the cluster holds in the namespaces a plan covers.
#[derive(Debug, Clone, Default)]
pub struct ClusterView {
    /// LastPassUsers of those namespaces.
    pub users: Vec<LastPassUser>,
    /// LastPassGroups of those namespaces.
    pub groups: Vec<LastPassGroup>,
    /// DirectoryIntegrations of those namespaces.
    pub integrations: Vec<DirectoryIntegration>,
    /// Labels of those namespaces (for `allowedNamespaces.from: Selector`).
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
}

/// The resources to plan with: the files over the cluster.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    /// Users: the files' (with the cluster's bookkeeping), the cluster's other sources, and
    /// the Git-made ones the files dropped, marked deleted.
    pub users: Vec<LastPassUser>,
    /// Groups, the same way.
    pub groups: Vec<LastPassGroup>,
    /// The files' integrations, with the cluster's status.
    pub integrations: Vec<DirectoryIntegration>,
    /// `Kind namespace/name` of every resource the files dropped.
    pub removed: Vec<String>,
    /// Namespace labels, as read.
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
}

/// The namespaces the files cover: every namespace one of their resources is in.
pub fn covered_namespaces(manifests: &Manifests) -> BTreeSet<String> {
    let users = manifests.users.iter().filter_map(|u| u.namespace());
    let groups = manifests.groups.iter().filter_map(|g| g.namespace());
    let integrations = manifests.integrations.iter().filter_map(|i| i.namespace());
    users.chain(groups).chain(integrations).collect()
}

/// Whether a resource was made from Git: no source label, or `git`.
fn from_git(labels: &BTreeMap<String, String>) -> bool {
    labels
        .get(SOURCE_LABEL)
        .is_none_or(|source| source == "git")
}

type Key = (String, String);

fn key<K: Resource>(obj: &K) -> Key {
    (obj.namespace().unwrap_or_default(), obj.name_any())
}

/// Lays one kind of the files over the cluster's: see the module documentation.
fn lay<K, S>(
    files: &[K],
    cluster: &[K],
    kind: &str,
    status: impl Fn(&mut K) -> &mut Option<S>,
    now: &Time,
    removed: &mut Vec<String>,
) -> Vec<K>
where
    K: Resource + Clone,
    S: Clone,
{
    let in_cluster: BTreeMap<Key, &K> = cluster.iter().map(|o| (key(o), o)).collect();
    let in_files: BTreeSet<Key> = files.iter().map(key).collect();
    let mut out = Vec::new();
    for file in files {
        let mut obj = file.clone();
        if let Some(live) = in_cluster.get(&key(file)) {
            let meta = obj.meta_mut();
            let live_meta = live.meta();
            meta.uid.clone_from(&live_meta.uid);
            meta.creation_timestamp
                .clone_from(&live_meta.creation_timestamp);
            meta.finalizers.clone_from(&live_meta.finalizers);
            meta.deletion_timestamp
                .clone_from(&live_meta.deletion_timestamp);
            let mut live = (*live).clone();
            *status(&mut obj) = status(&mut live).clone();
        }
        out.push(obj);
    }
    for live in cluster {
        if in_files.contains(&key(live)) {
            continue;
        }
        let mut obj = live.clone();
        if from_git(live.labels()) && obj.meta().deletion_timestamp.is_none() {
            obj.meta_mut().deletion_timestamp = Some(now.clone());
            let (ns, name) = key(live);
            removed.push(format!("{kind} {ns}/{name}"));
        }
        out.push(obj);
    }
    out
}

/// The files over the cluster: see the module documentation.
pub fn overlay(manifests: &Manifests, cluster: &ClusterView, now: &Time) -> Overlay {
    let mut removed = Vec::new();
    let users = lay(
        &manifests.users,
        &cluster.users,
        "LastPassUser",
        |u: &mut LastPassUser| &mut u.status,
        now,
        &mut removed,
    );
    let groups = lay(
        &manifests.groups,
        &cluster.groups,
        "LastPassGroup",
        |g: &mut LastPassGroup| &mut g.status,
        now,
        &mut removed,
    );
    let live: BTreeMap<Key, &DirectoryIntegration> =
        cluster.integrations.iter().map(|i| (key(i), i)).collect();
    let integrations = manifests
        .integrations
        .iter()
        .map(|i| {
            let mut i = i.clone();
            if let Some(live) = live.get(&key(&i)) {
                i.status.clone_from(&live.status);
                i.metadata.uid.clone_from(&live.metadata.uid);
                // Decisions on held plans are made with kubectl, on the live object.
                for name in [APPROVE_PLAN_ANNOTATION, REJECT_PLAN_ANNOTATION] {
                    if let Some(v) = live.annotations().get(name) {
                        i.annotations_mut()
                            .entry(name.to_string())
                            .or_insert_with(|| v.clone());
                    }
                }
            }
            i
        })
        .collect();
    Overlay {
        users,
        groups,
        integrations,
        removed,
        namespace_labels: cluster.namespace_labels.clone(),
    }
}

/// Reads the operator's resources and the labels of `namespaces`. Needs `get`/`list` on the
/// three kinds and `get` on those Namespaces (a Namespace that cannot be read has no labels).
pub async fn read_cluster(
    client: &Client,
    namespaces: &BTreeSet<String>,
) -> Result<ClusterView, kube::Error> {
    let mut view = ClusterView::default();
    let lp = ListParams::default();
    for ns in namespaces {
        let users: Api<LastPassUser> = Api::namespaced(client.clone(), ns);
        view.users.extend(users.list(&lp).await?.items);
        let groups: Api<LastPassGroup> = Api::namespaced(client.clone(), ns);
        view.groups.extend(groups.list(&lp).await?.items);
        let integrations: Api<DirectoryIntegration> = Api::namespaced(client.clone(), ns);
        view.integrations
            .extend(integrations.list(&lp).await?.items);
        let namespaces: Api<Namespace> = Api::all(client.clone());
        if let Ok(Some(n)) = namespaces.get_opt(ns).await {
            view.namespace_labels.insert(ns.clone(), n.labels().clone());
        }
    }
    Ok(view)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user(ns: &str, name: &str, username: &str, labels: serde_json::Value) -> LastPassUser {
        serde_json::from_value(json!({
            "apiVersion": "lastpass-operator.io/v1alpha1", "kind": "LastPassUser",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"integrationRef": {"name": "acme"}, "username": username},
        }))
        .unwrap()
    }

    fn bound(mut u: LastPassUser) -> LastPassUser {
        u.metadata.uid = Some(format!("uid-{}", u.name_any()));
        u.metadata.finalizers = Some(vec!["lastpass-operator.io/deprovision".into()]);
        u.status = serde_json::from_value(json!({
            "boundUsername": u.spec.username, "boundIntegration": {"name": "acme", "namespace": "identity"},
        }))
        .unwrap();
        u
    }

    fn now() -> Time {
        Time(jiff::Timestamp::from_second(1_700_000_000).unwrap())
    }

    #[test]
    fn git_made_resources_the_files_dropped_are_deleted_and_others_stay() {
        let files = Manifests {
            users: vec![user("identity", "ann", "ann@example.com", json!({}))],
            ..Manifests::default()
        };
        let cluster = ClusterView {
            users: vec![
                bound(user("identity", "ann", "ann@example.com", json!({}))),
                bound(user("identity", "bob", "bob@example.com", json!({}))),
                bound(user(
                    "identity",
                    "cat",
                    "cat@example.com",
                    json!({"lastpass-operator.io/source": "git"}),
                )),
                bound(user(
                    "identity",
                    "scim-dan",
                    "dan@example.com",
                    json!({"lastpass-operator.io/source": "scim"}),
                )),
            ],
            ..ClusterView::default()
        };
        let o = overlay(&files, &cluster, &now());
        assert_eq!(
            o.removed,
            ["LastPassUser identity/bob", "LastPassUser identity/cat"]
        );
        let deleting: Vec<_> = o
            .users
            .iter()
            .filter(|u| u.metadata.deletion_timestamp.is_some())
            .map(|u| u.name_any())
            .collect();
        assert_eq!(deleting, ["bob", "cat"]);
        assert!(o.users.iter().any(|u| u.name_any() == "scim-dan"));
    }

    #[test]
    fn a_resource_in_the_files_keeps_the_clusters_bookkeeping() {
        let files = Manifests {
            users: vec![user("identity", "ann", "ann.lee@example.com", json!({}))],
            ..Manifests::default()
        };
        let cluster = ClusterView {
            users: vec![bound(user("identity", "ann", "ann@example.com", json!({})))],
            ..ClusterView::default()
        };
        let o = overlay(&files, &cluster, &now());
        let ann = &o.users[0];
        assert_eq!(ann.spec.username, "ann.lee@example.com", "the files' spec");
        assert_eq!(
            ann.status.as_ref().unwrap().bound_username.as_deref(),
            Some("ann@example.com"),
            "the cluster's binding: a rename shows as UsernameChanged"
        );
        assert_eq!(ann.metadata.uid.as_deref(), Some("uid-ann"));
        assert!(o.removed.is_empty());
    }
}
