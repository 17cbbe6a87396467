//! Report: what a sync means for each resource's status. Pure: the controllers write these
//! statuses (only when they changed), and `demo`/`plan` print them.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::crd::{
    DirectoryIntegrationStatus, LastPassGroupStatus, LastPassUserStatus, UserCounts, UserPhase,
};
use crate::lastpass::{ApiError, ErrorClass, LastPassZone};

use super::converge::ConvergeOutcome;
use super::desire::Desire;
use super::model::{DesiredUser, ObservedUser, RefKind, ResourceRef, user_key};
use super::packed::Packed;
use super::plan::{Plan, Refusal};
use super::report_issues::issue_condition;
use super::report_plan::{SAMPLE_SIZE, plan_summary};
use super::report_safeguard::Marks;
use super::safeguard::Change;
use crate::status::writer::digest_for;
use crate::status::{Reason, condition, types};

/// The statuses one sync produces, by resource.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// LastPassUser statuses, but for those of declared users whose resource already shows
    /// the same ([`DesiredUser::shown`]): a steady sync of a large account builds none.
    pub users: BTreeMap<ResourceRef, LastPassUserStatus>,
    /// How many users are in each phase, those left out of `users` included.
    pub phases: BTreeMap<UserPhase, usize>,
    /// LastPassGroup statuses.
    pub groups: BTreeMap<ResourceRef, LastPassGroupStatus>,
    /// The integration's status.
    pub integration: DirectoryIntegrationStatus,
    /// Deleted users whose deprovisioning is complete: release their finalizers.
    pub release: Vec<ResourceRef>,
}

/// Whether `status` is what the user's resource already shows for its generation.
fn unchanged(want: &DesiredUser, status: &LastPassUserStatus) -> bool {
    want.shown
        .is_some_and(|s| s.digest == digest_for(status, Some(s.generation)))
}

/// The user's last login as an instant: LastPass sends it without a zone.
fn last_login(u: &ObservedUser, zone: &LastPassZone) -> Option<Time> {
    zone.instant(u.last_login?).map(Time)
}

fn error_reason(e: &ApiError) -> Reason {
    match e.class() {
        ErrorClass::Auth => Reason::CredentialsInvalid,
        ErrorClass::Reobserve => Reason::OutcomeUnknown,
        ErrorClass::Retry => Reason::LastPassUnavailable,
        ErrorClass::Permanent => Reason::LastPassRejected,
        ErrorClass::Interrupted => Reason::Interrupted,
        ErrorClass::Untrusted => Reason::ReadNotTrusted,
    }
}

