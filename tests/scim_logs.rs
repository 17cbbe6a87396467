//! Tokens never reach the logs: TRACE logs captured across a rotation and requests with the
//! current, previous and a wrong token contain none of them. A binary of its own, so no other
//! test's thread shares tracing's callsite cache with this thread-local subscriber.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use lastpass_operator::crd::DirectoryIntegration;
use lastpass_operator::scim;
use serde_json::json;
use support::builders::INTEGRATION;
use support::scim::{ScimServer, token_of};

fn hours(h: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_hours(h)
}

/// A `MakeWriter` appending to a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn tokens_never_reach_the_logs() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    // Current-thread runtime: the server, the client and the subscriber share this thread.
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let s = ScimServer::start(cluster).await;
    let di =
        s.ns.api::<DirectoryIntegration>()
            .get(INTEGRATION)
            .await
            .unwrap();
    // A rotation, a good request, a bad one, a create.
    scim::reconcile_tokens(
        s.ns.client.clone(),
        &di,
        jiff::Timestamp::now() + hours(721),
    )
    .await
    .unwrap();
    let (token, previous) = token_of(&s.ns, INTEGRATION).await;
    let previous = previous.unwrap();
    for t in [&token, &previous] {
        let (st, _) = s.call_as(Some(t), "GET", "/Users", None).await;
        assert_eq!(st, 200);
    }
    let (st, _) = s
        .call_as(Some(&format!("{token}x")), "GET", "/Users", None)
        .await;
    assert_eq!(st, 401);
    let (st, _) = s
        .call_as(
            Some(&token),
            "POST",
            "/Users",
            Some(json!({"userName": "t@example.com"})),
        )
        .await;
    assert_eq!(st, 201);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("SCIM created a LastPassUser"),
        "TRACE logs were captured"
    );
    assert!(text.len() > 1000, "TRACE logs were captured: {text}");
    use base64::Engine as _;
    for t in [&token, &previous, &s.token] {
        assert!(!text.contains(t.as_str()), "a token appears in the logs");
        let encoded = base64::engine::general_purpose::STANDARD.encode(t.as_bytes());
        assert!(
            !text.contains(&encoded),
            "a Secret's data appears in the logs"
        );
    }
    s.stop().await;
}
