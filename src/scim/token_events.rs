//! Events of the SCIM bearer token on its DirectoryIntegration: a token minted, a token
//! rotated, and the previous token near the end of its overlap (10 % of it left), so that a
//! provider still holding the old token is noticed before it stops provisioning. Notes name
//! the Secret, never a token.

use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource};

use crate::crd::DirectoryIntegration;
use crate::status::Reason;

/// Something that happened to an integration's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenEvent {
    /// A token was minted where there was none.
    Minted,
    /// The token was replaced; the previous one is accepted until `previous_until`, if at all.
    Rotated {
        /// Asked for with the `rotate-token` annotation (else: the schedule).
        requested: bool,
        /// End of the previous token's overlap.
        previous_until: Option<jiff::Timestamp>,
    },
    /// The previous token stops being accepted at `until`.
    PreviousExpiring {
        /// End of the overlap.
        until: jiff::Timestamp,
    },
}

fn event(secret: &str, e: &TokenEvent) -> Event {
    let (type_, reason, note) = match e {
        TokenEvent::Minted => (
            EventType::Normal,
            Reason::TokenMinted,
            format!(
                "minted a SCIM bearer token into Secret {secret} (key token); give it to the identity provider"
            ),
        ),
        TokenEvent::Rotated {
            requested,
            previous_until,
        } => {
            let why = if *requested {
                "as asked by the annotation lastpass-operator.io/rotate-token"
            } else {
                "on schedule (spec.scim.tokenRotation.every)"
            };
            let previous = match previous_until {
                Some(t) => format!("the previous token is accepted until {t}"),
                None => "the previous token is no longer accepted (overlap 0)".to_string(),
            };
            (
                EventType::Normal,
                Reason::TokenRotated,
                format!(
                    "rotated the SCIM bearer token in Secret {secret} {why}; {previous}: update the identity provider"
                ),
            )
        }
        TokenEvent::PreviousExpiring { until } => (
            EventType::Warning,
            Reason::PreviousTokenExpiring,
            format!(
                "the previous SCIM bearer token stops being accepted at {until}; an identity provider still using it will fail: give it the current token from Secret {secret}"
            ),
        ),
    };
    crate::status::event::event(type_, reason, "Token", &note)
}

/// Publishes `e` on the integration; a failure is only logged.
pub async fn publish(client: &Client, di: &DirectoryIntegration, secret: &str, e: &TokenEvent) {
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: super::token_secret::FIELD_MANAGER.into(),
            instance: std::env::var("POD_NAME").ok(),
        },
    );
    if let Err(err) = recorder
        .publish(&event(secret, e), &di.object_ref(&()))
        .await
    {
        tracing::debug!(error = %err, "cannot publish a SCIM token Event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_name_the_secret_and_what_to_do() {
        let until: jiff::Timestamp = "2026-01-02T00:00:00Z".parse().unwrap();
        let e = event(
            "acme-scim-token",
            &TokenEvent::Rotated {
                requested: true,
                previous_until: Some(until),
            },
        );
        assert_eq!(e.reason, Reason::TokenRotated.as_str());
        let note = e.note.unwrap();
        assert!(note.contains("acme-scim-token") && note.contains("2026-01-02T00:00:00Z"));
        let w = event("s", &TokenEvent::PreviousExpiring { until });
        assert_eq!(
            (w.type_, w.reason.as_str()),
            (EventType::Warning, Reason::PreviousTokenExpiring.as_str())
        );
    }
}
