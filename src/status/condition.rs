//! Building conditions and merging them into a list without moving `lastTransitionTime` unless
//! a condition's status flips.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::Reason;

/// Longest message [`shortened`] keeps.
pub const MAX_MESSAGE: usize = 2000;

/// The current time, to the second (as Kubernetes stores it): a status written now compares
/// equal to what the API server gives back.
pub fn now() -> Time {
    let now = jiff::Timestamp::now();
    Time(jiff::Timestamp::from_second(now.as_second()).unwrap_or(now))
}

/// A condition of `type_` with the given truth, reason and message.
pub fn condition(
    type_: &str,
    status: bool,
    reason: Reason,
    message: impl Into<String>,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    // An empty message is written as null by the API types, which the schema refuses.
    let message = match message.into() {
        m if m.is_empty() => reason.as_str().to_string(),
        m => m,
    };
    Condition {
        type_: type_.to_string(),
        status: if status { "True" } else { "False" }.to_string(),
        reason: reason.as_str().to_string(),
        message,
        observed_generation: generation,
        last_transition_time: now.clone(),
    }
}

/// `message` cut to [`MAX_MESSAGE`] bytes (on a character boundary, marked with `…`): for
/// messages that carry what a directory or an API said, of any length.
pub fn shortened(mut message: String) -> String {
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    message
}

/// Replaces the same-type condition; keeps `lastTransitionTime` unless the status flips.
/// Returns whether anything but the time changed.
pub fn set_condition(list: &mut Vec<Condition>, mut new: Condition) -> bool {
    match list.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) => {
            if old.status == new.status {
                new.last_transition_time = old.last_transition_time.clone();
            }
            let changed = old.status != new.status
                || old.reason != new.reason
                || old.message != new.message
                || old.observed_generation != new.observed_generation;
            *old = new;
            changed
        }
        None => {
            list.push(new);
            true
        }
    }
}

/// Carries the transition times of `old` into `new` where a condition's status did not flip,
/// so that recomputing a status does not look like a change.
pub fn keep_transition_times(new: &mut [Condition], old: &[Condition]) {
    for c in new.iter_mut() {
        if let Some(o) = old.iter().find(|o| o.type_ == c.type_)
            && o.status == c.status
        {
            c.last_transition_time = o.last_transition_time.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::types;

    fn at(s: i64) -> Time {
        Time(jiff::Timestamp::from_second(s).unwrap())
    }

    #[test]
    fn transition_time_moves_only_when_the_status_flips() {
        let mut list = vec![];
        let mut set = |ready: bool, reason: Reason, message: &str, time: i64| {
            let c = condition(types::READY, ready, reason, message, Some(1), &at(time));
            let changed = set_condition(&mut list, c);
            (changed, list[0].last_transition_time.clone(), list.len())
        };
        assert_eq!(set(false, Reason::Pending, "", 10), (true, at(10), 1));
        assert_eq!(
            set(false, Reason::Provisioning, "x", 20),
            (true, at(10), 1),
            "same status keeps the time"
        );
        assert_eq!(
            set(false, Reason::Provisioning, "x", 30),
            (false, at(10), 1),
            "nothing but the time: no change"
        );
        assert_eq!(set(true, Reason::Active, "", 40), (true, at(40), 1));
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        assert_eq!(shortened("short".into()), "short");
        let long = shortened("é".repeat(MAX_MESSAGE));
        assert!(long.len() <= MAX_MESSAGE + '…'.len_utf8());
        assert!(long.ends_with('…'));
    }
}
