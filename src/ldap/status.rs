//! `status.ldap` and the `LdapReachable` / `LdapSynced` / `LdapDeletionsHeld` conditions of
//! the integration, written by server-side apply of status under field manager
//! `lastpass-operator-ldap`, so the engine's fields and conditions are left alone.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{Api, Client, ResourceExt};
use serde::Serialize;

use super::safeguard::{HoldCause, Limits, Verdict as Safeguard};
use super::{Error, FIELD_MANAGER};
use crate::crd::LdapHeldPull;
use crate::crd::{DirectoryIntegration, LdapStatus};
use crate::status::condition::{now, shortened};
use crate::status::types::{LDAP_DELETIONS_HELD, LDAP_REACHABLE, LDAP_SYNCED};
use crate::status::writer::{self, Status};
use crate::status::{Reason, condition, refusal};

/// Every condition type the pull owns: each status apply carries all of them, since a type
/// left out of an apply would be removed.
const OWNED: [&str; 3] = [LDAP_REACHABLE, LDAP_SYNCED, LDAP_DELETIONS_HELD];

/// One condition to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `True` or `False`.
    pub ok: bool,
    /// The reason.
    pub reason: Reason,
    /// For people.
    pub message: String,
}

/// The part of an integration's status the pull owns: `status.ldap` and its conditions.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct PullStatus {
    ldap: LdapStatus,
    conditions: Vec<Condition>,
}

impl Status for PullStatus {
    fn conditions_mut(&mut self) -> &mut Vec<Condition> {
        &mut self.conditions
    }
    /// The pull times move on every pull: a pull that changed nothing else writes nothing.
    fn clear_times(&mut self) {
        self.ldap.last_pull_time = None;
        self.ldap.last_success_time = None;
        self.ldap.last_pull_duration = None;
    }
}

impl PullStatus {
    /// The owned part of `status` as it is.
    fn of(status: &crate::crd::DirectoryIntegrationStatus) -> Self {
        Self {
            ldap: status.ldap.clone().unwrap_or_default(),
            conditions: OWNED
                .iter()
                .filter_map(|t| status.conditions.iter().find(|c| c.type_ == *t).cloned())
                .collect(),
        }
    }
}

/// Writes `status.ldap` and the given conditions (a type not given keeps its current
/// value) when they say something new; reads the integration first for the current status.
/// The recorded approvals and rejections are merged with the current ones, so an approval
/// recorded during the pull ([`record_consumed`]) is never lost.
pub async fn write(
    client: &Client,
    di: &DirectoryIntegration,
    ldap: &LdapStatus,
    verdicts: &[(&str, &Verdict)],
) -> Result<bool, Error> {
    let merge = |current: Option<&LdapStatus>| {
        let mut next = ldap.clone();
        if let Some(current) = current {
            next.consumed_approvals = merged(&current.consumed_approvals, &ldap.consumed_approvals);
            next.rejected = merged(&current.rejected, &ldap.rejected);
        }
        next
    };
    write_with(client, di, merge, verdicts).await
}

fn merged(current: &[String], ours: &[String]) -> Vec<String> {
    let mut out = current.to_vec();
    for id in ours {
        super::safeguard::record(&mut out, id);
    }
    out
}

/// Records `id` in `status.ldap.consumedApprovals` at once, everything else as it is: done
/// before an approved pull deletes anything, so the engine finds the approval recorded.
pub async fn record_consumed(
    client: &Client,
    di: &DirectoryIntegration,
    id: &str,
) -> Result<bool, Error> {
    let record = |current: Option<&LdapStatus>| {
        let mut ldap = current.cloned().unwrap_or_default();
        super::safeguard::record(&mut ldap.consumed_approvals, id);
        ldap
    };
    write_with(client, di, record, &[]).await
}

async fn write_with(
    client: &Client,
    di: &DirectoryIntegration,
    ldap: impl FnOnce(Option<&LdapStatus>) -> LdapStatus,
    verdicts: &[(&str, &Verdict)],
) -> Result<bool, Error> {
    let namespace = di.namespace().unwrap_or_default();
    let name = di.name_any();
    let api: Api<DirectoryIntegration> = Api::namespaced(client.clone(), &namespace);
    let current = api.get_status(&name).await.map_err(|source| Error::Kube {
        step: format!("reading status of DirectoryIntegration {namespace}/{name}"),
        source,
    })?;
    let now = now();
    let was = PullStatus::of(&current.status.clone().unwrap_or_default());
    let conditions: Vec<Condition> = OWNED
        .iter()
        .filter_map(|type_| match verdicts.iter().find(|(t, _)| t == type_) {
            Some((_, v)) => Some(condition(
                type_,
                v.ok,
                v.reason,
                shortened(v.message.clone()),
                None,
                &now,
            )),
            None => was.conditions.iter().find(|c| c.type_ == *type_).cloned(),
        })
        .collect();
    let next = PullStatus {
        ldap: ldap(current.status.as_ref().and_then(|s| s.ldap.as_ref())),
        conditions,
    };
    Ok(writer::write(client, FIELD_MANAGER, &current, Some(&was), next, &now).await?)
}

