//! `status.revocation` of a DirectoryIntegration: how long revoking access took, from the moment
//! the intent appeared to LastPass confirming it in a trusted read, over the last 24 hours.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Annotation on a LastPassUser: when the operator first saw `spec.suspended: true` (RFC 3339),
/// so the latency of the suspension survives a restart. Written by the operator, removed once
/// LastPass confirms the suspension or the intent is withdrawn. A deletion needs none: its
/// intent is `metadata.deletionTimestamp`.
pub const SUSPEND_REQUESTED_ANNOTATION: &str = "lastpass-operator.io/suspend-requested-at";

/// Revocation latency over the last 24 hours (written only when a revocation happened).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevocationStatus {
    /// Median latency in seconds.
    pub p50: f64,
    /// 99th percentile latency in seconds (nearest rank).
    pub p99: f64,
    /// Revocations counted (at most the latest [`RevocationStatus::recent`] entries).
    pub count: i64,
    /// The slowest revocation of the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slowest: Option<SlowestRevocation>,
    /// The revocations of the window, oldest first (bounded): the figures above are computed
    /// from them, and a restart or fail-over keeps them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<RevocationSample>,
}

/// The slowest revocation of the window.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlowestRevocation {
    /// The LastPass username.
    pub user: String,
    /// Seconds from the intent to LastPass's confirmation.
    pub seconds: f64,
}

/// One revocation LastPass confirmed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevocationSample {
    /// The LastPass username.
    pub user: String,
    /// When the intent appeared (deletion timestamp, or first sight of `suspended: true`).
    #[schemars(schema_with = "super::common::time_schema")]
    pub requested_at: Time,
    /// Seconds from the intent to LastPass's confirmation.
    pub seconds: f64,
    /// `Deactivate`, `RemoveFromCompany`, `Delete` or `Suspend`.
    pub action: String,
}
