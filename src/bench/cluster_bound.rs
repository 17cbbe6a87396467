//! The bound of a `bench --cluster` phase from the API server's side: the server's write rate,
//! measured in the same run with the writes a phase makes (creates of the operator's kind, the
//! operator's own server-side apply of a user's status, metadata patches), and the arithmetic
//! that turns a phase's writes into the time it cannot beat.

use std::collections::BTreeMap;
use std::time::Instant;

use futures::{StreamExt, stream};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::controller::status::apply_status;
use crate::crd::{IntegrationRef, LastPassUser, LastPassUserStatus, UserPhase};
use crate::status::writer::next_status;
use crate::status::{Reason, condition, types};

use super::BenchError;
use super::measure::{Limits, read_pages};
use super::report::{ApiBound, ApiWrites};
use super::world::{Shape, user};

/// The API server's write rate as measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WriteRate {
    /// Writes made (creates plus patches).
    pub writes: usize,
    /// Seconds they took.
    pub seconds: f64,
}

impl WriteRate {
    /// Writes per second.
    pub fn per_second(&self) -> f64 {
        self.writes as f64 / self.seconds.max(f64::MIN_POSITIVE)
    }
}

/// Creates `n` LastPassUsers in `ns` (a namespace the controllers do not watch), then writes
/// each one's status and patches its labels, `concurrency` at a time: the API server's rate
/// for the writes a phase makes. The status is what the operator writes for an invited user,
/// through the operator's own server-side apply ([`apply_status`]): a small merge patch would
/// measure a cheaper write than the one the phase makes.
pub async fn measure_write_rate(
    client: &Client,
    ns: &str,
    n: usize,
    concurrency: usize,
) -> Result<WriteRate, BenchError> {
    let shape = Shape {
        users: n,
        groups: 1,
        memberships_per_user: 1,
    };
    let users: Vec<LastPassUser> = (0..n)
        .map(|i| {
            let mut u = user(&shape, i);
            u.metadata.namespace = Some(ns.to_string());
            u.metadata.uid = None;
            u.metadata.generation = None;
            u
        })
        .collect();
    let started = Instant::now();
    let creates = users.iter().map(|u| Write::Create(Box::new(u.clone())));
    run_writes(client, ns, creates, concurrency).await?;
    let now = Time(jiff::Timestamp::now());
    let status = users
        .iter()
        .enumerate()
        .map(|(i, u)| Write::Status(Box::new(u.clone()), Box::new(invited(u, ns, i, &now))));
    run_writes(client, ns, status, concurrency).await?;
    let labels = users.iter().map(|u| {
        Write::Patch(
            u.name_any(),
            json!({"metadata": {"labels": {"patched": "yes"}}}),
        )
    });
    run_writes(client, ns, labels, concurrency).await?;
    Ok(WriteRate {
        writes: 3 * n,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The status the operator writes for user `u` once invited (as `status_writes` would).
fn invited(u: &LastPassUser, ns: &str, i: usize, now: &Time) -> LastPassUserStatus {
    let status = LastPassUserStatus {
        phase: Some(UserPhase::Invited),
        lastpass_id: Some((100_000 + i).to_string()),
        groups: u.spec.groups.clone(),
        attributes_hash: Some("cbf29ce484222325".into()),
        bound_username: Some(u.spec.username.clone()),
        bound_integration: Some(IntegrationRef {
            name: u.spec.integration_ref.name.clone(),
            namespace: Some(ns.to_string()),
        }),
        conditions: vec![
            condition(types::READY, true, Reason::Invited, "", None, now),
            condition(types::SYNCED, true, Reason::SyncSucceeded, "", None, now),
        ],
        ..LastPassUserStatus::default()
    };
    next_status(None, status, Some(1), now).expect("a first status is always written")
}

enum Write {
    Create(Box<LastPassUser>),
    Status(Box<LastPassUser>, Box<LastPassUserStatus>),
    Patch(String, serde_json::Value),
}

async fn run_writes(
    client: &Client,
    ns: &str,
    writes: impl Iterator<Item = Write>,
    concurrency: usize,
) -> Result<(), BenchError> {
    let api: Api<LastPassUser> = Api::namespaced(client.clone(), ns);
    let pp = PatchParams::default();
    let done: Vec<Result<(), String>> = stream::iter(writes)
        .map(|w| {
            let (api, pp, client) = (api.clone(), pp.clone(), client.clone());
            async move {
                match w {
                    Write::Create(u) => api
                        .create(&PostParams::default(), &u)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string()),
                    Write::Status(u, s) => apply_status(&client, u.as_ref(), s.as_ref())
                        .await
                        .map_err(|e| e.to_string()),
                    Write::Patch(name, v) => api
                        .patch(&name, &pp, &Patch::Merge(v))
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string()),
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    done.into_iter()
        .collect::<Result<Vec<()>, _>>()
        .map(|_| ())
        .map_err(|reason| BenchError::Cluster {
            step: "measuring the API server's write rate".into(),
            reason,
        })
}

/// What a phase did, for [`api_bound`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhaseWrites {
    /// Writes the benchmark made.
    pub bench_writes: usize,
    /// Writes the operator made.
    pub operator_writes: ApiWrites,
    /// Users the phase created or changed (the divisor of writes per user).
    pub users_changed: usize,
}

/// The phase's bound: its writes at the measured rate, or the LastPass bound, whichever is
/// longer, after one debounce.
pub fn api_bound(
    w: &PhaseWrites,
    rate: &WriteRate,
    lower_bound_s: f64,
    debounce_s: f64,
    wall_s: f64,
) -> ApiBound {
    let writes = w.bench_writes + w.operator_writes.total();
    let api_bound_s = writes as f64 / rate.per_second();
    let bound_s = debounce_s + api_bound_s.max(lower_bound_s);
    ApiBound {
        bench_writes: w.bench_writes,
        operator_writes: w.operator_writes,
        writes_per_user: w.operator_writes.total() as f64 / w.users_changed.max(1) as f64,
        api_bound_s,
        debounce_s,
        bound_s,
        bound_ratio: wall_s / bound_s.max(f64::MIN_POSITIVE),
    }
}

/// The fewest LastPass calls of each phase of the cluster run, for an account of `shape`
/// (`accounted` users in LastPass when the phase starts): one whole read plus, for the changes
/// [`super::world::Resources`] makes, `ceil(n / batch)` per bulk command and one `updateuser` or
/// `deluser` per user.
pub fn min_calls(shape: &Shape, limits: &Limits) -> BTreeMap<&'static str, usize> {
    let (n, p, b) = (shape.users, shape.one_percent(), limits.batch.max(1));
    let reads = |users: usize| read_pages(users, limits.page_size);
    BTreeMap::from([
        ("initial", reads(0) + n.div_ceil(b)),
        ("resync", reads(n)),
        // Renamed in the console (updateuser each) and taken out of one group (batchchangegrp).
        ("drift", reads(n) + p + p.div_ceil(b)),
        // New users (batchadd), renames (updateuser each), group moves (batchchangegrp).
        ("churn", reads(n) + p.div_ceil(b) + p + p.div_ceil(b)),
        ("deprovision", reads(n + p) + p),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_the_slower_side_after_one_debounce() {
        let rate = WriteRate {
            writes: 1000,
            seconds: 2.0,
        };
        assert!((rate.per_second() - 500.0).abs() < 1e-9);
        let w = PhaseWrites {
            bench_writes: 1000,
            operator_writes: ApiWrites {
                status: 1000,
                metadata: 1000,
                events: 1,
                other: 0,
            },
            users_changed: 1000,
        };
        // 3,001 writes at 500/s: 6.002 s, longer than the LastPass bound of 4 s.
        let b = api_bound(&w, &rate, 4.0, 5.0, 22.0);
        assert!((b.api_bound_s - 6.002).abs() < 1e-9, "{b:?}");
        assert!((b.bound_s - 11.002).abs() < 1e-9, "{b:?}");
        assert!((b.writes_per_user - 2.001).abs() < 1e-9, "{b:?}");
        assert!((b.bound_ratio - 22.0 / 11.002).abs() < 1e-9, "{b:?}");
        // The LastPass side is the slower one.
        let b = api_bound(&w, &rate, 20.0, 5.0, 25.0);
        assert!((b.bound_s - 25.0).abs() < 1e-9, "{b:?}");
    }

    #[test]
    fn min_calls_follow_the_phases_changes() {
        let shape = Shape {
            users: 10_000,
            groups: 200,
            memberships_per_user: 3,
        };
        let limits = Limits {
            batch: 100,
            page_size: 2000,
            rps: 5.0,
            latency_s: 0.05,
            writes_in_flight: 1,
        };
        let m = min_calls(&shape, &limits);
        assert_eq!(m["initial"], 1 + 100);
        assert_eq!(m["resync"], 5);
        assert_eq!(m["drift"], 5 + 100 + 1);
        assert_eq!(m["churn"], 5 + 1 + 100 + 1);
        assert_eq!(m["deprovision"], 6 + 100);
    }
}