/// Builds every status of one sync.
pub fn report(desire: &Desire, outcome: &ConvergeOutcome, now: &Time) -> Report {
    let mut out = Report {
        release: desire.release.clone(),
        ..Report::default()
    };
    out.release
        .extend(outcome.remaining.finished.iter().cloned());
    let synced = match &outcome.error {
        None => condition(types::SYNCED, true, Reason::SyncSucceeded, "", None, now),
        Some(e) => condition(
            types::SYNCED,
            false,
            error_reason(e),
            e.to_string(),
            None,
            now,
        ),
    };
    let failures: BTreeMap<String, &str> = outcome
        .failures
        .iter()
        .filter_map(|f| Some((user_key(f.username.as_deref()?), f.message.as_str())))
        .collect();
    let observed = outcome.observed.as_ref();
    let pending_users = pending_user_keys(&outcome.remaining);
    let marks = Marks::of(desire, outcome, now);
    let mut statuses = Packed::default();

    for (key, want) in &desire.desired.users {
        let seen = observed.and_then(|o| o.users.get(key));
        let (phase, ready, reason, message) = match (seen, failures.get(key)) {
            (None, Some(msg)) => {
                let reason = if outcome.seats_exhausted {
                    Reason::SeatsExhausted
                } else {
                    Reason::LastPassRejected
                };
                let phase = if outcome.seats_exhausted {
                    UserPhase::Pending
                } else {
                    UserPhase::Failed
                };
                (phase, false, reason, msg.to_string())
            }
            (Some(_), Some(msg)) => (
                UserPhase::Failed,
                false,
                Reason::LastPassRejected,
                msg.to_string(),
            ),
            // The account could not be read (or the read was not trusted): say so rather than
            // "not yet in LastPass".
            (None, None) if observed.is_none() && outcome.error.is_some() => {
                let e = outcome
                    .error
                    .as_ref()
                    .map(|e| (error_reason(e), e.to_string()));
                let (reason, message) = e.unwrap_or((Reason::SyncFailed, String::new()));
                (UserPhase::Pending, false, reason, message)
            }
            (None, None) if outcome.dry_run => (
                UserPhase::Pending,
                false,
                Reason::DryRun,
                "dry run: would be invited".to_string(),
            ),
            (None, None) => (
                UserPhase::Pending,
                false,
                Reason::Provisioning,
                "not yet in LastPass".to_string(),
            ),
            (Some(u), None) => {
                let phase = if u.disabled {
                    UserPhase::Suspended
                } else if u.never_logged_in {
                    UserPhase::Invited
                } else {
                    UserPhase::Active
                };
                let reason = match phase {
                    UserPhase::Suspended => Reason::Suspended,
                    UserPhase::Invited => Reason::Invited,
                    _ => Reason::Active,
                };
                if pending_users.contains_key(key) {
                    let why = if outcome.dry_run {
                        Reason::DryRun
                    } else {
                        Reason::Pending
                    };
                    (
                        phase,
                        false,
                        why,
                        format!("pending changes: {}", pending_users[key]),
                    )
                } else {
                    (phase, true, reason, String::new())
                }
            }
        };
        let mut status = LastPassUserStatus {
            phase: Some(phase),
            lastpass_id: seen.map(|u| u.id.clone()),
            groups: seen
                .map(|u| u.groups.iter().map(str::to_string).collect())
                .unwrap_or_default(),
            last_login: seen.and_then(|u| last_login(u, &desire.time_zone)),
            multifactor: seen.and_then(|u| u.multifactor.clone()),
            attributes_hash: attributes_hash(want, seen.is_some(), &outcome.remaining),
            bound_username: Some(want.username.clone()),
            bound_integration: Some(desire.integration.clone()),
            conditions: vec![
                condition(types::READY, ready, reason, message, None, now),
                synced.clone(),
            ],
            ..LastPassUserStatus::default()
        };
        marks.apply(&want.resource, &mut status.conditions);
        if unchanged(want, &status) {
            *out.phases.entry(phase).or_default() += 1;
            continue;
        }
        statuses.insert(want.resource.clone(), status);
    }
    out.users = statuses.finish();

    let blocked = outcome.blocked.as_ref();
    let refused: BTreeMap<&ResourceRef, &Refusal> = outcome
        .remaining
        .refused
        .iter()
        .map(|r| match r {
            Refusal::DeleteNotAllowed { resource, .. } => (resource, r),
        })
        .collect();
    let finished: std::collections::HashSet<&ResourceRef> =
        outcome.remaining.finished.iter().collect();
    for leaving in desire.desired.leaving.values() {
        if finished.contains(&leaving.resource) {
            continue;
        }
        let (reason, message) = if refused.contains_key(&leaving.resource) {
            (
                Reason::DeleteNotAllowed,
                "deprovisionAction Delete is refused: set spec.sync.deprovision.allowDelete: true \
                 on the DirectoryIntegration, or choose Deactivate or RemoveFromCompany"
                    .to_string(),
            )
        } else if let Some(b) = blocked.filter(|b| {
            b.changes
                .iter()
                .any(|c| matches!(c, Change::Deprovision { user, .. } if *user == user_key(&leaving.username)))
        }) {
            (
                Reason::DeprovisionBlocked,
                format!(
                    "held by the safeguard in plan {}: {}; {}",
                    b.plan_id,
                    b.reason,
                    super::report_safeguard::how_to_decide_for(desire, &b.plan_id)
                ),
            )
        } else if let Some(msg) = failures.get(&user_key(&leaving.username)) {
            (Reason::LastPassRejected, msg.to_string())
        } else {
            (
                Reason::Deprovisioning,
                format!("{:?} in progress", leaving.action),
            )
        };
        let mut conditions = vec![
            condition(types::READY, false, reason, message, None, now),
            synced.clone(),
        ];
        marks.apply(&leaving.resource, &mut conditions);
        out.users.insert(
            leaving.resource.clone(),
            LastPassUserStatus {
                phase: Some(UserPhase::Deprovisioning),
                conditions,
                ..LastPassUserStatus::default()
            },
        );
    }

    for (rref, issue) in &desire.issues {
        let (reason, message) = issue_condition(issue);
        let mut conditions = vec![condition(types::READY, false, reason, message, None, now)];
        marks.apply(rref, &mut conditions);
        // Each issue goes to the status of its own kind only: a LastPassGroup's problem never
        // lands on a same-named LastPassUser.
        match rref.kind {
            RefKind::User => {
                out.users.insert(
                    rref.clone(),
                    LastPassUserStatus {
                        phase: Some(UserPhase::Pending),
                        conditions,
                        ..LastPassUserStatus::default()
                    },
                );
            }
            RefKind::Group => {
                out.groups.insert(
                    rref.clone(),
                    LastPassGroupStatus {
                        conditions,
                        ..LastPassGroupStatus::default()
                    },
                );
            }
            RefKind::Integration => {}
        }
    }

    // Members per group in one pass over the account (a pass per group was most of a
    // steady resync's CPU at 10,000 users and 200 groups).
    let mut member_counts: BTreeMap<&str, usize> = BTreeMap::new();
    for u in observed.iter().flat_map(|o| o.users.values()) {
        for g in &u.groups {
            *member_counts.entry(g).or_default() += 1;
        }
    }
    for group in desire.desired.groups.values() {
        let members = member_counts
            .get(group.name.as_str())
            .copied()
            .unwrap_or_default();
        let missing: Vec<String> = group
            .members
            .iter()
            .filter(|m| observed.is_none_or(|o| !o.users.contains_key(*m)))
            .cloned()
            .collect();
        let pending = outcome
            .remaining
            .group_changes
            .iter()
            .any(|c| c.add.contains(&group.name) || c.del.contains(&group.name));
        let pending_ids = desire
            .pending_members
            .get(&group.resource)
            .cloned()
            .unwrap_or_default();
        let (ready, reason, message) = if !missing.is_empty() {
            (
                false,
                Reason::MembersMissing,
                format!(
                    "{} declared members have no LastPass account",
                    missing.len()
                ),
            )
        } else if !pending_ids.is_empty() {
            (
                false,
                Reason::MembersMissing,
                format!(
                    "{} member ids from the identity provider are no user yet (status.pendingMemberIds); they join when their users arrive",
                    pending_ids.len()
                ),
            )
        } else if pending {
            (
                false,
                Reason::Pending,
                "membership changes pending".to_string(),
            )
        } else {
            (true, Reason::MembersInSync, String::new())
        };
        let mut conditions = vec![
            condition(types::READY, ready, reason, message, None, now),
            synced.clone(),
        ];
        conditions.extend(takeover_condition(group, &outcome.remaining, now));
        marks.apply(&group.resource, &mut conditions);
        out.groups.insert(
            group.resource.clone(),
            LastPassGroupStatus {
                bound_group_name: Some(group.name.clone()),
                bound_integration: Some(desire.integration.clone()),
                member_count: Some(members as i64),
                missing_members: missing,
                pending_member_ids: pending_ids,
                conditions,
                ..LastPassGroupStatus::default()
            },
        );
    }

    for status in out.users.values() {
        if let Some(p) = status.phase {
            *out.phases.entry(p).or_default() += 1;
        }
    }
    out.integration = integration_status(desire, outcome, &synced, now);
    super::report_safeguard::integration(&mut out.integration, outcome);
    out
}

