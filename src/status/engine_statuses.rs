//! What of the engine's statuses (users, groups, integrations) the engine owns and compares:
//! their conditions and observedGeneration, kstatus's conditions derived from `Ready`, and the
//! sync time left out of comparisons. Here, below the engine, so that the report can leave out
//! a status that would not change (see [`super::writer::digest`]) by the writer's own rule.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::crd::{DirectoryIntegrationStatus, LastPassGroupStatus, LastPassUserStatus};

use super::kstatus::set_kstatus_conditions;
use super::types;
use super::writer::Status;

/// The methods every status the engine writes shares: its conditions and observedGeneration,
/// kstatus's conditions derived from `Ready`, and (with `last_sync_time`) the sync time that is
/// left out of comparisons and set when written.
macro_rules! engine_status {
    () => {
        fn conditions_mut(&mut self) -> &mut Vec<Condition> {
            &mut self.conditions
        }
        fn observed_generation_mut(&mut self) -> Option<&mut Option<i64>> {
            Some(&mut self.observed_generation)
        }
        fn derive(&mut self) {
            set_kstatus_conditions(&mut self.conditions);
        }
    };
    (last_sync_time) => {
        engine_status!();
        fn clear_times(&mut self) {
            self.last_sync_time = None;
        }
        fn set_time(&mut self, now: &Time) {
            self.last_sync_time = Some(now.clone());
        }
    };
}

impl Status for LastPassUserStatus {
    engine_status!(last_sync_time);
}

impl Status for LastPassGroupStatus {
    engine_status!();
}

impl Status for DirectoryIntegrationStatus {
    engine_status!(last_sync_time);
    fn owned(&self) -> Self {
        // TokenReady belongs to the SCIM token manager, the Ldap* conditions to the pull.
        const OURS: [&str; 7] = [
            types::READY,
            types::CREDENTIALS_VALID,
            types::SYNCED,
            types::DEPROVISION_BLOCKED,
            types::SEATS_EXHAUSTED,
            types::RECONCILING,
            types::STALLED,
        ];
        let mut mine = self.clone();
        mine.ldap = None;
        mine.scim = None;
        mine.conditions.retain(|c| OURS.contains(&c.type_.as_str()));
        mine
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::writer::{digest, digest_for, next_status};
    use crate::status::{Reason, condition};

    fn at(s: i64) -> Time {
        Time(jiff::Timestamp::from_second(s).unwrap())
    }

    #[test]
    fn a_status_that_only_differs_in_times_or_foreign_fields_is_not_written() {
        let ours = DirectoryIntegrationStatus {
            conditions: vec![condition(
                types::READY,
                true,
                Reason::SyncSucceeded,
                "",
                Some(1),
                &at(10),
            )],
            ..DirectoryIntegrationStatus::default()
        };
        let mut current = next_status(None, ours.clone(), Some(1), &at(10)).expect("first write");
        // Another manager (the LDAP pull) added its condition and block.
        current.conditions.push(condition(
            types::LDAP_REACHABLE,
            true,
            Reason::Active,
            "",
            Some(1),
            &at(11),
        ));
        current.ldap = Some(Default::default());
        let mut later = ours.clone();
        later.conditions[0].last_transition_time = at(50);
        assert_eq!(next_status(Some(&current), later, Some(1), &at(50)), None);

        let mut changed = ours;
        changed.conditions[0] = condition(
            types::READY,
            false,
            Reason::SyncFailed,
            "boom",
            Some(1),
            &at(60),
        );
        let written = next_status(Some(&current), changed, Some(2), &at(60))
            .expect("a real change is written");
        assert_eq!(written.observed_generation, Some(2));
        assert_eq!(written.last_sync_time, Some(at(60)));
    }

    /// A user status, Ready (Invited) or not (Pending) since `t`.
    fn user_status(ready: bool, t: i64) -> LastPassUserStatus {
        let reason = if ready {
            Reason::Invited
        } else {
            Reason::Pending
        };
        LastPassUserStatus {
            lastpass_id: Some("7".into()),
            conditions: vec![condition(types::READY, ready, reason, "", None, &at(t))],
            ..LastPassUserStatus::default()
        }
    }

    #[test]
    fn a_digest_tells_what_a_status_says_not_when() {
        let user = |ready: bool, t: i64| {
            next_status(None, user_status(ready, t), Some(1), &at(t)).unwrap()
        };
        assert_eq!(digest(&user(true, 10)), digest(&user(true, 99)));
        assert_ne!(digest(&user(true, 10)), digest(&user(false, 10)));
    }

    #[test]
    fn digest_for_agrees_with_the_writer_on_what_would_be_written() {
        let shown = next_status(None, user_status(true, 10), Some(3), &at(10)).unwrap();
        for (next, generation) in [
            (user_status(true, 99), Some(3)),
            (user_status(true, 99), Some(4)),
            (user_status(false, 99), Some(3)),
        ] {
            let same = digest_for(&next, generation) == digest(&shown);
            let written = next_status(Some(&shown), next, generation, &at(99));
            assert_eq!(same, written.is_none(), "{written:?}");
        }
        assert_eq!(digest_for(&user_status(true, 5), Some(3)), digest(&shown));
    }
}
