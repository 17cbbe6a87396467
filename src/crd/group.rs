//! `LastPassGroup` (`lpg`): a LastPass group and who belongs to it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{IntegrationRef, conditions_schema};

/// A LastPass group whose membership the operator manages.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "lastpass-operator.io",
    version = "v1alpha1",
    kind = "LastPassGroup",
    namespaced,
    status = "LastPassGroupStatus",
    shortname = "lpg",
    category = "lastpass",
    derive = "PartialEq",
    doc = "A LastPass group whose members the operator manages, listed or selected by label.",
    printcolumn(name = "Group", type_ = "string", json_path = ".spec.groupName"),
    printcolumn(
        name = "Integration",
        type_ = "string",
        json_path = ".spec.integrationRef.name"
    ),
    printcolumn(name = "Policy", type_ = "string", json_path = ".spec.policy"),
    printcolumn(name = "Members", type_ = "integer", json_path = ".status.memberCount"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct LastPassGroupSpec {
    /// The DirectoryIntegration (LastPass account) this group belongs to.
    pub integration_ref: IntegrationRef,
    /// Name of the group in LastPass. Immutable.
    #[schemars(length(min = 1))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.groupName is immutable; create a new LastPassGroup instead"))]
    pub group_name: String,
    /// Members by LastPass username (e-mail).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(regex(pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$")))]
    pub members: Vec<String>,
    /// LastPassUsers in the same namespace whose labels match become members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_selector: Option<LabelSelector>,
    /// `Authoritative` removes every member not declared (unmanaged users included);
    /// `Additive` never removes.
    #[serde(default)]
    pub policy: GroupPolicy,
}

/// Whether undeclared members are removed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum GroupPolicy {
    /// Remove every member not declared.
    #[default]
    Authoritative,
    /// Add declared members; never remove.
    Additive,
}

/// Observed state of a group.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastPassGroupStatus {
    /// Members LastPass reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_count: Option<i64>,
    /// Declared members that have no LastPass account (no LastPassUser, or not provisioned).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_members: Vec<String>,
    /// SCIM user ids an identity provider named as members before the user was known here
    /// (from [`PENDING_MEMBERS_ANNOTATION`]); each joins the group when its user arrives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_member_ids: Vec<String>,
    /// The group name this resource is bound to, recorded when first admitted (a changed
    /// `spec.groupName` is noticed as `GroupNameChanged` even without CEL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_group_name: Option<String>,
    /// The DirectoryIntegration this resource is bound to (namespace always set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_integration: Option<IntegrationRef>,
    /// `Ready` and `Synced`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Annotation on a SCIM-made LastPassGroup: the member ids (a JSON list of SCIM user ids) an
/// identity provider sent before those users were known. Written by the SCIM server; the
/// engine resolves each id to its user as soon as one carries it.
pub const PENDING_MEMBERS_ANNOTATION: &str = "lastpass-operator.io/scim-pending-members";

/// The pending member ids of a group (none when the annotation is absent or not a JSON list
/// of strings).
pub fn pending_member_ids(group: &LastPassGroup) -> Vec<String> {
    group
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(PENDING_MEMBERS_ANNOTATION))
        .and_then(|v| serde_json::from_str::<Vec<String>>(v).ok())
        .unwrap_or_default()
}
