//! Resources read from YAML files, as a GitOps repository or a pull request has them.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Secret;
use serde_json::Value;

use crate::crd::{DirectoryIntegration, LastPassGroup, LastPassUser};

/// Failure to read manifests.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid YAML.
    #[error("{path} is not valid YAML: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A document does not match its kind's schema.
    #[error("{path}: {kind} {name:?} is invalid: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The document's kind.
        kind: String,
        /// The document's name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// The operator's resources (and Secrets) found in a set of files.
#[derive(Clone, Debug, Default)]
pub struct Manifests {
    /// DirectoryIntegrations.
    pub integrations: Vec<DirectoryIntegration>,
    /// LastPassUsers.
    pub users: Vec<LastPassUser>,
    /// LastPassGroups.
    pub groups: Vec<LastPassGroup>,
    /// Secrets (credentials in the demo; real ones never belong in Git).
    pub secrets: Vec<Secret>,
    /// Documents of other kinds, skipped (`kind/name`).
    pub skipped: Vec<String>,
}

impl Manifests {
    /// Reads every `*.yaml` / `*.yml` file under `path` (or `path` itself), recursively and in
    /// name order. Resources without a namespace get `namespace`.
    pub fn load(path: &Path, namespace: &str) -> Result<Self, FilesError> {
        let mut files = Vec::new();
        collect(path, &mut files)?;
        files.sort();
        let mut out = Self::default();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|source| FilesError::Read {
                path: file.clone(),
                source,
            })?;
            out.add_yaml(&file, &text, namespace)?;
        }
        Ok(out)
    }

    /// Adds the documents of one YAML text (`origin` names it in errors).
    pub fn add_yaml(
        &mut self,
        origin: &Path,
        text: &str,
        namespace: &str,
    ) -> Result<(), FilesError> {
        let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| FilesError::Yaml {
            path: origin.to_path_buf(),
            message: e.to_string(),
        })?;
        for mut doc in docs.into_iter().filter(|d| !d.is_null()) {
            if doc.pointer("/metadata/namespace").is_none()
                && let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut)
            {
                meta.insert("namespace".into(), Value::String(namespace.into()));
            }
            let kind = doc
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let name = doc
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let invalid = |e: serde_json::Error| FilesError::Invalid {
                path: origin.to_path_buf(),
                kind: kind.clone(),
                name: name.clone(),
                message: e.to_string(),
            };
            match kind.as_str() {
                "DirectoryIntegration" => self
                    .integrations
                    .push(serde_json::from_value(doc).map_err(invalid)?),
                "LastPassUser" => self
                    .users
                    .push(serde_json::from_value(doc).map_err(invalid)?),
                "LastPassGroup" => self
                    .groups
                    .push(serde_json::from_value(doc).map_err(invalid)?),
                "Secret" => self
                    .secrets
                    .push(serde_json::from_value(doc).map_err(invalid)?),
                _ => self.skipped.push(format!("{kind}/{name}")),
            }
        }
        Ok(())
    }

    /// Adds everything of `other`.
    pub fn extend(&mut self, other: Manifests) {
        self.integrations.extend(other.integrations);
        self.users.extend(other.users);
        self.groups.extend(other.groups);
        self.secrets.extend(other.secrets);
        self.skipped.extend(other.skipped);
    }

    /// The integration named `name`, if any.
    pub fn integration(&self, name: &str) -> Option<&DirectoryIntegration> {
        self.integrations
            .iter()
            .find(|i| i.metadata.name.as_deref() == Some(name))
    }
}

/// Collects `path` itself when it is a file (explicitly named), or every YAML file below it.
fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), FilesError> {
    let read = |source| FilesError::Read {
        path: path.to_path_buf(),
        source,
    };
    if !std::fs::metadata(path).map_err(read)?.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(path).map_err(read)? {
        let entry = entry.map_err(read)?.path();
        if entry.is_dir() {
            collect(&entry, out)?;
        } else if entry.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(entry);
        }
    }
    Ok(())
}
