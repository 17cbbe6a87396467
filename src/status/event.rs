//! Events: every Event of the operator is built here, so its reason is a [`Reason`] and its
//! note fits the API's limit.

use kube::runtime::events::{Event, EventType};

use super::Reason;

/// Longest Event note, in characters (events.k8s.io/v1 refuses notes over 1 kB).
pub const MAX_NOTE: usize = 1000;

/// An Event with `reason`, the `action` taken and a `note` for people (cut to [`MAX_NOTE`]).
pub fn event(type_: EventType, reason: Reason, action: &str, note: &str) -> Event {
    Event {
        type_,
        reason: reason.as_str().into(),
        note: Some(note.chars().take(MAX_NOTE).collect()),
        action: action.into(),
        secondary: None,
    }
}
