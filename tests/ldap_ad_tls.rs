//! Secure binds against a real Active Directory (Samba AD DC, see `support/ldap/samba.rs`):
//! LDAPS and StartTLS with the CA of `caSecretRef` pass; with an unrelated CA they fail with
//! `TlsFailed`, the `LdapReachable` reason, and a message naming `caSecretRef`.

mod support;

use support::ldap::samba;

use lastpass_operator::crd::LdapNesting;
use lastpass_operator::ldap::Error;
use lastpass_operator::ldap::config::Settings;
use lastpass_operator::status::Reason;
use samba::*;

fn tls_settings(ou: &Ou, url: &str, start_tls: bool) -> Settings {
    let mut spec = ou.spec(LdapNesting::InChain);
    spec.url = Some(url.to_string());
    spec.start_tls = start_tls;
    Settings::from_spec(spec).unwrap()
}

#[tokio::test]
async fn ldaps_and_starttls_trust_exactly_the_configured_ca() {
    let Some(samba) = Samba::get() else { return };
    let ou = samba.ou("tls");
    samba.modify(&format!(
        "{}{}",
        ou.user("a", UAC_ENABLED),
        ou.group("lastpass-g", &[ou.user_dn("a")])
    ));
    let creds = samba.credentials();
    let cases = [
        ("LDAPS", samba.ldaps_url.clone(), false),
        ("StartTLS", samba.url.clone(), true),
    ];
    for (how, url, start_tls) in cases {
        let s = tls_settings(&ou, &url, start_tls);
        let snapshot = read_with(&s, Some(samba.ca_pem.as_bytes()), &creds)
            .await
            .unwrap_or_else(|e| panic!("{how} with the right CA: {e}"));
        assert_eq!(snapshot.users.len(), 1, "{how}");
        assert_eq!(snapshot.groups.len(), 1, "{how}");

        let err = read_with(&s, Some(samba.other_ca_pem.as_bytes()), &creds)
            .await
            .expect_err("an unrelated CA must not be trusted");
        assert!(matches!(err, Error::Tls { .. }), "{how}: {err}");
        assert_eq!(err.reason(), Reason::TlsFailed, "{how}");
        let message = err.to_string();
        assert!(message.contains("caSecretRef"), "{how}: {message}");
        assert!(
            !message.contains(&samba.password),
            "{how}: no password in {message}"
        );
    }
}
