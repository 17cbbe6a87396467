//! One sync of one account: observe → plan → guard → execute, repeated while writes were made
//! (to confirm them, and to re-plan after an unknown outcome), at most [`MAX_ROUNDS`] times.
//!
//! Nothing here is resent blind: every write comes from a plan made on a fresh snapshot, so a
//! lost reply, a crash or a restart cannot make the same change twice.
//!
//! Nothing rests on a doubtful read: a whole-account read that is not trusted ends the sync
//! before planning (nothing written, nothing released), and an absence that would finish a
//! deprovision (and release a finalizer) is confirmed by a username-filtered read first.

use std::collections::{BTreeMap, BTreeSet};

use secrecy::SecretString;
use tracing::{debug, info, warn};

use crate::lastpass::{ApiError, CommandKind, ErrorClass, LastPass};

use super::execute::{Applied, Failure, execute};
use super::guard::{Blocked, Guards};
use super::model::{Desired, Observed, UserKey, user_key};
use super::plan::{Plan, Policy, plan};
use super::safeguard::{Safeguard, SafeguardOutcome};

/// Observations per sync at most; writes happen in all but the last.
pub const MAX_ROUNDS: usize = 3;

/// Everything one sync needs besides the account.
#[derive(Debug, Default)]
pub struct ConvergeInput {
    /// The declared state.
    pub desired: Desired,
    /// Planner policy.
    pub policy: Policy,
    /// Dry run, the safeguard's limits and its record.
    pub guards: Guards,
    /// Generated initial passwords of users to create, by key.
    pub passwords: BTreeMap<UserKey, SecretString>,
}

/// What one sync found and did.
#[derive(Debug, Default)]
pub struct ConvergeOutcome {
    /// The last snapshot read (`None` if the account could not be read at all).
    pub observed: Option<Observed>,
    /// The plan found by the first observation: what the sync set out to do.
    pub initial_plan: Plan,
    /// The plan left after the last observation: what is still to do.
    pub remaining: Plan,
    /// The destructive part of the plan, held by the safeguard.
    pub blocked: Option<Blocked>,
    /// The safeguard's record, decisions and rejected changes, to report.
    pub safeguard: SafeguardOutcome,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Changes LastPass accepted.
    pub applied: Vec<Applied>,
    /// Changes LastPass refused.
    pub failures: Vec<Failure>,
    /// HTTP write calls made, by command (reads are counted by the client's caller).
    pub write_calls: BTreeMap<CommandKind, usize>,
    /// Snapshots read.
    pub observations: usize,
    /// A `batchadd` was refused for want of seats.
    pub seats_exhausted: bool,
    /// The error that ended the sync early, if any.
    pub error: Option<ApiError>,
}

impl ConvergeInput {
    /// The declared state, dropping the rest (guards, passwords) at once.
    pub fn into_desired(self) -> Desired {
        self.desired
    }
}

impl ConvergeOutcome {
    /// Whether the account was read and every change made (or held back on purpose).
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.failures.is_empty()
    }
}

