//! The in-process benchmark: the simulator on loopback and the account engine fed from the
//! generated resources, syncing as the controllers do (a fresh client per sync, statuses
//! written back only when they changed), through the five phases of the issue.

use std::collections::BTreeMap;
use std::time::Instant;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use secrecy::SecretString;

use crate::crd::DirectoryIntegration;
use crate::engine::account::{AccountSync, client_config, sync_account};
use crate::engine::report::Report;
use crate::lastpass::{Client, ClientConfig};
use crate::simulator::{Knobs, RunningSimulator, SimState};
use crate::status::types;
use crate::status::writer::next_status;

use super::BenchError;
use super::measure::{
    Limits, all_batched_write_calls, calls_by_command, cpu_seconds, lower_bound_s, min_write_calls,
    peak_rss_mib, read_pages,
};
use super::report::{BenchReport, PhaseReport, Repeat, StatusWrites};
use super::world::{IntegrationSettings, Resources, Shape, integration};

const CID: &str = "31415926";
const PROVHASH: &str = "bench-provhash-not-a-secret";

/// Syncs a phase may take before it counts as not converging.
const MAX_SYNCS: usize = 5;

/// What one in-process run is given.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// N, G, K.
    pub shape: Shape,
    /// Simulated latency of each LastPass call, in ms (no jitter).
    pub latency_ms: u64,
    /// `batchSize`; `None` keeps the operator's default.
    pub max_batch: Option<usize>,
    /// `rateLimit.requestsPerSecond`; `None` keeps the operator's default.
    pub rps: Option<u32>,
}

/// What `status_writes` counts in this mode.
pub const STATUS_WRITES_COUNTED: &str = "statuses that differ from the resource's current \
    status other than in timestamps (status::writer::next_status), i.e. the server-side \
    applies the controllers would make; in-process nothing is sent to an API server";

struct Run {
    shape: Shape,
    sim: RunningSimulator,
    integration: DirectoryIntegration,
    config: ClientConfig,
    limits: Limits,
    resources: Resources,
}

/// Runs the five phases and reports them.
pub async fn run(opts: &Options) -> Result<BenchReport, BenchError> {
    crate::install_crypto_provider();
    let cpu_start = cpu_seconds().unwrap_or_default();
    let mut run = Run::start(opts).await?;
    let mut phases = Vec::new();

    phases.push(run.phase("initial").await?);
    let mut resync = run.phase("resync").await?;
    resync.repeat = Some(run.repeat().await?);
    phases.push(resync);

    for (username, edit) in Resources::drift(&run.shape) {
        run.sim.state.edit(&username, &edit);
    }
    phases.push(run.phase("drift").await?);

    run.resources.churn(&run.shape);
    phases.push(run.phase("churn").await?);

    run.resources.delete_some(&run.shape);
    let deprovision = run.phase("deprovision").await?;
    let left = run
        .resources
        .users
        .values()
        .filter(|u| u.metadata.deletion_timestamp.is_some())
        .count();
    if left > 0 {
        return Err(BenchError::NotConverged {
            phase: "deprovision".into(),
            detail: format!("{left} deleted users still hold their finalizer"),
        });
    }
    phases.push(deprovision);

    let s = opts.shape;
    let baseline_calls = s.users + s.users * s.memberships_per_user.min(s.groups);
    let initial_calls = phases[0].total_calls.max(1);
    Ok(BenchReport {
        mode: "in-process".into(),
        users: s.users,
        groups: s.groups,
        memberships_per_user: s.memberships_per_user,
        latency_ms: opts.latency_ms,
        max_batch: run.limits.batch,
        rps: run.config.rate_limit.requests_per_second.get(),
        burst: run.config.rate_limit.burst.get(),
        page_size: run.limits.page_size,
        peak_rss_mib: peak_rss_mib().unwrap_or_default(),
        cpu_s: cpu_seconds().unwrap_or_default() - cpu_start,
        baseline_calls,
        baseline_ratio: baseline_calls as f64 / initial_calls as f64,
        status_writes_counted: STATUS_WRITES_COUNTED.into(),
        api_write_rate: None,
        phases,
    })
}

impl Run {
    async fn start(opts: &Options) -> Result<Self, BenchError> {
        let knobs = Knobs::default().latency(opts.latency_ms, 0);
        let state = SimState::builder(CID, SecretString::from(PROVHASH))
            .knobs(knobs)
            .build();
        let sim = RunningSimulator::start(state)
            .await
            .map_err(BenchError::Simulator)?;
        let resources = Resources::generate(&opts.shape);
        // The deletion budget is set to the deprovision phase's size so the phase runs
        // unapproved; the operator's default (10) would hold back 1 % of N > 1,000.
        let settings = IntegrationSettings {
            endpoint: sim.url.clone(),
            batch_size: opts.max_batch,
            requests_per_second: opts.rps,
            max_per_sync: opts.shape.one_percent().max(10),
        };
        let integration = integration(&settings).map_err(BenchError::Integration)?;
        let config = client_config(&integration, CID, SecretString::from(PROVHASH));
        let limits = Limits::of(&config, opts.latency_ms);
        Ok(Self {
            shape: opts.shape,
            sim,
            integration,
            config,
            limits,
            resources,
        })
    }

