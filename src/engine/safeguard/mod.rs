//! The safeguard: one limit over every destructive change (deprovisions, suspensions,
//! membership removals), counted over a rolling window, that a person approves or rejects.
//!
//! Pure: the window, approvals and rejections come in from the integration's status
//! ([`Guards`]), the time comes in as `now`, and what changed goes back out
//! ([`SafeguardOutcome`]) to be written to status. Promises:
//! - beyond a limit (`maxPerSync`, `maxPercent`, `maxMembershipRemovals`), nothing destructive
//!   runs unless a person approved that exact set (its id is a digest of the set);
//! - an approval runs exactly the changes of the held set it names, once; newer destructive
//!   changes are judged afresh;
//! - a rejected plan's deprovisions never reach LastPass: their resources are released;
//!   its suspensions and removals stay unapplied until the resource that asked for them
//!   changes its spec.

pub mod changes;
mod decide;
mod window;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use crate::crd::{HeldPlan, SafeguardStatus};
use crate::status::refusal;

use super::execute::Applied;
use super::guard::{Blocked, Guarded, Guards};
use super::model::{Desired, ResourceRef};
use super::plan::Plan;

pub use changes::{Change, Counts, actions, destructive, plan_id, remove};

/// At most this many consumed approval ids are remembered (the oldest go first).
pub const MAX_CONSUMED: usize = 100;
/// At most this many rejected plans are remembered (the oldest go first).
pub const MAX_REJECTED: usize = 20;

/// A person's decision applied by this sync, for an Event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// `approve-plan=<plan_id>` released `changes` held changes.
    Approved {
        /// The approved plan.
        plan_id: String,
        /// Changes it released (those still pending).
        changes: usize,
    },
    /// `reject-plan=<plan_id>` dropped the plan.
    Rejected {
        /// The rejected plan.
        plan_id: String,
        /// Deleted resources released without touching LastPass.
        released: usize,
        /// Suspensions and removals left unapplied.
        unapplied: usize,
    },
}

/// A change left unapplied because a person rejected it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unapplied {
    /// The resource that asked for it (its status shows `Synced=False`, `PlanRejected`).
    pub resource: ResourceRef,
    /// The change.
    pub change: Change,
    /// The rejected plan.
    pub plan_id: String,
}

/// What the safeguard leaves behind after a sync.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SafeguardOutcome {
    /// The record to write back to `status.safeguard`.
    pub record: SafeguardStatus,
    /// Decisions applied by this sync.
    pub decisions: Vec<Decision>,
    /// Changes left unapplied by a rejection, as of the last round.
    pub unapplied: Vec<Unapplied>,
    /// The held plan the sync started from (`status.held`), kept when no read succeeded.
    pub previous_held: Option<HeldPlan>,
}

/// The safeguard of one sync, kept across its rounds.
#[derive(Debug)]
pub struct Safeguard {
    guards: Guards,
    record: SafeguardStatus,
    /// Changes a person approved (a held plan, or an approved LDAP pull): neither held nor
    /// counted.
    approved: BTreeSet<Change>,
    /// Changes already counted in the window by this sync (applied, or outcome unknown).
    counted: BTreeSet<Change>,
    decisions: Vec<Decision>,
    unapplied: Vec<Unapplied>,
    decided: bool,
    /// The approval applied by this sync: its id, the changes it released, and whether any
    /// of them was sent. It is consumed once they were sent or are no longer pending, so a
    /// sync that fails before sending them does not use it up.
    approval: Option<(String, BTreeSet<Change>, bool)>,
    /// The destructive changes pending at the last judgement.
    pending: BTreeSet<Change>,
}

impl Safeguard {
    /// The safeguard of a sync starting from `guards` (window entries older than the window
    /// are forgotten).
    pub fn new(guards: &Guards) -> Self {
        let mut record = guards.record.clone();
        window::prune(&mut record, guards.now, guards.window);
        Self {
            guards: guards.clone(),
            record,
            approved: BTreeSet::new(),
            counted: BTreeSet::new(),
            decisions: Vec::new(),
            unapplied: Vec::new(),
            decided: false,
            approval: None,
            pending: BTreeSet::new(),
        }
    }

    /// Judges a fresh plan: changes a rejection left unapplied are taken out of `plan` (the
    /// released deprovisions become finished), a person's approval or rejection is applied
    /// (once per sync, never in a dry run), and the destructive rest is held whole if the
    /// window would exceed a limit.
    pub fn judge(&mut self, plan: &mut Plan, desired: &Desired) -> Guarded {
        decide::prune_rejected(&mut self.record, desired, &self.guards);
        let mut all = destructive(plan);
        // LDAP pulls a person approved: not held, not counted.
        for c in &all {
            if let Change::Deprovision { user, .. } = c
                && desired
                    .leaving
                    .get(user)
                    .and_then(|l| l.approved_plan.as_deref())
                    // Only ids the LDAP pull recorded as used: the engine's own approvals
                    // run their held set directly and never travel on an annotation.
                    .is_some_and(|id| self.guards.trusted_approvals.contains(id))
            {
                self.approved.insert(c.clone());
            }
        }
        let suppressed = decide::suppress(&self.record, plan, desired, &mut all);
        if !self.decided && !self.guards.dry_run {
            self.decided = true;
            let candidate: BTreeSet<Change> = all.difference(&self.approved).cloned().collect();
            if let Some(d) = decide::reject(&mut self.record, &self.guards, &candidate, desired) {
                self.decisions.push(d);
            }
            if let Some((id, released)) = decide::approve(&self.record, &self.guards, &candidate) {
                self.approved.extend(released.iter().cloned());
                self.approval = Some((id, released, false));
            }
        }
        // A rejection just decided is applied in this very round.
        let mut suppressed_now = decide::suppress(&self.record, plan, desired, &mut all);
        suppressed_now.extend(suppressed);
        suppressed_now.sort_by(|a, b| (&a.resource, &a.change).cmp(&(&b.resource, &b.change)));
        suppressed_now.dedup();
        self.unapplied = suppressed_now;

        self.pending = all.clone();
        let rest: BTreeSet<Change> = all.difference(&self.approved).cloned().collect();
        let mut execute = plan.clone();
        let blocked = self
            .over_limit(&rest, desired, &plan.admin_targets)
            .map(|reason| {
                remove(&mut execute, &rest);
                Blocked::new(rest, reason)
            });
        if self.guards.dry_run {
            // Releasing finalizers of users already gone is no LastPass write: keep it.
            execute = Plan {
                finished: execute.finished,
                ..Plan::default()
            };
        }
        Guarded {
            execute,
            blocked,
            dry_run: self.guards.dry_run,
        }
    }

