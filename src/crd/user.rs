//! `LastPassUser` (`lpu`): one person in a LastPass account.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{DeprovisionAction, IntegrationRef, conditions_schema, optional_time_schema};

/// A person with a LastPass account: invited on create, kept in line, deprovisioned on delete.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "lastpass-operator.io",
    version = "v1alpha1",
    kind = "LastPassUser",
    namespaced,
    status = "LastPassUserStatus",
    shortname = "lpu",
    category = "lastpass",
    derive = "PartialEq",
    doc = "A LastPass user managed by the operator: invited when created, updated when changed, deprovisioned when deleted.",
    printcolumn(name = "Username", type_ = "string", json_path = ".spec.username"),
    printcolumn(
        name = "Integration",
        type_ = "string",
        json_path = ".spec.integrationRef.name"
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Last Login", type_ = "date", json_path = ".status.lastLogin"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct LastPassUserSpec {
    /// The DirectoryIntegration (LastPass account) this user belongs to.
    pub integration_ref: IntegrationRef,
    /// LastPass username: an e-mail address. Immutable; to rename, create a new
    /// LastPassUser and delete this one.
    #[schemars(regex(pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), length(max = 254))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.username is immutable; to rename a user, create a new LastPassUser and delete this one"))]
    pub username: String,
    /// Display name in LastPass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// Direct group memberships; LastPassGroup members add to these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Custom attributes (LastPass `attribs`), e.g. `department`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// `true` disables the account (`disableuser`); `false` again enables it.
    #[serde(default)]
    pub suspended: bool,
    /// Whether the user must choose a new master password at first login.
    #[serde(default = "default_true")]
    pub password_reset_required: bool,
    /// `None`: LastPass e-mails an invitation. `Generate`: a temporary password is generated
    /// into the owned Secret `<name>-initial-password`, removed at the first login.
    #[serde(default)]
    pub initial_password: InitialPassword,
    /// Overrides the integration's `deprovision.defaultAction` when this resource is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprovision_action: Option<DeprovisionAction>,
}

fn default_true() -> bool {
    true
}

impl LastPassUserSpec {
    /// A spec for `username` with every other field at the default a manifest that names only
    /// the username gets (no integration named yet).
    pub fn for_username(username: impl Into<String>) -> Self {
        Self {
            integration_ref: IntegrationRef::default(),
            username: username.into(),
            full_name: None,
            groups: Vec::new(),
            attributes: BTreeMap::new(),
            suspended: false,
            password_reset_required: default_true(),
            initial_password: InitialPassword::default(),
            deprovision_action: None,
        }
    }
}

/// How a new user gets in.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum InitialPassword {
    /// LastPass sends an invitation e-mail.
    #[default]
    None,
    /// A strong temporary password goes into the Secret `<name>-initial-password`.
    Generate,
}

/// Observed state of a user.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastPassUserStatus {
    /// Where the user is in its lifecycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<UserPhase>,
    /// LastPass's numeric user id (a string, as the API returns it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lastpass_id: Option<String>,
    /// Groups LastPass reports for the user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Last login LastPass reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_time_schema")]
    pub last_login: Option<Time>,
    /// Second-factor method LastPass reports, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multifactor: Option<String>,
    /// Digest of the `spec.attributes` last sent to LastPass (LastPass does not report
    /// attributes back; a different digest means they are sent again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes_hash: Option<String>,
    /// The username this resource is bound to: recorded when the resource is first admitted,
    /// so a changed `spec.username` is noticed (`UsernameChanged`) even where the API server
    /// has no CEL to refuse it, and a deletion deprovisions the account it really made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_username: Option<String>,
    /// The DirectoryIntegration this resource is bound to (namespace always set): a changed
    /// `spec.integrationRef` is noticed (`IntegrationRefChanged`), and deprovisioning still
    /// goes through this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_integration: Option<IntegrationRef>,
    /// Name of the Secret with the generated initial password, while it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_password_secret: Option<String>,
    /// `Ready` and `Synced`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The last sync that changed this status (a steady resync writes nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_time_schema")]
    pub last_sync_time: Option<Time>,
}

/// Lifecycle phase of a user.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
pub enum UserPhase {
    /// Not yet in LastPass (waiting for a sync, a seat or a valid reference).
    Pending,
    /// Invited; has not logged in yet.
    Invited,
    /// Has logged in.
    Active,
    /// Disabled on purpose (`suspended: true`).
    Suspended,
    /// The resource is being deleted and the account deprovisioned.
    Deprovisioning,
    /// LastPass refused the user; see the conditions.
    Failed,
}
