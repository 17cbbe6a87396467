//! What one account sync tells Prometheus: users by phase, pending and blocked deprovisions,
//! drift corrections (see [`crate::telemetry::metrics`]).

use crate::crd::UserPhase;
use crate::engine::account::AccountSync;
use crate::engine::model::user_key;
use crate::lastpass::ErrorClass;
use crate::telemetry::labels::{IntegrationLabel, IntegrationPhase};
use crate::telemetry::metrics::global;

/// Every phase, so a phase that emptied shows 0 rather than its last value.
const PHASES: [UserPhase; 6] = [
    UserPhase::Pending,
    UserPhase::Invited,
    UserPhase::Active,
    UserPhase::Suspended,
    UserPhase::Deprovisioning,
    UserPhase::Failed,
];

fn phase_name(p: UserPhase) -> &'static str {
    match p {
        UserPhase::Pending => "Pending",
        UserPhase::Invited => "Invited",
        UserPhase::Active => "Active",
        UserPhase::Suspended => "Suspended",
        UserPhase::Deprovisioning => "Deprovisioning",
        UserPhase::Failed => "Failed",
    }
}

/// Records the gauges and counters of one sync of `integration` (`<namespace>/<name>`).
///
/// A drift correction is an applied change to a user that was already in LastPass: anything
/// but the invitation of a new user and the deprovisioning of a deleted one.
pub fn record(integration: &str, sync: &AccountSync) {
    let m = global();
    for p in PHASES {
        let count = sync.report.phases.get(&p).copied().unwrap_or(0);
        m.users
            .get_or_create(&IntegrationPhase {
                integration: integration.into(),
                phase: phase_name(p).into(),
            })
            .set(count as i64);
    }
    let label = IntegrationLabel {
        integration: integration.into(),
    };
    let remaining = &sync.outcome.remaining;
    m.deprovisions_pending
        .get_or_create(&label)
        .set(i64::try_from(remaining.deprovisions.len()).unwrap_or(i64::MAX));
    m.plan_held
        .get_or_create(&label)
        .set(i64::from(sync.outcome.blocked.is_some()));
    let blocked = sync.outcome.blocked.as_ref().map_or(0, |b| b.deprovisions);
    m.deprovisions_blocked
        .get_or_create(&label)
        .set(i64::try_from(blocked).unwrap_or(i64::MAX));
    // One set of the users the plan invites or deprovisions, so each applied change is one
    // lookup (a scan per change would be quadratic in the plan's size).
    let planned = &sync.outcome.initial_plan;
    let lifecycle: std::collections::HashSet<_> = planned
        .creates
        .iter()
        .map(|c| user_key(&c.username))
        .chain(planned.deprovisions.iter().map(|d| user_key(&d.username)))
        .collect();
    let drift = sync
        .outcome
        .applied
        .iter()
        .filter(|a| !lifecycle.contains(&user_key(&a.username)))
        .count();
    m.drift_corrections
        .get_or_create(&label)
        .inc_by(u64::try_from(drift).unwrap_or(u64::MAX));
    let untrusted = m.untrusted_reads.get_or_create(&label);
    if matches!(&sync.outcome.error, Some(e) if e.class() == ErrorClass::Untrusted) {
        untrusted.inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::execute::Applied;
    use crate::engine::guard::Blocked;
    use crate::engine::model::ResourceRef;
    use crate::engine::plan::{CreateUser, Deprovision};
    use crate::lastpass::CommandKind;

    fn r(name: &str) -> ResourceRef {
        ResourceRef::user("ns", name)
    }

    #[test]
    fn one_sync_sets_phases_deprovisions_and_counts_only_drift() {
        let mut sync = AccountSync {
            desire: Default::default(),
            outcome: Default::default(),
            report: Default::default(),
        };
        for phase in [UserPhase::Active, UserPhase::Active, UserPhase::Invited] {
            *sync.report.phases.entry(phase).or_default() += 1;
        }
        sync.outcome.initial_plan.creates.push(CreateUser {
            username: "c@x.io".into(),
            full_name: None,
            groups: Default::default(),
            attributes: Default::default(),
            password_reset_required: false,
        });
        let gone = Deprovision {
            username: "d@x.io".into(),
            action: Default::default(),
            resource: r("d"),
        };
        sync.outcome.initial_plan.deprovisions.push(gone.clone());
        sync.outcome.remaining.deprovisions.push(gone);
        sync.outcome.blocked = Some(Blocked {
            plan_id: "p".into(),
            deprovisions: 7,
            suspensions: 0,
            membership_removals: 0,
            reason: "over maxPerSync 5".into(),
            changes: Default::default(),
        });
        let applied = |command, username: &str| Applied {
            command,
            username: username.into(),
        };
        sync.outcome.applied = vec![
            applied(CommandKind::BatchAdd, "C@x.io"), // an invitation: not drift
            applied(CommandKind::DelUser, "d@x.io"),  // a deprovision: not drift
            applied(CommandKind::EnableUser, "a@x.io"), // drift put right
            applied(CommandKind::BatchChangeGrp, "b@x.io"), // drift put right
        ];
        record("metrics-test/acme", &sync);

        let m = global();
        let phase = |p: &str| {
            m.users
                .get_or_create(&IntegrationPhase {
                    integration: "metrics-test/acme".into(),
                    phase: p.into(),
                })
                .get()
        };
        assert_eq!(
            (phase("Active"), phase("Invited"), phase("Failed")),
            (2, 1, 0)
        );
        let label = IntegrationLabel {
            integration: "metrics-test/acme".into(),
        };
        assert_eq!(m.deprovisions_pending.get_or_create(&label).get(), 1);
        assert_eq!(m.deprovisions_blocked.get_or_create(&label).get(), 7);
        assert_eq!(m.drift_corrections.get_or_create(&label).get(), 2);
        assert_eq!(m.untrusted_reads.get_or_create(&label).get(), 0);

        sync.outcome.error = Some(crate::lastpass::ApiError::ReadNotTrusted {
            reason: "no users".into(),
        });
        record("metrics-test/acme", &sync);
        assert_eq!(
            m.untrusted_reads.get_or_create(&label).get(),
            1,
            "an untrusted read is counted"
        );
    }
}
