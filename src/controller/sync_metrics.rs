//! What one account sync tells Prometheus: users by phase, pending and blocked deprovisions,
//! drift corrections (see [`crate::telemetry::metrics`]).

use std::collections::BTreeMap;

use crate::crd::UserPhase;
use crate::engine::account::AccountSync;
use crate::engine::model::user_key;
use crate::telemetry::metrics::{IntegrationLabel, IntegrationPhase, global};

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
    let mut phases: BTreeMap<&'static str, i64> = BTreeMap::new();
    for status in sync.report.users.values() {
        if let Some(p) = status.phase {
            *phases.entry(phase_name(p)).or_default() += 1;
        }
    }
    for p in PHASES {
        let name = phase_name(p);
        m.users
            .get_or_create(&IntegrationPhase {
                integration: integration.into(),
                phase: name.into(),
            })
            .set(phases.get(name).copied().unwrap_or(0));
    }
    let label = IntegrationLabel {
        integration: integration.into(),
    };
    let remaining = &sync.outcome.remaining;
    m.deprovisions_pending
        .get_or_create(&label)
        .set(i64::try_from(remaining.deprovisions.len()).unwrap_or(i64::MAX));
    let blocked = sync.outcome.blocked.as_ref().map_or(0, |b| b.deprovisions);
    m.deprovisions_blocked
        .get_or_create(&label)
        .set(i64::try_from(blocked).unwrap_or(i64::MAX));
    let planned = &sync.outcome.initial_plan;
    let lifecycle = |name: &str| {
        let key = user_key(name);
        planned.creates.iter().any(|c| user_key(&c.username) == key)
            || planned
                .deprovisions
                .iter()
                .any(|d| user_key(&d.username) == key)
    };
    let drift = sync
        .outcome
        .applied
        .iter()
        .filter(|a| !lifecycle(&a.username))
        .count();
    m.drift_corrections
        .get_or_create(&label)
        .inc_by(u64::try_from(drift).unwrap_or(u64::MAX));
}
