//! The safeguard's part of a DirectoryIntegration's status: the held plan (`status.held`) and
//! the record that survives restarts (`status.safeguard`: window, consumed approvals,
//! rejections).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::PlanItem;

/// A destructive plan held by the safeguard.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeldPlan {
    /// Digest of the held set: the value of `approve-plan` or `reject-plan`.
    pub plan_id: String,
    /// Users to deprovision.
    pub deprovisions: i64,
    /// Existing users to suspend.
    pub suspensions: i64,
    /// Group-membership removals.
    pub membership_removals: i64,
    /// Why it is held: the limit it exceeds.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Up to 20 held changes, for people to read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub sample: Vec<PlanItem>,
    /// Every held change (up to 1000; a larger set is named by its id alone): what an
    /// approval runs, exactly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<PlanItem>,
}

/// The safeguard's record, kept in status.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SafeguardStatus {
    /// Destructive changes executed within the window (approved ones are not recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub window: Vec<WindowEntry>,
    /// Plan ids whose approval has been used; they never approve again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumed_approvals: Vec<String>,
    /// Plans a person rejected, with what stays unapplied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<RejectedPlan>,
}

/// Destructive changes executed by one sync.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WindowEntry {
    /// When they were executed.
    #[schemars(schema_with = "super::common::time_schema")]
    pub time: Time,
    /// Users deprovisioned.
    #[serde(default)]
    pub deprovisions: i64,
    /// Users suspended.
    #[serde(default)]
    pub suspensions: i64,
    /// Group memberships removed.
    #[serde(default)]
    pub membership_removals: i64,
}

/// A plan a person rejected.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RejectedPlan {
    /// The rejected plan id.
    pub plan_id: String,
    /// Usernames whose deprovision was dropped: their resources were released without
    /// touching LastPass. `Adopt` skips them until a resource declares them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub released: Vec<String>,
    /// Suspensions and membership removals left unapplied until the resource that asked
    /// for them changes its spec (generation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unapplied: Vec<RejectedChange>,
}

/// A suspension or membership removal of a rejected plan.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RejectedChange {
    /// `Suspend` or `RemoveFromGroup`.
    pub action: String,
    /// The LastPass username concerned.
    pub username: String,
    /// The group, for `RemoveFromGroup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind of the resource that asked for the change (`LastPassUser`, `LastPassGroup`).
    pub kind: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its `metadata.generation` when the plan was rejected.
    pub generation: i64,
}
