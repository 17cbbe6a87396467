//! Statuses after a sync that could not read the account: keep what the last read showed.

use crate::crd::{LastPassUserStatus, UserPhase};

use crate::status::types;

/// A user's status after a sync that could not read the account (an untrusted read, LastPass
/// unavailable): what the last read showed (LastPass id, groups, last login, second factor,
/// attributes digest, the phase of a user that is not leaving) is kept, so a failed read
/// neither loses the LastPass id nor rewrites every status twice; the conditions are the new
/// ones (`Ready=False`, `Synced=False` with the reason). Statuses without a `Synced` condition
/// (resources left out of the plan) are returned as they are.
pub fn keep_last_read(
    current: Option<&LastPassUserStatus>,
    mut next: LastPassUserStatus,
) -> LastPassUserStatus {
    let Some(cur) = current else { return next };
    if !next.conditions.iter().any(|c| c.type_ == types::SYNCED) {
        return next;
    }
    if next.phase != Some(UserPhase::Deprovisioning) {
        next.phase = cur.phase.or(next.phase);
    }
    next.lastpass_id = cur.lastpass_id.clone();
    next.groups = cur.groups.clone();
    next.last_login = cur.last_login.clone();
    next.multifactor = cur.multifactor.clone();
    next.attributes_hash = cur.attributes_hash.clone().or(next.attributes_hash);
    next.initial_password_secret = cur.initial_password_secret.clone();
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{Reason, condition};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn at() -> Time {
        Time(jiff::Timestamp::from_second(1_700_000_000).unwrap())
    }

    #[test]
    fn a_failed_read_keeps_what_the_last_read_showed_and_says_why() {
        let current = LastPassUserStatus {
            phase: Some(UserPhase::Active),
            lastpass_id: Some("10007".into()),
            groups: vec!["Eng".into()],
            attributes_hash: Some("abc".into()),
            conditions: vec![condition(
                types::READY,
                true,
                Reason::Active,
                "",
                None,
                &at(),
            )],
            ..LastPassUserStatus::default()
        };
        let synced = condition(
            types::SYNCED,
            false,
            Reason::ReadNotTrusted,
            "x",
            None,
            &at(),
        );
        let next = LastPassUserStatus {
            phase: Some(UserPhase::Pending),
            conditions: vec![
                condition(
                    types::READY,
                    false,
                    Reason::ReadNotTrusted,
                    "x",
                    None,
                    &at(),
                ),
                synced.clone(),
            ],
            ..LastPassUserStatus::default()
        };
        let kept = keep_last_read(Some(&current), next.clone());
        assert_eq!(kept.phase, Some(UserPhase::Active));
        assert_eq!(kept.lastpass_id.as_deref(), Some("10007"));
        assert_eq!(kept.groups, ["Eng"]);
        assert_eq!(kept.attributes_hash.as_deref(), Some("abc"));
        assert_eq!(
            kept.conditions, next.conditions,
            "the new conditions say why"
        );

        let leaving = LastPassUserStatus {
            phase: Some(UserPhase::Deprovisioning),
            ..next.clone()
        };
        assert_eq!(
            keep_last_read(Some(&current), leaving).phase,
            Some(UserPhase::Deprovisioning)
        );
        let issue = LastPassUserStatus {
            phase: Some(UserPhase::Pending),
            conditions: vec![condition(
                types::READY,
                false,
                Reason::UsernameConflict,
                "y",
                None,
                &at(),
            )],
            ..LastPassUserStatus::default()
        };
        assert_eq!(keep_last_read(Some(&current), issue.clone()), issue);
        assert_eq!(keep_last_read(None, next.clone()), next);
    }
}
