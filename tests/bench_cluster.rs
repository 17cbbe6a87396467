//! `bench --cluster` at N = 30 on the real API server: every phase converges, each phase's
//! bound is the documented arithmetic of its own figures, and the operator's writes the bench
//! counts are the writes the API server holds (Events listed back, one finalizer and one status
//! per user). Timings are not asserted (they are measured in BENCHMARKS.md).

mod support;

use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use lastpass_operator::bench::cluster::run;
use lastpass_operator::bench::inprocess::Options;
use lastpass_operator::bench::world::Shape;

const PHASES: [&str; 5] = ["initial", "resync", "drift", "churn", "deprovision"];

#[tokio::test]
async fn every_phase_reports_its_writes_and_bound() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let shape = Shape {
        users: 30,
        groups: 3,
        memberships_per_user: 2,
    };
    let opts = Options {
        shape,
        latency_ms: 0,
        max_batch: Some(10),
        rps: Some(1000),
    };
    let r = run(&opts, cluster.kubeconfig().to_path_buf())
        .await
        .expect("the cluster benchmark runs");
    let names: Vec<&str> = r.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, PHASES);
    let rate = r.api_write_rate.expect("the write rate is measured");
    assert!(rate > 0.0);

    for p in &r.phases {
        let a = p
            .api
            .unwrap_or_else(|| panic!("{}: no API figures", p.name));
        let writes = a.bench_writes + a.operator_writes.total();
        let api_bound = writes as f64 / rate;
        assert!(
            (a.api_bound_s - api_bound).abs() < 1e-9,
            "{}: {a:?}",
            p.name
        );
        let bound = a.debounce_s + api_bound.max(p.lower_bound_s);
        assert!((a.bound_s - bound).abs() < 1e-9, "{}: {a:?}", p.name);
        assert!(
            (a.bound_ratio - p.wall_s / bound).abs() < 1e-9,
            "{}: {a:?}",
            p.name
        );
        assert_eq!(a.debounce_s, 5.0, "the integration's default debounce");
    }

    let initial = r.phase("initial").unwrap();
    let a = initial.api.unwrap();
    assert_eq!(a.bench_writes, 33, "30 users and 3 groups created");
    // Every user and group gets its finalizer and at least one status.
    assert!(a.operator_writes.metadata >= 33, "{a:?}");
    assert!(a.operator_writes.status >= 33, "{a:?}");
    assert_eq!(
        a.writes_per_user,
        a.operator_writes.total() as f64 / 30.0,
        "{a:?}"
    );
    // Invitations of a bulk plan (> 20 users) are one summary Event, not one per user.
    assert!(a.operator_writes.events <= 3, "{a:?}");

    // The Events counted are the Events the API server holds: the bench's namespace is the
    // newest `lastpass-bench-<seconds>` one (`lastpass-bench-rate-*` holds the rate's writes).
    let client = cluster.client().await;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let ns = namespaces
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .filter(|n| n.starts_with("lastpass-bench-") && !n.starts_with("lastpass-bench-rate-"))
        .max()
        .expect("the bench's namespace");
    let events = Api::<Event>::namespaced(client, &ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .len();
    let counted: usize = r
        .phases
        .iter()
        .map(|p| p.api.unwrap().operator_writes.events)
        .sum();
    assert_eq!(events, counted, "Events in {ns} vs counted: {r:#?}");
}
