//! Measurements: the process's peak RSS and CPU time (from `/proc/self`), LastPass calls by
//! command (from the simulator's call log), and the limits a phase is compared with — the
//! minimum possible calls and the lower bound on its time.

use std::collections::BTreeMap;

use crate::engine::plan::Plan;
use crate::simulator::CallRecord;

/// Clock ticks per second of `/proc/self/stat` (`USER_HZ`, 100 on every Linux target).
const USER_HZ: f64 = 100.0;

/// Peak resident set size of this process in MiB (`VmHWM`), if `/proc` is there.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    vm_hwm_kib(&status).map(|kib| kib as f64 / 1024.0)
}

fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// User plus system CPU time of this process so far, in seconds, if `/proc` is there.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    cpu_ticks(&stat).map(|t| t as f64 / USER_HZ)
}

fn cpu_ticks(stat: &str) -> Option<u64> {
    // `pid (comm) state ...`: comm may hold spaces, so split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of proc(5), utime and stime, are the 12th and 13th after comm.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Calls in `log` by command.
pub fn calls_by_command(log: &[CallRecord]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for c in log {
        *out.entry(c.command.clone()).or_default() += 1;
    }
    out
}

/// The limits of the account the benchmark runs against.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Users per bulk call (`batchSize`).
    pub batch: usize,
    /// Users per `getuserdata` page.
    pub page_size: usize,
    /// Requests per second of the token bucket.
    pub rps: f64,
    /// Latency of one call, in seconds.
    pub latency_s: f64,
    /// Writes in flight at once (the client allows one per account).
    pub writes_in_flight: usize,
}

impl Limits {
    /// The limits a client with `config` works under, with `latency_ms` per call.
    pub fn of(config: &crate::lastpass::ClientConfig, latency_ms: u64) -> Self {
        Self {
            batch: config.max_batch,
            page_size: config.page_size,
            rps: f64::from(config.rate_limit.requests_per_second.get()),
            latency_s: latency_ms as f64 / 1000.0,
            writes_in_flight: 1,
        }
    }
}

/// Pages of one full read of an account of `users` users (an empty account is one page).
pub fn read_pages(users: usize, page_size: usize) -> usize {
    users.div_ceil(page_size.max(1)).max(1)
}

/// The fewest write calls that make `plan`'s changes: bulk commands (`batchadd`,
/// `batchchangegrp`, `disableuser`, `enableuser`) carry `batch` users each; LastPass has no
/// bulk form of `updateuser` or `deluser`, so those are one call per user.
pub fn min_write_calls(plan: &Plan, batch: usize) -> usize {
    let b = batch.max(1);
    let adds = plan.creates.len() + plan.attribute_updates.len();
    adds.div_ceil(b)
        + plan.enables.len().div_ceil(b)
        + plan.disables.len().div_ceil(b)
        + plan.group_changes.len().div_ceil(b)
        + plan.updates.len()
        + plan.deprovisions.len()
}

/// `ceil(changes / batch)` as if every change could ride a bulk call (the formula;
/// shown beside [`min_write_calls`] so the cost of per-user commands is visible).
pub fn all_batched_write_calls(plan: &Plan, batch: usize) -> usize {
    let users_changed = plan.creates.len()
        + plan.attribute_updates.len()
        + plan.enables.len()
        + plan.disables.len()
        + plan.group_changes.len()
        + plan.updates.len()
        + plan.deprovisions.len();
    users_changed.div_ceil(batch.max(1))
}

/// The lower bound on a phase's time: `max(calls / rps, calls × latency / writes in flight)`.
pub fn lower_bound_s(calls: usize, limits: &Limits) -> f64 {
    let n = calls as f64;
    let by_rate = n / limits.rps.max(f64::MIN_POSITIVE);
    let by_latency = n * limits.latency_s / limits.writes_in_flight.max(1) as f64;
    by_rate.max(by_latency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::plan::{CreateUser, UpdateUser};

    #[test]
    fn reads_vm_hwm_and_cpu_ticks() {
        assert_eq!(
            vm_hwm_kib("Name:\tx\nVmPeak:\t 9 kB\nVmHWM:\t  102400 kB\n"),
            Some(102_400)
        );
        let stat = "42 (a b) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0";
        assert_eq!(cpu_ticks(stat), Some(300));
        assert!(peak_rss_mib().is_some_and(|m| m > 0.0));
        assert!(cpu_seconds().is_some());
    }

    #[test]
    fn min_calls_batch_bulk_commands_only() {
        let plan = Plan {
            creates: (0..250)
                .map(|i| CreateUser {
                    username: format!("u{i}"),
                    full_name: None,
                    groups: Default::default(),
                    attributes: Default::default(),
                    password_reset_required: true,
                })
                .collect(),
            updates: (0..7)
                .map(|i| UpdateUser {
                    username: format!("u{i}"),
                    full_name: "x".into(),
                })
                .collect(),
            ..Plan::default()
        };
        assert_eq!(min_write_calls(&plan, 100), 3 + 7);
        assert_eq!(all_batched_write_calls(&plan, 100), 3);
        assert_eq!(read_pages(0, 2000), 1);
        assert_eq!(read_pages(10_000, 2000), 5);
        assert_eq!(read_pages(10_001, 2000), 6);
    }

    #[test]
    fn lower_bound_is_the_tighter_limit() {
        let l = Limits {
            batch: 100,
            page_size: 2000,
            rps: 5.0,
            latency_s: 0.05,
            writes_in_flight: 1,
        };
        assert!((lower_bound_s(100, &l) - 20.0).abs() < 1e-9);
        let slow = Limits {
            latency_s: 0.5,
            ..l
        };
        assert!((lower_bound_s(100, &slow) - 50.0).abs() < 1e-9);
    }
}