/// Runs one sync against `lastpass`.
pub async fn converge<L: LastPass>(lastpass: &L, input: &ConvergeInput) -> ConvergeOutcome {
    let mut out = ConvergeOutcome {
        dry_run: input.guards.dry_run,
        ..ConvergeOutcome::default()
    };
    let mut safeguard = Safeguard::new(&input.guards);
    // Users LastPass refused in this sync: not retried until the next one.
    let mut refused: BTreeSet<UserKey> = BTreeSet::new();
    // Users whose attributes went out with a `batchadd` in this sync (LastPass never reports
    // attributes back, so a re-observation cannot confirm them).
    let mut attributes_sent: BTreeSet<UserKey> = BTreeSet::new();
    // Leaving users a filtered read of this sync found absent.
    let mut confirmed_absent: BTreeSet<UserKey> = BTreeSet::new();
    for round in 0..MAX_ROUNDS {
        // One whole account in memory at a time: the previous round's snapshot goes before the
        // next read. A failed re-read then reports no snapshot, as a failed first read does
        // (not one from before this sync's writes).
        out.observed = None;
        let snapshot = match observe_confirmed(lastpass, input, &mut confirmed_absent).await {
            Ok(s) => s,
            Err(e) => {
                out.error = Some(e);
                out.safeguard = safeguard.outcome();
                return out;
            }
        };
        out.observations += 1;
        let mut current = plan(&input.desired, &snapshot, &input.policy);
        current.drop_users(&refused);
        current
            .attribute_updates
            .retain(|u| !attributes_sent.contains(&user_key(&u.username)));
        let guarded = safeguard.judge(&mut current, &input.desired);
        if round == 0 {
            out.initial_plan = current.clone();
        }
        out.blocked = guarded.blocked.clone();
        out.remaining = current;
        out.observed = Some(snapshot);
        if guarded.execute.is_empty() || round + 1 == MAX_ROUNDS {
            debug!(round, "nothing (more) to write");
            out.safeguard = safeguard.outcome();
            return out;
        }
        info!(
            round,
            changes = guarded.execute.write_count(),
            "executing plan"
        );
        let done = execute(lastpass, &guarded.execute, &input.passwords).await;
        for (command, n) in &done.calls {
            *out.write_calls.entry(*command).or_default() += n;
        }
        safeguard.executed(&guarded.execute, &done.applied, &done.in_doubt);
        refused.extend(done.failed_users());
        attributes_sent.extend(
            done.applied
                .iter()
                .filter(|a| a.command == CommandKind::BatchAdd)
                .map(|a| user_key(&a.username)),
        );
        out.seats_exhausted |= done.seats_exhausted;
        out.applied.extend(done.applied);
        out.failures.extend(done.failures);
        // An unknown outcome falls through: the next round re-reads the account and plans
        // afresh. An interruption (shutdown) re-reads once, so the statuses show what LastPass
        // really holds. Anything else ends the sync.
        match done.stopped {
            Some(e) if e.class() == ErrorClass::Interrupted => {
                reobserve(
                    lastpass,
                    input,
                    &refused,
                    &mut confirmed_absent,
                    &mut safeguard,
                    &mut out,
                )
                .await;
                out.error = Some(e);
                out.safeguard = safeguard.outcome();
                return out;
            }
            Some(e) if e.class() != ErrorClass::Reobserve => {
                out.error = Some(e);
                out.safeguard = safeguard.outcome();
                return out;
            }
            _ => {}
        }
    }
    out.safeguard = safeguard.outcome();
    out
}

/// One last read after an interrupted round: `observed` and `remaining` then describe the
/// account as it is, not as it was before the round's writes. A failed read keeps the older
/// snapshot; the applied changes are still reported from LastPass's replies.
async fn reobserve<L: LastPass>(
    lastpass: &L,
    input: &ConvergeInput,
    refused: &BTreeSet<UserKey>,
    confirmed_absent: &mut BTreeSet<UserKey>,
    safeguard: &mut Safeguard,
    out: &mut ConvergeOutcome,
) {
    if let Ok(snapshot) = observe_confirmed(lastpass, input, confirmed_absent).await {
        out.observations += 1;
        let mut current = plan(&input.desired, &snapshot, &input.policy);
        current.drop_users(refused);
        out.blocked = safeguard.judge(&mut current, &input.desired).blocked;
        out.remaining = current;
        out.observed = Some(snapshot);
    }
}

/// Reads the whole account (the client refuses an untrusted read), then confirms every absence
/// that would finish a deprovision with a username-filtered read. A leaving user the filtered
/// read finds joins the snapshot, so the plan deprovisions it instead of releasing it. Users
/// confirmed absent are remembered in `confirmed_absent` for the rest of the sync.
async fn observe_confirmed<L: LastPass>(
    lastpass: &L,
    input: &ConvergeInput,
    confirmed_absent: &mut BTreeSet<UserKey>,
) -> Result<Observed, ApiError> {
    let mut snapshot = lastpass.observe().await?;
    let unconfirmed: Vec<(&UserKey, &str)> = input
        .desired
        .leaving
        .iter()
        .filter(|(key, _)| {
            !input.desired.users.contains_key(*key)
                && !snapshot.users.contains_key(*key)
                && !confirmed_absent.contains(*key)
        })
        .map(|(key, l)| (key, l.username.as_str()))
        .collect();
    for (key, username) in unconfirmed {
        match lastpass.observe_user(username).await? {
            None => {
                confirmed_absent.insert(key.clone());
            }
            Some(found) => {
                warn!(
                    user = %username,
                    "a leaving user missing from the whole-account read was found by a filtered read; it is deprovisioned, not released"
                );
                snapshot.insert_user(found);
            }
        }
    }
    Ok(snapshot)
}

impl Plan {
    /// Removes every change concerning these users (refused earlier in the same sync).
    pub fn drop_users(&mut self, users: &BTreeSet<UserKey>) {
        if users.is_empty() {
            return;
        }
        let keep = |name: &str| !users.contains(&user_key(name));
        self.creates.retain(|c| keep(&c.username));
        self.updates.retain(|u| keep(&u.username));
        self.attribute_updates.retain(|u| keep(&u.username));
        self.disables.retain(|u| keep(u));
        self.enables.retain(|u| keep(u));
        self.group_changes.retain(|c| keep(&c.username));
        self.deprovisions.retain(|d| keep(&d.username));
    }
}

#[cfg(test)]
#[path = "converge_tests.rs"]
mod tests;
