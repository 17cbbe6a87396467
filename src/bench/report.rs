//! What the benchmark reports: one [`BenchReport`] per run (the JSON object of `--format
//! json`), its table form, and the scaling table of `--sweep`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cmd::table::table;

/// Status writes of a phase, by kind of resource.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusWrites {
    /// LastPassUser statuses.
    pub users: usize,
    /// LastPassGroup statuses.
    pub groups: usize,
    /// The DirectoryIntegration's status.
    pub integration: usize,
}

impl StatusWrites {
    /// All of them.
    pub fn total(&self) -> usize {
        self.users + self.groups + self.integration
    }
}

/// The operator's writes to the API server in a `--cluster` phase, by what they write (counted
/// by a tower layer on the controllers' client: every POST, PUT, PATCH and DELETE).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiWrites {
    /// PATCHes of a `/status` subresource.
    pub status: usize,
    /// Other PATCHes of the operator's own resources (finalizers, bindings).
    pub metadata: usize,
    /// Events created.
    pub events: usize,
    /// Anything else (leader-election Lease, Secrets, deletions).
    pub other: usize,
}

impl ApiWrites {
    /// All of them.
    pub fn total(&self) -> usize {
        self.status + self.metadata + self.events + self.other
    }

    /// The writes made since `before` (counters only grow).
    pub fn since(&self, before: &ApiWrites) -> ApiWrites {
        ApiWrites {
            status: self.status - before.status,
            metadata: self.metadata - before.metadata,
            events: self.events - before.events,
            other: self.other - before.other,
        }
    }
}

/// A `--cluster` phase's time bound from the API server's side, and the bound of the phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiBound {
    /// Writes the benchmark made (resource creates, spec patches, deletions, annotations).
    pub bench_writes: usize,
    /// The operator's writes in the phase.
    pub operator_writes: ApiWrites,
    /// `operator_writes` per user the phase changed (for the initial load: per user).
    pub writes_per_user: f64,
    /// `(bench_writes + operator_writes) / api_write_rate`, in seconds.
    pub api_bound_s: f64,
    /// The integration's `debounce`: a change waits at least this long for its sync.
    pub debounce_s: f64,
    /// `debounce_s + max(api_bound_s, lower_bound_s)`: the phase cannot end sooner.
    pub bound_s: f64,
    /// `wall_s / bound_s`.
    pub bound_ratio: f64,
}

/// A sync repeated right after a phase, untimed: what a second pass with nothing changed
/// writes (the steady state proper).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repeat {
    /// LastPass calls other than `getuserdata`.
    pub write_calls: usize,
    /// Status writes.
    pub status_writes: usize,
}

/// One timed, call-counted phase.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseReport {
    /// `initial`, `resync`, `drift`, `churn` or `deprovision`.
    pub name: String,
    /// Wall time from the first call to convergence (statuses computed), in seconds.
    pub wall_s: f64,
    /// LastPass calls by command (`getuserdata`, `batchadd`, ...), as the simulator saw them.
    pub calls: BTreeMap<String, usize>,
    /// Sum of `calls`.
    pub total_calls: usize,
    /// LastPass calls that are not `getuserdata`.
    pub write_calls: usize,
    /// `total_calls` per declared user.
    pub calls_per_user: f64,
    /// The fewest calls that can do the phase: one full read of the account plus
    /// `ceil(changes / batch)` per bulk command and one call per `updateuser`/`deluser`.
    pub min_calls: usize,
    /// The same, as if every change could ride a bulk call (`ceil(changes / batch)`).
    pub min_calls_all_batched: usize,
    /// Status writes (total of `status_writes_by_kind`).
    pub status_writes: usize,
    /// Status writes by kind of resource.
    pub status_writes_by_kind: StatusWrites,
    /// `max(min_calls / rps, min_calls × latency / writes in flight)`, in seconds.
    pub lower_bound_s: f64,
    /// Changes the first plan of the phase held (users created, updated, memberships...).
    pub changes: usize,
    /// Account syncs the phase took (observe → plan → execute → confirm).
    pub syncs: usize,
    /// Users declared at the end of the phase, and how many of them are Ready.
    pub users: usize,
    /// Of `users`, those with `Ready=True`.
    pub ready_users: usize,
    /// CPU time of the whole process during the phase (simulator included), in seconds.
    pub cpu_s: f64,
    /// For `resync`: the same sync once more, right after (not timed, calls not counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Repeat>,
    /// `--cluster`: time with at least one status write in flight, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_write_s: Option<f64>,
    /// `--cluster`: `status_write_s` / `wall_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_write_share: Option<f64>,
    /// For `deprovision`: revocation latency, from each deletion to LastPass confirming it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<RevocationFigures>,
    /// `--cluster`: API writes and the phase's bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiBound>,
}

