//! Custom resource types of the `lastpass-operator.io/v1alpha1` API.
//!
//! Types only: field names are the contract of `DESIGN.md`, and the CRDs in `crds/` are
//! generated from these types (`lastpass-operator crds`). Validation that the API server can do
//! lives here as schema attributes and CEL rules; everything else is checked by the controllers.

mod common;
mod group;
mod integration;
mod revocation;
mod safeguard;
mod user;

pub use common::*;
pub use group::*;
pub use integration::*;
pub use revocation::*;
pub use safeguard::*;
pub use user::*;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// API group of every resource of the operator.
pub const API_GROUP: &str = "lastpass-operator.io";

/// Label that records where a resource came from (`git`, `scim`, `ldap`, `adopted`).
pub const SOURCE_LABEL: &str = "lastpass-operator.io/source";

/// Value of [`SOURCE_LABEL`] on LastPassUsers made by `unmanagedUsers: Adopt`.
pub const SOURCE_ADOPTED: &str = "adopted";

/// Annotation on a DirectoryIntegration that releases exactly one blocked plan.
pub const APPROVE_PLAN_ANNOTATION: &str = "lastpass-operator.io/approve-plan";

/// Annotation on a DirectoryIntegration that drops exactly one held plan (or held LDAP pull):
/// deleted resources of that plan are released without touching LastPass.
pub const REJECT_PLAN_ANNOTATION: &str = "lastpass-operator.io/reject-plan";

/// Annotation on a LastPassGroup made from a directory (SCIM, LDAP) that lets it become
/// Authoritative over a LastPass group that already has members the operator does not manage.
/// Directory sources never write or remove it.
pub const TAKE_OVER_ANNOTATION: &str = "lastpass-operator.io/take-over";

/// Annotation on a LastPassUser deleted after a person approved it (written by the LDAP pull
/// when an approved pull deletes it): the id of that approval, so the engine's safeguard does
/// not hold it a second time — trusted only when the integration's status records the id.
pub const APPROVED_PLAN_ANNOTATION: &str = "lastpass-operator.io/approved-plan";

/// Annotation on a DirectoryIntegration whose every new value asks for an immediate resync.
pub const RESYNC_ANNOTATION: &str = "lastpass-operator.io/resync";

/// Every CRD of the operator, in a stable order (integration, user, group).
pub fn all_crds() -> Vec<CustomResourceDefinition> {
    vec![
        DirectoryIntegration::crd(),
        LastPassUser::crd(),
        LastPassGroup::crd(),
    ]
}

/// The CRDs as one multi-document YAML stream, exactly as `crds/` holds them.
pub fn crds_yaml() -> Result<String, serde_saphyr::SerializeError> {
    let mut out = String::new();
    for crd in all_crds() {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(&crd)?);
    }
    Ok(out)
}

/// A CRD without its CEL rules, for API servers older than 1.25 (which refuse
/// `x-kubernetes-validations` under server-side apply and drop it otherwise).
pub fn without_cel(crd: &CustomResourceDefinition) -> CustomResourceDefinition {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.remove("x-kubernetes-validations");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(crd).expect("CRDs serialize");
    strip(&mut value);
    serde_json::from_value(value).expect("a CRD without rules is still a CRD")
}

/// [`crds_yaml`] without the CEL rules (see [`without_cel`]).
pub fn crds_yaml_without_cel() -> Result<String, serde_saphyr::SerializeError> {
    let mut out = String::new();
    for crd in all_crds() {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(&without_cel(&crd))?);
    }
    Ok(out)
}

/// The files of `crds/`: one `(file name, YAML)` pair per CRD, named `<plural>.<group>.yaml`.
pub fn crd_files() -> Result<Vec<(String, String)>, serde_saphyr::SerializeError> {
    all_crds()
        .into_iter()
        .map(|crd| {
            let name = format!("{}.yaml", crd.metadata.name.as_deref().unwrap_or("unnamed"));
            Ok((name, serde_saphyr::to_string(&crd)?))
        })
        .collect()
}
