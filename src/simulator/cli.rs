//! `lastpass-operator simulator`: runs the simulator as a standalone server until Ctrl-C,
//! optionally loading and saving the account from a JSON file.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use secrecy::SecretString;

use super::knobs::{
    DelNonMember, DisabledUser, EmptyGroup, ErrorForm, ExistingUser, GroupCase, Knobs, NoGroups,
    NoMatchBody, RemovedUser, TimestampZone, UnknownGroup, WholeRead,
};
use super::state::{DEFAULT_ADMIN, DEFAULT_PATH, SimState};
use super::store::Store;

/// Command-line options of `lastpass-operator simulator`.
#[derive(Debug, clap::Args)]
pub struct SimulatorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8089")]
    pub listen: SocketAddr,
    /// Account id (CID) the simulator accepts.
    #[arg(long)]
    pub cid: String,
    /// File holding the provhash the simulator accepts (surrounding whitespace ignored).
    #[arg(long)]
    pub provhash_file: PathBuf,
    /// API path.
    #[arg(long, default_value = DEFAULT_PATH)]
    pub path: String,
    /// Account state: loaded at start if the file exists, saved at shutdown.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// The account's admin, added (active, `admin: true`) when the account has no admin: a
    /// real account always holds the admin whose provisioning hash is used.
    #[arg(long, default_value = DEFAULT_ADMIN)]
    pub admin: String,
    /// Knobs as a JSON file (the `/__admin/knobs` form); flags below override it.
    #[arg(long)]
    pub knobs: Option<PathBuf>,
    /// Knobs.
    #[command(flatten)]
    pub knob_flags: Box<KnobFlags>,
}

/// One flag per knob; unset flags keep the default (or the `--knobs` file's value).
#[derive(Debug, Default, clap::Args)]
pub struct KnobFlags {
    /// Mean added latency per API call, ms (~300 is production-like).
    #[arg(long)]
    pub latency_ms: Option<u64>,
    /// Uniform jitter around the latency, ms.
    #[arg(long)]
    pub latency_jitter_ms: Option<u64>,
    /// Answer 429 to every Nth API call.
    #[arg(long)]
    pub throttle_every: Option<u64>,
    /// Answer 429 with this probability (0..1).
    #[arg(long)]
    pub throttle_probability: Option<f64>,
    /// `Retry-After` seconds on 429.
    #[arg(long)]
    pub retry_after_secs: Option<u64>,
    /// Answer FAIL to writes with this probability.
    #[arg(long)]
    pub fail_probability: Option<f64>,
    /// Apply a write then drop the connection with this probability.
    #[arg(long)]
    pub drop_probability: Option<f64>,
    /// Seat limit (enabled users).
    #[arg(long)]
    pub seat_limit: Option<usize>,
    /// Maximum users per bulk write; above it FAIL.
    #[arg(long)]
    pub max_batch: Option<usize>,
    /// Largest page size honoured.
    #[arg(long)]
    pub page_cap: Option<usize>,
    /// `batchadd` on an existing active user.
    #[arg(long, value_enum)]
    pub batchadd_existing: Option<ExistingUser>,
    /// `batchadd` on a disabled user.
    #[arg(long, value_enum)]
    pub batchadd_disabled: Option<DisabledUser>,
    /// `batchadd` on a removed or deleted user.
    #[arg(long, value_enum)]
    pub batchadd_removed: Option<RemovedUser>,
    /// Group-name comparison.
    #[arg(long, value_enum)]
    pub group_case: Option<GroupCase>,
    /// Unknown group on add.
    #[arg(long, value_enum)]
    pub unknown_group: Option<UnknownGroup>,
    /// Groups left empty.
    #[arg(long, value_enum)]
    pub empty_group: Option<EmptyGroup>,
    /// `del` of a non-membership.
    #[arg(long, value_enum)]
    pub del_non_member: Option<DelNonMember>,
    /// `error` form for unknown users.
    #[arg(long, value_enum)]
    pub unknown_user_error: Option<ErrorForm>,
    /// `getuserdata` body without matches.
    #[arg(long, value_enum)]
    pub no_match_body: Option<NoMatchBody>,
    /// `groups` of a user without groups.
    #[arg(long, value_enum)]
    pub no_groups: Option<NoGroups>,
    /// Zone of the written timestamps.
    #[arg(long, value_enum)]
    pub timestamp_zone: Option<TimestampZone>,
    /// How whole-account reads are answered (an untrusted shape, for tests).
    #[arg(long, value_enum)]
    pub whole_read: Option<WholeRead>,
}

impl KnobFlags {
    /// Applies the flags that were given to `k`.
    pub fn apply(&self, mut k: Knobs) -> Knobs {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { k.$f = v; } )* };
        }
        macro_rules! set_opt {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { k.$f = Some(v); } )* };
        }
        set!(
            latency_ms,
            latency_jitter_ms,
            throttle_probability,
            fail_probability,
            drop_probability
        );
        set!(
            batchadd_existing,
            batchadd_disabled,
            batchadd_removed,
            group_case,
            unknown_group,
            empty_group
        );
        set!(
            del_non_member,
            unknown_user_error,
            no_match_body,
            no_groups,
            timestamp_zone,
            whole_read
        );
        set_opt!(
            throttle_every,
            retry_after_secs,
            seat_limit,
            max_batch,
            page_cap
        );
        k
    }
}

/// Runs the simulator until interrupted.
pub async fn run(args: SimulatorArgs) -> anyhow::Result<()> {
    let provhash = std::fs::read_to_string(&args.provhash_file)
        .with_context(|| format!("reading --provhash-file {}", args.provhash_file.display()))?;
    let provhash = SecretString::from(provhash.trim().to_string());
    let mut knobs = Knobs::default();
    if let Some(f) = &args.knobs {
        knobs = serde_json::from_slice(&std::fs::read(f)?)
            .with_context(|| format!("parsing --knobs {}", f.display()))?;
    }
    let knobs = args.knob_flags.apply(knobs);
    let store = match &args.state {
        Some(p) if p.exists() => {
            Store::load(p).with_context(|| format!("loading --state {}", p.display()))?
        }
        _ => Store::default(),
    };
    let state = SimState::builder(args.cid.clone(), provhash)
        .path(args.path.clone())
        .admin(args.admin.clone())
        .knobs(knobs)
        .store(store)
        .build();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!(
        "LastPass API simulator listening on http://{addr}{} (cid {}, admin API at http://{addr}/__admin/)",
        args.path, args.cid
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    super::serve(listener, state.clone(), shutdown).await?;
    if let Some(p) = &args.state {
        state
            .save(p)
            .with_context(|| format!("saving --state {}", p.display()))?;
        println!("state saved to {}", p.display());
    }
    Ok(())
}
