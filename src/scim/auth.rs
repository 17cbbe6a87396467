//! Bearer-token check of every SCIM request: constant-time comparison with the current token
//! of the integration's Secret, or with the previous one until its overlap ends.

use base64::Engine as _;
use k8s_openapi::api::core::v1::Secret;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::errors::Error;
use super::tokens::{PREVIOUS_EXPIRES_ANNOTATION, PREVIOUS_KEY, TOKEN_KEY};

/// The token an `Authorization: Bearer <token>` header carries (scheme in any case).
pub fn bearer(header: Option<&str>) -> Result<SecretString, Error> {
    let h = header.ok_or(Error::Unauthorized("missing bearer token"))?;
    let (scheme, token) = h
        .trim()
        .split_once(' ')
        .ok_or(Error::Unauthorized("malformed Authorization header"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Error::Unauthorized(
            "the Authorization header must be `Bearer <token>`",
        ));
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
pub fn verify(
    secret: &Secret,
    presented: &SecretString,
    now: jiff::Timestamp,
) -> Result<(), Error> {
    let given = presented.expose_secret().as_bytes();
    let current = key(secret, TOKEN_KEY).ok_or(Error::Unauthorized(
        "no token has been minted for this integration yet",
    ))?;
    // Evaluate both comparisons, so timing does not tell which one matched.
    let is_current = bool::from(given.ct_eq(current));
    let is_previous = key(secret, PREVIOUS_KEY).is_some_and(|prev| {
        let matches = bool::from(given.ct_eq(prev));
        let live = secret
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(PREVIOUS_EXPIRES_ANNOTATION))
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .is_some_and(|until| now < until);
        matches && live
    });
    if is_current || is_previous {
        Ok(())
    } else {
        Err(Error::Unauthorized("invalid or expired bearer token"))
    }
}

/// A fresh token: 32 random bytes from the thread CSPRNG, base64url without padding.
pub fn mint() -> SecretString {
    let bytes: [u8; 32] = rand::random();
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
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
        assert!(verify(&s, &t("new-token"), now).is_ok());
        assert!(verify(&s, &t("old-token"), now).is_ok());
        assert!(verify(&s, &t("wrong"), now).is_err());
        assert!(verify(&s, &t("new-toke"), now).is_err());
        let later: jiff::Timestamp = "2026-01-02T00:00:01Z".parse().unwrap();
        assert!(verify(&s, &t("old-token"), later).is_err(), "overlap over");
        assert!(verify(&s, &t("new-token"), later).is_ok());
    }

    #[test]
    fn bearer_header_forms() {
        assert!(bearer(None).is_err());
        assert!(bearer(Some("Basic abc")).is_err());
        assert!(bearer(Some("Bearer ")).is_err());
        assert_eq!(bearer(Some("bearer abc")).unwrap().expose_secret(), "abc");
    }

    #[test]
    fn minted_tokens_are_long_and_distinct() {
        let a = mint();
        let b = mint();
        assert_eq!(a.expose_secret().len(), 43, "32 bytes base64url");
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(
            !format!("{a:?}").contains(a.expose_secret()),
            "Debug redacts"
        );
    }
}
