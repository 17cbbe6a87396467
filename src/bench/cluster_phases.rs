//! The phases of `bench --cluster` after the initial load — resync, drift and churn — and what
//! every phase shares: the marks it is measured from, waiting for quiet, and its report with
//! the API server's bound.

use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::crd::{DirectoryIntegration, LastPassUser, RESYNC_ANNOTATION};
use crate::status::types;

use super::BenchError;
use super::cluster_bound::{PhaseWrites, WriteRate, api_bound};
use super::cluster_deprovision::Cluster;
use super::measure::{calls_by_command, cpu_seconds, lower_bound_s};
use super::meter::Reading;
use super::report::{PhaseReport, StatusWrites};
use super::world::{Resources, Shape};

/// How long a phase may take before the run fails.
pub const DEADLINE: Duration = Duration::from_secs(900);
/// Quiet period (no LastPass call, no status write) that ends a phase triggered by a resync.
const QUIET: Duration = Duration::from_secs(3);
/// Concurrent writes of the benchmark itself.
pub const BENCH_CONCURRENCY: usize = 32;

/// Where a phase starts: the simulator's call log, the write meter, CPU and the clock.
pub struct Mark {
    log_start: usize,
    meter: Reading,
    cpu0: f64,
    /// When the phase's first write was sent.
    pub started: Instant,
}

/// Marks the start of a phase.
pub fn mark(c: &Cluster<'_>) -> Mark {
    Mark {
        log_start: c.sim.state.calls().len(),
        meter: c.meter.read(),
        cpu0: cpu_seconds().unwrap_or_default(),
        started: Instant::now(),
    }
}

/// What a phase adds to its [`Mark`] for its report.
pub struct Ending<'a> {
    /// The phase.
    pub name: &'a str,
    /// Wall time from the mark to convergence.
    pub wall_s: f64,
    /// The fewest LastPass calls of the phase.
    pub min_calls: usize,
    /// Writes the benchmark made.
    pub bench_writes: usize,
    /// Users the phase created or changed.
    pub users_changed: usize,
    /// Declared users at the end.
    pub users: usize,
    /// The API server's write rate.
    pub rate: &'a WriteRate,
    /// The integration's debounce, in seconds.
    pub debounce_s: f64,
}

/// The report of a phase from `mark` to now.
pub fn finish(c: &Cluster<'_>, mark: &Mark, e: &Ending<'_>) -> PhaseReport {
    let log = c.sim.state.calls();
    let calls = calls_by_command(&log[mark.log_start.min(log.len())..]);
    let total_calls: usize = calls.values().sum();
    let reads = calls.get("getuserdata").copied().unwrap_or(0);
    let after = c.meter.read();
    let status_write_s = after.busy.saturating_sub(mark.meter.busy).as_secs_f64();
    let lower = lower_bound_s(e.min_calls, c.limits);
    let writes = PhaseWrites {
        bench_writes: e.bench_writes,
        operator_writes: after.api.since(&mark.meter.api),
        users_changed: e.users_changed,
    };
    PhaseReport {
        name: e.name.into(),
        wall_s: e.wall_s,
        total_calls,
        write_calls: total_calls - reads,
        calls,
        calls_per_user: total_calls as f64 / e.users.max(1) as f64,
        min_calls: e.min_calls,
        min_calls_all_batched: e.min_calls,
        status_writes: after.writes - mark.meter.writes,
        status_writes_by_kind: StatusWrites {
            users: after.by_kind.users - mark.meter.by_kind.users,
            groups: after.by_kind.groups - mark.meter.by_kind.groups,
            integration: after.by_kind.integration - mark.meter.by_kind.integration,
        },
        lower_bound_s: lower,
        changes: e.users_changed,
        syncs: 0,
        users: e.users,
        ready_users: e.users,
        cpu_s: cpu_seconds().unwrap_or_default() - mark.cpu0,
        repeat: None,
        status_write_s: Some(status_write_s),
        status_write_share: Some(if e.wall_s > 0.0 {
            status_write_s / e.wall_s
        } else {
            0.0
        }),
        revocation: None,
        api: Some(api_bound(&writes, e.rate, lower, e.debounce_s, e.wall_s)),
    }
}

/// Whether a user is Ready for its current generation.
pub fn is_ready(u: &LastPassUser) -> bool {
    u.status.as_ref().is_some_and(|s| {
        s.observed_generation == u.metadata.generation
            && s.conditions
                .iter()
                .any(|c| c.type_ == types::READY && c.status == "True")
    })
}

