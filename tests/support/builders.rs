//! One builder per kind the tests make: the custom resources (from the JSON a manifest would
//! hold, so a test states only the fields it is about), the Secrets they read, and the
//! engine's model-level desired state.

use k8s_openapi::api::core::v1::Secret;
use lastpass_operator::crd::{
    DeprovisionAction, DirectoryIntegration, GroupPolicy, LastPassGroup, LastPassUser,
};
use lastpass_operator::engine::model::{
    Desired, DesiredGroup, DesiredUser, Leaving, ResourceRef, user_key,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::account::{CID, PROVHASH};

/// Name of the DirectoryIntegration every builder refers to.
pub const INTEGRATION: &str = "acme";
/// Name of the Secret holding the simulated account's credentials.
pub const CREDENTIALS: &str = "lastpass-api";
/// API version of the custom resources.
pub const API_VERSION: &str = "lastpass-operator.io/v1alpha1";

/// Merges `b` into `a`: objects key by key (recursively), anything else replaced.
pub fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

/// A custom resource `kind` named `name` with `spec` (panics if it does not deserialize).
fn resource<K: DeserializeOwned>(kind: &str, name: &str, spec: Value) -> K {
    let v = json!({
        "apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec,
    });
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{kind} literal {v}: {e}"))
}

/// A LastPassUser `name` for `username` of integration `acme`; `spec` is merged into its spec.
pub fn user(name: &str, username: &str, spec: Value) -> LastPassUser {
    let mut s = json!({"integrationRef": {"name": INTEGRATION}, "username": username});
    merge(&mut s, spec);
    resource("LastPassUser", name, s)
}

/// A LastPassGroup `name` for LastPass group `group_name` of integration `acme`; `spec` is
/// merged into its spec (`members`, `memberSelector`, `policy`, ...).
pub fn group(name: &str, group_name: &str, spec: Value) -> LastPassGroup {
    let mut s = json!({"integrationRef": {"name": INTEGRATION}, "groupName": group_name});
    merge(&mut s, spec);
    resource("LastPassGroup", name, s)
}

/// A DirectoryIntegration `name` reading its credentials from Secret `lastpass-api`; `spec` is
/// merged into its spec (`lastpass.endpoint`, `sync`, `scim`, `ldap`, ...).
pub fn integration(name: &str, spec: Value) -> DirectoryIntegration {
    let mut s = json!({"lastpass": {"credentialsSecretRef": {"name": CREDENTIALS}}});
    merge(&mut s, spec);
    resource("DirectoryIntegration", name, s)
}

/// A Secret `name` with these `stringData` entries.
pub fn secret(name: &str, string_data: Value) -> Secret {
    serde_json::from_value(json!({"metadata": {"name": name}, "stringData": string_data}))
        .expect("secret literal")
}

/// The Secret `lastpass-api` with the simulated account's `cid` and `provhash`.
pub fn credentials() -> Secret {
    secret(CREDENTIALS, json!({"cid": CID, "provhash": PROVHASH}))
}

/// A desired user (the engine's model) with no name, groups or attributes, from resource
/// [`rref`]`(username)`.
pub fn desired_user(username: &str) -> DesiredUser {
    DesiredUser {
        username: username.into(),
        password_reset_required: true,
        resource: rref(username),
        ..DesiredUser::default()
    }
}

/// The resource reference [`desired_user`] gives a username: `team/<local part, dots as
/// dashes>`.
pub fn rref(username: &str) -> ResourceRef {
    ResourceRef::user(
        "team",
        username.split('@').next().unwrap().replace('.', "-"),
    )
}

/// Builder methods of [`DesiredUser`].
pub trait DesiredUserExt {
    /// With a display name.
    fn named(self, name: &str) -> Self;
    /// In these groups.
    fn in_groups(self, groups: &[&str]) -> Self;
    /// Suspended.
    fn suspended(self) -> Self;
}

impl DesiredUserExt for DesiredUser {
    fn named(mut self, name: &str) -> Self {
        self.full_name = Some(name.into());
        self
    }
    fn in_groups(mut self, groups: &[&str]) -> Self {
        self.groups = groups.iter().map(|g| g.to_string()).collect();
        self
    }
    fn suspended(mut self) -> Self {
        self.suspended = true;
        self
    }
}

/// Desired state of these users.
pub fn desired(users: Vec<DesiredUser>) -> Desired {
    Desired::of_users(users)
}

/// Adds a LastPassGroup to desired state.
pub fn with_group(mut d: Desired, name: &str, members: &[&str], policy: GroupPolicy) -> Desired {
    d.groups.insert(
        name.into(),
        DesiredGroup {
            name: name.into(),
            members: members.iter().map(|m| user_key(m)).collect(),
            policy,
            resource: ResourceRef::group("team", name.to_lowercase()),
            ..DesiredGroup::default()
        },
    );
    d
}

/// Marks a user of desired state as leaving (its resource is being deleted).
pub fn leaving(mut d: Desired, username: &str, action: DeprovisionAction) -> Desired {
    d.users.remove(&user_key(username));
    d.leaving.insert(
        user_key(username),
        Leaving {
            username: username.into(),
            action,
            resource: rref(username),
            approved_plan: None,
        },
    );
    d
}
