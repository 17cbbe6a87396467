//! The Helm chart's static contract: its CRDs are the checked-in `crds/`, byte for byte, and its
//! `values.schema.json` is strict and describes every key `values.yaml` has.
//! (`scripts/chart-test.sh` renders, lints and applies the chart with a real helm.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

const COPY: &str = "cp crds/*.yaml charts/lastpass-operator/crds/";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn chart() -> PathBuf {
    root().join("charts/lastpass-operator")
}

/// `*.yaml` files of a directory, by name.
fn yaml_files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            let name = p
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            (name, text)
        })
        .collect()
}

#[test]
fn chart_crds_are_the_checked_in_crds() {
    let top = yaml_files(&root().join("crds"));
    let charted = yaml_files(&chart().join("crds"));
    assert_eq!(top.len(), 3, "crds/ holds one file per CRD");
    for (name, yaml) in &top {
        match charted.get(name) {
            None => panic!("charts/lastpass-operator/crds/{name} is missing; run `{COPY}`"),
            Some(copy) => assert!(
                copy == yaml,
                "charts/lastpass-operator/crds/{name} differs from crds/{name}; run `{COPY}`"
            ),
        }
    }
    let extra: Vec<&String> = charted.keys().filter(|n| !top.contains_key(*n)).collect();
    assert!(
        extra.is_empty(),
        "charts/lastpass-operator/crds/ holds files crds/ does not: {extra:?}; remove them and run `{COPY}`"
    );
}

fn values() -> Value {
    let path = chart().join("values.yaml");
    let text = std::fs::read_to_string(&path).expect("values.yaml is readable");
    serde_saphyr::from_str(&text).expect("values.yaml is valid YAML")
}

fn schema() -> Value {
    let path = chart().join("values.schema.json");
    let text = std::fs::read_to_string(&path).expect("values.schema.json is readable");
    serde_json::from_str(&text).expect("values.schema.json is valid JSON")
}

/// Every key of `values` at `at` must be a property of `schema`, recursively, down to the
/// objects whose schema leaves their keys free (maps such as labels or resources).
fn uncovered(values: &Value, schema: &Value, at: &str, out: &mut Vec<String>) {
    let Value::Object(map) = values else { return };
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, value) in map {
        let path = format!("{at}{key}");
        match props.get(key) {
            Some(sub) => uncovered(value, sub, &format!("{path}."), out),
            None => out.push(path),
        }
    }
}

#[test]
fn values_schema_is_strict_and_covers_every_value() {
    let schema = schema();
    assert_eq!(schema["type"], "object");
    assert_eq!(
        schema["additionalProperties"],
        Value::Bool(false),
        "values.schema.json must reject unknown top-level keys"
    );
    let values = values();
    let top = values.as_object().expect("values.yaml is a mapping");
    let props = schema["properties"]
        .as_object()
        .expect("schema has properties");
    let missing: Vec<&String> = top.keys().filter(|k| !props.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "values.yaml keys without a schema property: {missing:?}"
    );
    let extra: Vec<&String> = props.keys().filter(|k| !top.contains_key(*k)).collect();
    assert!(
        extra.is_empty(),
        "schema properties values.yaml does not set (document a default): {extra:?}"
    );
    let mut deep = Vec::new();
    uncovered(&values, &schema, "", &mut deep);
    assert!(
        deep.is_empty(),
        "values.yaml keys the schema does not describe: {deep:?}"
    );
}

#[test]
fn chart_app_version_is_the_crate_version() {
    let text = std::fs::read_to_string(chart().join("Chart.yaml")).expect("Chart.yaml");
    let chart: Value = serde_saphyr::from_str(&text).expect("Chart.yaml is valid YAML");
    // Build metadata (`+...`) is not part of the release version.
    let crate_version = env!("CARGO_PKG_VERSION")
        .split('+')
        .next()
        .unwrap_or_default();
    assert_eq!(
        chart["appVersion"].as_str(),
        Some(crate_version),
        "Chart.yaml appVersion must be the crate version (the default image tag)"
    );
    assert_eq!(chart["name"], "lastpass-operator");
}
