//! The benchmark's world: N generated LastPassUsers in G LastPassGroups (K memberships each),
//! one DirectoryIntegration, and the deterministic changes of each phase (console drift,
//! churn, deletions). Pure data: no I/O, so the same options always give the same world.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::ObjectMeta;

use crate::crd::{
    DirectoryIntegration, IntegrationRef, LastPassGroup, LastPassGroupSpec, LastPassUser,
    LastPassUserSpec,
};
use crate::engine::desire::resource_ref;
use crate::engine::model::ResourceRef;
use crate::simulator::ConsoleEdit;

/// Namespace of every generated resource.
pub const NAMESPACE: &str = "bench";
/// Name of the generated DirectoryIntegration.
pub const INTEGRATION: &str = "bench";

/// The shape of the world.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Users (N).
    pub users: usize,
    /// Groups (G).
    pub groups: usize,
    /// Memberships per user (K), at most G.
    pub memberships_per_user: usize,
}

impl Shape {
    /// Users changed by a 1 % step (at least one).
    pub fn one_percent(&self) -> usize {
        (self.users / 100).max(1)
    }
}

/// Username of generated user `i`.
pub fn username(i: usize) -> String {
    format!("user{i:06}@bench.example")
}

/// Resource name of generated user `i`.
pub fn user_name(i: usize) -> String {
    format!("user-{i:06}")
}

/// LastPass group name of generated group `g`.
pub fn group_name(g: usize) -> String {
    format!("bench-group-{g:04}")
}

/// The K groups of user `i`: spread evenly, all distinct (K ≤ G).
pub fn groups_of(shape: &Shape, i: usize) -> Vec<String> {
    let g = shape.groups.max(1);
    let k = shape.memberships_per_user.min(g);
    // Stride G/K apart so the K groups are distinct; the offset rotates with i.
    let stride = (g / k.max(1)).max(1);
    (0..k).map(|j| group_name((i + j * stride) % g)).collect()
}

fn meta(name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.clone()),
        namespace: Some(NAMESPACE.into()),
        uid: Some(format!("bench-{name}")),
        generation: Some(1),
        ..ObjectMeta::default()
    }
}

/// Generated user `i`.
pub fn user(shape: &Shape, i: usize) -> LastPassUser {
    LastPassUser {
        metadata: meta(user_name(i)),
        spec: LastPassUserSpec {
            integration_ref: IntegrationRef {
                name: INTEGRATION.into(),
                namespace: None,
            },
            username: username(i),
            full_name: Some(format!("User {i}")),
            groups: groups_of(shape, i),
            attributes: BTreeMap::new(),
            suspended: false,
            password_reset_required: true,
            initial_password: Default::default(),
            deprovision_action: None,
        },
        status: None,
    }
}

/// Generated group `g` (membership comes from the users' `spec.groups`; the group resource
/// makes the group known and Authoritative).
pub fn group(g: usize) -> LastPassGroup {
    LastPassGroup {
        metadata: meta(format!("group-{g:04}")),
        spec: LastPassGroupSpec {
            integration_ref: IntegrationRef {
                name: INTEGRATION.into(),
                namespace: None,
            },
            group_name: group_name(g),
            members: vec![],
            member_selector: None,
            policy: Default::default(),
        },
        status: None,
    }
}

/// Integration settings the benchmark controls.
#[derive(Clone, Debug, PartialEq)]
pub struct IntegrationSettings {
    /// LastPass endpoint (the simulator).
    pub endpoint: String,
    /// `spec.sync.batchSize`; `None` keeps the CRD default.
    pub batch_size: Option<usize>,
    /// `spec.sync.rateLimit.requestsPerSecond`; `None` keeps the CRD default.
    pub requests_per_second: Option<u32>,
    /// `spec.sync.deprovision.maxPerSync`.
    pub max_per_sync: usize,
}

/// The DirectoryIntegration, built from JSON so every other field keeps its CRD default.
pub fn integration(s: &IntegrationSettings) -> Result<DirectoryIntegration, serde_json::Error> {
    // The benchmark measures throughput, not the safeguard: its phases move 1 % of the users
    // between groups each, within one window, so membership removals get room to match.
    let mut sync = serde_json::json!({
        "deprovision": {
            "maxPerSync": s.max_per_sync,
            "maxMembershipRemovals": s.max_per_sync.saturating_mul(100),
        },
    });
    if let Some(b) = s.batch_size {
        sync["batchSize"] = b.into();
    }
    if let Some(r) = s.requests_per_second {
        sync["rateLimit"] = serde_json::json!({"requestsPerSecond": r});
    }
    serde_json::from_value(serde_json::json!({
        "apiVersion": "lastpass-operator.io/v1alpha1",
        "kind": "DirectoryIntegration",
        "metadata": {"name": INTEGRATION, "namespace": NAMESPACE, "generation": 1},
        "spec": {
            "lastpass": {"endpoint": s.endpoint, "credentialsSecretRef": {"name": "bench-api"}},
            "sync": sync,
        },
    }))
}