    /// Why `rest` must be held, if it must: the window's executed changes plus `rest` exceed
    /// a limit ("above" is strictly greater).
    fn over_limit(
        &self,
        rest: &BTreeSet<Change>,
        desired: &Desired,
        admins: &BTreeSet<super::model::UserKey>,
    ) -> Option<String> {
        if rest.is_empty() {
            return None;
        }
        // A LastPass admin (the operator's own API account among them) is never deprovisioned
        // or suspended on the strength of a declaration alone: a person approves it.
        if let Some(admin) = rest.iter().find_map(|c| match c {
            Change::Deprovision { user, .. } | Change::Suspend { user }
                if admins.contains(user) =>
            {
                Some(user)
            }
            _ => None,
        }) {
            return Some(format!(
                "it deprovisions or suspends {admin}, a LastPass admin: only with an approval \
                 of this plan"
            ));
        }
        let used = window::used(&self.record);
        let planned = Counts::of(rest.iter().filter(|c| !self.counted.contains(*c)));
        let total = used + planned;
        let g = &self.guards;
        let within = humantime(g.window);
        let people = format!(
            "{} deprovisions and suspensions {within} ({} executed, {} planned)",
            total.people(),
            used.people(),
            planned.people()
        );
        if total.people() > g.max_per_sync {
            return Some(refusal::over_max_per_sync(&people, g.max_per_sync));
        }
        let managed = desired.users.len() + desired.leaving.len();
        if let Some(percent) = g.max_percent
            && total.people() * 100 > percent as usize * managed
        {
            return Some(refusal::over_max_percent(
                &people,
                percent,
                managed,
                "managed users",
            ));
        }
        if let Some(max) = g.max_membership_removals
            && total.membership_removals > max
        {
            let what = format!(
                "{} membership removals {within} ({} executed, {} planned)",
                total.membership_removals, used.membership_removals, planned.membership_removals
            );
            return Some(refusal::over_max_membership_removals(&what, max));
        }
        None
    }

    /// Records what an execution of `executed` did: destructive changes LastPass accepted, or
    /// whose outcome is unknown (`in_doubt`), count in the window unless a person approved
    /// them. Refused changes and changes never sent do not count.
    pub fn executed(&mut self, executed: &Plan, applied: &[Applied], in_doubt: &[Applied]) {
        let done = |c: &Change| {
            let command = match c {
                Change::Deprovision { .. } => crate::lastpass::CommandKind::DelUser,
                Change::Suspend { .. } => crate::lastpass::CommandKind::DisableUser,
                Change::RemoveFromGroup { .. } => crate::lastpass::CommandKind::BatchChangeGrp,
            };
            applied
                .iter()
                .chain(in_doubt)
                .any(|a| a.command == command && super::model::user_key(&a.username) == c.user())
        };
        let sent: BTreeSet<Change> = destructive(executed).into_iter().filter(done).collect();
        if let Some((_, released, any_sent)) = &mut self.approval {
            *any_sent |= released.iter().any(|c| sent.contains(c));
        }
        let new: BTreeSet<Change> = sent
            .into_iter()
            .filter(|c| !self.approved.contains(c) && !self.counted.contains(c))
            .collect();
        window::add(&mut self.record, self.guards.now, Counts::of(&new));
        self.counted.extend(new);
    }

    /// The record and decisions to report.
    pub fn outcome(mut self) -> SafeguardOutcome {
        if let Some((id, released, sent)) = self.approval.take()
            && (sent || released.is_disjoint(&self.pending))
        {
            let d = decide::consume(&mut self.record, &id, released.len());
            self.decisions.push(d);
        }
        SafeguardOutcome {
            record: self.record,
            decisions: self.decisions,
            unapplied: self.unapplied,
            previous_held: self.guards.held,
        }
    }
}

/// "within 1h" for a window, "in this plan" without one.
fn humantime(window: std::time::Duration) -> String {
    if window.is_zero() {
        return "in this plan".to_string();
    }
    let secs = window.as_secs();
    let text = if secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    };
    format!("within {text}")
}

/// Applies the guards to one plan, once (a sync keeps a [`Safeguard`] across its rounds).
pub fn guard(plan: &Plan, desired: &Desired, guards: &Guards) -> Guarded {
    Safeguard::new(guards).judge(&mut plan.clone(), desired)
}
