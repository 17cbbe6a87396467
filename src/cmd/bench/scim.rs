//! `bench --scim`: the SCIM server's throughput and latency against a real API server —
//! `POST /Users` and the `userName eq` lookup every identity provider makes before a create
//! ([`crate::scim::bench`]) — in a fresh namespace of the `--kubeconfig` cluster.

use std::fmt::Write as _;
use std::path::Path;

use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::json;

use super::BenchError;
use crate::scim::bench::{BenchOptions, BenchReport, Stats};

fn failed(step: &str) -> impl Fn(String) -> BenchError + '_ {
    move |reason| BenchError::Cluster {
        step: step.to_string(),
        reason,
    }
}

/// Creates `users` users through the SCIM endpoint, `concurrency` requests in flight, then
/// looks each one up by `userName`.
pub async fn run(
    kubeconfig: &Path,
    users: usize,
    concurrency: usize,
) -> Result<BenchReport, BenchError> {
    crate::install_crypto_provider();
    let raw = kube::config::Kubeconfig::read_from(kubeconfig)
        .map_err(|e| failed("reading the kubeconfig")(e.to_string()))?;
    let config = kube::Config::from_custom_kubeconfig(raw, &Default::default())
        .await
        .map_err(|e| failed("loading the kubeconfig")(e.to_string()))?;
    let client =
        Client::try_from(config).map_err(|e| failed("building a client")(e.to_string()))?;
    crate::cmd::demo_cluster::install_crds(&client)
        .await
        .map_err(|e| failed("installing the CRDs")(e.to_string()))?;
    // A fresh namespace per run, left in place (the API server of the tests never finishes
    // deleting namespaces; delete it with kubectl on a real cluster).
    let ns = format!("lastpass-bench-scim-{}", jiff::Timestamp::now().as_second());
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}}))
        .map_err(BenchError::Integration)?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .map_err(|e| failed("creating the namespace")(e.to_string()))?;
    eprintln!("bench --scim: {users} users, {concurrency} in flight, namespace {ns}");
    let opts = BenchOptions {
        users,
        concurrency: concurrency.max(1),
        lookups: users,
    };
    crate::scim::bench::run(client, &ns, &opts)
        .await
        .map_err(|e| failed("SCIM requests")(e.to_string()))
}

/// The report as aligned columns.
pub fn render(r: &BenchReport) -> String {
    let mut out = format!(
        "lastpass-operator bench --scim: {} users, {} requests in flight\n\n{:<8} {:>9} {:>7} {:>9} {:>9} {:>9}\n",
        r.users, r.concurrency, "REQUEST", "REQUESTS", "ERRORS", "PER S", "P50 MS", "P99 MS"
    );
    for (name, s) in [("POST", &r.post), ("lookup", &r.lookup)] {
        let Stats {
            requests,
            errors,
            per_second,
            p50_ms,
            p99_ms,
        } = s;
        let _ = writeln!(
            out,
            "{name:<8} {requests:>9} {errors:>7} {per_second:>9.1} {p50_ms:>9.1} {p99_ms:>9.1}"
        );
    }
    out
}