/// `GroupTakeoverPending` of a directory-made group (none for groups a person made).
fn takeover_condition(
    group: &super::model::DesiredGroup,
    remaining: &Plan,
    now: &Time,
) -> Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    if !group.from_directory {
        return None;
    }
    Some(if remaining.takeover_pending.contains(&group.name) {
        condition(
            types::GROUP_TAKEOVER_PENDING,
            true,
            Reason::GroupTakeoverPending,
            format!(
                "LastPass group {:?} already has members this operator does not manage: it is \
                 treated as Additive (nobody is removed); to make it Authoritative, annotate this \
                 LastPassGroup with {}=\"true\"",
                group.name,
                crate::crd::TAKE_OVER_ANNOTATION
            ),
            None,
            now,
        )
    } else {
        condition(
            types::GROUP_TAKEOVER_PENDING,
            false,
            Reason::TakeoverNotNeeded,
            "",
            None,
            now,
        )
    })
}

/// The digest to record: the declared one once LastPass has the user and no attribute update
/// is left; the previous one otherwise.
fn attributes_hash(
    want: &super::model::DesiredUser,
    exists: bool,
    remaining: &Plan,
) -> Option<String> {
    let pending = remaining
        .attribute_updates
        .iter()
        .any(|u| user_key(&u.username) == user_key(&want.username));
    if exists && !pending {
        Some(super::model::attributes_digest(&want.attributes))
    } else {
        want.attributes_sent.clone()
    }
}

