//! kstatus's standard conditions, derived from `Ready`, so that tools which read only kstatus
//! (Flux's `wait` and `healthChecks`, `kpt`, cli-utils appliers) tell a resource the operator
//! is still working on from one that needs a person. kstatus reads a custom resource as
//! `Current` unless it carries `Reconciling=True` (in progress) or `Stalled=True` (failed): it
//! does not read `Ready`. Both are "abnormal-true": present only while true.
//!
//! Pure; the classification is the one `argocd/health.lua` applies for Argo CD.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::Reason;
use super::types::{self, RECONCILING, STALLED};

/// `Ready=False` reasons the operator resolves by itself (retries, first provisioning, a
/// deprovision under way).
const TRANSIENT: [Reason; 7] = [
    Reason::Provisioning,
    Reason::Pending,
    Reason::Deprovisioning,
    Reason::LastPassUnavailable,
    Reason::OutcomeUnknown,
    Reason::Interrupted,
    Reason::ReadNotTrusted,
];

/// `Ready=False` reasons that are a person's choice, not a fault: nothing to report.
const CHOSEN: [Reason; 1] = [Reason::DryRun];

/// Replaces `Reconciling`/`Stalled` in `conditions` with what `Ready` (and, on an
/// integration, a true `DeprovisionBlocked`) says now: a held plan or any refusal is
/// `Stalled`, a transient state `Reconciling`, Ready or a dry run neither.
pub fn set_kstatus_conditions(conditions: &mut Vec<Condition>) {
    conditions.retain(|c| c.type_ != RECONCILING && c.type_ != STALLED);
    let held = conditions
        .iter()
        .find(|c| c.type_ == types::DEPROVISION_BLOCKED && c.status == "True")
        .cloned();
    let Some(ready) = conditions.iter().find(|c| c.type_ == types::READY).cloned() else {
        return;
    };
    let is = |list: &[Reason]| list.iter().any(|r| r.as_str() == ready.reason);
    let derived = match held {
        Some(held) => Some((STALLED, held)),
        None if ready.status == "True" || is(&CHOSEN) => None,
        None if is(&TRANSIENT) => Some((RECONCILING, ready)),
        None => Some((STALLED, ready)),
    };
    if let Some((type_, from)) = derived {
        conditions.push(Condition {
            type_: type_.to_string(),
            status: "True".to_string(),
            ..from
        });
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;
    use crate::status::condition;

    fn kstatus(ready: bool, reason: Reason, held: bool) -> Vec<(String, String)> {
        let now = Time(jiff::Timestamp::from_second(1_000).unwrap());
        let mut list = vec![
            condition(types::READY, ready, reason, "why", Some(3), &now),
            condition(
                types::DEPROVISION_BLOCKED,
                held,
                Reason::DeprovisionBlocked,
                "held",
                None,
                &now,
            ),
        ];
        set_kstatus_conditions(&mut list);
        set_kstatus_conditions(&mut list); // idempotent
        list.into_iter()
            .filter(|c| c.type_ == RECONCILING || c.type_ == STALLED)
            .map(|c| (c.type_, c.reason))
            .collect()
    }

    #[test]
    fn ready_and_dry_run_carry_neither() {
        assert!(kstatus(true, Reason::Active, false).is_empty());
        assert!(kstatus(false, Reason::DryRun, false).is_empty());
    }

    #[test]
    fn transient_states_are_reconciling() {
        for r in TRANSIENT {
            assert_eq!(
                kstatus(false, r, false),
                [(RECONCILING.into(), r.as_str().into())]
            );
        }
    }

    #[test]
    fn refusals_and_held_plans_are_stalled() {
        for r in [
            Reason::UsernameConflict,
            Reason::SyncFailed,
            Reason::DeleteNotAllowed,
            Reason::DeprovisionBlocked,
        ] {
            assert_eq!(
                kstatus(false, r, false),
                [(STALLED.into(), r.as_str().into())]
            );
        }
        // An integration that holds a plan is Ready, and still waits for a person.
        assert_eq!(
            kstatus(true, Reason::SyncSucceeded, true),
            [(STALLED.into(), Reason::DeprovisionBlocked.as_str().into())]
        );
    }
}