/// The generated resources and their statuses, as the API server would hold them.
#[derive(Clone, Debug, Default)]
pub struct Resources {
    /// LastPassUsers, by resource.
    pub users: BTreeMap<ResourceRef, LastPassUser>,
    /// LastPassGroups, by resource.
    pub groups: BTreeMap<ResourceRef, LastPassGroup>,
    /// Index of the next user to generate.
    pub next_user: usize,
}

impl Resources {
    /// The world at the start: N users, G groups.
    pub fn generate(shape: &Shape) -> Self {
        let users = (0..shape.users)
            .map(|i| user(shape, i))
            .map(|u| (resource_ref(&u), u))
            .collect();
        let groups = (0..shape.groups)
            .map(group)
            .map(|g| (resource_ref(&g), g))
            .collect();
        Self {
            users,
            groups,
            next_user: shape.users,
        }
    }

    /// Users to change in a 1 % step: every `N / count`-th user, shifted by `offset` so the
    /// steps of one run touch different users.
    fn picks(shape: &Shape, offset: usize) -> impl Iterator<Item = usize> {
        let count = shape.one_percent();
        let step = (shape.users / count).max(1);
        (0..count).map(move |j| (j * step + offset) % shape.users.max(1))
    }

    /// Drift: 1 % of users edited by a console admin — renamed and removed from their first
    /// group. Returns the edits to make in the simulator.
    pub fn drift(shape: &Shape) -> Vec<(String, ConsoleEdit)> {
        Self::picks(shape, 0)
            .map(|i| {
                let edit = ConsoleEdit {
                    fullname: Some(format!("Edited In Console {i}")),
                    remove_groups: groups_of(shape, i).into_iter().take(1).collect(),
                    ..ConsoleEdit::default()
                };
                (username(i), edit)
            })
            .collect()
    }

    /// Churn: 1 % new users, 1 % `fullName` edits, 1 % moves from one group to another.
    pub fn churn(&mut self, shape: &Shape) {
        for _ in 0..shape.one_percent() {
            let u = user(shape, self.next_user);
            self.users.insert(resource_ref(&u), u);
            self.next_user += 1;
        }
        for i in Self::picks(shape, 1) {
            self.edit_user(i, |spec| {
                spec.full_name = Some(format!("User {i} (renamed)"));
            });
        }
        for i in Self::picks(shape, 2) {
            let groups = shape.groups.max(1);
            self.edit_user(i, |spec| {
                let Some(first) = spec.groups.first().cloned() else {
                    return;
                };
                // The next group the user is not in yet.
                let start = (0..groups).find(|g| group_name(*g) == first).unwrap_or(0);
                let target = (1..groups)
                    .map(|d| group_name((start + d) % groups))
                    .find(|g| !spec.groups.contains(g));
                if let Some(target) = target {
                    spec.groups[0] = target;
                }
            });
        }
    }

    /// Deprovision: 1 % of the users deleted (deletion timestamp set; the finalizer holds the
    /// resource until the engine releases it). Returns how many.
    pub fn delete_some(&mut self, shape: &Shape) -> usize {
        let now = Time(jiff::Timestamp::now());
        let mut n = 0;
        for i in Self::picks(shape, 3) {
            let r = ResourceRef::user(NAMESPACE, user_name(i));
            if let Some(u) = self.users.get_mut(&r) {
                u.metadata.deletion_timestamp = Some(now.clone());
                n += 1;
            }
        }
        n
    }

    fn edit_user(&mut self, i: usize, f: impl FnOnce(&mut LastPassUserSpec)) {
        let r = ResourceRef::user(NAMESPACE, user_name(i));
        if let Some(u) = self.users.get_mut(&r) {
            f(&mut u.spec);
            u.metadata.generation = u.metadata.generation.map(|g| g + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(users: usize, groups: usize, k: usize) -> Shape {
        Shape {
            users,
            groups,
            memberships_per_user: k,
        }
    }

    #[test]
    fn every_user_has_k_distinct_groups() {
        let s = shape(1000, 200, 3);
        for i in 0..1000 {
            let mut g = groups_of(&s, i);
            assert_eq!(g.len(), 3);
            g.sort();
            g.dedup();
            assert_eq!(g.len(), 3, "user {i}");
        }
    }

    #[test]
    fn steps_touch_one_percent_and_distinct_users() {
        let s = shape(10_000, 200, 3);
        let mut r = Resources::generate(&s);
        assert_eq!(Resources::drift(&s).len(), 100);
        let before = r.users.len();
        r.churn(&s);
        assert_eq!(r.users.len(), before + 100);
        let renamed = r
            .users
            .values()
            .filter(|u| {
                u.spec
                    .full_name
                    .as_deref()
                    .is_some_and(|n| n.ends_with("(renamed)"))
            })
            .count();
        assert_eq!(renamed, 100);
        let edited = r
            .users
            .values()
            .filter(|u| u.metadata.generation == Some(2))
            .count();
        assert_eq!(
            edited, 200,
            "100 renamed and 100 moved, all different users"
        );
        assert_eq!(r.delete_some(&s), 100);
    }
}
