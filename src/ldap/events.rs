//! Events of the pull's safeguard on the integration: deletions held (once per pull id),
//! approved and rejected, naming who set the annotation when `managedFields` tell.

use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource, ResourceExt};

use super::safeguard::Verdict;
use crate::crd::{
    APPROVE_PLAN_ANNOTATION, DirectoryIntegration, LdapStatus, REJECT_PLAN_ANNOTATION,
};
use crate::status::{Reason, refusal};

/// What to say about `verdict`, given the status before the pull: `None` when it was said
/// already (the same held id, the same rejection).
pub fn event_for(
    di: &DirectoryIntegration,
    previous: &LdapStatus,
    verdict: &Verdict,
) -> Option<Event> {
    let by = |key| {
        crate::crd::annotation_manager(di, key)
            .map(|m| format!(" by {m}"))
            .unwrap_or_default()
    };
    let (type_, reason, note) = match verdict {
        Verdict::Proceed => return None,
        Verdict::Held(h, _) => {
            if previous.held.as_ref().map(|p| &p.pull_id) == Some(&h.pull_id) {
                return None;
            }
            (
                EventType::Warning,
                Reason::LdapDeletionsHeld,
                format!(
                    "LDAP pull {} would delete {} users and {} groups ({} users seen, {} managed): \
                     nothing deleted; {}",
                    h.pull_id,
                    h.users,
                    h.groups,
                    h.users_seen,
                    h.managed_users,
                    refusal::how_to_decide(
                        &di.namespace().unwrap_or_default(),
                        &di.name_any(),
                        &h.pull_id
                    ),
                ),
            )
        }
        Verdict::Approved(h) => (
            EventType::Normal,
            Reason::PullApproved,
            format!(
                "LDAP pull {} approved{}: {} users and {} groups deleted",
                h.pull_id,
                by(APPROVE_PLAN_ANNOTATION),
                h.users,
                h.groups
            ),
        ),
        Verdict::Rejected(h) => {
            if previous.rejected.contains(&h.pull_id) {
                return None;
            }
            (
                EventType::Normal,
                Reason::PullRejected,
                format!(
                    "LDAP pull {} rejected{}: its {} users and {} groups are kept",
                    h.pull_id,
                    by(REJECT_PLAN_ANNOTATION),
                    h.users,
                    h.groups
                ),
            )
        }
    };
    Some(crate::status::event::event(type_, reason, "Pull", &note))
}

/// Publishes the Event of `verdict` on the integration; a failure is only logged.
pub async fn publish(
    client: &Client,
    di: &DirectoryIntegration,
    previous: &LdapStatus,
    verdict: &Verdict,
) {
    let Some(event) = event_for(di, previous, verdict) else {
        return;
    };
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: super::FIELD_MANAGER.into(),
            instance: std::env::var("POD_NAME").ok(),
        },
    );
    if let Err(e) = recorder.publish(&event, &di.object_ref(&())).await {
        tracing::debug!(error = %e, "cannot publish an LDAP safeguard Event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::LdapHeldPull;

    fn di() -> DirectoryIntegration {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "acme", "managedFields": [
                {"manager": "kubectl-annotate", "operation": "Update", "time": "2026-01-01T00:00:00Z",
                 "fieldsV1": {"f:metadata": {"f:annotations": {
                     "f:lastpass-operator.io/reject-plan": {}}}}},
                {"manager": "kubectl-client-side-apply", "operation": "Update",
                 "time": "2026-01-01T00:00:00Z", "fieldsV1": {"f:spec": {}}},
            ]},
            "spec": {"lastpass": {"credentialsSecretRef": {"name": "x"}}},
        }))
        .unwrap()
    }

    fn held(id: &str) -> LdapHeldPull {
        LdapHeldPull {
            pull_id: id.into(),
            users: 8,
            ..LdapHeldPull::default()
        }
    }

    #[test]
    fn names_the_manager_of_the_annotation() {
        let d = di();
        assert_eq!(
            crate::crd::annotation_manager(&d, REJECT_PLAN_ANNOTATION).as_deref(),
            Some("kubectl-annotate")
        );
        assert_eq!(
            crate::crd::annotation_manager(&d, APPROVE_PLAN_ANNOTATION),
            None
        );
        let e = event_for(
            &d,
            &LdapStatus::default(),
            &Verdict::Rejected(held("ldap-1")),
        )
        .unwrap();
        assert_eq!(e.reason, Reason::PullRejected.as_str());
        assert!(e.note.unwrap().contains("rejected by kubectl-annotate"));
    }

    #[test]
    fn says_each_held_id_and_rejection_once() {
        let d = di();
        let v = Verdict::Held(
            held("ldap-1"),
            super::super::safeguard::HoldCause::NoUsersSeen,
        );
        assert!(event_for(&d, &LdapStatus::default(), &v).is_some());
        let before = LdapStatus {
            held: Some(held("ldap-1")),
            rejected: vec!["ldap-2".into()],
            ..LdapStatus::default()
        };
        assert!(
            event_for(&d, &before, &v).is_none(),
            "same id: said already"
        );
        assert!(event_for(&d, &before, &Verdict::Rejected(held("ldap-2"))).is_none());
        assert!(event_for(&d, &before, &Verdict::Proceed).is_none());
    }
}
