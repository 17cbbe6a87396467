//! When an account task syncs after a wake-up: the debounce rule, a pure function of the
//! time waited and the changes pending, so it can be tested without a clock.
//!
//! A burst of changes becomes one plan: the task waits until no change has arrived for
//! `debounce`, at most [`MAX_DEBOUNCE`]. A burst that keeps arriving past `debounce` is synced
//! in slices instead once enough changes are pending that waiting longer would not make the
//! LastPass calls fuller, only later: at least the rate limiter's burst in full batches, and at
//! least as many as the account has users (each sync reads the whole account, so a slice that
//! changes fewer would spend more of the rate limit on reading than on changing). The LastPass
//! work then overlaps the rest of the burst: 10,000 applies to a new account are invited in a
//! few slices while they arrive, not after; an account with 10,000 users still takes a burst of
//! a few hundred changes as one plan.

use std::time::Duration;

use crate::crd::DirectoryIntegration;

/// Longest wait a burst of changes can add before a plan (the debounce cap of DESIGN.md).
pub const MAX_DEBOUNCE: Duration = Duration::from_secs(30);

/// Why the account task syncs now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// No change arrived for `debounce`: the burst is over.
    Quiet,
    /// The burst has gone on for [`MAX_DEBOUNCE`].
    Capped,
    /// The burst goes on, and enough of it is pending for full batches.
    Slice,
}

/// The debounce rule of one integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Debounce {
    /// Quiet period after a change before planning (`spec.sync.debounce`).
    pub quiet: Duration,
    /// Changes pending that make a slice worth syncing before the burst ends.
    pub slice_at: usize,
}

impl Debounce {
    /// The rule of `i`'s spec: `spec.sync.debounce` (at most [`MAX_DEBOUNCE`]), and a slice
    /// once `batchSize × rateLimit.burst` changes and as many as the `managed` users of the last
    /// sync are pending (a change is a resource created, changed or deleted, or its finalizer
    /// added).
    pub fn of(i: &DirectoryIntegration, quiet: Duration, managed: usize) -> Self {
        let batch = usize::try_from(i.spec.sync.batch_size).unwrap_or(1).max(1);
        let burst = usize::try_from(i.spec.sync.rate_limit.burst)
            .unwrap_or(1)
            .max(1);
        Self {
            quiet: quiet.min(MAX_DEBOUNCE),
            slice_at: batch.saturating_mul(burst).max(managed),
        }
    }

    /// Whether to sync now, `waited` into a burst with `pending` changes; `slicing` when the
    /// previous sync was a slice of the same burst (which has then already waited `quiet`).
    /// `None`: wait for the next change or for `quiet` to pass without one ([`Trigger::Quiet`]).
    pub fn decide(&self, waited: Duration, pending: usize, slicing: bool) -> Option<Trigger> {
        if waited >= MAX_DEBOUNCE {
            return Some(Trigger::Capped);
        }
        let burst_is_long = slicing || waited >= self.quiet;
        (pending >= self.slice_at && burst_is_long).then_some(Trigger::Slice)
    }
}

/// The users the account managed at its last recorded sync (`status.counts.managed`): the
/// account size a task that has not synced yet (after a restart) slices by.
pub fn managed_recorded(i: &DirectoryIntegration) -> usize {
    i.status
        .as_ref()
        .and_then(|s| s.counts.as_ref())
        .and_then(|c| usize::try_from(c.managed).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);
    const RULE: Debounce = Debounce {
        quiet: Duration::from_secs(5),
        slice_at: 1000,
    };

    #[test]
    fn a_short_burst_waits_for_quiet_however_large() {
        assert_eq!(RULE.decide(S, 50_000, false), None);
        assert_eq!(RULE.decide(4 * S, 1_000, false), None);
    }

    #[test]
    fn a_long_burst_is_sliced_once_full_batches_are_pending() {
        assert_eq!(RULE.decide(5 * S, 999, false), None);
        assert_eq!(RULE.decide(5 * S, 1_000, false), Some(Trigger::Slice));
    }

    #[test]
    fn the_next_slice_of_a_burst_goes_as_soon_as_it_is_full() {
        assert_eq!(
            RULE.decide(Duration::ZERO, 1_000, true),
            Some(Trigger::Slice)
        );
        assert_eq!(RULE.decide(Duration::ZERO, 10, true), None);
    }

    #[test]
    fn a_trickle_is_capped() {
        assert_eq!(RULE.decide(MAX_DEBOUNCE, 3, false), Some(Trigger::Capped));
    }

    #[test]
    fn a_slice_fills_the_rate_limiters_burst_and_changes_as_many_users_as_the_account_has() {
        let spec: crate::crd::DirectoryIntegrationSpec =
            serde_json::from_value(serde_json::json!({
                "lastpass": {"credentialsSecretRef": {"name": "lastpass-api"}},
                "sync": {"batchSize": 50, "rateLimit": {"requestsPerSecond": 2, "burst": 4}},
            }))
            .unwrap();
        let i = DirectoryIntegration::new("acme", spec);
        let rule = Debounce::of(&i, Duration::from_secs(120), 10);
        assert_eq!((rule.quiet, rule.slice_at), (MAX_DEBOUNCE, 200));
        let rule = Debounce::of(&i, Duration::from_secs(1), 10_000);
        assert_eq!((rule.quiet, rule.slice_at), (S, 10_000));
    }

    #[test]
    fn a_restarted_task_slices_by_the_account_size_its_status_recorded() {
        let spec: crate::crd::DirectoryIntegrationSpec = serde_json::from_value(
            serde_json::json!({"lastpass": {"credentialsSecretRef": {"name": "lastpass-api"}}}),
        )
        .unwrap();
        let mut i = DirectoryIntegration::new("acme", spec);
        assert_eq!(managed_recorded(&i), 0, "a new integration");
        i.status = Some(crate::crd::DirectoryIntegrationStatus {
            counts: Some(crate::crd::UserCounts {
                managed: 10_000,
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(managed_recorded(&i), 10_000);
    }
}
