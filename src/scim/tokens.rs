//! The SCIM bearer token: minted into the owned Secret `<integration>-scim-token` (key
//! `token`), rotated every `spec.scim.tokenRotation.every`; after a rotation the previous
//! token stays under key `previous` until the annotation
//! `lastpass-operator.io/previous-token-expires-at` (rotation + `overlap`). The integration's
//! `status.scim` and `TokenReady` condition are written with server-side apply under the field
//! manager `lastpass-operator-scim`, only when they change. A new value of the annotation
//! `lastpass-operator.io/rotate-token` on the integration rotates the token at once (the value
//! honoured is recorded on the Secret, so each value rotates once).
//!
//! Tokens exist only as `SecretString` and in the Secret: never in logs, Events, status or
//! errors.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Client, Resource, ResourceExt};
use secrecy::ExposeSecret;
use serde_json::json;

use super::auth::mint;
use super::cache::TOKEN_SECRET_LABEL;
use super::errors::Error;
use crate::crd::{DirectoryIntegration, ScimStatus, parse_duration};

/// Key of the current token in the Secret.
pub const TOKEN_KEY: &str = "token";
/// Key of the previous token while its overlap lasts.
pub const PREVIOUS_KEY: &str = "previous";
/// Annotation on the Secret: when the current token was minted (RFC 3339).
pub const ROTATED_AT_ANNOTATION: &str = "lastpass-operator.io/token-rotated-at";
/// Annotation on the Secret: when the previous token stops being accepted (RFC 3339).
pub const PREVIOUS_EXPIRES_ANNOTATION: &str = "lastpass-operator.io/previous-token-expires-at";
/// Annotation on the DirectoryIntegration: a new value rotates the token now.
pub const ROTATE_TOKEN_ANNOTATION: &str = "lastpass-operator.io/rotate-token";
/// Annotation on the Secret: the `rotate-token` value last honoured.
pub const ROTATED_FOR_ANNOTATION: &str = "lastpass-operator.io/rotated-for";
/// Field manager of the status fields this module owns.
pub const FIELD_MANAGER: &str = "lastpass-operator-scim";
/// Condition type set by [`reconcile_tokens`].
pub const TOKEN_READY: &str = "TokenReady";

/// Name of the token Secret of an integration.
pub fn secret_name(integration: &str) -> String {
    format!("{integration}-scim-token")
}

/// The endpoint path of an integration, relative to the operator's SCIM address.
pub fn endpoint_path(namespace: &str, integration: &str) -> String {
    format!("/scim/v2/{namespace}/{integration}")
}

/// Rotation period and overlap of an integration.
pub fn rotation(di: &DirectoryIntegration) -> Result<(Duration, Duration), Error> {
    let r = di
        .spec
        .scim
        .as_ref()
        .map(|s| s.token_rotation.clone())
        .unwrap_or_default();
    let every = parse_duration("spec.scim.tokenRotation.every", &r.every)?;
    let overlap = parse_duration("spec.scim.tokenRotation.overlap", &r.overlap)?;
    if every.is_zero() {
        return Err(Error::InvalidValue(
            "spec.scim.tokenRotation.every must be more than 0".into(),
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
/// rotates it when `every` has passed since the last mint, drops the previous token once its
/// overlap is over, and writes `status.scim` and `TokenReady`.
///
/// Returns how long until the next thing to do (a rotation or the end of an overlap); the
/// caller requeues after it. Idempotent: calling it again at the same `now` changes nothing.
/// When `spec.scim` is absent or not enabled it does nothing and returns the rotation period.
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
        return Ok(every);
    }
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
            secrets
                .create(&PostParams::default(), &s)
                .await
                .map_err(|e| Error::kube(format!("create Secret {ns}/{sname}"), e))?
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
            let due = !has_token || asked || rotated_at.is_none_or(|at| plus(at, every) <= now);
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
                    match old.filter(|o| !o.0.is_empty() && !overlap.is_zero()) {
                        Some(old) => {
                            data.insert(PREVIOUS_KEY.to_string(), old);
                            annotations.insert(
                                PREVIOUS_EXPIRES_ANNOTATION.to_string(),
                                plus(now, overlap).to_string(),
                            );
                        }
                        None => {
                            data.remove(PREVIOUS_KEY);
                            annotations.remove(PREVIOUS_EXPIRES_ANNOTATION);
                        }
                    }
                    tracing::info!(secret = %sname, "rotated the SCIM token");
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

    let rotated_at = annotation(&secret, ROTATED_AT_ANNOTATION).unwrap_or(now);
    let expires_at = plus(rotated_at, every);
    let mut next = until(now, expires_at);
    if let Some(prev) = annotation(&secret, PREVIOUS_EXPIRES_ANNOTATION) {
        next = next.min(until(now, prev));
    }
    write_status(client, di, &ns, &name, &sname, rotated_at, expires_at, now).await?;
    Ok(next.max(Duration::from_secs(1)))
}

#[allow(clippy::too_many_arguments)]
async fn write_status(
    client: Client,
    di: &DirectoryIntegration,
    ns: &str,
    name: &str,
    sname: &str,
    rotated_at: jiff::Timestamp,
    expires_at: jiff::Timestamp,
    now: jiff::Timestamp,
) -> Result<(), Error> {
    let scim = ScimStatus {
        endpoint: Some(endpoint_path(ns, name)),
        token_secret_name: Some(sname.to_string()),
        token_rotated_at: Some(Time(rotated_at)),
        token_expires_at: Some(Time(expires_at)),
    };
    let current = di.status.as_ref();
    let old_cond = current.and_then(|s| s.conditions.iter().find(|c| c.type_ == TOKEN_READY));
    let message =
        format!("bearer token in Secret {sname} (key {TOKEN_KEY}); next rotation at {expires_at}");
    let unchanged = current.and_then(|s| s.scim.as_ref()) == Some(&scim)
        && old_cond.is_some_and(|c| {
            c.status == "True"
                && c.reason == "TokenMinted"
                && c.message == message
                && c.observed_generation == di.metadata.generation
        });
    if unchanged {
        return Ok(());
    }
    let transition = old_cond
        .filter(|c| c.status == "True")
        .map(|c| c.last_transition_time.clone())
        .unwrap_or(Time(now));
    let cond = Condition {
        type_: TOKEN_READY.to_string(),
        status: "True".to_string(),
        reason: "TokenMinted".to_string(),
        message,
        last_transition_time: transition,
        observed_generation: di.metadata.generation,
    };
    let patch = json!({
        "apiVersion": "lastpass-operator.io/v1alpha1",
        "kind": "DirectoryIntegration",
        "metadata": {"name": name, "namespace": ns},
        "status": {"scim": scim, "conditions": [cond]},
    });
    Api::<DirectoryIntegration>::namespaced(client, ns)
        .patch_status(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(|e| {
            Error::kube(
                format!("write status of DirectoryIntegration {ns}/{name}"),
                e,
            )
        })?;
    Ok(())
}