    /// Syncs until nothing is left to do; times, counts and checks it.
    async fn phase(&mut self, name: &str) -> Result<PhaseReport, BenchError> {
        let log_start = self.sim.state.calls().len();
        let account_users = self.sim.state.with_store(|s| s.users.len());
        let cpu0 = cpu_seconds().unwrap_or_default();
        let started = Instant::now();
        let mut writes = StatusWrites::default();
        let mut first_plan = None;
        let mut syncs = 0;
        let mut revocations: Vec<f64> = Vec::new();
        loop {
            let sync = self.sync_from_cluster().await?;
            syncs += 1;
            let intents = crate::controller::revocation::intents(self.resources.users.values());
            revocations.extend(
                crate::engine::revocation::confirmed(
                    &sync.desire,
                    &sync.outcome,
                    &intents,
                    jiff::Timestamp::now(),
                )
                .iter()
                .map(|r| r.seconds),
            );
            if let Some(e) = sync.outcome.error {
                return Err(BenchError::Sync {
                    phase: name.into(),
                    source: e,
                });
            }
            self.write_back(sync.report, &mut writes);
            let done = sync.outcome.remaining.is_empty();
            first_plan.get_or_insert(sync.outcome.initial_plan);
            if done {
                break;
            }
            if syncs == MAX_SYNCS {
                return Err(BenchError::NotConverged {
                    phase: name.into(),
                    detail: format!("changes still planned after {syncs} syncs"),
                });
            }
        }
        let wall_s = started.elapsed().as_secs_f64();
        let cpu_s = cpu_seconds().unwrap_or_default() - cpu0;
        let calls = calls_by_command(&self.sim.state.calls()[log_start..]);
        let total_calls: usize = calls.values().sum();
        let write_calls = total_calls - calls.get("getuserdata").copied().unwrap_or(0);
        let plan = first_plan.unwrap_or_default();
        let reads = read_pages(account_users, self.limits.page_size);
        let min_calls = reads + min_write_calls(&plan, self.limits.batch);
        let declared = || {
            self.resources
                .users
                .values()
                .filter(|u| u.metadata.deletion_timestamp.is_none())
        };
        let users = declared().count();
        let ready_users = declared()
            .filter(|u| is_ready(u.status.as_ref().map(|s| s.conditions.as_slice())))
            .count();
        if ready_users < users {
            return Err(BenchError::NotReady {
                phase: name.into(),
                ready: ready_users,
                total: users,
            });
        }
        Ok(PhaseReport {
            name: name.into(),
            wall_s,
            total_calls,
            write_calls,
            calls,
            calls_per_user: total_calls as f64 / users.max(1) as f64,
            min_calls,
            min_calls_all_batched: reads + all_batched_write_calls(&plan, self.limits.batch),
            status_writes: writes.total(),
            status_writes_by_kind: writes,
            lower_bound_s: lower_bound_s(min_calls, &self.limits),
            changes: plan.write_count(),
            syncs,
            users,
            ready_users,
            cpu_s,
            repeat: None,
            status_write_s: None,
            status_write_share: None,
            revocation: super::report::revocation_figures(revocations),
            api: None,
        })
    }

    /// One sync of the account from the resources, with a fresh client as the controllers
    /// make one per sync (so a full token bucket).
    async fn sync_from_cluster(&self) -> Result<AccountSync, BenchError> {
        let client = Client::new(self.config.clone()).map_err(BenchError::Client)?;
        Ok(sync_account(
            &client,
            &self.integration,
            self.resources.users.values(),
            self.resources.groups.values(),
            &BTreeMap::new(),
            BTreeMap::new(),
        )
        .await)
    }

    /// One more sync right after a phase, untimed: its write calls and status writes.
    async fn repeat(&mut self) -> Result<Repeat, BenchError> {
        let log_start = self.sim.state.calls().len();
        let sync = self.sync_from_cluster().await?;
        if let Some(e) = sync.outcome.error {
            return Err(BenchError::Sync {
                phase: "repeat".into(),
                source: e,
            });
        }
        let mut writes = StatusWrites::default();
        self.write_back(sync.report, &mut writes);
        let calls = calls_by_command(&self.sim.state.calls()[log_start..]);
        let reads = calls.get("getuserdata").copied().unwrap_or(0);
        Ok(Repeat {
            write_calls: calls.values().sum::<usize>() - reads,
            status_writes: writes.total(),
        })
    }

    /// Writes the sync's statuses back onto the resources where they changed, counting the
    /// writes, and lets go of users whose deprovisioning is complete (finalizer released). The
    /// report is consumed: each status moves onto its resource rather than being copied.
    fn write_back(&mut self, report: Report, writes: &mut StatusWrites) {
        let now = Time(jiff::Timestamp::now());
        for (r, status) in report.users {
            if let Some(u) = self.resources.users.get_mut(&r)
                && let Some(next) =
                    next_status(u.status.as_ref(), status, u.metadata.generation, &now)
            {
                u.status = Some(next);
                writes.users += 1;
            }
        }
        for (r, status) in report.groups {
            if let Some(g) = self.resources.groups.get_mut(&r)
                && let Some(next) =
                    next_status(g.status.as_ref(), status, g.metadata.generation, &now)
            {
                g.status = Some(next);
                writes.groups += 1;
            }
        }
        if let Some(next) = next_status(
            self.integration.status.as_ref(),
            report.integration,
            self.integration.metadata.generation,
            &now,
        ) {
            self.integration.status = Some(next);
            writes.integration += 1;
        }
        for r in &report.release {
            self.resources.users.remove(r);
        }
    }
}

fn is_ready(
    conditions: Option<&[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]>,
) -> bool {
    conditions
        .unwrap_or_default()
        .iter()
        .any(|c| c.type_ == types::READY && c.status == "True")
}
