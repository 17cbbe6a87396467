//! Guards between the plan and LastPass: dry run and the safeguard over destructive changes
//! (see [`super::safeguard`]).
//!
//! Seat exhaustion is the one guard LastPass itself enforces; the executor reports it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::crd::{HeldPlan, SafeguardStatus};

use super::model::ResourceRef;
use super::plan::Plan;
use super::safeguard::changes::{Change, Counts, plan_id};

/// The guards of one integration, and the safeguard's memory read back from its status.
///
/// The default is a per-sync budget of 0 with no percentage or membership limit and no
/// window: any deprovision or suspension is held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Guards {
    /// Plan only; nothing is executed.
    pub dry_run: bool,
    /// `maxPerSync`: deprovisions + suspensions allowed per window.
    pub max_per_sync: usize,
    /// `maxPercent`: deprovisions + suspensions allowed per window, as a percentage of the
    /// managed users; `None` sets no such limit.
    pub max_percent: Option<u32>,
    /// `maxMembershipRemovals` per window; `None` sets no such limit.
    pub max_membership_removals: Option<usize>,
    /// The rolling window; zero counts only the current plan.
    pub window: Duration,
    /// The plan id of the `lastpass-operator.io/approve-plan` annotation, if any.
    pub approved_plan: Option<String>,
    /// The plan id of the `lastpass-operator.io/reject-plan` annotation, if any.
    pub rejected_plan: Option<String>,
    /// `status.safeguard`: the window, consumed approvals and rejections so far.
    pub record: SafeguardStatus,
    /// `status.held`: the plan held by the last sync, which an approval or a rejection names.
    pub held: Option<HeldPlan>,
    /// Approval ids recorded elsewhere (`status.ldap.consumedApprovals`): a deleted user
    /// annotated `approved-plan` with one of them (or with an id of
    /// `record.consumedApprovals`) was approved by a person and is neither held nor counted.
    pub trusted_approvals: BTreeSet<String>,
    /// `metadata.generation` of each user and group resource, so that a rejected change stays
    /// unapplied exactly until the resource that asked for it changes.
    pub generations: BTreeMap<ResourceRef, i64>,
    /// The time of the sync (window arithmetic); the guard reads no clock.
    pub now: jiff::Timestamp,
}

/// The destructive part of a plan, held by the safeguard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocked {
    /// The id to approve or reject this exact set with.
    pub plan_id: String,
    /// Deprovisions held.
    pub deprovisions: usize,
    /// Suspensions held.
    pub suspensions: usize,
    /// Membership removals held.
    pub membership_removals: usize,
    /// The limit exceeded, for people to read.
    pub reason: String,
    /// The held set.
    pub changes: BTreeSet<Change>,
}

impl Blocked {
    /// A held set with its id and counts.
    pub fn new(changes: BTreeSet<Change>, reason: String) -> Self {
        let counts = Counts::of(&changes);
        Self {
            plan_id: plan_id(&changes),
            deprovisions: counts.deprovisions,
            suspensions: counts.suspensions,
            membership_removals: counts.membership_removals,
            reason,
            changes,
        }
    }
}

/// A plan after the guards: what may run now, and what was held back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Guarded {
    /// The part of the plan to execute now (empty in a dry run).
    pub execute: Plan,
    /// Set when the safeguard holds the destructive part of the plan.
    pub blocked: Option<Blocked>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}
