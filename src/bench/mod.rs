//! `lastpass-operator bench`: N users in G groups against the simulator, through five timed,
//! call-counted phases (initial convergence, steady resync, console drift, churn,
//! deprovisioning), reported as a table or one JSON object; `--sweep` repeats it over
//! N = 1,000 … 50,000, each N in a fresh process so its peak RSS is its own.
//!
//! - [`world`]: the generated resources and each phase's changes.
//! - [`inprocess`]: the simulator and the engine in this process (the default).
//! - [`cluster`]: `--cluster`, the real controllers against an API server, phase by phase
//!   ([`cluster_phases`], [`cluster_deprovision`]) with each phase's bound ([`cluster_bound`]).
//! - [`scim`]: `--scim`, the SCIM server's POST and lookup throughput against an API server.
//! - [`meter`]: counts the controllers' status writes in `--cluster`.
//! - [`measure`]: RSS, CPU, calls by command, minimum calls and the lower bound on time.
//! - [`report`]: the JSON object and the tables.

pub mod cluster;
pub mod cluster_bound;
pub mod cluster_deprovision;
pub mod cluster_phases;
pub mod inprocess;
pub mod measure;
pub mod meter;
pub mod report;
pub mod scim;
pub mod scim_load;
pub mod world;

use std::io::Write;

use crate::lastpass::ApiError;

use report::{BenchReport, render_sweep, render_table};
use world::Shape;

/// N of `--sweep`.
pub const SWEEP: [usize; 5] = [1_000, 5_000, 10_000, 20_000, 50_000];

/// Output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// One JSON object (an array with `--sweep`).
    Json,
}

/// Options of `bench`. Batch size and rate limit default to the operator's own defaults.
#[derive(Clone, Debug, clap::Args)]
pub struct BenchArgs {
    /// Users (N).
    #[arg(long, default_value_t = 10_000)]
    pub users: usize,
    /// Groups (G).
    #[arg(long, default_value_t = 200)]
    pub groups: usize,
    /// Group memberships per user (K, at most G).
    #[arg(long, default_value_t = 3)]
    pub memberships_per_user: usize,
    /// Simulated latency of each LastPass call, in milliseconds.
    #[arg(long, default_value_t = 50)]
    pub latency_ms: u64,
    /// Users per bulk call (`spec.sync.batchSize`; default: the operator's, 100).
    #[arg(long)]
    pub max_batch: Option<usize>,
    /// Requests per second to LastPass (`spec.sync.rateLimit.requestsPerSecond`; default:
    /// the operator's, 5).
    #[arg(long)]
    pub rps: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Run the real controllers against the API server of `--kubeconfig` instead (every phase,
    /// each next to its bound; e.g. `eval "$(scripts/envtest.sh start /tmp/kas)"` first).
    #[arg(long)]
    pub cluster: bool,
    /// Measure the SCIM server instead: `--users` POSTs and as many `userName eq` lookups,
    /// `--concurrency` in flight, against the API server of `--kubeconfig`.
    #[arg(long, conflicts_with_all = ["cluster", "sweep"])]
    pub scim: bool,
    /// Requests in flight at once with `--scim`.
    #[arg(long, default_value_t = 8, requires = "scim")]
    pub concurrency: usize,
    /// Kubeconfig of `--cluster` and `--scim` (default: `KUBECONFIG`).
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// Run N = 1,000, 5,000, 10,000, 20,000 and 50,000, each in a fresh process, and print the
    /// scaling table (`--users` is ignored).
    #[arg(long)]
    pub sweep: bool,
}

/// Why a benchmark run failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The simulator could not listen on loopback.
    #[error("starting the LastPass simulator on 127.0.0.1")]
    Simulator(#[source] std::io::Error),
    /// The generated DirectoryIntegration did not deserialize (a bug of the benchmark).
    #[error("building the benchmark's DirectoryIntegration")]
    Integration(#[source] serde_json::Error),
    /// The LastPass client could not be built.
    #[error("building the LastPass client")]
    Client(#[source] ApiError),
    /// A sync ended with an error.
    #[error("phase {phase}: the sync failed")]
    Sync {
        /// The phase.
        phase: String,
        /// The engine's error.
        #[source]
        source: ApiError,
    },
    /// A phase did not converge.
    #[error("phase {phase} did not converge: {detail}")]
    NotConverged {
        /// The phase.
        phase: String,
        /// What was left.
        detail: String,
    },
    /// Users were not all Ready after a phase.
    #[error("phase {phase}: only {ready} of {total} users are Ready")]
    NotReady {
        /// The phase.
        phase: String,
        /// Ready users.
        ready: usize,
        /// Declared users.
        total: usize,
    },
    /// A child run of `--sweep` failed.
    #[error("sweep run with {users} users: {reason}")]
    Child {
        /// N of the child.
        users: usize,
        /// What went wrong.
        reason: String,
    },
    /// `--groups 0` or `--users 0`.
    #[error("--users and --groups must be at least 1, and --memberships-per-user at most --groups")]
    Shape,
    /// `--cluster` or `--scim` without a kubeconfig.
    #[error(
        "`bench --cluster` and `bench --scim` need an API server: set KUBECONFIG or --kubeconfig (for a local one: \
         eval \"$(scripts/envtest.sh start /tmp/lastpass-bench-kas)\")"
    )]
    NoKubeconfig,
    /// A step against the cluster failed.
    #[error("bench --cluster: {step}: {reason}")]
    Cluster {
        /// What was being done.
        step: String,
        /// The error.
        reason: String,
    },
}

impl BenchArgs {
    fn shape(&self, users: usize) -> Result<Shape, BenchError> {
        if users == 0 || self.groups == 0 || self.memberships_per_user > self.groups {
            return Err(BenchError::Shape);
        }
        Ok(Shape {
            users,
            groups: self.groups,
            memberships_per_user: self.memberships_per_user,
        })
    }

