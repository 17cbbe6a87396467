//! Test support, in one place. Each test binary declares `mod support;` and uses the parts it
//! needs:
//!
//! - [`builders`]: one builder per kind (LastPassUser, LastPassGroup, DirectoryIntegration,
//!   Secret; the engine's desired users and groups).
//! - [`account`]: a simulated LastPass account on loopback and a client for it (contract and
//!   engine tests; the account cluster tests point their integration at).
//! - [`cluster`]: the real Kubernetes API server (envtest or `LASTPASS_OPERATOR_TEST_KUBECONFIG`)
//!   with the CRDs applied, and a fresh namespace per test.
//! - [`operator`]: the real controllers in the test process against that server, and helpers
//!   that wait for what they write.
//! - [`process`]: the real `lastpass-operator run` binary as a child process.
//! - [`scim`]: a SCIM server under test over real HTTP.
//! - [`ldap`]: a real slapd per test, the LDAP scenarios, and the run's Samba AD DC.
//! - [`schema`]: YAML loading and an offline stand-in for the API server's validation.
//!
//! A cluster, LDAP or AD test without its server prints a loud SKIPPED outside CI and fails in
//! CI (`CI` set), so it can never pass by not running.

#![allow(dead_code)] // each test binary uses a different part of the support

pub mod account;
pub mod builders;
pub mod cluster;
pub mod ldap;
pub mod operator;
pub mod process;
pub mod schema;
pub mod scim;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use cluster::{TestCluster, TestNamespace, cluster};

/// Absolute path of a file or directory of the repository.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Polls `probe` every 100 ms until it returns `Some`, or `None` after `limit`.
pub async fn wait_for<T, F, Fut>(limit: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = probe().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
