//! `bench --scim`: the SCIM server's throughput and latency against a real API server —
//! `POST /Users`, the `userName eq` lookup every identity provider makes before a create and
//! `GET /Users/{id}` ([`crate::bench::scim_load`]), next to the API server's own write rate and the
//! process's memory — in a fresh namespace of the `--kubeconfig` cluster.

use std::fmt::Write as _;
use std::path::Path;

use kube::Client;

use super::BenchError;
use super::cluster::{load_kubeconfig, other_err, prepare};
use crate::bench::scim_load::{BenchOptions, BenchReport, Stats};

/// Creates `users` users through the SCIM endpoint, `concurrency` requests in flight, then
/// looks each one up by `userName`.
pub async fn run(
    kubeconfig: &Path,
    users: usize,
    concurrency: usize,
) -> Result<BenchReport, BenchError> {
    crate::install_crypto_provider();
    let config = load_kubeconfig(kubeconfig).await?;
    let client = Client::try_from(config).map_err(|e| other_err("building a client", e))?;
    let ns = prepare(&client, "lastpass-bench-scim").await?;
    eprintln!("bench --scim: {users} users, {concurrency} in flight, namespace {ns}");
    let opts = BenchOptions {
        users,
        concurrency: concurrency.max(1),
        lookups: users,
        api_writes: users.min(2000),
    };
    crate::bench::scim_load::run(client, &ns, &opts)
        .await
        .map_err(|e| other_err("SCIM requests", e))
}

/// The report as aligned columns.
pub fn render(r: &BenchReport) -> String {
    let mut out = format!(
        "lastpass-operator bench --scim: {} users, {} requests in flight\n\n{:<8} {:>9} {:>7} {:>9} {:>9} {:>9}\n",
        r.users, r.concurrency, "REQUEST", "REQUESTS", "ERRORS", "PER S", "P50 MS", "P99 MS"
    );
    for (name, s) in [
        ("POST", &r.post),
        ("lookup", &r.lookup),
        ("get-id", &r.get_by_id),
        ("api-write", &r.api_server_writes),
        ("members", &r.member_patch),
    ] {
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
    let _ = writeln!(
        out,
        "\nlookup: GET /Users?filter=userName eq; get-id: GET /Users/{{id}}; api-write: LastPassUser creates sent to the API server directly (the bound of POST)\n{} users in the SCIM store; process RSS {:.0} MiB",
        r.store_users, r.rss_mib
    );
    out
}
