//! The SCIM bearer token: minted into the owned Secret `<integration>-scim-token` (key
//! `token`). It never expires by itself: it is replaced when a new value of the annotation
//! `lastpass-operator.io/rotate-token` is set on the integration (the value honoured is
//! recorded on the Secret, so each value rotates once), or every
//! `spec.scim.tokenRotation.every` when that schedule is set. After a rotation the previous
//! token stays under key `previous` until the annotation
//! `lastpass-operator.io/previous-token-expires-at` (rotation + `overlap`). Events mark a mint,
//! a rotation and the last 10 % of an overlap ([`super::token_events`]). The integration's
//! `status.scim` and `TokenReady` condition are written with server-side apply under the field
//! manager `lastpass-operator-scim`, only when they change.
//!
//! Tokens exist only as `SecretString` and in the Secret: never in logs, Events, status or
//! errors.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::{Client, Resource, ResourceExt};
use secrecy::ExposeSecret;
use serde::Serialize;

use super::error::Error;
use super::token_events::{self, TokenEvent};
use super::token_secret::{
    FIELD_MANAGER, PREVIOUS_EXPIRES_ANNOTATION, PREVIOUS_KEY, PREVIOUS_WARNED_ANNOTATION,
    ROTATE_TOKEN_ANNOTATION, ROTATED_AT_ANNOTATION, ROTATED_FOR_ANNOTATION, TOKEN_KEY,
    endpoint_path, mint, secret_name,
};
use super::watch::TOKEN_SECRET_LABEL;
use crate::crd::{DirectoryIntegration, ScimStatus, parse_duration};
use crate::status::writer::{self, Status, WriteError};
use crate::status::{Reason, condition};

/// Condition type set by [`reconcile_tokens`].
pub use crate::status::types::TOKEN_READY;

/// How long [`reconcile_tokens`] asks to wait when nothing is scheduled.
pub const NOTHING_SCHEDULED: Duration = Duration::from_secs(24 * 3600);

/// Rotation period (none: no scheduled rotation) and overlap of an integration.
pub fn rotation(di: &DirectoryIntegration) -> Result<(Option<Duration>, Duration), Error> {
    let r = di
        .spec
        .scim
        .as_ref()
        .map(|s| s.token_rotation.clone())
        .unwrap_or_default();
    let every = r
        .every
        .as_deref()
        .map(|e| parse_duration("spec.scim.tokenRotation.every", e))
        .transpose()?;
    let overlap = parse_duration("spec.scim.tokenRotation.overlap", &r.overlap)?;
    if every.is_some_and(|e| e.is_zero()) {
        return Err(Error::InvalidValue(
            "spec.scim.tokenRotation.every must be more than 0 (or absent: no scheduled rotation)"
                .into(),
        ));
    }
    Ok((every, overlap))
}

fn plus(t: jiff::Timestamp, d: Duration) -> jiff::Timestamp {
    let d = jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX);
    t.checked_add(d).unwrap_or(jiff::Timestamp::MAX)
}

fn until(now: jiff::Timestamp, t: jiff::Timestamp) -> Duration {
    Duration::try_from(t.duration_since(now)).unwrap_or(Duration::ZERO)
}

fn annotation(s: &Secret, key: &str) -> Option<jiff::Timestamp> {
    s.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .and_then(|v| v.parse().ok())
}

