//! The SCIM server over TLS from certificate files: it serves the router over HTTPS, refuses
//! plain HTTP, picks up a renewed certificate without a restart, and a bad key is a clear
//! start-up error that does not print the key.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use lastpass_operator::scim::tls::{TlsFiles, TlsListener};
use lastpass_operator::scim::{ScimState, serve};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is needed (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed certificate for 127.0.0.1 in `dir/<name>.crt` / `dir/<name>.key`.
fn self_signed(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=scim-test",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
        ],
    );
}

fn client_trusting(cert: &Path) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(cert).unwrap()).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap()
}

async fn start(files: TlsFiles) -> std::net::SocketAddr {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listener = TlsListener::new(tcp, files).unwrap();
    let addr = axum::serve::Listener::local_addr(&listener).unwrap();
    // No API server is needed: a request without a token is answered before any lookup.
    let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
    let ctx = Arc::new(ScimState::new(kube::Client::try_from(config).unwrap()));
    tokio::spawn(serve(listener, ctx, std::future::pending()));
    addr
}

#[tokio::test]
async fn serves_https_refuses_plain_http_and_reloads_a_renewed_certificate() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempdir();
    self_signed(&dir, "first");
    self_signed(&dir, "second");
    std::fs::copy(dir.join("first.crt"), dir.join("tls.crt")).unwrap();
    std::fs::copy(dir.join("first.key"), dir.join("tls.key")).unwrap();
    let files = TlsFiles {
        cert: dir.join("tls.crt"),
        key: dir.join("tls.key"),
    };
    let addr = start(files).await;
    let url = format!("https://{addr}/scim/v2/team/acme/Users");

    let r = client_trusting(&dir.join("first.crt"))
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));

    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/scim/v2/team/acme/Users"))
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP must not be served: {plain:?}");

    // A renewed certificate (as cert-manager rewrites the mounted Secret).
    std::thread::sleep(std::time::Duration::from_millis(1100)); // a new mtime on coarse clocks
    std::fs::copy(dir.join("second.key"), dir.join("tls.key")).unwrap();
    std::fs::copy(dir.join("second.crt"), dir.join("tls.crt")).unwrap();
    let r = client_trusting(&dir.join("second.crt"))
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let old = client_trusting(&dir.join("first.crt"))
        .get(&url)
        .send()
        .await;
    assert!(old.is_err(), "the old certificate is no longer served");
}

/// The start-up error of a listener on `cert` and `key` (Display and Debug).
async fn refused(cert: &Path, key: &Path) -> String {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let files = TlsFiles {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
    };
    let err = TlsListener::new(tcp, files)
        .err()
        .unwrap_or_else(|| panic!("{} must be refused", key.display()));
    format!("{err} {err:?}")
}

#[tokio::test]
async fn a_bad_key_is_a_start_up_error_naming_the_file_not_its_content() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempdir();
    self_signed(&dir, "a");
    // Not a private key; and one pasted on one line (a common values-file mistake), whose
    // parser message would quote the line, that is the key, as a byte list.
    for (file, content, says) in [
        (
            "bad.key",
            "-----BEGIN SECRET-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END SECRET-----\n",
            "no PEM item",
        ),
        (
            "one-line.key",
            "-----BEGIN PRIVATE KEY-----c2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n",
            "malformed PEM",
        ),
    ] {
        std::fs::write(dir.join(file), content).unwrap();
        let msg = refused(&dir.join("a.crt"), &dir.join(file)).await;
        assert!(
            msg.contains(file) && msg.contains("private key") && msg.contains(says),
            "{msg}"
        );
        let as_bytes = format!("{:?}", "c2VjcmV0".as_bytes());
        let as_bytes = as_bytes.trim_matches(['[', ']']);
        assert!(
            !msg.contains("c2VjcmV0") && !msg.contains(as_bytes),
            "the key leaked: {msg}"
        );
    }
    // A key that does not belong to the certificate.
    self_signed(&dir, "b");
    let msg = refused(&dir.join("a.crt"), &dir.join("b.key")).await;
    assert!(msg.contains("cannot serve TLS"), "{msg}");
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "lpo-scim-tls-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}
