//! Bearer-token check of every SCIM request, first and from memory: constant-time comparison
//! with the current token of the integration's Secret (from the store), or with the previous
//! one until its overlap ends. Every failure answers the same `401` ([`UNAUTHORIZED`]): an
//! unknown integration cannot be told from a wrong token.

use k8s_openapi::api::core::v1::Secret;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::error::Error;
use super::token_secret::{PREVIOUS_EXPIRES_ANNOTATION, PREVIOUS_KEY, TOKEN_KEY, secret_name};
use super::watch::Stores;

/// The detail of every `401`.
pub const UNAUTHORIZED: &str =
    "missing, invalid or expired bearer token for this endpoint (Authorization: Bearer <token>)";

/// Why a request was not authenticated (for metrics only: every one answers the same 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No `Authorization` header, or not `Bearer <token>`.
    MissingToken,
    /// No such integration.
    UnknownIntegration,
    /// The integration exists but no token Secret is in the store (none minted yet).
    NoToken,
    /// Neither the current token nor a live previous one.
    WrongToken,
    /// The previous token, after its overlap.
    ExpiredToken,
}

impl Failure {
    /// Fixed metric label.
    pub fn metric_label(self) -> &'static str {
        match self {
            Failure::MissingToken => "missing_token",
            Failure::UnknownIntegration => "unknown_integration",
            Failure::NoToken => "no_token",
            Failure::WrongToken => "wrong_token",
            Failure::ExpiredToken => "expired_token",
        }
    }
}

/// Checks the `Authorization` header of a request to `namespace/integration` against the
/// stored token Secret. Reads only memory.
pub fn authenticate(
    stores: &Stores,
    namespace: &str,
    integration: &str,
    header: Option<&str>,
    now: jiff::Timestamp,
) -> Result<(), Failure> {
    let presented = bearer(header).map_err(|_| Failure::MissingToken)?;
    let Some(secret) = stores.secrets.get(namespace, &secret_name(integration)) else {
        // The same work as a wrong token, so timing tells nothing either.
        let _ = bool::from(presented.expose_secret().as_bytes().ct_eq(&[0u8; 43]));
        return Err(match stores.integrations.get(namespace, integration) {
            None => Failure::UnknownIntegration,
            Some(_) => Failure::NoToken,
        });
    };
    check(&secret, &presented, now)
}

/// The token an `Authorization: Bearer <token>` header carries (scheme in any case).
pub fn bearer(header: Option<&str>) -> Result<SecretString, Error> {
    let h = header.ok_or(Error::Unauthorized(UNAUTHORIZED))?;
    let (scheme, token) = h
        .trim()
        .split_once(' ')
        .ok_or(Error::Unauthorized(UNAUTHORIZED))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Error::Unauthorized(UNAUTHORIZED));
    }
    Ok(SecretString::from(token.trim().to_string()))
}

fn key<'a>(secret: &'a Secret, key: &str) -> Option<&'a [u8]> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| b.0.as_slice())
        .filter(|b| !b.is_empty())
}

/// Whether `presented` is the current token, or the previous one before its expiry.
fn check(secret: &Secret, presented: &SecretString, now: jiff::Timestamp) -> Result<(), Failure> {
    let given = presented.expose_secret().as_bytes();
    let current = key(secret, TOKEN_KEY).ok_or(Failure::NoToken)?;
    // Evaluate both comparisons, so timing does not tell which one matched.
    let is_current = bool::from(given.ct_eq(current));
    let (matches_previous, live) = key(secret, PREVIOUS_KEY).map_or((false, false), |prev| {
        let matches = bool::from(given.ct_eq(prev));
        let live = secret
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(PREVIOUS_EXPIRES_ANNOTATION))
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .is_some_and(|until| now < until);
        (matches, live)
    });
    match (is_current, matches_previous, live) {
        (true, _, _) | (_, true, true) => Ok(()),
        (false, true, false) => Err(Failure::ExpiredToken),
        _ => Err(Failure::WrongToken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use std::collections::BTreeMap;

    fn secret(current: &str, previous: Option<(&str, &str)>) -> Secret {
        let mut data = BTreeMap::from([(TOKEN_KEY.to_string(), ByteString(current.into()))]);
        let mut s = Secret::default();
        if let Some((p, until)) = previous {
            data.insert(PREVIOUS_KEY.to_string(), ByteString(p.into()));
            s.metadata.annotations = Some(BTreeMap::from([(
                PREVIOUS_EXPIRES_ANNOTATION.to_string(),
                until.to_string(),
            )]));
        }
        s.data = Some(data);
        s
    }

    #[test]
    fn current_and_previous_within_overlap() {
        let now: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let s = secret("new-token", Some(("old-token", "2026-01-02T00:00:00Z")));
        let t = |x: &str| SecretString::from(x.to_string());
        assert!(check(&s, &t("new-token"), now).is_ok());
        assert!(check(&s, &t("old-token"), now).is_ok());
        assert!(check(&s, &t("wrong"), now).is_err());
        assert!(check(&s, &t("new-toke"), now).is_err());
        let later: jiff::Timestamp = "2026-01-02T00:00:01Z".parse().unwrap();
        assert_eq!(
            check(&s, &t("old-token"), later),
            Err(Failure::ExpiredToken),
            "overlap over"
        );
        assert!(check(&s, &t("new-token"), later).is_ok());
    }

    #[test]
    fn bearer_header_forms() {
        assert!(bearer(None).is_err());
        assert!(bearer(Some("Basic abc")).is_err());
        assert!(bearer(Some("Bearer ")).is_err());
        assert_eq!(bearer(Some("bearer abc")).unwrap().expose_secret(), "abc");
    }
}