/// Waits until the watched users number `n` and all are Ready for their generation; returns
/// when that was first seen.
pub async fn all_ready(c: &Cluster<'_>, phase: &str, n: usize) -> Result<Instant, BenchError> {
    let started = Instant::now();
    loop {
        let state = c.users.state();
        let ready = state.iter().filter(|u| is_ready(u)).count();
        if state.len() == n && ready == n {
            return Ok(Instant::now());
        }
        if started.elapsed() > DEADLINE {
            return Err(BenchError::NotReady {
                phase: phase.into(),
                ready,
                total: n,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until neither a LastPass call nor a status write happened for [`QUIET`].
pub async fn quiet(c: &Cluster<'_>) {
    let _ = quiet_after(c, usize::MAX).await;
}

/// Waits for [`QUIET`] after the last activity (a LastPass call from `log_start` on, or a
/// status write); returns when the last activity ended (`None`: none at all).
pub async fn quiet_after(c: &Cluster<'_>, log_start: usize) -> Option<Instant> {
    let begun = Instant::now();
    let mut seen_calls = c.sim.state.calls().len();
    let mut seen_writes = c.meter.read().writes;
    let mut last_activity: Option<Instant> = None;
    let mut quiet_since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let calls = c.sim.state.calls().len();
        let r = c.meter.read();
        if calls != seen_calls || r.writes != seen_writes || r.in_flight > 0 {
            seen_calls = calls;
            seen_writes = r.writes;
            quiet_since = Instant::now();
            if calls > log_start || r.writes > 0 {
                last_activity = Some(Instant::now());
            }
        }
        let waited_for_first = log_start != usize::MAX && seen_calls <= log_start;
        if !waited_for_first && quiet_since.elapsed() >= QUIET {
            return last_activity;
        }
        if begun.elapsed() > DEADLINE {
            return last_activity;
        }
    }
}

/// Asks for a resync with the integration's resync annotation (one write) and waits until the
/// sync it starts is over; returns its wall time from `mark`.
pub async fn resync_and_wait(c: &Cluster<'_>, mark: &Mark) -> Result<f64, BenchError> {
    let log_start = c.sim.state.calls().len();
    Api::<DirectoryIntegration>::namespaced(c.client.clone(), c.namespace)
        .patch(
            c.integration,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                RESYNC_ANNOTATION: jiff::Timestamp::now().to_string()
            }}})),
        )
        .await
        .map_err(|e| cluster_err("annotating the integration for a resync", e))?;
    let last = quiet_after(c, log_start).await;
    Ok(last.map_or(0.0, |t| (t - mark.started).as_secs_f64()))
}

/// Console drift: 1 % of the users renamed and taken out of one group in the simulator, then
/// a resync; fails unless LastPass shows every edit undone. Returns the wall time from `mark`.
pub async fn drift(c: &Cluster<'_>, shape: &Shape, mark: &Mark) -> Result<f64, BenchError> {
    let edits = Resources::drift(shape);
    for (name, edit) in &edits {
        c.sim.state.edit(name, edit);
    }
    let wall_s = resync_and_wait(c, mark).await?;
    let left = c.sim.state.with_store(|s| {
        edits
            .iter()
            .filter(|(name, edit)| {
                s.user(name).is_none_or(|u| {
                    Some(&u.fullname) == edit.fullname.as_ref()
                        || edit.remove_groups.iter().any(|g| !u.groups.contains(g))
                })
            })
            .count()
    });
    if left > 0 {
        return Err(BenchError::NotConverged {
            phase: "drift".into(),
            detail: format!("{left} console edits still in LastPass"),
        });
    }
    Ok(wall_s)
}

/// Churn through the API server: 1 % new users, 1 % renamed, 1 % moved to another group (the
/// changes of [`Resources::churn`]). Returns the benchmark's writes.
pub async fn churn(
    c: &Cluster<'_>,
    world: &mut Resources,
    shape: &Shape,
) -> Result<usize, BenchError> {
    let generations: Vec<(String, Option<i64>)> = world
        .users
        .values()
        .map(|u| (u.name_any(), u.metadata.generation))
        .collect();
    world.churn(shape);
    let api: Api<LastPassUser> = Api::namespaced(c.client.clone(), c.namespace);
    let before: std::collections::BTreeMap<String, Option<i64>> = generations.into_iter().collect();
    let mut writes = Vec::new();
    for u in world.users.values() {
        let name = u.name_any();
        match before.get(&name) {
            None => {
                let mut fresh = u.clone();
                fresh.metadata.namespace = Some(c.namespace.to_string());
                fresh.metadata.uid = None;
                fresh.metadata.generation = None;
                writes.push((name, Some(fresh), None));
            }
            Some(g) if *g != u.metadata.generation => {
                let patch =
                    json!({"spec": {"fullName": u.spec.full_name, "groups": u.spec.groups}});
                writes.push((name, None, Some(patch)));
            }
            Some(_) => {}
        }
    }
    let count = writes.len();
    let results: Vec<Result<(), kube::Error>> = stream::iter(writes)
        .map(|(name, create, patch)| {
            let api = api.clone();
            async move {
                if let Some(u) = create {
                    api.create(&PostParams::default(), &u).await.map(|_| ())
                } else {
                    let p = Patch::Merge(patch.unwrap_or_default());
                    api.patch(&name, &PatchParams::default(), &p)
                        .await
                        .map(|_| ())
                }
            }
        })
        .buffer_unordered(BENCH_CONCURRENCY)
        .collect()
        .await;
    results
        .into_iter()
        .collect::<Result<Vec<()>, _>>()
        .map_err(|e| cluster_err("churning users", e))?;
    Ok(count)
}

/// Checks that LastPass holds what the edited users declare (names and groups); new users are
/// checked by their being Ready.
pub fn churn_applied(c: &Cluster<'_>, world: &Resources) -> Result<(), BenchError> {
    let wrong = c.sim.state.with_store(|s| {
        world
            .users
            .values()
            .filter(|u| u.metadata.generation > Some(1))
            .filter(|u| {
                s.user(&u.spec.username).is_none_or(|lp| {
                    u.spec.full_name.as_ref() != Some(&lp.fullname)
                        || u.spec.groups.iter().any(|g| !lp.groups.contains(g))
                })
            })
            .count()
    });
    if wrong > 0 {
        return Err(BenchError::NotConverged {
            phase: "churn".into(),
            detail: format!("{wrong} churned users differ in LastPass"),
        });
    }
    Ok(())
}

pub(super) fn cluster_err(step: &str, e: impl std::fmt::Display) -> BenchError {
    BenchError::Cluster {
        step: step.to_string(),
        reason: e.to_string(),
    }
}
