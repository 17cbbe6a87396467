//! Opening an authenticated LDAP session: `ldap://` + StartTLS or `ldaps://`, an optional
//! internal CA, a simple bind, timeouts, and the classification of what went wrong.

use std::sync::Arc;
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use secrecy::ExposeSecret;

use super::Error;
use super::config::{BindCredentials, Settings};

/// An open, bound LDAP session. Dropping it closes the connection.
pub struct Session {
    /// The operation handle, with the per-operation timeout applied by callers.
    pub ldap: Ldap,
    /// The per-operation timeout.
    pub operation_timeout: Duration,
    /// The directory URL (for errors).
    pub url: String,
}

impl Session {
    /// Unbinds politely; errors are irrelevant at this point.
    pub async fn close(mut self) {
        let _ = self.ldap.unbind().await;
    }
}

/// Builds the rustls configuration that trusts exactly the CA bundle (PEM).
pub fn tls_config(ca_pem: &[u8]) -> Result<Arc<rustls::ClientConfig>, String> {
    crate::install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        let cert = cert.map_err(|e| format!("the CA bundle is not valid PEM: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("the CA bundle holds an unusable certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err("the CA bundle holds no certificate".into());
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Connects (TCP, then StartTLS or TLS) and binds. Every failure is classified: refused →
/// [`Error::Unreachable`], certificate or handshake → [`Error::Tls`], slow →
/// [`Error::Timeout`], bad credentials → [`Error::Bind`].
pub async fn connect(
    settings: &Settings,
    ca_pem: Option<&[u8]>,
    credentials: &BindCredentials,
) -> Result<Session, Error> {
    crate::install_crypto_provider();
    let url = settings.url.clone();
    let tls = url.starts_with("ldaps://") || settings.start_tls;
    let mut conn_settings = LdapConnSettings::new()
        .set_conn_timeout(settings.connect_timeout)
        .set_starttls(settings.start_tls && url.starts_with("ldap://"));
    if let Some(pem) = ca_pem {
        let config = tls_config(pem).map_err(|detail| Error::Tls {
            url: url.clone(),
            detail,
        })?;
        conn_settings = conn_settings.set_config(config);
    }
    let (conn, mut ldap) = LdapConnAsync::with_settings(conn_settings, &url)
        .await
        .map_err(|e| classify_connect(&url, tls, settings.connect_timeout, e))?;
    tokio::spawn(async move {
        if let Err(e) = conn.drive().await {
            tracing::debug!(error = %e, "LDAP connection ended");
        }
    });
    let bound = ldap
        .with_timeout(settings.operation_timeout)
        .simple_bind(&credentials.bind_dn, credentials.password.expose_secret())
        .await;
    match bound {
        Ok(res) if res.rc == 0 => Ok(Session {
            ldap,
            operation_timeout: settings.operation_timeout,
            url,
        }),
        Ok(res) => Err(Error::Bind {
            url,
            bind_dn: credentials.bind_dn.clone(),
            rc: res.rc,
            text: res.text,
        }),
        Err(LdapError::Timeout { .. }) => Err(Error::Timeout {
            step: "bind",
            url,
            after: settings.operation_timeout,
        }),
        Err(e) => Err(Error::Unreachable {
            url,
            detail: format!("connection lost during bind: {e}"),
        }),
    }
}

/// Sorts a connection error into unreachable, TLS or timeout.
fn classify_connect(url: &str, tls: bool, timeout: Duration, e: LdapError) -> Error {
    let url = url.to_string();
    match e {
        LdapError::Timeout { .. } => Error::Timeout {
            step: "connect",
            url,
            after: timeout,
        },
        // The server answered the StartTLS request with an error.
        LdapError::LdapResult { result } => Error::Tls {
            url,
            detail: format!(
                "StartTLS refused (LDAP result {}: {})",
                result.rc, result.text
            ),
        },
        LdapError::Io { source } if tls && is_tls_error(&source) => Error::Tls {
            url,
            detail: source.to_string(),
        },
        other => Error::Unreachable {
            url,
            detail: other.to_string(),
        },
    }
}

fn is_tls_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    e.get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
        || matches!(e.kind(), InvalidData | UnexpectedEof | ConnectionReset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_without_certificates_is_refused() {
        assert!(tls_config(b"not pem").is_err());
        assert!(tls_config(b"").is_err());
    }

    #[test]
    fn tls_io_errors_are_tls_failures() {
        let e = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let err = classify_connect("ldaps://x", true, Duration::from_secs(1), e.into());
        assert!(matches!(err, Error::Tls { .. }), "{err}");
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let err = classify_connect("ldaps://x", true, Duration::from_secs(1), refused.into());
        assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    }
}
