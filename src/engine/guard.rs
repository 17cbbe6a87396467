//! Guards between the plan and LastPass: dry run and the deletion budget.
//!
//! Seat exhaustion is the one guard LastPass itself enforces; the executor reports it.

use super::plan::Plan;

/// The guards of one integration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Guards {
    /// Plan only; nothing is executed.
    pub dry_run: bool,
    /// Deletion budget: more deprovisions than this in one plan are all held back.
    pub max_per_sync: usize,
    /// The plan id of the `lastpass-operator.io/approve-plan` annotation, if any.
    pub approved_plan: Option<String>,
    /// Users whose deprovision a person already approved at the LDAP pull (their resource's
    /// `lastpass-operator.io/approved-plan` id is recorded in `status.ldap.consumedApprovals`):
    /// never held again, and not counted against the budget.
    pub pre_approved: std::collections::BTreeSet<super::model::UserKey>,
}

/// Deprovisions held back by the deletion budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocked {
    /// The id to approve this exact set with.
    pub plan_id: String,
    /// How many deprovisions the plan holds.
    pub deprovisions: usize,
    /// The budget they exceed.
    pub max_per_sync: usize,
}

/// A plan after the guards: what may run now, and what was held back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Guarded {
    /// The part of the plan to execute now (empty in a dry run).
    pub execute: Plan,
    /// Set when the deletion budget held the deprovisions back.
    pub blocked: Option<Blocked>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

/// Applies the guards to a plan.
///
/// A plan over budget deprovisions nobody (not even the first `max_per_sync`), unless its id is
/// the approved one: an approval releases exactly that set, and any other set stays blocked.
pub fn guard(plan: &Plan, guards: &Guards) -> Guarded {
    let mut execute = plan.clone();
    let pre_approved = |d: &super::plan::Deprovision| {
        guards
            .pre_approved
            .contains(&super::model::user_key(&d.username))
    };
    let counted = plan
        .deprovisions
        .iter()
        .filter(|d| !pre_approved(d))
        .count();
    let over_budget = counted > guards.max_per_sync;
    let blocked = if over_budget && guards.approved_plan.as_deref() != Some(plan.id().as_str()) {
        execute.deprovisions.retain(pre_approved);
        Some(Blocked {
            plan_id: plan.id(),
            deprovisions: counted,
            max_per_sync: guards.max_per_sync,
        })
    } else {
        None
    };
    if guards.dry_run {
        // Releasing finalizers of users already gone is no LastPass write: keep it.
        execute = Plan {
            finished: execute.finished,
            ..Plan::default()
        };
    }
    Guarded {
        execute,
        blocked,
        dry_run: guards.dry_run,
    }
}

#[cfg(test)]
#[path = "guard_pre_approved_tests.rs"]
mod pre_approved_tests;
