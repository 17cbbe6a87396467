//! # lastpass-operator
//!
//! A Kubernetes operator that makes a LastPass Business account match what is declared in
//! Kubernetes. The modules follow the data flow of `DESIGN.md`:
//!
//! - [`crd`]: the custom resource types (`DirectoryIntegration`, `LastPassUser`,
//!   `LastPassGroup`); types only, no behaviour beyond schema and defaults.
//! - [`lastpass`]: the LastPass Enterprise API client: envelope, commands, reply
//!   classification, rate limiting, retries.
//! - [`ldap`]: the LDAP / Active Directory pull (the AD Connector equivalent) that turns a
//!   directory into LastPassUser / LastPassGroup resources of source `ldap`.
//! - [`simulator`]: a faithful stand-in for the LastPass Enterprise API, used by tests, the
//!   demo and the benchmark.
//! - [`scim`]: the SCIM 2.0 server identity providers push users and groups to, and its
//!   rotating bearer tokens.
//! - [`status`]: the status vocabulary every writer shares: condition types, the one `Reason`
//!   enum of conditions and Events, refusal messages, and the write-on-change status writer.
//! - [`leader`]: leader election on a Lease, so one replica writes to LastPass.
//! - [`cli`]: the subcommands the thin `main.rs` dispatches to.

pub mod bench;
pub mod cli;
pub mod cmd;
// kube's `printcolumn(name = .., type_ = ..)` repeats keys by design; clippy reads them as
// duplicated attributes.
pub mod controller;
#[allow(clippy::duplicated_attributes)]
pub mod crd;
pub mod engine;
pub mod lastpass;
pub mod ldap;
pub mod leader;
pub mod naming;
pub mod scim;
pub mod simulator;
pub mod source;
pub mod status;
pub mod telemetry;

/// Installs the process-wide rustls crypto provider (ring).
///
/// kube and reqwest are built without a default provider; the first TLS client panics unless
/// one is installed. Safe to call more than once (later calls are no-ops).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
