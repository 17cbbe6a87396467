//! The pure middle of a pull: a directory [`Snapshot`] and the resources in the cluster in,
//! the safeguard's verdict and the writes it allows out. No I/O, so tests run it against a
//! real directory without a cluster.

use super::desired::{self, Desired, Problem, Target};
use super::directory::Snapshot;
use super::reconcile::{self, Changes};
use super::safeguard::{self, Decisions, Limits, Verdict};
use crate::crd::{LastPassGroup, LastPassUser, LdapSpec};

/// What a pull will write, and why.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Every change the directory calls for, before the safeguard.
    pub changes: Changes,
    /// The changes the safeguard lets through (held deletions removed).
    pub allowed: Changes,
    /// The safeguard's verdict.
    pub verdict: Verdict,
    /// Skipped entries and caveats, sorted.
    pub problems: Vec<Problem>,
}

/// Plans one pull: desired resources, the diff against `users` and `groups` (everything in
/// the integration's namespace), and the safeguard.
pub fn plan(
    snapshot: &Snapshot,
    target: &Target,
    spec: &LdapSpec,
    existing: (&[LastPassUser], &[LastPassGroup]),
    limits: &Limits,
    decisions: &Decisions,
) -> Planned {
    let (users, groups) = existing;
    let desired: Desired = desired::desired(snapshot, target, spec);
    let changes = reconcile::reconcile(&desired, users, groups, target);
    let verdict = safeguard::judge(&changes, snapshot.users.len(), limits, decisions);
    let mut allowed = safeguard::allowed(&changes, &verdict);
    if !verdict.deletes() {
        safeguard::keep_held_members(&mut allowed, &changes.delete_users, users, groups);
    }
    let mut problems: Vec<Problem> = desired
        .problems
        .iter()
        .chain(&changes.problems)
        .cloned()
        .collect();
    problems.sort();
    Planned {
        changes,
        allowed,
        verdict,
        problems,
    }
}
