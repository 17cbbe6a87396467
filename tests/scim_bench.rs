//! `bench scim` on the real API server: a small run must create every user and find each one.
//! `SCIM_BENCH_USERS` / `SCIM_BENCH_CONCURRENCY` make it a real measurement (the report is
//! printed as JSON).

mod support;

use lastpass_operator::bench::scim_load::{BenchOptions, run};

#[tokio::test]
async fn bench_scim_creates_and_finds_every_user() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let ns = cluster.namespace().await;
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let users = env("SCIM_BENCH_USERS", 40);
    let opts = BenchOptions {
        users,
        concurrency: env("SCIM_BENCH_CONCURRENCY", 4),
        lookups: env("SCIM_BENCH_LOOKUPS", users),
        api_writes: env("SCIM_BENCH_API_WRITES", 20),
    };
    let report = run(ns.client.clone(), &ns.name, &opts).await.unwrap();
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!((report.post.requests, report.post.errors), (users, 0));
    assert_eq!(
        (report.lookup.requests, report.lookup.errors),
        (opts.lookups, 0)
    );
    assert_eq!(
        (report.get_by_id.requests, report.get_by_id.errors),
        (opts.lookups, 0)
    );
    assert_eq!(
        (
            report.api_server_writes.requests,
            report.api_server_writes.errors
        ),
        (opts.api_writes, 0)
    );
    assert!(report.store_users >= users, "{}", report.store_users);
    assert!(report.post.p99_ms >= report.post.p50_ms && report.post.per_second > 0.0);
    assert_eq!(
        (report.member_patch.requests, report.member_patch.errors),
        (1, 0),
        "one PATCH adding every user as a member"
    );
    ns.cleanup().await;
}