/// Makes the token Secret and the integration's SCIM status current: mints the first token,
/// rotates it when asked by annotation or when a set `every` has passed since the last mint,
/// drops the previous token once its overlap is over, announces the last 10 % of the overlap,
/// and writes `status.scim` and `TokenReady`.
///
/// Returns how long until the next thing to do (a rotation, the last 10 % or the end of an
/// overlap; [`NOTHING_SCHEDULED`] when none); the caller requeues after it. Idempotent:
/// calling it again at the same `now` changes nothing. When `spec.scim` is absent or not
/// enabled it does nothing.
#[tracing::instrument(skip_all, fields(integration = %di.name_any()))]
pub async fn reconcile_tokens(
    client: Client,
    di: &DirectoryIntegration,
    now: jiff::Timestamp,
) -> Result<Duration, Error> {
    // Whole seconds: status timestamps (metav1.Time) have no fraction, and a steady
    // reconcile must compare equal to what it wrote.
    let now = jiff::Timestamp::from_second(now.as_second()).unwrap_or(now);
    let (every, overlap) = rotation(di)?;
    if !di.spec.scim.as_ref().is_some_and(|s| s.enabled) {
        return Ok(every.unwrap_or(NOTHING_SCHEDULED));
    }
    let mut happened: Vec<TokenEvent> = Vec::new();
    let ns = di
        .namespace()
        .ok_or_else(|| Error::InvalidValue("the DirectoryIntegration has no namespace".into()))?;
    let name = di.name_any();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let sname = secret_name(&name);
    let existing = secrets
        .get_opt(&sname)
        .await
        .map_err(|e| Error::kube(format!("read Secret {ns}/{sname}"), e))?;

    // A rotation asked for with the annotation, not yet honoured.
    let requested = di.annotations().get(ROTATE_TOKEN_ANNOTATION).cloned();
    let mut created_annotations =
        BTreeMap::from([(ROTATED_AT_ANNOTATION.to_string(), now.to_string())]);
    if let Some(r) = &requested {
        created_annotations.insert(ROTATED_FOR_ANNOTATION.to_string(), r.clone());
    }

    let secret = match existing {
        None => {
            let mut s = Secret {
                metadata: ObjectMeta {
                    name: Some(sname.clone()),
                    namespace: Some(ns.clone()),
                    owner_references: di.controller_owner_ref(&()).map(|o| vec![o]),
                    labels: Some(BTreeMap::from([
                        (
                            "app.kubernetes.io/managed-by".to_string(),
                            "lastpass-operator".to_string(),
                        ),
                        (TOKEN_SECRET_LABEL.to_string(), "true".to_string()),
                    ])),
                    annotations: Some(created_annotations),
                    ..Default::default()
                },
                type_: Some("Opaque".into()),
                ..Default::default()
            };
            s.data = Some(BTreeMap::from([(
                TOKEN_KEY.to_string(),
                ByteString(mint().expose_secret().as_bytes().to_vec()),
            )]));
            tracing::info!(secret = %sname, "minted the first SCIM token");
            let created = secrets
                .create(&PostParams::default(), &s)
                .await
                .map_err(|e| Error::kube(format!("create Secret {ns}/{sname}"), e))?;
            happened.push(TokenEvent::Minted);
            created
        }
        Some(mut s) => {
            let has_token = s
                .data
                .as_ref()
                .and_then(|d| d.get(TOKEN_KEY))
                .is_some_and(|t| !t.0.is_empty());
            let rotated_at = annotation(&s, ROTATED_AT_ANNOTATION);
            let asked = requested.as_ref().is_some_and(|r| {
                s.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(ROTATED_FOR_ANNOTATION))
                    != Some(r)
            });
            let scheduled = every.is_some_and(|e| rotated_at.is_none_or(|at| plus(at, e) <= now));
            let due = !has_token || asked || scheduled;
            let previous_over = annotation(&s, PREVIOUS_EXPIRES_ANNOTATION)
                .is_some_and(|until| until <= now)
                || (s
                    .data
                    .as_ref()
                    .is_some_and(|d| d.contains_key(PREVIOUS_KEY))
                    && annotation(&s, PREVIOUS_EXPIRES_ANNOTATION).is_none());
            // The SCIM server follows token Secrets by this label (Secrets minted before it
            // existed get it here).
            let unlabelled = s.labels().get(TOKEN_SECRET_LABEL).map(String::as_str) != Some("true");
            if unlabelled {
                s.labels_mut()
                    .insert(TOKEN_SECRET_LABEL.to_string(), "true".to_string());
            }
            if due || previous_over || unlabelled {
                let data = s.data.get_or_insert_with(BTreeMap::new);
                let annotations = s.metadata.annotations.get_or_insert_with(BTreeMap::new);
                if due {
                    let old = data.remove(TOKEN_KEY);
                    data.insert(
                        TOKEN_KEY.to_string(),
                        ByteString(mint().expose_secret().as_bytes().to_vec()),
                    );
                    annotations.insert(ROTATED_AT_ANNOTATION.to_string(), now.to_string());
                    if let Some(r) = &requested {
                        annotations.insert(ROTATED_FOR_ANNOTATION.to_string(), r.clone());
                    }
                    let previous_until = match old.filter(|o| !o.0.is_empty() && !overlap.is_zero())
                    {
                        Some(old) => {
                            data.insert(PREVIOUS_KEY.to_string(), old);
                            let until = plus(now, overlap);
                            annotations
                                .insert(PREVIOUS_EXPIRES_ANNOTATION.to_string(), until.to_string());
                            Some(until)
                        }
                        None => {
                            data.remove(PREVIOUS_KEY);
                            annotations.remove(PREVIOUS_EXPIRES_ANNOTATION);
                            None
                        }
                    };
                    tracing::info!(secret = %sname, "rotated the SCIM token");
                    happened.push(if has_token {
                        TokenEvent::Rotated {
                            requested: asked,
                            previous_until,
                        }
                    } else {
                        TokenEvent::Minted
                    });
                } else if previous_over {
                    data.remove(PREVIOUS_KEY);
                    annotations.remove(PREVIOUS_EXPIRES_ANNOTATION);
                    tracing::info!(secret = %sname, "the previous SCIM token's overlap ended");
                }
                // `replace` carries the resourceVersion: a concurrent rotation by another
                // replica makes this fail with a conflict instead of minting twice.
                secrets
                    .replace(&sname, &PostParams::default(), &s)
                    .await
                    .map_err(|e| Error::kube(format!("update Secret {ns}/{sname}"), e))?
            } else {
                s
            }
        }
    };

    let secret = warn_previous_ending(&secrets, secret, overlap, now, &mut happened).await?;
    for e in &happened {
        token_events::publish(&client, di, &sname, e).await;
    }
    let rotated_at = annotation(&secret, ROTATED_AT_ANNOTATION).unwrap_or(now);
    crate::telemetry::metrics::global()
        .scim
        .token_minted
        .get_or_create(&crate::telemetry::labels::IntegrationLabel {
            integration: format!("{ns}/{name}"),
        })
        .set(rotated_at.as_second());
    let expires_at = every.map(|e| plus(rotated_at, e));
    let mut next = expires_at.map_or(NOTHING_SCHEDULED, |t| until(now, t));
    if let Some(prev) = annotation(&secret, PREVIOUS_EXPIRES_ANNOTATION) {
        let warn_at = prev
            .checked_sub(jiff::SignedDuration::try_from(overlap / 10).unwrap_or_default())
            .unwrap_or(prev);
        next = next.min(until(now, prev));
        if now < warn_at {
            next = next.min(until(now, warn_at));
        }
    }
    let previous = annotation(&secret, PREVIOUS_EXPIRES_ANNOTATION).filter(|_| {
        secret
            .data
            .as_ref()
            .is_some_and(|d| d.contains_key(PREVIOUS_KEY))
    });
    crate::telemetry::metrics::global()
        .scim_overlap
        .set(&format!("{ns}/{name}"), previous.map(|p| (p, overlap)));
    write_status(client, di, &ns, &name, &sname, rotated_at, expires_at, now).await?;
    Ok(next.max(Duration::from_secs(1)))
}