/// Revocation latency of a phase (nearest-rank percentiles, as `status.revocation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RevocationFigures {
    /// Revocations measured.
    pub count: usize,
    /// Median, in seconds.
    pub p50_s: f64,
    /// 99th percentile, in seconds.
    pub p99_s: f64,
}

/// One run of the benchmark: the JSON object `--format json` prints.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// `in-process` (engine + simulator) or `cluster` (controllers + API server).
    pub mode: String,
    /// N.
    pub users: usize,
    /// G.
    pub groups: usize,
    /// K.
    pub memberships_per_user: usize,
    /// Simulated latency of each LastPass call.
    pub latency_ms: u64,
    /// Users per bulk call.
    pub max_batch: usize,
    /// Requests per second of the account's token bucket.
    pub rps: u32,
    /// Burst of the token bucket.
    pub burst: u32,
    /// Users per `getuserdata` page.
    pub page_size: usize,
    /// Peak resident set size of the process (`VmHWM`), simulator included, in MiB.
    pub peak_rss_mib: f64,
    /// CPU time of the process (user + system), simulator included, in seconds.
    pub cpu_s: f64,
    /// Calls of a per-object tool for the initial load: one per user plus one per membership.
    pub baseline_calls: usize,
    /// `baseline_calls` / the initial phase's `total_calls`.
    pub baseline_ratio: f64,
    /// What `status_writes` counts.
    pub status_writes_counted: String,
    /// `--cluster`: the API server's write rate measured in the same run (writes per second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_write_rate: Option<f64>,
    /// The phases in order.
    pub phases: Vec<PhaseReport>,
}

impl BenchReport {
    /// A phase by name.
    pub fn phase(&self, name: &str) -> Option<&PhaseReport> {
        self.phases.iter().find(|p| p.name == name)
    }
}

fn f1(x: f64) -> String {
    format!("{x:.1}")
}

fn f2(x: f64) -> String {
    format!("{x:.2}")
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}", a / b)
    } else {
        "-".into()
    }
}

/// p50/p99 (nearest rank) of revocation latencies; `None` without any.
pub fn revocation_figures(mut seconds: Vec<f64>) -> Option<RevocationFigures> {
    if seconds.is_empty() {
        return None;
    }
    seconds.sort_by(f64::total_cmp);
    let at =
        |q: f64| seconds[((q * seconds.len() as f64).ceil() as usize).clamp(1, seconds.len()) - 1];
    Some(RevocationFigures {
        count: seconds.len(),
        p50_s: at(0.5),
        p99_s: at(0.99),
    })
}