/// `LdapDeletionsHeld`: what the safeguard said about a pull that deleted `deleted`
/// resources, with the pull id, counts, a sample and how to approve or reject.
pub fn deletions_held(
    di: &DirectoryIntegration,
    safeguard: &Safeguard,
    deleted: usize,
    limits: &Limits,
) -> Verdict {
    let decide =
        |id: &str| refusal::how_to_decide(&di.namespace().unwrap_or_default(), &di.name_any(), id);
    let sample = |h: &LdapHeldPull| {
        let mut s = h
            .sample
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if (h.users + h.groups) as usize > 5 {
            s.push_str(", …");
        }
        s
    };
    match safeguard {
        Safeguard::Proceed => Verdict {
            ok: false,
            reason: Reason::WithinSafeguard,
            message: format!(
                "{} deletions, within maxPerSync {} and maxPercent {}%",
                deleted, limits.max_per_sync, limits.max_percent
            ),
        },
        Safeguard::Approved(h) => Verdict {
            ok: false,
            reason: Reason::PullApproved,
            message: format!(
                "pull {} was approved: {} users and {} groups deleted; the approval is used up",
                h.pull_id, h.users, h.groups
            ),
        },
        Safeguard::Held(h, cause) => {
            let why = match cause {
                HoldCause::NoUsersSeen => format!(
                    "the user search returned no users (an emptied or moved OU, an ACL, a filter \
                     that no longer matches?): nothing was changed, although {} LDAP-sourced users \
                     would be deleted",
                    h.users
                ),
                HoldCause::OverCount => refusal::over_max_per_sync(
                    &format!(
                        "the pull would delete {} of {} LDAP-sourced users",
                        h.users, h.managed_users
                    ),
                    limits.max_per_sync,
                ),
                HoldCause::OverPercent => refusal::over_max_percent(
                    &format!("the pull would delete {} users", h.users),
                    limits.max_percent,
                    h.managed_users,
                    "LDAP-sourced users",
                ),
            };
            Verdict {
                ok: true,
                reason: if *cause == HoldCause::NoUsersSeen {
                    Reason::NoUsersSeen
                } else {
                    Reason::OverSafeguard
                },
                message: format!(
                    "pull {}: {why}; nothing was deleted ({} users, {} groups held: {}); {}",
                    h.pull_id,
                    h.users,
                    h.groups,
                    sample(h),
                    decide(&h.pull_id)
                ),
            }
        }
        Safeguard::Rejected(h) => Verdict {
            ok: true,
            reason: Reason::PullRejected,
            message: format!(
                "pull {} was rejected: its {} users and {} groups are kept ({}); a different \
                 deletion set is judged afresh",
                h.pull_id,
                h.users,
                h.groups,
                sample(h)
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;

    fn at(second: i64) -> Time {
        Time(jiff::Timestamp::from_second(second).unwrap())
    }

    fn pulled(at_second: i64, created: i64, reachable: bool) -> PullStatus {
        PullStatus {
            ldap: LdapStatus {
                last_pull_time: Some(at(at_second)),
                last_pull_duration: Some(format!("{at_second}.0s")),
                created,
                ..LdapStatus::default()
            },
            conditions: vec![condition(
                LDAP_REACHABLE,
                reachable,
                Reason::Ok,
                "directory read",
                None,
                &at(at_second),
            )],
        }
    }

    #[test]
    fn a_pull_that_changes_only_its_times_writes_nothing() {
        let first = writer::next_status(None, pulled(10, 3, true), Some(1), &at(10)).unwrap();
        assert_eq!(
            writer::next_status(Some(&first), pulled(20, 3, true), Some(1), &at(20)),
            None
        );
        let changed = writer::next_status(Some(&first), pulled(30, 4, true), Some(1), &at(30))
            .expect("a new count is written");
        assert_eq!(changed.ldap.last_pull_time, Some(at(30)));
        assert_eq!(
            changed.conditions[0].last_transition_time,
            at(10),
            "same status keeps the time"
        );
        let flipped = writer::next_status(Some(&first), pulled(40, 3, false), Some(1), &at(40))
            .expect("a flip is written");
        assert_eq!(flipped.conditions[0].last_transition_time, at(40));
    }
}