/// Once the previous token has 10 % of its overlap left (and is still accepted), records that
/// on the Secret and queues the Warning, once per overlap.
async fn warn_previous_ending(
    secrets: &Api<Secret>,
    mut s: Secret,
    overlap: Duration,
    now: jiff::Timestamp,
    happened: &mut Vec<TokenEvent>,
) -> Result<Secret, Error> {
    let Some(until) = annotation(&s, PREVIOUS_EXPIRES_ANNOTATION) else {
        return Ok(s);
    };
    let left = jiff::SignedDuration::try_from(overlap / 10).unwrap_or_default();
    let warned = s.annotations().get(PREVIOUS_WARNED_ANNOTATION) == Some(&until.to_string());
    let has_previous = s
        .data
        .as_ref()
        .is_some_and(|d| d.contains_key(PREVIOUS_KEY));
    if warned || !has_previous || now >= until || now < until.checked_sub(left).unwrap_or(until) {
        return Ok(s);
    }
    s.annotations_mut()
        .insert(PREVIOUS_WARNED_ANNOTATION.to_string(), until.to_string());
    let name = s.name_any();
    let s = secrets
        .replace(&name, &PostParams::default(), &s)
        .await
        .map_err(|e| Error::kube(format!("update Secret {name}"), e))?;
    happened.push(TokenEvent::PreviousExpiring { until });
    Ok(s)
}