fn pending_user_keys(plan: &Plan) -> BTreeMap<String, &'static str> {
    let mut out = BTreeMap::new();
    for u in &plan.updates {
        out.insert(user_key(&u.username), "fullName");
    }
    for u in &plan.attribute_updates {
        out.insert(user_key(&u.username), "attributes");
    }
    for u in plan.disables.iter().chain(&plan.enables) {
        out.insert(user_key(u), "suspended");
    }
    for c in &plan.group_changes {
        out.insert(user_key(&c.username), "groups");
    }
    out
}

fn integration_status(
    desire: &Desire,
    outcome: &ConvergeOutcome,
    synced: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition,
    now: &Time,
) -> DirectoryIntegrationStatus {
    let observed = outcome.observed.as_ref();
    let mut counts = UserCounts {
        managed: desire.desired.users.len() as i64,
        unmanaged: outcome.remaining.unmanaged.len() as i64,
        pending_deprovision: (outcome.remaining.deprovisions.len()
            + outcome.remaining.refused.len()) as i64,
        ..UserCounts::default()
    };
    for key in desire.desired.users.keys() {
        match observed.and_then(|o| o.users.get(key)) {
            Some(u) if u.disabled => counts.suspended += 1,
            Some(u) if u.never_logged_in => counts.invited += 1,
            Some(_) => counts.active += 1,
            None => {}
        }
    }
    let credentials_ok = !matches!(&outcome.error, Some(e) if e.class() == ErrorClass::Auth);
    let credentials = if credentials_ok {
        condition(
            types::CREDENTIALS_VALID,
            true,
            Reason::CredentialsAccepted,
            "",
            None,
            now,
        )
    } else {
        condition(
            types::CREDENTIALS_VALID,
            false,
            Reason::CredentialsInvalid,
            "LastPass rejected the cid/provhash of the credentials Secret; fix the Secret (it is watched)",
            None,
            now,
        )
    };
    let blocked = super::report_safeguard::blocked_condition(desire, outcome, now);
    let seats = if outcome.seats_exhausted {
        condition(
            types::SEATS_EXHAUSTED,
            true,
            Reason::SeatsExhausted,
            "LastPass refused invitations for want of seats; free seats or buy more, the rest stay Pending",
            None,
            now,
        )
    } else {
        condition(
            types::SEATS_EXHAUSTED,
            false,
            Reason::SeatsAvailable,
            "",
            None,
            now,
        )
    };
    let ready_ok = credentials_ok && outcome.error.is_none();
    let (reason, message) = if outcome.dry_run {
        (
            Reason::DryRun,
            "dry run: the plan is in status.plan; nothing is changed in LastPass".to_string(),
        )
    } else if ready_ok {
        (Reason::SyncSucceeded, String::new())
    } else {
        (Reason::SyncFailed, synced.message.clone())
    };
    let ready = condition(types::READY, ready_ok, reason, message, None, now);
    DirectoryIntegrationStatus {
        conditions: vec![ready, credentials, synced.clone(), blocked, seats],
        counts: Some(counts),
        plan: Some(plan_summary(&outcome.initial_plan)),
        unmanaged_sample: outcome
            .remaining
            .unmanaged
            .iter()
            .take(SAMPLE_SIZE)
            .cloned()
            .collect(),
        last_sync_time: Some(now.clone()),
        ..DirectoryIntegrationStatus::default()
    }
}