    fn options(&self, users: usize) -> Result<inprocess::Options, BenchError> {
        Ok(inprocess::Options {
            shape: self.shape(users)?,
            latency_ms: self.latency_ms,
            max_batch: self.max_batch,
            rps: self.rps,
        })
    }

    /// The command line of one child run of the sweep.
    fn child_args(&self, users: usize) -> Vec<String> {
        let mut a = vec![
            "bench".to_string(),
            "--format".into(),
            "json".into(),
            "--users".into(),
            users.to_string(),
            "--groups".into(),
            self.groups.to_string(),
            "--memberships-per-user".into(),
            self.memberships_per_user.to_string(),
            "--latency-ms".into(),
            self.latency_ms.to_string(),
        ];
        if let Some(b) = self.max_batch {
            a.extend(["--max-batch".into(), b.to_string()]);
        }
        if let Some(r) = self.rps {
            a.extend(["--rps".into(), r.to_string()]);
        }
        if self.cluster {
            a.push("--cluster".into());
        }
        if let Some(k) = &self.kubeconfig {
            a.extend(["--kubeconfig".into(), k.display().to_string()]);
        }
        a
    }
}

/// Runs `bench` and prints its report on stdout.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.sweep {
        let runs = sweep(&args).await?;
        let text = match args.format {
            Format::Json => serde_json::to_string_pretty(&runs)?,
            Format::Table => render_sweep(&runs),
        };
        println!("{text}");
        return Ok(());
    }
    if args.scim {
        let kubeconfig = args.kubeconfig.clone().ok_or(BenchError::NoKubeconfig)?;
        let report = scim::run(&kubeconfig, args.users, args.concurrency).await?;
        let text = match args.format {
            Format::Json => serde_json::to_string(&report)?,
            Format::Table => scim::render(&report),
        };
        println!("{text}");
        return Ok(());
    }
    let options = args.options(args.users)?;
    let report = if args.cluster {
        let kubeconfig = args.kubeconfig.clone().ok_or(BenchError::NoKubeconfig)?;
        cluster::run(&options, kubeconfig).await?
    } else {
        inprocess::run(&options).await?
    };
    let text = match args.format {
        Format::Json => serde_json::to_string(&report)?,
        Format::Table => render_table(&report),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    Ok(())
}

/// Runs every N of [`SWEEP`] in a child process of this binary.
async fn sweep(args: &BenchArgs) -> Result<Vec<BenchReport>, BenchError> {
    let exe = std::env::current_exe().map_err(|e| BenchError::Child {
        users: 0,
        reason: format!("finding this executable: {e}"),
    })?;
    let mut runs = Vec::new();
    for users in SWEEP {
        args.shape(users)?;
        eprintln!("bench --sweep: {users} users ...");
        let child = tokio::process::Command::new(&exe)
            .args(args.child_args(users))
            .stderr(std::process::Stdio::inherit())
            .output()
            .await
            .map_err(|e| BenchError::Child {
                users,
                reason: e.to_string(),
            })?;
        if !child.status.success() {
            return Err(BenchError::Child {
                users,
                reason: format!("exited with {}", child.status),
            });
        }
        let report: BenchReport =
            serde_json::from_slice(&child.stdout).map_err(|e| BenchError::Child {
                users,
                reason: format!("unreadable report: {e}"),
            })?;
        runs.push(report);
    }
    Ok(runs)
}
