//! The layout of an integration's SCIM token Secret — its name, keys and annotations — and how
//! a token is minted. Both the authentication of requests and the token rotation read it.

use base64::Engine as _;
use secrecy::SecretString;

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
/// Annotation on the Secret: the end of the overlap whose last 10 % was announced by an Event.
pub const PREVIOUS_WARNED_ANNOTATION: &str = "lastpass-operator.io/previous-token-warned-for";
/// Annotation on the Secret: the `rotate-token` value last honoured.
pub const ROTATED_FOR_ANNOTATION: &str = "lastpass-operator.io/rotated-for";
/// Field manager of the status fields this module owns.
pub const FIELD_MANAGER: &str = "lastpass-operator-scim";
/// Name of the token Secret of an integration.
pub fn secret_name(integration: &str) -> String {
    format!("{integration}-scim-token")
}

/// The endpoint path of an integration, relative to the operator's SCIM address.
pub fn endpoint_path(namespace: &str, integration: &str) -> String {
    format!("/scim/v2/{namespace}/{integration}")
}

/// A fresh token: 32 random bytes from the thread CSPRNG, base64url without padding.
pub fn mint() -> SecretString {
    let bytes: [u8; 32] = rand::random();
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

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
