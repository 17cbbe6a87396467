//! Revocation latency: for each deprovision and suspension, the time from the moment the intent
//! appeared (a deletion timestamp, or the first sight of `suspended: true`) to LastPass
//! confirming it in a trusted read. Pure: the controllers pass the intents they read from the
//! resources, write the figures to status, metrics and Events.
//!
//! A held plan counts from the intent, so the time a person took to approve it is part of the
//! figure, on purpose: it is how long the person could still open the vault.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::crd::{RevocationSample, RevocationStatus, SlowestRevocation};

use super::converge::ConvergeOutcome;
use super::desire::Desire;
use super::model::ResourceRef;

/// The window `status.revocation` covers.
pub const WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// Revocations kept in `status.revocation.recent` at most (the latest ones).
pub const MAX_RECENT: usize = 1000;

/// When a resource's revocation was asked for, and where the resource came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intent {
    /// Deletion timestamp, or when `suspended: true` was first seen.
    pub requested_at: Timestamp,
    /// The resource's source (`git`, `scim`, `ldap`, `adopted`, or `other`).
    pub source: String,
}

/// One revocation LastPass confirmed.
#[derive(Clone, Debug, PartialEq)]
pub struct Revocation {
    /// The resource concerned.
    pub resource: ResourceRef,
    /// The LastPass username.
    pub username: String,
    /// `Deactivate`, `RemoveFromCompany`, `Delete` or `Suspend`.
    pub action: &'static str,
    /// The resource's source.
    pub source: String,
    /// When the intent appeared.
    pub requested_at: Timestamp,
    /// Seconds from the intent to the confirmation (never negative).
    pub seconds: f64,
}

fn action_name(action: crate::crd::DeprovisionAction) -> &'static str {
    match action {
        crate::crd::DeprovisionAction::Deactivate => "Deactivate",
        crate::crd::DeprovisionAction::RemoveFromCompany => "RemoveFromCompany",
        crate::crd::DeprovisionAction::Delete => "Delete",
    }
}

fn seconds_between(from: Timestamp, to: Timestamp) -> f64 {
    let s = to.duration_since(from).as_secs_f64().max(0.0);
    (s * 1000.0).round() / 1000.0
}

/// The revocations this sync's trusted reads confirmed, at `now`: deleted users whose
/// deprovisioning is finished, and suspended users LastPass reports disabled. Only resources
/// with an intent count; a username another resource still declares was never revoked.
pub fn confirmed(
    desire: &Desire,
    outcome: &ConvergeOutcome,
    intents: &BTreeMap<ResourceRef, Intent>,
    now: Timestamp,
) -> Vec<Revocation> {
    if outcome.dry_run {
        return Vec::new();
    }
    let mut out = Vec::new();
    let finished: std::collections::HashSet<&ResourceRef> =
        outcome.remaining.finished.iter().collect();
    for (key, leaving) in &desire.desired.leaving {
        if desire.desired.users.contains_key(key) || !finished.contains(&leaving.resource) {
            continue;
        }
        if let Some(intent) = intents.get(&leaving.resource) {
            out.push(Revocation {
                resource: leaving.resource.clone(),
                username: leaving.username.clone(),
                action: action_name(leaving.action),
                source: intent.source.clone(),
                requested_at: intent.requested_at,
                seconds: seconds_between(intent.requested_at, now),
            });
        }
    }
    let Some(observed) = outcome.observed.as_ref() else {
        return out;
    };
    for (key, want) in &desire.desired.users {
        let disabled = observed.users.get(key).is_some_and(|u| u.disabled);
        let pending = outcome
            .remaining
            .disables
            .iter()
            .any(|u| super::model::user_key(u) == *key);
        if !want.suspended || !disabled || pending {
            continue;
        }
        if let Some(intent) = intents.get(&want.resource) {
            out.push(Revocation {
                resource: want.resource.clone(),
                username: want.username.clone(),
                action: "Suspend",
                source: intent.source.clone(),
                requested_at: intent.requested_at,
                seconds: seconds_between(intent.requested_at, now),
            });
        }
    }
    out
}

