//! The benchmark at N = 200, so it cannot rot: every phase converges with every user Ready,
//! the steady resync only reads and writes no status, and the JSON has the documented shape.
//! Timings are not asserted (they are measured in BENCHMARKS.md).

use lastpass_operator::bench::inprocess::{Options, run};
use lastpass_operator::bench::world::Shape;

const PHASES: [&str; 5] = ["initial", "resync", "drift", "churn", "deprovision"];

fn options() -> Options {
    Options {
        shape: Shape {
            users: 200,
            groups: 20,
            memberships_per_user: 3,
        },
        latency_ms: 0,
        max_batch: Some(50),
        // A loose rate limit keeps the test fast; the call counts do not depend on it.
        rps: Some(1000),
    }
}

#[tokio::test]
async fn every_phase_converges_and_the_steady_resync_only_reads() {
    let r = run(&options()).await.expect("the benchmark runs");
    let names: Vec<&str> = r.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, PHASES);
    for p in &r.phases {
        assert_eq!(p.ready_users, p.users, "{}: every user Ready", p.name);
        assert!(p.total_calls >= p.min_calls, "{}: {p:?}", p.name);
        assert_eq!(p.syncs, 1, "{}: one sync converges: {p:?}", p.name);
    }

    let initial = r.phase("initial").unwrap();
    assert_eq!(initial.users, 200);
    // 200 users in batches of 50: four batchadd calls carry users and memberships.
    assert_eq!(initial.calls.get("batchadd"), Some(&4), "{initial:?}");
    assert_eq!(initial.status_writes_by_kind.users, 200);
    assert_eq!(initial.status_writes_by_kind.groups, 20);

    let resync = r.phase("resync").unwrap();
    assert_eq!(resync.write_calls, 0, "reads only: {resync:?}");
    assert_eq!(
        resync.calls.keys().collect::<Vec<_>>(),
        ["getuserdata"],
        "{resync:?}"
    );
    // No user or group status changes. The integration's status.plan still shows the initial
    // load's plan until this first no-op sync replaces it with an empty one; the same sync
    // repeated right after writes nothing at all.
    assert_eq!(resync.status_writes_by_kind.users, 0, "{resync:?}");
    assert_eq!(resync.status_writes_by_kind.groups, 0, "{resync:?}");
    assert!(resync.status_writes_by_kind.integration <= 1, "{resync:?}");
    let repeat = resync.repeat.expect("the resync is repeated");
    assert_eq!(repeat.write_calls, 0, "{resync:?}");
    assert_eq!(
        repeat.status_writes, 0,
        "steady: no status write: {resync:?}"
    );

    // 1 % of 200: two users edited in the console → renamed back and re-added to a group.
    let drift = r.phase("drift").unwrap();
    assert_eq!(drift.calls.get("updateuser"), Some(&2), "{drift:?}");
    assert_eq!(drift.calls.get("batchchangegrp"), Some(&1), "{drift:?}");

    let churn = r.phase("churn").unwrap();
    assert_eq!(churn.users, 202, "two new users");
    assert_eq!(churn.calls.get("batchadd"), Some(&1), "{churn:?}");
    assert_eq!(churn.calls.get("updateuser"), Some(&2), "{churn:?}");
    assert_eq!(churn.calls.get("batchchangegrp"), Some(&1), "{churn:?}");

    let deprovision = r.phase("deprovision").unwrap();
    assert_eq!(
        deprovision.users, 200,
        "two users deprovisioned and released"
    );
    assert_eq!(
        deprovision.calls.get("deluser"),
        Some(&2),
        "{deprovision:?}"
    );
    // Each deactivation measured from its deletion to LastPass confirming it: within the phase.
    let rev = deprovision
        .revocation
        .expect("revocation latency of the deprovision phase");
    assert_eq!(rev.count, 2, "{rev:?}");
    assert!(
        0.0 < rev.p50_s && rev.p50_s <= rev.p99_s && rev.p99_s <= deprovision.wall_s + 0.01,
        "{rev:?} within {} s",
        deprovision.wall_s
    );
    for p in ["initial", "resync", "drift", "churn"] {
        assert_eq!(r.phase(p).unwrap().revocation, None, "{p}: nothing revoked");
    }

    assert_eq!(r.baseline_calls, 200 + 600);
    assert!(r.peak_rss_mib > 0.0 && r.cpu_s > 0.0, "{r:?}");
}

#[tokio::test]
async fn the_json_has_the_documented_shape() {
    let r = run(&options()).await.expect("the benchmark runs");
    let v = serde_json::to_value(&r).unwrap();
    for key in [
        "users",
        "groups",
        "latency_ms",
        "peak_rss_mib",
        "cpu_s",
        "baseline_calls",
    ] {
        assert!(v.get(key).is_some_and(|x| x.is_number()), "{key}: {v}");
    }
    let phases = v["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 5);
    for (p, name) in phases.iter().zip(PHASES) {
        assert_eq!(p["name"], name);
        for key in [
            "wall_s",
            "total_calls",
            "min_calls",
            "status_writes",
            "lower_bound_s",
        ] {
            assert!(
                p.get(key).is_some_and(|x| x.is_number()),
                "{name}.{key}: {p}"
            );
        }
        let calls = p["calls"].as_object().unwrap();
        assert!(calls.contains_key("getuserdata"), "{name}: {p}");
        let sum: u64 = calls.values().map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(Some(sum), p["total_calls"].as_u64(), "{name}");
    }
}
