//! The error of a pull, classified once into the reason of the `LdapReachable` condition.

use std::time::Duration;

use crate::status::Reason;

/// Why a pull failed. Messages say what failed, on what, and what to do; none ever holds the
/// bind password.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `spec.ldap` is missing or invalid.
    #[error("spec.ldap.{field}: {problem}")]
    InvalidConfig {
        /// The field, relative to `spec.ldap`.
        field: &'static str,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The bind or CA Secret is missing or lacks a key.
    #[error("Secret {namespace}/{name}: {problem}")]
    Secret {
        /// Namespace of the Secret.
        namespace: String,
        /// Name of the Secret.
        name: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The Kubernetes API failed while reading a Secret or writing resources.
    #[error("{step}: {source}")]
    Kube {
        /// What was being done.
        step: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// A status write failed.
    #[error(transparent)]
    Status(#[from] crate::status::writer::WriteError),
    /// The directory could not be reached (DNS, refused, reset).
    #[error("cannot connect to {url}: {detail}; check the URL, the port and network policies")]
    Unreachable {
        /// The directory URL.
        url: String,
        /// The connection error.
        detail: String,
    },
    /// TLS (ldaps or StartTLS) failed: certificate, hostname, protocol.
    #[error(
        "TLS with {url} failed: {detail}; check the certificate's names and that spec.ldap.caSecretRef holds the CA that signed it"
    )]
    Tls {
        /// The directory URL.
        url: String,
        /// The TLS error.
        detail: String,
    },
    /// A step took longer than its timeout.
    #[error(
        "{step} on {url} timed out after {after:?}; raise spec.ldap.connectTimeout / operationTimeout or check the directory's load"
    )]
    Timeout {
        /// What was being done.
        step: &'static str,
        /// The directory URL.
        url: String,
        /// The timeout that expired.
        after: Duration,
    },
    /// The directory refused the bind DN and password.
    #[error(
        "bind as {bind_dn:?} refused by {url} (LDAP result {rc}: {text}); check bindDN and password in the bind Secret"
    )]
    Bind {
        /// The directory URL.
        url: String,
        /// The bind DN (not secret).
        bind_dn: String,
        /// LDAP result code (49: invalid credentials).
        rc: u32,
        /// The server's diagnostic text.
        text: String,
    },
    /// A search failed.
    #[error("search of {base:?} with filter {filter} failed: {detail}")]
    Search {
        /// Search base DN.
        base: String,
        /// Search filter.
        filter: String,
        /// The result code and a hint.
        detail: String,
    },
}

impl Error {
    /// The condition reason of this error.
    pub fn reason(&self) -> Reason {
        match self {
            Error::InvalidConfig { .. } => Reason::ConfigInvalid,
            Error::Secret { .. } => Reason::SecretInvalid,
            Error::Kube { .. } | Error::Status(_) => Reason::ApiFailed,
            Error::Unreachable { .. } => Reason::Unreachable,
            Error::Tls { .. } => Reason::TlsFailed,
            Error::Timeout { .. } => Reason::Timeout,
            Error::Bind { .. } => Reason::BindFailed,
            Error::Search { .. } => Reason::SearchFailed,
        }
    }

    /// A fixed metric label per variant (never formatted from fields).
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::InvalidConfig { .. } => "invalid_config",
            Error::Secret { .. } => "secret",
            Error::Kube { .. } | Error::Status(_) => "kube",
            Error::Unreachable { .. } => "unreachable",
            Error::Tls { .. } => "tls",
            Error::Timeout { .. } => "timeout",
            Error::Bind { .. } => "bind",
            Error::Search { .. } => "search",
        }
    }
}