/// Whether a recorded sample is this revocation. Status times keep whole seconds only.
fn same(a: &RevocationSample, r: &Revocation) -> bool {
    a.user.eq_ignore_ascii_case(&r.username)
        && a.requested_at.0.as_second() == r.requested_at.as_second()
}

fn confirmed_at(s: &RevocationSample) -> Timestamp {
    s.requested_at
        .0
        .checked_add(SignedDuration::from_secs_f64(s.seconds))
        .unwrap_or(s.requested_at.0)
}

/// The value at quantile `q` of sorted `values`, by nearest rank.
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Adds this sync's revocations to the window of `previous`, at `now`. Returns the new status
/// and the revocations not recorded before (a revocation confirmed again, say because its
/// finalizer could not be removed, is counted once); `None` when there is nothing new, so the
/// status is written only when a revocation happened.
pub fn fold(
    previous: Option<&RevocationStatus>,
    confirmed: Vec<Revocation>,
    now: Timestamp,
) -> Option<(RevocationStatus, Vec<Revocation>)> {
    let old: &[RevocationSample] = previous.map_or(&[], |p| p.recent.as_slice());
    let fresh: Vec<Revocation> = confirmed
        .into_iter()
        .filter(|r| !old.iter().any(|s| same(s, r)))
        .collect();
    if fresh.is_empty() {
        return None;
    }
    let since = now.checked_sub(WINDOW).unwrap_or(now);
    let mut recent: Vec<RevocationSample> = old
        .iter()
        .filter(|s| confirmed_at(s) > since)
        .cloned()
        .chain(fresh.iter().map(|r| RevocationSample {
            user: r.username.clone(),
            requested_at: Time(r.requested_at),
            seconds: r.seconds,
            action: r.action.to_string(),
        }))
        .collect();
    recent.sort_by_key(confirmed_at);
    if recent.len() > MAX_RECENT {
        recent.drain(..recent.len() - MAX_RECENT);
    }
    let mut sorted: Vec<f64> = recent.iter().map(|s| s.seconds).collect();
    sorted.sort_by(f64::total_cmp);
    let slowest = recent
        .iter()
        .max_by(|a, b| a.seconds.total_cmp(&b.seconds))
        .map(|s| SlowestRevocation {
            user: s.user.clone(),
            seconds: s.seconds,
        });
    let status = RevocationStatus {
        p50: nearest_rank(&sorted, 0.5),
        p99: nearest_rank(&sorted, 0.99),
        count: recent.len() as i64,
        slowest,
        recent,
    };
    Some((status, fresh))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::DeprovisionAction;
    use crate::engine::model::{DesiredUser, Leaving, user_key};

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn revocation(user: &str, requested: i64, seconds: f64) -> Revocation {
        Revocation {
            resource: ResourceRef::user("ns", user),
            username: format!("{user}@x.io"),
            action: "Deactivate",
            source: "git".into(),
            requested_at: at(requested),
            seconds,
        }
    }

    fn intent(s: i64) -> Intent {
        Intent {
            requested_at: at(s),
            source: "scim".into(),
        }
    }

    #[test]
    fn a_finished_deletion_and_a_confirmed_suspension_count_from_their_intents() {
        let mut desire = Desire::default();
        let gone = ResourceRef::user("ns", "gone");
        desire.desired.leaving.insert(
            user_key("gone@x.io"),
            Leaving {
                username: "gone@x.io".into(),
                action: DeprovisionAction::Deactivate,
                resource: gone.clone(),
                approved_plan: None,
            },
        );
        let sus = ResourceRef::user("ns", "sus");
        desire.desired.users.insert(
            user_key("sus@x.io"),
            DesiredUser {
                username: "sus@x.io".into(),
                suspended: true,
                resource: sus.clone(),
                ..DesiredUser::default()
            },
        );
        let mut outcome = ConvergeOutcome::default();
        let mut observed = crate::lastpass::Snapshot::default();
        observed.insert_user(crate::lastpass::User {
            id: "1".into(),
            username: "sus@x.io".into(),
            disabled: true,
            ..crate::lastpass::User::default()
        });
        outcome.observed = Some(observed);
        let intents = BTreeMap::from([(gone.clone(), intent(100)), (sus.clone(), intent(110))]);

        // Nothing is confirmed before LastPass says so: the deletion is not finished yet.
        let none = confirmed(&desire, &outcome, &intents, at(130));
        assert_eq!(none.len(), 1, "{none:?}");
        assert_eq!((none[0].action, none[0].seconds), ("Suspend", 20.0));

        outcome.remaining.finished.push(gone.clone());
        let both = confirmed(&desire, &outcome, &intents, at(130));
        let figures: Vec<_> = both
            .iter()
            .map(|r| (r.username.as_str(), r.action, r.seconds, r.source.as_str()))
            .collect();
        assert_eq!(
            figures,
            [
                ("gone@x.io", "Deactivate", 30.0, "scim"),
                ("sus@x.io", "Suspend", 20.0, "scim")
            ]
        );

        // A suspension still to be executed is not confirmed, nor one without an intent.
        outcome.remaining.disables.push("SUS@x.io".into());
        assert_eq!(confirmed(&desire, &outcome, &intents, at(130)).len(), 1);
        outcome.remaining.disables.clear();
        let only_gone = BTreeMap::from([(gone, intent(100))]);
        assert_eq!(confirmed(&desire, &outcome, &only_gone, at(130)).len(), 1);
        outcome.dry_run = true;
        assert!(confirmed(&desire, &outcome, &intents, at(130)).is_empty());
    }

    #[test]
    fn the_window_counts_each_revocation_once_over_24_hours() {
        let day = 86_400;
        let (first, fresh) = fold(
            None,
            vec![revocation("a", 0, 5.0), revocation("b", 10, 300.0)],
            at(400),
        )
        .expect("new revocations");
        assert_eq!(fresh.len(), 2);
        assert_eq!((first.count, first.p50, first.p99), (2, 5.0, 300.0));
        assert_eq!(
            first.slowest,
            Some(SlowestRevocation {
                user: "b@x.io".into(),
                seconds: 300.0
            })
        );
        // The same revocation confirmed again (a finalizer not removed): nothing new, also
        // when the intent's fraction of a second was lost in the status.
        let mut again = revocation("a", 0, 9.0);
        again.requested_at = at(0) + SignedDuration::from_millis(250);
        assert_eq!(fold(Some(&first), vec![again], at(500)), None);
        // A day later the old ones leave the window.
        let (later, fresh) =
            fold(Some(&first), vec![revocation("c", day, 2.0)], at(day + 400)).expect("new");
        assert_eq!(fresh.len(), 1);
        assert_eq!((later.count, later.p50, later.p99), (1, 2.0, 2.0));
        assert_eq!(later.slowest.map(|s| s.user), Some("c@x.io".into()));
    }

    #[test]
    fn percentiles_are_nearest_ranks_and_the_window_is_bounded() {
        let many: Vec<Revocation> = (0..(MAX_RECENT as i64 + 100))
            .map(|i| revocation(&format!("u{i}"), i, (i % 100 + 1) as f64 / 100.0))
            .collect();
        let (s, fresh) = fold(None, many, at(5_000)).expect("new");
        assert_eq!(fresh.len(), MAX_RECENT + 100);
        assert_eq!(s.count, MAX_RECENT as i64);
        assert_eq!(s.recent.first().map(|r| r.user.as_str()), Some("u100@x.io"));
        assert_eq!((s.p50, s.p99), (0.5, 0.99));
    }
}
