//! The provhash never appears in logs (TRACE, every crate, every thread), errors, their
//! sources, or Debug output. Its own test binary, so the global subscriber sees everything and
//! no other test races it.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use lastpass_operator::lastpass::{ApiError, Batch, Client, DeleteAction, NewUser, UserUpdate};
use lastpass_operator::simulator::{Fault, Knobs, PendingFault};
use support::account::{Account, PROVHASH};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A new user's initial password, which the echoing upstream repeats.
const ECHOED_PASSWORD: &str = "Echoed-Initial-Pass-123!";

#[tokio::test]
async fn provhash_never_appears_in_logs_errors_or_debug() {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let sim = Account::start(Knobs::default()).await;
    let lp = sim.new_client();
    let mut texts = vec![
        format!("{:?}", lp.config()),
        format!("{lp:?}"),
        format!("{:?}", sim.state()),
    ];
    let ann = NewUser {
        username: "ann@example.com".into(),
        groups: vec!["Eng".into()],
        ..Default::default()
    };
    lp.execute(&Batch::Add(vec![ann])).await.unwrap();
    lp.observe().await.unwrap();
    let mut errors: Vec<ApiError> = vec![];
    let gone = Batch::Delete {
        username: "ghost@example.com".into(),
        action: DeleteAction::Delete,
    };
    errors.push(lp.execute(&gone).await.unwrap_err());
    sim.state().push_fault(PendingFault {
        fault: Fault::DropAfterApply,
        command: Some("updateuser".into()),
    });
    let update = Batch::Update(UserUpdate {
        username: "ann@example.com".into(),
        fullname: None,
    });
    errors.push(lp.execute(&update).await.unwrap_err());
    // An upstream that echoes the request in its error: neither the provhash nor the new
    // user's password may reach the error.
    sim.state().push_fault(PendingFault {
        fault: Fault::EchoRequest,
        command: Some("batchadd".into()),
    });
    let bob = NewUser {
        username: "bob@example.com".into(),
        password: Some(ECHOED_PASSWORD.to_string().into()),
        ..Default::default()
    };
    let echoed = lp.execute(&Batch::Add(vec![bob])).await.unwrap_err();
    assert!(
        echoed.to_string().contains("could not process request")
            && echoed.to_string().contains("[redacted]"),
        "the echo reaches the error, redacted: {echoed}"
    );
    errors.push(echoed);
    let mut bad = sim.config();
    bad.provhash = format!("{PROVHASH}-old").into();
    errors.push(Client::new(bad).unwrap().observe().await.unwrap_err());
    sim.state()
        .set_knobs(Knobs::default().throttle_every(1, Some(0)));
    errors.push(lp.observe().await.unwrap_err());
    sim.state().set_knobs(Knobs::default());
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut refused = sim.config();
    refused.endpoint = format!("http://{}/enterpriseapi.php", closed.local_addr().unwrap());
    drop(closed);
    errors.push(Client::new(refused).unwrap().observe().await.unwrap_err());
    let mut invalid = sim.config();
    invalid.endpoint = "not a url".into();
    errors.push(Client::new(invalid).unwrap_err());
    for e in &errors {
        texts.push(e.to_string());
        texts.push(format!("{e:?}"));
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            texts.push(s.to_string());
            texts.push(format!("{s:?}"));
            source = s.source();
        }
    }
    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("LastPass replied"),
        "the capture works: {logs}"
    );
    assert!(logs.contains("simulator answered"), "{logs}");
    assert!(logs.contains("TRACE"), "TRACE level is captured: {logs}");
    assert!(!logs.contains(PROVHASH), "provhash in logs");
    assert!(!logs.contains(ECHOED_PASSWORD), "password in logs");
    for t in texts {
        assert!(!t.contains(PROVHASH), "provhash in {t}");
        assert!(!t.contains(ECHOED_PASSWORD), "password in {t}");
    }
    assert_eq!(
        errors
            .iter()
            .map(ApiError::metric_label)
            .collect::<Vec<_>>(),
        [
            "failed",
            "outcome_unknown",
            "failed",
            "unauthorized",
            "throttled",
            "unavailable",
            "config"
        ]
    );
}