/// The human-readable form of one run.
pub fn render_table(r: &BenchReport) -> String {
    let rows: Vec<Vec<String>> = r
        .phases
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                f2(p.wall_s),
                f2(p.lower_bound_s),
                ratio(p.wall_s, p.lower_bound_s),
                p.total_calls.to_string(),
                p.min_calls.to_string(),
                ratio(p.total_calls as f64, p.min_calls as f64),
                format!("{:.4}", p.calls_per_user),
                p.status_writes.to_string(),
                format!("{}/{}", p.ready_users, p.users),
                p.calls
                    .iter()
                    .map(|(c, n)| format!("{c}={n}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    let mut out = format!(
        "lastpass-operator bench ({}): {} users, {} groups, {} memberships/user, {} ms latency, \
         batches of {}, {} req/s (burst {}), pages of {}\n\n",
        r.mode,
        r.users,
        r.groups,
        r.memberships_per_user,
        r.latency_ms,
        r.max_batch,
        r.rps,
        r.burst,
        r.page_size
    );
    out.push_str(&table(
        &[
            "PHASE",
            "WALL S",
            "LOWER BOUND S",
            "WALL/LB",
            "CALLS",
            "MIN CALLS",
            "CALLS/MIN",
            "CALLS/USER",
            "STATUS WRITES",
            "READY",
            "CALLS BY COMMAND",
        ],
        &rows,
    ));
    out.push_str(&render_bounds(r));
    for p in &r.phases {
        if let (Some(busy), Some(share)) = (p.status_write_s, p.status_write_share) {
            out.push_str(&format!(
                "\n{}: status writes in flight {:.2} s of {:.2} s ({:.0} %)",
                p.name,
                busy,
                p.wall_s,
                share * 100.0
            ));
        }
        if let Some(rev) = p.revocation {
            out.push_str(&format!(
                "\n{}: revocation latency p50 {:.2} s, p99 {:.2} s over {} users (phase lower \
                 bound {:.2} s, wall {:.2} s)",
                p.name, rev.p50_s, rev.p99_s, rev.count, p.lower_bound_s, p.wall_s
            ));
        }
        if let Some(rep) = p.repeat {
            out.push_str(&format!(
                "\n{} repeated at once: {} write calls, {} status writes ({} itself: users {}, \
                 groups {}, integration {})",
                p.name,
                rep.write_calls,
                rep.status_writes,
                p.name,
                p.status_writes_by_kind.users,
                p.status_writes_by_kind.groups,
                p.status_writes_by_kind.integration
            ));
        }
    }
    out.push_str(&format!(
        "\n\npeak RSS (VmHWM) {} MiB, CPU {} s (simulator included)\n\
         per-object baseline {} calls (one per user + one per membership) vs {} for the initial \
         load: {}x fewer\nstatus writes: {}\n",
        f1(r.peak_rss_mib),
        f1(r.cpu_s),
        r.baseline_calls,
        r.phase("initial").map_or(0, |p| p.total_calls),
        f1(r.baseline_ratio),
        r.status_writes_counted
    ));
    out
}

/// `--cluster`: each phase's API writes and bound, after the API server's write rate.
fn render_bounds(r: &BenchReport) -> String {
    let Some(rate) = r.api_write_rate else {
        return String::new();
    };
    let rows: Vec<Vec<String>> = r
        .phases
        .iter()
        .filter_map(|p| {
            let a = p.api?;
            let o = a.operator_writes;
            Some(vec![
                p.name.clone(),
                f2(p.wall_s),
                f2(a.bound_s),
                f2(a.bound_ratio),
                f2(a.api_bound_s),
                f2(p.lower_bound_s),
                f1(a.debounce_s),
                a.bench_writes.to_string(),
                format!(
                    "{} (status {}, metadata {}, events {}, other {})",
                    o.total(),
                    o.status,
                    o.metadata,
                    o.events,
                    o.other
                ),
                format!("{:.3}", a.writes_per_user),
            ])
        })
        .collect();
    format!(
        "\n\nAPI server write rate {rate:.0}/s; bound = debounce + max(API bound, LastPass \
         bound), API bound = (bench writes + operator writes) / rate\n\n{}",
        table(
            &[
                "PHASE",
                "WALL S",
                "BOUND S",
                "WALL/BOUND",
                "API BOUND S",
                "LASTPASS BOUND S",
                "DEBOUNCE S",
                "BENCH WRITES",
                "OPERATOR WRITES",
                "OPERATOR WRITES/USER",
            ],
            &rows,
        )
    )
}

/// The scaling table of `--sweep`: one row per N.
pub fn render_sweep(runs: &[BenchReport]) -> String {
    let names = ["initial", "resync", "drift", "churn", "deprovision"];
    let mut headers = vec!["USERS".to_string()];
    headers.extend(names.iter().map(|n| format!("{} S", n.to_uppercase())));
    headers.extend(
        [
            "CALLS (ALL PHASES)",
            "CALLS/MIN",
            "BASELINE RATIO",
            "PEAK RSS MIB",
            "CPU S",
        ]
        .map(String::from),
    );
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let mut row = vec![r.users.to_string()];
            row.extend(
                names
                    .iter()
                    .map(|n| r.phase(n).map_or("-".into(), |p| f2(p.wall_s))),
            );
            let calls: usize = r.phases.iter().map(|p| p.total_calls).sum();
            let min: usize = r.phases.iter().map(|p| p.min_calls).sum();
            row.push(calls.to_string());
            row.push(ratio(calls as f64, min as f64));
            row.push(f1(r.baseline_ratio));
            row.push(f1(r.peak_rss_mib));
            row.push(f1(r.cpu_s));
            row
        })
        .collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    table(&headers, &rows)
}
