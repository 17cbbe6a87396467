//! TLS for the SCIM server straight from a certificate and key (a `kubernetes.io/tls` Secret
//! mounted as files), for clusters where no ingress terminates TLS in front of it. Identity
//! providers only talk HTTPS.
//!
//! Handshakes run in their own tasks (a slow or broken client never holds up the others), and
//! the files are re-read when they change, so a renewed certificate (cert-manager rewrites the
//! mounted Secret) is served without a restart.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at once; beyond it, accepting waits (a flood of clients that never
/// finish their handshake cannot exhaust tasks and file descriptors).
const MAX_HANDSHAKES: usize = 256;

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file is missing, unreadable or holds no PEM certificate.
    #[error(
        "SCIM TLS certificate {path}: {reason} (expected a PEM chain, e.g. tls.crt of a kubernetes.io/tls Secret)"
    )]
    Certificate {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The key file is missing, unreadable or holds no PEM private key.
    #[error(
        "SCIM TLS key {path}: {reason} (expected a PEM private key, e.g. tls.key of a kubernetes.io/tls Secret)"
    )]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// rustls refused the pair (e.g. the key does not match the certificate).
    #[error("SCIM TLS certificate {cert} and key {key} cannot serve TLS: {reason}")]
    Config {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' reason.
        reason: String,
    },
}

/// Where the certificate chain and the private key are.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM certificate chain (leaf first).
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl TlsFiles {
    /// Reads both files into a server configuration (HTTP/1.1).
    pub fn load(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert)
            .and_then(|it| it.collect::<Result<_, _>>())
            .map_err(|e| TlsError::Certificate {
                path: self.cert.clone(),
                reason: pem_reason(&e),
            })?;
        if certs.is_empty() {
            return Err(TlsError::Certificate {
                path: self.cert.clone(),
                reason: "no certificate in the file".into(),
            });
        }
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| TlsError::Key {
            path: self.key.clone(),
            reason: pem_reason(&e),
        })?;
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
                .map_err(|e| TlsError::Config {
                    cert: self.cert.clone(),
                    key: self.key.clone(),
                    reason: e.to_string(),
                })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    fn modified(&self) -> Option<(SystemTime, SystemTime)> {
        let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        Some((m(&self.cert)?, m(&self.key)?))
    }
}

/// What is wrong with a PEM file, without quoting it: the parser's own messages print the
/// offending bytes, which for a key file is the key.
fn pem_reason(e: &pem::Error) -> String {
    match e {
        pem::Error::Io(io) => format!("cannot be read: {io}"),
        pem::Error::NoItemsFound => "no PEM item of the expected type in the file".into(),
        pem::Error::SectionTooLarge => "a PEM section is too large".into(),
        _ => "malformed PEM (a BEGIN/END line or the base64 body is broken; literal \\n instead of line breaks?)".into(),
    }
}

/// A listener that hands axum TLS streams, handshaken in the background.
pub struct TlsListener {
    local: std::net::SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, std::net::SocketAddr)>,
}

impl TlsListener {
    /// Starts accepting on `tcp` with the certificate in `files` (checked now: a bad pair is an
    /// error at start-up, not at the first connection).
    pub fn new(tcp: TcpListener, files: TlsFiles) -> Result<Self, TlsError> {
        let config = files.load()?;
        let local = tcp.local_addr().map_err(|e| TlsError::Config {
            cert: files.cert.clone(),
            key: files.key.clone(),
            reason: e.to_string(),
        })?;
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(accept_loop(tcp, files, config, tx));
        Ok(Self { local, ready })
    }
}

async fn accept_loop(
    tcp: TcpListener,
    files: TlsFiles,
    mut config: Arc<ServerConfig>,
    tx: mpsc::Sender<(TlsStream<TcpStream>, std::net::SocketAddr)>,
) {
    let mut seen = files.modified();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
    loop {
        let accepted = tokio::select! {
            // The server dropped the listener: stop accepting and free the port.
            () = tx.closed() => return,
            a = tcp.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "SCIM TLS: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let now = files.modified();
        if now != seen {
            seen = now;
            match files.load() {
                Ok(c) => {
                    tracing::info!("SCIM TLS: certificate reloaded");
                    config = c;
                }
                Err(e) => tracing::warn!(error = %e, "SCIM TLS: keeping the previous certificate"),
            }
        }
        let acceptor = TlsAcceptor::from(config.clone());
        let tx = tx.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = tx.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "SCIM TLS: handshake failed"),
                Err(_) => tracing::debug!(%peer, "SCIM TLS: handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accept loop only ends when this listener is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
