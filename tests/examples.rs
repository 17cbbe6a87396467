//! Every YAML document under `examples/` is a resource the operator understands and the API
//! server would accept unchanged: it deserializes into the operator's types, re-serializes to
//! the same JSON (so no field is misspelt or silently dropped), passes the CRD schema and CEL
//! rules, and references only what the examples themselves define.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use k8s_openapi::api::core::v1::Secret;
use kube::core::cel::apply_defaults;
use lastpass_operator::crd::{
    DirectoryIntegration, GroupPolicy, InitialPassword, LastPassGroup, LastPassUser,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use support::repo_path;
use support::schema::{crd_schema, validate, yaml_documents, yaml_files_under};

/// One parsed document and where it came from.
struct Doc {
    file: PathBuf,
    index: usize,
    json: Value,
}

impl Doc {
    fn kind(&self) -> &str {
        self.json["kind"].as_str().unwrap_or("<no kind>")
    }
    fn name(&self) -> &str {
        self.json["metadata"]["name"]
            .as_str()
            .unwrap_or("<no name>")
    }
    fn at(&self) -> String {
        let file = self.file.strip_prefix(repo_path("")).unwrap_or(&self.file);
        format!(
            "{} (document {}, {} {})",
            file.display(),
            self.index + 1,
            self.kind(),
            self.name()
        )
    }
    fn typed<T: DeserializeOwned>(&self) -> T {
        serde_json::from_value(self.json.clone()).unwrap_or_else(|e| panic!("{}: {e}", self.at()))
    }
}

fn examples() -> Vec<Doc> {
    let files = yaml_files_under(&repo_path("examples"));
    assert!(!files.is_empty(), "no YAML under examples/");
    let mut docs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let parsed = yaml_documents(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(!parsed.is_empty(), "{}: no documents", file.display());
        for (index, json) in parsed.into_iter().enumerate() {
            docs.push(Doc {
                file: file.clone(),
                index,
                json,
            });
        }
    }
    docs
}

/// Deserializes into `T` and serializes back; the two must be equal once schema defaults are
/// applied to both (`schema` is `None` for built-in kinds, which have no defaults here). serde
/// ignores unknown fields, so a typo'd field shows up as missing on the way back.
fn round_trips<T: DeserializeOwned + Serialize>(
    doc: &Value,
    schema: Option<&Value>,
) -> Vec<String> {
    let typed: T = match serde_json::from_value(doc.clone()) {
        Ok(t) => t,
        Err(e) => return vec![format!("does not deserialize: {e}")],
    };
    let back = serde_json::to_value(&typed).expect("serializes");
    let (want, got) = match schema {
        Some(s) => (apply_defaults(s, doc), apply_defaults(s, &back)),
        None => (doc.clone(), back),
    };
    let mut diffs = Vec::new();
    json_diff(&want, &got, "", &mut diffs);
    diffs
}

/// Paths at which `want` (the manifest) and `got` (after the round trip) differ.
fn json_diff(want: &Value, got: &Value, path: &str, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for key in w.keys().chain(g.keys()).collect::<BTreeSet<_>>() {
                let p = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (w.get(key), g.get(key)) {
                    (Some(a), Some(b)) => json_diff(a, b, &p, out),
                    (Some(a), None) => out.push(format!(
                        "{p}: {a} is lost on the round trip (unknown field?)"
                    )),
                    (None, Some(b)) => out.push(format!("{p}: {b} appears on the round trip")),
                    (None, None) => unreachable!(),
                }
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (a, b)) in w.iter().zip(g).enumerate() {
                json_diff(a, b, &format!("{path}[{i}]"), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: {a} becomes {b} on the round trip")),
    }
}

fn problems(doc: &Doc) -> Vec<String> {
    let json = &doc.json;
    let mut found = Vec::new();
    if json["metadata"].get("namespace").is_some() {
        found.push(
            "metadata.namespace is set; examples go to the namespace they are applied to".into(),
        );
    }
    let api_version = json["apiVersion"].as_str().unwrap_or_default();
    let schema = crd_schema(api_version, doc.kind());
    match (api_version, doc.kind()) {
        ("v1", "Secret") => found.extend(round_trips::<Secret>(json, None)),
        (_, "DirectoryIntegration") => {
            found.extend(round_trips::<DirectoryIntegration>(json, schema.as_ref()))
        }
        (_, "LastPassUser") => found.extend(round_trips::<LastPassUser>(json, schema.as_ref())),
        (_, "LastPassGroup") => found.extend(round_trips::<LastPassGroup>(json, schema.as_ref())),
        (v, k) => found.push(format!(
            "unexpected {v}/{k}: examples hold Secrets and this operator's kinds only"
        )),
    }
    if schema.is_some() {
        found.extend(validate(json, None));
    }
    found
}

#[test]
fn every_example_document_parses_and_validates() {
    let docs = examples();
    let failures: Vec<String> = docs
        .iter()
        .flat_map(|d| {
            problems(d)
                .into_iter()
                .map(move |p| format!("{}: {p}", d.at()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The checks above are not vacuous: a misspelt field and a foreign kind are caught.
#[test]
fn a_typo_in_an_example_would_be_caught() {
    let text = std::fs::read_to_string(repo_path("examples/10-users.yaml")).unwrap();
    assert!(
        text.contains("  suspended: true"),
        "fixture changed: update this test"
    );
    let typo = text.replacen("  suspended: true", "  suspend: true", 1);
    let docs = yaml_documents(&typo).unwrap();
    let errors: Vec<String> = docs
        .into_iter()
        .enumerate()
        .flat_map(|(index, json)| {
            problems(&Doc {
                file: "typo.yaml".into(),
                index,
                json,
            })
        })
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e == "spec.suspend: true is lost on the round trip (unknown field?)"),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("spec.suspend: unknown field")),
        "{errors:#?}"
    );

    let foreign = yaml_documents("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n").unwrap();
    let doc = Doc {
        file: "x.yaml".into(),
        index: 0,
        json: foreign[0].clone(),
    };
    assert_eq!(
        problems(&doc),
        ["unexpected v1/ConfigMap: examples hold Secrets and this operator's kinds only"]
    );
}

/// The credentials Secret the README has people create with `kubectl create secret`.
const README_CREDENTIALS: &str = "lastpass-api";

/// `kubectl apply -R -f examples/` into one namespace: names must not collide, and every
/// reference must resolve to something the examples define, with the keys the operator reads.
#[test]
fn examples_are_self_contained() {
    let docs = examples();
    let mut seen = BTreeMap::new();
    for d in &docs {
        if let Some(first) = seen.insert((d.kind().to_string(), d.name().to_string()), d.at()) {
            panic!("{} and {first} have the same kind and name", d.at());
        }
    }
    let secrets: BTreeMap<String, BTreeSet<String>> = docs
        .iter()
        .filter(|d| d.kind() == "Secret")
        .map(|d| {
            let s: Secret = d.typed();
            let keys = s
                .string_data
                .unwrap_or_default()
                .into_keys()
                .chain(s.data.unwrap_or_default().into_keys());
            (d.name().to_string(), keys.collect())
        })
        .collect();
    let has_keys = |name: &str, keys: &[&str]| {
        secrets
            .get(name)
            .is_some_and(|k| keys.iter().all(|key| k.contains(*key)))
    };

    let integrations: BTreeSet<&str> = docs
        .iter()
        .filter(|d| d.kind() == "DirectoryIntegration")
        .map(Doc::name)
        .collect();
    for d in &docs {
        match d.kind() {
            "DirectoryIntegration" => {
                let di: DirectoryIntegration = d.typed();
                let creds = &di.spec.lastpass.credentials_secret_ref;
                // `lastpass-api` is the Secret the README has people create themselves.
                assert!(
                    creds.name == README_CREDENTIALS
                        || has_keys(&creds.name, &[&creds.cid_key, &creds.provhash_key]),
                    "{}: Secret {} with keys {} and {} is not among the examples",
                    d.at(),
                    creds.name,
                    creds.cid_key,
                    creds.provhash_key
                );
                if let Some(ldap) = &di.spec.ldap {
                    let bind = ldap
                        .bind_secret_ref
                        .as_ref()
                        .map(|r| r.name.as_str())
                        .unwrap_or_default();
                    assert!(
                        has_keys(bind, &["bindDN", "password"]),
                        "{}: bind Secret {bind:?} missing",
                        d.at()
                    );
                }
            }
            "LastPassUser" => {
                let u: LastPassUser = d.typed();
                assert!(
                    integrations.contains(u.spec.integration_ref.name.as_str()),
                    "{}: unknown integration",
                    d.at()
                );
            }
            "LastPassGroup" => {
                let g: LastPassGroup = d.typed();
                assert!(
                    integrations.contains(g.spec.integration_ref.name.as_str()),
                    "{}: unknown integration",
                    d.at()
                );
            }
            _ => {}
        }
    }
}

/// The examples keep showing what the README promises.
#[test]
fn examples_cover_the_documented_features() {
    let docs = examples();
    let in_file = |rel: &str| {
        let path = repo_path(rel);
        docs.iter().filter(move |d| d.file == path)
    };

    let users: Vec<LastPassUser> = in_file("examples/10-users.yaml")
        .filter(|d| d.kind() == "LastPassUser")
        .map(Doc::typed)
        .collect();
    assert!(users.len() >= 4, "at least 4 users");
    assert!(
        users.iter().any(|u| !u.spec.groups.is_empty()),
        "a user with groups"
    );
    assert!(
        users.iter().any(|u| !u.spec.attributes.is_empty()),
        "a user with attributes"
    );
    assert!(users.iter().any(|u| u.spec.suspended), "a suspended user");
    assert!(
        users
            .iter()
            .any(|u| u.spec.initial_password == InitialPassword::Generate),
        "initialPassword: Generate"
    );
    assert!(
        users.iter().any(|u| u.spec.deprovision_action.is_some()),
        "a deprovisionAction"
    );
    assert!(
        users.iter().any(|u| u
            .metadata
            .labels
            .as_ref()
            .is_some_and(|l| l.contains_key("team"))),
        "team labels"
    );

    let groups: Vec<LastPassGroup> = in_file("examples/20-groups.yaml").map(Doc::typed).collect();
    assert!(
        groups.iter().any(|g| !g.spec.members.is_empty()),
        "a group with members"
    );
    assert!(
        groups.iter().any(|g| g.spec.member_selector.is_some()),
        "a group with a memberSelector"
    );
    assert!(
        groups
            .iter()
            .any(|g| g.spec.policy == GroupPolicy::Additive),
        "an Additive group"
    );

    let integration = |rel: &str| -> DirectoryIntegration {
        in_file(rel)
            .find(|d| d.kind() == "DirectoryIntegration")
            .map(Doc::typed)
            .unwrap_or_else(|| panic!("{rel}: no integration"))
    };
    assert_eq!(
        integration("examples/00-integration.yaml")
            .metadata
            .name
            .as_deref(),
        Some("acme")
    );
    // Applying the examples after creating the real Secret must not overwrite it.
    assert!(
        !docs
            .iter()
            .any(|d| d.kind() == "Secret" && d.name() == README_CREDENTIALS),
        "an example defines the Secret {README_CREDENTIALS}: applying it would overwrite the real credentials"
    );
    assert_eq!(
        integration("examples/30-dry-run.yaml")
            .spec
            .lastpass
            .credentials_secret_ref
            .name,
        README_CREDENTIALS,
        "the README's dry run reads the Secret the README creates"
    );
    assert!(
        integration("examples/30-dry-run.yaml").spec.sync.dry_run,
        "30-dry-run.yaml is a dry run"
    );
    let ad = integration("examples/ldap/active-directory.yaml");
    assert!(
        ad.spec
            .ldap
            .as_ref()
            .and_then(|l| l.url.as_deref())
            .is_some_and(|u| u.starts_with("ldaps://"))
    );

    for idp in [
        "okta",
        "entra-id",
        "onelogin",
        "pingone",
        "google-workspace",
    ] {
        let rel = format!("examples/idp/{idp}.yaml");
        let di = integration(&rel);
        let name = di.metadata.name.clone().unwrap();
        assert!(
            di.spec.scim.as_ref().is_some_and(|s| s.enabled),
            "{rel}: scim.enabled"
        );
        let text = std::fs::read_to_string(repo_path(&rel)).unwrap();
        assert!(
            text.contains(&format!("/scim/v2/lastpass/{name}/")),
            "{rel}: header names the SCIM URL"
        );
        assert!(
            text.contains("/scim/v2/<namespace>/<integration>/"),
            "{rel}: header explains the URL"
        );
        assert!(
            text.contains(&format!("{name}-scim-token")),
            "{rel}: header names the token Secret"
        );
    }
}
