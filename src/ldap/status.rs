//! `status.ldap` and the `LdapReachable` / `LdapSynced` / `LdapDeletionsHeld` conditions of
//! the integration, written by server-side apply of status under field manager
//! `lastpass-operator-ldap`, so the engine's fields and conditions are left alone.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, ResourceExt};

use super::safeguard::{HoldCause, Limits, Verdict as Safeguard};
use super::{Error, FIELD_MANAGER, Reason};
use crate::crd::{APPROVE_PLAN_ANNOTATION, LdapHeldPull, REJECT_PLAN_ANNOTATION};
use crate::crd::{DirectoryIntegration, LdapStatus};

/// Condition: the directory was reached, TLS worked, the bind and the searches succeeded.
pub const LDAP_REACHABLE: &str = "LdapReachable";
/// Condition: the resources match the directory (no skipped entries, no failed writes).
pub const LDAP_SYNCED: &str = "LdapSynced";

/// Condition: the last pull's deletions are held by the safeguard until approved or
/// rejected (see [`super::safeguard`]).
pub const LDAP_DELETIONS_HELD: &str = "LdapDeletionsHeld";

/// Every condition type the pull owns: each status apply carries all of them, since a type
/// left out of an apply would be removed.
const OWNED: [&str; 3] = [LDAP_REACHABLE, LDAP_SYNCED, LDAP_DELETIONS_HELD];

/// Longest condition message kept.
const MAX_MESSAGE: usize = 2000;

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

/// The current time, to the second (as Kubernetes stores it).
pub fn now() -> Time {
    Time(jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).expect("valid time"))
}

/// Builds a condition, keeping `lastTransitionTime` of `previous` unless the status flips.
pub fn condition(
    type_: &str,
    verdict: &Verdict,
    generation: Option<i64>,
    previous: &[Condition],
    now: &Time,
) -> Condition {
    let status = if verdict.ok { "True" } else { "False" }.to_string();
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    let mut message = verdict.message.clone();
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    Condition {
        type_: type_.to_string(),
        status,
        reason: verdict.reason.as_str().to_string(),
        message,
        observed_generation: generation,
        last_transition_time,
    }
}

/// The body of the status apply: only `status.ldap` and the two LDAP conditions.
pub fn status_patch(ldap: &LdapStatus, conditions: &[Condition]) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "lastpass-operator.io/v1alpha1",
        "kind": "DirectoryIntegration",
        "status": { "ldap": ldap, "conditions": conditions },
    })
}

/// Writes `status.ldap` and the given conditions (a type not given keeps its current
/// value); reads the integration first for the previous conditions' transition times. The
/// recorded approvals and rejections are merged with the current ones, so an approval
/// recorded during the pull ([`record_consumed`]) is never lost.
pub async fn write(
    client: &Client,
    di: &DirectoryIntegration,
    ldap: &LdapStatus,
    verdicts: &[(&str, &Verdict)],
) -> Result<(), Error> {
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
) -> Result<(), Error> {
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
) -> Result<(), Error> {
    let namespace = di.namespace().unwrap_or_default();
    let name = di.name_any();
    let api: Api<DirectoryIntegration> = Api::namespaced(client.clone(), &namespace);
    let kube_err = |step: &str| {
        let step = format!("{step} status of DirectoryIntegration {namespace}/{name}");
        move |source| Error::Kube { step, source }
    };
    let current = api.get_status(&name).await.map_err(kube_err("reading"))?;
    let status = current.status.unwrap_or_default();
    let previous = status.conditions;
    let now = now();
    let generation = current.metadata.generation;
    let conditions: Vec<Condition> = OWNED
        .iter()
        .filter_map(|type_| match verdicts.iter().find(|(t, _)| t == type_) {
            Some((_, v)) => Some(condition(type_, v, generation, &previous, &now)),
            None => previous.iter().find(|c| c.type_ == *type_).cloned(),
        })
        .collect();
    let ldap = ldap(status.ldap.as_ref());
    api.patch_status(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(status_patch(&ldap, &conditions)),
    )
    .await
    .map_err(kube_err("writing"))?;
    Ok(())
}

/// `LdapDeletionsHeld`: what the safeguard said about a pull that deleted `deleted`
/// resources, with the pull id, counts, a sample and how to approve or reject.
pub fn deletions_held(safeguard: &Safeguard, deleted: usize, limits: &Limits) -> Verdict {
    let decide = |id: &str| {
        format!(
            "approve exactly these deletions with the annotation {APPROVE_PLAN_ANNOTATION}={id} on \
             the DirectoryIntegration, or keep the resources with {REJECT_PLAN_ANNOTATION}={id}"
        )
    };
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
                HoldCause::OverCount => format!(
                    "the pull would delete {} of {} LDAP-sourced users, more than maxPerSync {}",
                    h.users, h.managed_users, limits.max_per_sync
                ),
                HoldCause::OverPercent => format!(
                    "the pull would delete {} of {} LDAP-sourced users, more than maxPercent {}%",
                    h.users, h.managed_users, limits.max_percent
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
    use super::*;

    fn at(second: i64) -> Time {
        Time(jiff::Timestamp::from_second(second).unwrap())
    }

    #[test]
    fn transition_time_moves_only_when_status_flips() {
        let ok = Verdict {
            ok: true,
            reason: Reason::Ok,
            message: "fine".into(),
        };
        let first = condition(LDAP_REACHABLE, &ok, Some(1), &[], &at(10));
        assert_eq!(first.last_transition_time, at(10));
        let again = condition(
            LDAP_REACHABLE,
            &ok,
            Some(2),
            std::slice::from_ref(&first),
            &at(20),
        );
        assert_eq!(
            again.last_transition_time,
            at(10),
            "same status keeps the time"
        );
        let bad = Verdict {
            ok: false,
            reason: Reason::BindFailed,
            message: "x".repeat(5000),
        };
        let flipped = condition(LDAP_REACHABLE, &bad, Some(2), &[again], &at(30));
        assert_eq!(flipped.last_transition_time, at(30));
        assert_eq!(flipped.reason, "BindFailed");
        assert!(flipped.message.len() <= MAX_MESSAGE + 3);
    }
}
