//! The rolling window of `status.safeguard.window`: one compact entry (time and counts) per
//! sync that executed destructive changes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::crd::{SafeguardStatus, WindowEntry};

use super::Counts;

/// Forgets the entries older than `window` at `now` (every entry with a zero window).
pub fn prune(record: &mut SafeguardStatus, now: jiff::Timestamp, window: std::time::Duration) {
    let cutoff = jiff::SignedDuration::try_from(window)
        .ok()
        .and_then(|w| now.checked_sub(w).ok());
    record
        .window
        .retain(|e| cutoff.is_some_and(|c| e.time.0 > c) && !window.is_zero());
}

/// The destructive changes executed within the window.
pub fn used(record: &SafeguardStatus) -> Counts {
    let n = |v: i64| usize::try_from(v).unwrap_or(0);
    record
        .window
        .iter()
        .map(|e| Counts {
            deprovisions: n(e.deprovisions),
            suspensions: n(e.suspensions),
            membership_removals: n(e.membership_removals),
        })
        .fold(Counts::default(), |a, b| a + b)
}

/// Records changes executed at `now` (nothing when there are none).
pub fn add(record: &mut SafeguardStatus, now: jiff::Timestamp, counts: Counts) {
    if counts.is_empty() {
        return;
    }
    let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
    record.window.push(WindowEntry {
        time: Time(now),
        deprovisions: n(counts.deprovisions),
        suspensions: n(counts.suspensions),
        membership_removals: n(counts.membership_removals),
    });
}
