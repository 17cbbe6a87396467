//! Errors of the controllers, each with a fixed metric label.

use std::time::Duration;

/// A failure of a controller or of an account task.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("{action} failed: {source}")]
    Kube {
        /// What was being done, e.g. "patching status of LastPassUser team/jane".
        action: String,
        /// The cause.
        #[source]
        source: kube::Error,
    },
    /// The credentials Secret is missing or lacks a key.
    #[error("{0}")]
    Credentials(String),
    /// The LastPass client could not be built.
    #[error("LastPass client: {0}")]
    Client(#[from] crate::lastpass::ApiError),
    /// The sync could not finish (LastPass unavailable, an unknown outcome); it is retried.
    #[error("LastPass sync failed: {0}")]
    Sync(String),
    /// The DirectoryIntegration breaks a rule of its CRD; nothing was sent to LastPass. Fixed
    /// by editing the spec (which wakes the account).
    #[error("invalid DirectoryIntegration spec: {0}")]
    InvalidSpec(String),
    /// A resource has no namespace (the kinds are namespaced; this should not happen).
    #[error("{0} has no namespace")]
    NoNamespace(String),
}

impl From<crate::status::writer::WriteError> for Error {
    fn from(e: crate::status::writer::WriteError) -> Self {
        use crate::status::writer::WriteError;
        match e {
            WriteError::Kube { action, source } => Self::Kube { action, source },
            WriteError::NoNamespace(name) => Self::NoNamespace(name),
        }
    }
}

impl Error {
    /// A fixed label for metrics (never a name or message).
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Kube { .. } => "kube",
            Self::Credentials(_) => "credentials",
            Self::Client(_) => "client",
            Self::Sync(_) => "sync",
            Self::NoNamespace(_) => "no_namespace",
            Self::InvalidSpec(_) => "invalid_spec",
        }
    }

    /// How long to wait before the next attempt.
    pub fn requeue_after(&self) -> Duration {
        match self {
            Self::Credentials(_) | Self::InvalidSpec(_) => Duration::from_secs(60),
            _ => Duration::from_secs(5),
        }
    }
}

/// Wraps a kube error with what was being done.
pub fn kube(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let action = action.into();
    move |source| Error::Kube { action, source }
}