/// The part of an integration's status the token manager owns: `status.scim` and
/// `TokenReady`.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct TokenStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    scim: Option<ScimStatus>,
    conditions: Vec<Condition>,
}

impl Status for TokenStatus {
    fn conditions_mut(&mut self) -> &mut Vec<Condition> {
        &mut self.conditions
    }
}

impl TokenStatus {
    /// The owned part of `di`'s status as it is.
    fn of(di: &DirectoryIntegration) -> Self {
        let status = di.status.as_ref();
        Self {
            scim: status.and_then(|s| s.scim.clone()),
            conditions: status
                .and_then(|s| s.conditions.iter().find(|c| c.type_ == TOKEN_READY))
                .cloned()
                .into_iter()
                .collect(),
        }
    }

    /// Writes `self` under [`FIELD_MANAGER`] unless `di` already says it.
    async fn write(
        self,
        client: &Client,
        di: &DirectoryIntegration,
        now: &Time,
    ) -> Result<bool, Error> {
        writer::write(client, FIELD_MANAGER, di, Some(&Self::of(di)), self, now)
            .await
            .map_err(|e| match e {
                WriteError::Kube { action, source } => Error::kube(action, source),
                WriteError::NoNamespace(name) => {
                    Error::InvalidValue(format!("the DirectoryIntegration {name} has no namespace"))
                }
            })
    }
}

/// Writes `TokenReady=False` (reason `TokenError`) with `message` when the token cannot be
/// managed. Leaves `status.scim` out, so the fields it held are dropped with the token.
pub async fn write_token_error(
    client: &Client,
    di: &DirectoryIntegration,
    message: &str,
) -> Result<bool, Error> {
    let now = crate::status::condition::now();
    let cond = condition(TOKEN_READY, false, Reason::TokenError, message, None, &now);
    TokenStatus {
        scim: None,
        conditions: vec![cond],
    }
    .write(client, di, &now)
    .await
}

#[allow(clippy::too_many_arguments)]
async fn write_status(
    client: Client,
    di: &DirectoryIntegration,
    ns: &str,
    name: &str,
    sname: &str,
    rotated_at: jiff::Timestamp,
    expires_at: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
) -> Result<(), Error> {
    let scim = ScimStatus {
        endpoint: Some(endpoint_path(ns, name)),
        token_secret_name: Some(sname.to_string()),
        token_rotated_at: Some(Time(rotated_at)),
        token_expires_at: expires_at.map(Time),
    };
    let message = match expires_at {
        Some(t) => {
            format!("bearer token in Secret {sname} (key {TOKEN_KEY}); next rotation at {t}")
        }
        None => format!(
            "bearer token in Secret {sname} (key {TOKEN_KEY}); no scheduled rotation (annotate lastpass-operator.io/rotate-token to rotate)"
        ),
    };
    let now = Time(now);
    let cond = condition(TOKEN_READY, true, Reason::TokenMinted, message, None, &now);
    TokenStatus {
        scim: Some(scim),
        conditions: vec![cond],
    }
    .write(&client, di, &now)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Time {
        Time(jiff::Timestamp::from_second(s).unwrap())
    }

    fn minted(at_second: i64, secret: &str) -> TokenStatus {
        TokenStatus {
            scim: Some(ScimStatus {
                token_secret_name: Some(secret.into()),
                ..ScimStatus::default()
            }),
            conditions: vec![condition(
                TOKEN_READY,
                true,
                Reason::TokenMinted,
                "minted",
                None,
                &at(at_second),
            )],
        }
    }

    #[test]
    fn an_unchanged_token_status_is_not_written() {
        let first = writer::next_status(None, minted(10, "a"), Some(2), &at(10)).unwrap();
        assert_eq!(
            writer::next_status(Some(&first), minted(20, "a"), Some(2), &at(20)),
            None,
            "same token, later reconcile"
        );
        assert!(
            writer::next_status(Some(&first), minted(30, "a"), Some(3), &at(30)).is_some(),
            "a new generation is recorded"
        );
        let moved = writer::next_status(Some(&first), minted(40, "b"), Some(2), &at(40)).unwrap();
        assert_eq!(moved.conditions[0].last_transition_time, at(10));
    }
}
