//! Bulk plans: which applied changes get an Event on each user and which are summarised in one
//! Event on the integration. A plan touching more than [`BULK_USERS`] users folds its
//! invitations, profile updates, membership changes and re-invitations into one summary, so an
//! initial load costs the API server no write per user for Events. Deprovisions, suspensions,
//! re-enables and password resets always keep their own Event: the first two are the revocation
//! record, the last two give access or credentials back to one person.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::execute::Applied;
use crate::engine::model::user_key;
use crate::lastpass::CommandKind;

/// A plan touching more users than this is a bulk plan.
pub const BULK_USERS: usize = 20;

/// Usernames named in a summary per kind of change before "and N more".
const NAMES_SHOWN: usize = 5;

/// Whether `command`'s per-user Event may be folded into a bulk summary.
pub fn summarisable(command: CommandKind) -> bool {
    matches!(
        command,
        CommandKind::BatchAdd
            | CommandKind::UpdateUser
            | CommandKind::BatchChangeGrp
            | CommandKind::ReinviteUser
    )
}

/// How the applied changes of one sync are reported.
#[derive(Debug, PartialEq, Eq)]
pub struct Split<'a> {
    /// Changes that get an Event on their user.
    pub per_user: Vec<&'a Applied>,
    /// The note of the one summarising Event on the integration, for a bulk plan.
    pub summary: Option<String>,
}

/// Splits `applied` into per-user Events and, when more than [`BULK_USERS`] users were touched,
/// one summary of the summarisable changes.
pub fn split(applied: &[Applied]) -> Split<'_> {
    let users: BTreeSet<String> = applied.iter().map(|a| user_key(&a.username)).collect();
    if users.len() <= BULK_USERS {
        return Split {
            per_user: applied.iter().collect(),
            summary: None,
        };
    }
    let (folded, per_user): (Vec<&Applied>, Vec<&Applied>) =
        applied.iter().partition(|a| summarisable(a.command));
    Split {
        per_user,
        summary: (!folded.is_empty()).then(|| summary(users.len(), &folded)),
    }
}

/// "bulk plan touching 25 users: invited 25 (a@x.io, …, e@x.io and 20 more); …"
fn summary(users: usize, folded: &[&Applied]) -> String {
    let mut by_kind: BTreeMap<CommandKind, Vec<&str>> = BTreeMap::new();
    for a in folded {
        by_kind.entry(a.command).or_default().push(&a.username);
    }
    let parts: Vec<String> = by_kind
        .iter()
        .map(|(kind, names)| {
            let shown = names[..names.len().min(NAMES_SHOWN)].join(", ");
            let more = names.len().saturating_sub(NAMES_SHOWN);
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!("{} {} ({shown}{tail})", done(*kind), names.len())
        })
        .collect();
    format!(
        "bulk plan touching {users} users: {}; deprovisions, suspensions and failures have \
         Events on their users",
        parts.join("; ")
    )
}

fn done(kind: CommandKind) -> &'static str {
    match kind {
        CommandKind::BatchAdd => "invited",
        CommandKind::UpdateUser => "profiles updated",
        CommandKind::BatchChangeGrp => "memberships changed",
        CommandKind::ReinviteUser => "re-invited",
        other => other.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(command: CommandKind, n: usize, prefix: &str) -> Vec<Applied> {
        (0..n)
            .map(|i| Applied {
                command,
                username: format!("{prefix}{i:02}@x.io"),
            })
            .collect()
    }

    #[test]
    fn a_plan_of_twenty_users_keeps_an_event_per_user() {
        let all = applied(CommandKind::BatchAdd, BULK_USERS, "u");
        let split = split(&all);
        assert_eq!(split.per_user.len(), BULK_USERS);
        assert_eq!(split.summary, None);
    }

    #[test]
    fn a_bulk_plan_summarises_invites_and_keeps_revocations_per_user() {
        let mut all = applied(CommandKind::BatchAdd, 18, "new");
        all.extend(applied(CommandKind::BatchChangeGrp, 2, "new"));
        all.extend(applied(CommandKind::DelUser, 2, "old"));
        all.extend(applied(CommandKind::DisableUser, 1, "gone"));
        all.extend(applied(CommandKind::EnableUser, 1, "back"));
        let split = split(&all);
        let kinds: Vec<CommandKind> = split.per_user.iter().map(|a| a.command).collect();
        assert_eq!(
            kinds,
            [
                CommandKind::DelUser,
                CommandKind::DelUser,
                CommandKind::DisableUser,
                CommandKind::EnableUser
            ]
        );
        assert_eq!(
            split.summary.as_deref(),
            Some(
                "bulk plan touching 22 users: invited 18 (new00@x.io, new01@x.io, new02@x.io, \
                 new03@x.io, new04@x.io and 13 more); memberships changed 2 (new00@x.io, \
                 new01@x.io); deprovisions, suspensions and failures have Events on their users"
            )
        );
    }

    #[test]
    fn a_bulk_plan_of_revocations_only_has_no_summary() {
        let all = applied(CommandKind::DelUser, 25, "old");
        let split = split(&all);
        assert_eq!(split.per_user.len(), 25);
        assert_eq!(split.summary, None);
    }
}
