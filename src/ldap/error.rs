//! The error of a pull, classified once into the reason of the `LdapReachable` condition.

use std::time::Duration;

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

/// Reason of the `LdapReachable` / `LdapSynced` conditions; a fixed set, shared with
/// metrics labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The pull worked.
    Ok,
    /// `spec.ldap` is invalid.
    ConfigInvalid,
    /// The bind or CA Secret is missing or incomplete.
    SecretInvalid,
    /// TCP connection failed.
    Unreachable,
    /// TLS failed.
    TlsFailed,
    /// A timeout expired.
    Timeout,
    /// The bind was refused.
    BindFailed,
    /// A search failed.
    SearchFailed,
    /// The Kubernetes API failed.
    ApiFailed,
    /// Some directory entries were skipped (duplicates, claimed names, no username).
    Conflicts,
    /// A directory user's e-mail changed; the pull does not rename LastPass users.
    EmailChanged,
    /// The directory was not read, so nothing was synced.
    PullFailed,
    /// The safeguard holds the pull's deletions (more than the limits allow).
    OverSafeguard,
    /// The user search returned no user: the pull is held as a whole.
    NoUsersSeen,
    /// The held deletions were rejected with `lastpass-operator.io/reject-plan`.
    PullRejected,
    /// The held deletions were approved with `lastpass-operator.io/approve-plan`.
    PullApproved,
    /// The pull's deletions were within the safeguard.
    WithinSafeguard,
}

impl Reason {
    /// The condition reason (CamelCase, as Kubernetes wants).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Ok => "Ok",
            Reason::ConfigInvalid => "ConfigInvalid",
            Reason::SecretInvalid => "SecretInvalid",
            Reason::Unreachable => "Unreachable",
            Reason::TlsFailed => "TlsFailed",
            Reason::Timeout => "Timeout",
            Reason::BindFailed => "BindFailed",
            Reason::SearchFailed => "SearchFailed",
            Reason::ApiFailed => "ApiFailed",
            Reason::Conflicts => "Conflicts",
            Reason::EmailChanged => "EmailChanged",
            Reason::PullFailed => "PullFailed",
            Reason::OverSafeguard => "OverSafeguard",
            Reason::NoUsersSeen => "NoUsersSeen",
            Reason::PullRejected => "PullRejected",
            Reason::PullApproved => "PullApproved",
            Reason::WithinSafeguard => "WithinSafeguard",
        }
    }
}

impl Error {
    /// The condition reason of this error.
    pub fn reason(&self) -> Reason {
        match self {
            Error::InvalidConfig { .. } => Reason::ConfigInvalid,
            Error::Secret { .. } => Reason::SecretInvalid,
            Error::Kube { .. } => Reason::ApiFailed,
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
            Error::Kube { .. } => "kube",
            Error::Unreachable { .. } => "unreachable",
            Error::Tls { .. } => "tls",
            Error::Timeout { .. } => "timeout",
            Error::Bind { .. } => "bind",
            Error::Search { .. } => "search",
        }
    }
}
