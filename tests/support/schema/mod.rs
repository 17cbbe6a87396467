//! Helpers shared by `tests/examples.rs` and `tests/crd_validation.rs`: YAML loading and an
//! offline stand-in for the API server's validation of our custom resources (structure by
//! [`check`], CEL rules by kube-cel, schema defaults applied first, as the server does).

pub mod check;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kube::core::cel::{Validator, apply_defaults};
use serde_json::{Value, json};

/// Every YAML document of a multi-document stream, as JSON. Empty documents are skipped.
pub fn yaml_documents(text: &str) -> Result<Vec<Value>, String> {
    serde_saphyr::from_multiple::<Value>(text).map_err(|e| e.to_string())
}

/// One YAML document as JSON; panics (with the text) if it does not parse.
pub fn yaml(text: &str) -> Value {
    serde_saphyr::from_str::<Value>(text)
        .unwrap_or_else(|e| panic!("bad YAML in test: {e}\n{text}"))
}

/// `*.yaml` / `*.yml` files under `dir`, recursively, in a stable order.
pub fn yaml_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The `openAPIV3Schema` of the CRD serving `apiVersion` + `kind`, as generated from the Rust
/// types (`lastpass_operator::crd::all_crds`).
pub fn crd_schema(api_version: &str, kind: &str) -> Option<Value> {
    schemas()
        .iter()
        .find(|s| s.api_version == api_version && s.kind == kind)
        .map(|s| s.schema.clone())
}

/// Every `openAPIV3Schema` of the operator's CRDs, by kind.
pub fn all_crd_schemas() -> Vec<(String, Value)> {
    schemas()
        .iter()
        .map(|s| (s.kind.clone(), s.schema.clone()))
        .collect()
}

struct CrdSchema {
    api_version: String,
    kind: String,
    schema: Value,
}

/// The CRDs, generated once per test binary.
fn schemas() -> &'static [CrdSchema] {
    static SCHEMAS: OnceLock<Vec<CrdSchema>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let mut all = Vec::new();
        for crd in lastpass_operator::crd::all_crds() {
            for version in &crd.spec.versions {
                let schema = version
                    .schema
                    .as_ref()
                    .and_then(|s| s.open_api_v3_schema.as_ref())
                    .expect("every CRD version has an openAPIV3Schema");
                all.push(CrdSchema {
                    api_version: format!("{}/{}", crd.spec.group, version.name),
                    kind: crd.spec.names.kind.clone(),
                    schema: serde_json::to_value(schema).expect("schema serializes"),
                });
            }
        }
        all
    })
}

/// What the API server would say about creating `object` (or, with `old`, updating `old` to
/// it): schema defaults applied, then structural checks (including unknown fields, which the
/// server would prune), then CEL rules (transition rules only when `old` is given). Empty when
/// the object is accepted.
pub fn validate(object: &Value, old: Option<&Value>) -> Vec<String> {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let kind = object["kind"].as_str().unwrap_or_default();
    let Some(schema) = crd_schema(api_version, kind) else {
        return vec![format!(
            "no CRD of this operator serves apiVersion {api_version:?}, kind {kind:?}"
        )];
    };
    let defaulted = apply_defaults(&schema, object);
    let mut errors = check::check(&with_object_envelope(&schema), &defaulted, "");
    if defaulted["metadata"]["name"]
        .as_str()
        .is_none_or(str::is_empty)
        && defaulted["metadata"]["generateName"]
            .as_str()
            .is_none_or(str::is_empty)
    {
        errors.push("metadata.name: Required value: name or generateName is required".into());
    }
    if let Err(failures) = Validator::new().validate(&schema, object, old) {
        errors.extend(failures.iter().map(|f| f.to_string()));
    }
    errors
}

/// The CRD schema describes `spec` and `status` only; the server validates `apiVersion`, `kind`
/// and `metadata` itself. Declare them so the unknown-field check accepts them at the root.
fn with_object_envelope(schema: &Value) -> Value {
    let mut schema = schema.clone();
    let props = schema["properties"]
        .as_object_mut()
        .expect("root schema has properties");
    props.insert("apiVersion".into(), json!({"type": "string"}));
    props.insert("kind".into(), json!({"type": "string"}));
    props.insert(
        "metadata".into(),
        json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
    );
    schema
}
