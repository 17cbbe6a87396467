//! Types shared by the three kinds: references, conditions, durations, deprovision actions.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// Regular expression an e-mail-shaped username must match (LastPass usernames are e-mails).
pub const EMAIL_PATTERN: &str = r"^[^@\s]+@[^@\s]+\.[^@\s]+$";

/// Regular expression of a duration string such as `30s`, `10m` or `1h30m` (Go's units).
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$";

/// Points a LastPassUser or LastPassGroup at the DirectoryIntegration (LastPass account) it
/// belongs to.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationRef {
    /// Name of the DirectoryIntegration.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Namespace of the DirectoryIntegration; defaults to the referring resource's own. A
    /// reference that the integration's `allowedNamespaces` does not permit is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Names a Secret in the same namespace as the referring resource.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// Name of the Secret.
    #[schemars(length(min = 1))]
    pub name: String,
}

/// What happens to a LastPass account when its resource is deleted.
///
/// Maps to `deluser`'s `deleteaction`: `Deactivate` = 0, `RemoveFromCompany` = 1,
/// `Delete` = 2 (irreversible; refused unless the integration sets `allowDelete: true`).
#[derive(
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    JsonSchema,
)]
pub enum DeprovisionAction {
    /// Login blocked, vault and groups kept, seat freed. Reversible with `enableuser`.
    #[default]
    Deactivate,
    /// The account leaves the company and becomes a free personal account.
    RemoveFromCompany,
    /// The account and its vault are erased. Irreversible.
    Delete,
}

/// Schema of a `conditions` list: metav1 Conditions as a list-map keyed by `type`, so
/// server-side apply merges conditions by type instead of replacing the list.
pub fn conditions_schema(generator: &mut SchemaGenerator) -> Schema {
    let item = generator.subschema_for::<Condition>();
    json_schema!({
        "type": "array",
        "items": item,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
    })
}

/// Schema of an optional timestamp (RFC 3339 string, `date-time` format).
pub fn optional_time_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "date-time", "nullable": true })
}

/// Schema of a required metav1 `Time` (RFC 3339).
pub fn time_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "date-time" })
}

/// Parses a duration string of the CRDs (`30s`, `10m`, `1h30m`, `720h`) as Go's
/// `time.ParseDuration` does (kube's `Duration`), refusing negative values.
pub fn parse_duration(field: &str, value: &str) -> Result<std::time::Duration, InvalidDuration> {
    match value.parse::<kube::core::Duration>() {
        Ok(d) if !d.is_negative() && !value.is_empty() => Ok(d.into()),
        _ => Err(InvalidDuration {
            field: field.to_string(),
            value: value.to_string(),
        }),
    }
}

/// A duration string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{field}: {value:?} is not a duration; use a number and a unit (ns, us, ms, s, m, h), e.g. 30s, 10m or 1h30m"
)]
pub struct InvalidDuration {
    /// The field path, e.g. `spec.sync.interval`.
    pub field: String,
    /// The rejected value.
    pub value: String,
}

/// The field manager that last set the annotation `annotation` on `obj`, if its
/// `managedFields` tell: who approved or rejected a plan, for Events.
pub fn annotation_manager<K: kube::Resource>(obj: &K, annotation: &str) -> Option<String> {
    let key = format!("f:{annotation}");
    obj.meta()
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| {
            m.fields_v1
                .as_ref()
                .and_then(|f| f.0.get("f:metadata"))
                .and_then(|m| m.get("f:annotations"))
                .is_some_and(|a| a.get(&key).is_some())
        })
        .max_by_key(|m| m.time.as_ref().map(|t| t.0))
        .and_then(|m| m.manager.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_parse_like_go() {
        let ok = [
            ("30s", 30),
            ("10m", 600),
            ("1h30m", 5400),
            ("720h", 2_592_000),
            ("1.5h", 5400),
        ];
        for (text, secs) in ok {
            assert_eq!(
                parse_duration("f", text).unwrap(),
                Duration::from_secs(secs),
                "{text}"
            );
        }
        for bad in ["", "10", "m", "10 m", "10d", "-5m", "1h30", "abc"] {
            let err = parse_duration("spec.sync.interval", bad).unwrap_err();
            assert!(
                err.to_string().starts_with("spec.sync.interval:"),
                "{bad}: {err}"
            );
        }
    }
}
