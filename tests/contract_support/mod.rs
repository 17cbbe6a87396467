//! Fixtures of the LastPass contract tests: a simulator on `127.0.0.1:0` and a client pointed
//! at it with fast retries and a loose rate limit.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::num::NonZeroU32;
use std::time::Duration;

use lastpass_operator::lastpass::{Client, ClientConfig, RateLimit, RetryPolicy, Snapshot};
use lastpass_operator::simulator::{Knobs, SeedUser, SimState, serve};
use secrecy::SecretString;
use tokio::sync::oneshot;

/// The account id every fixture uses.
pub const CID: &str = "12345678";
/// The provhash every fixture uses; the redaction test greps for it.
pub const PROVHASH: &str = "PROVHASH-c0ffee-7d1e-contract";

/// A running simulator and its address.
pub struct Sim {
    /// Shared state: seed it, read its call log and account.
    pub state: SimState,
    /// Full API URL.
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Users of a read besides the account's admin.
pub fn people(snap: &Snapshot) -> usize {
    snap.users.values().filter(|u| !u.admin).count()
}

/// Starts a simulator with these knobs on an ephemeral port.
pub async fn start(knobs: Knobs) -> Sim {
    lastpass_operator::install_crypto_provider();
    let state = SimState::builder(CID, SecretString::from(PROVHASH))
        .knobs(knobs)
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{}", listener.local_addr().unwrap(), state.path());
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, state.clone(), async {
        let _ = rx.await;
    }));
    Sim {
        state,
        url,
        stop: Some(tx),
    }
}

impl Sim {
    /// A client configuration for this simulator: 4 attempts, 1–20 ms backoff, 1000 req/s.
    pub fn config(&self) -> ClientConfig {
        let mut c = ClientConfig::new(&self.url, CID, SecretString::from(PROVHASH));
        c.request_timeout = Duration::from_secs(10);
        c.retry = RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(20),
        };
        c.rate_limit = RateLimit {
            requests_per_second: nz(1000),
            burst: nz(1000),
        };
        c
    }

    /// A client with [`Sim::config`].
    pub fn client(&self) -> Client {
        Client::new(self.config()).unwrap()
    }

    /// Users of the account besides its admin (every simulated account starts with one).
    pub fn people(&self) -> usize {
        self.state
            .with_store(|s| s.users.values().filter(|u| !u.admin).count())
    }

    /// Commands of the call log, in order.
    pub fn commands(&self) -> Vec<String> {
        self.state.calls().into_iter().map(|c| c.command).collect()
    }

    /// Seeds `n` users `user{i}@example.com`, every tenth in group `G{i % 7}`.
    pub fn seed_many(&self, n: usize) {
        let users: Vec<SeedUser> = (0..n)
            .map(|i| SeedUser {
                username: format!("user{i}@example.com"),
                fullname: format!("User {i}"),
                groups: if i % 10 == 0 {
                    vec![format!("G{}", i % 7)]
                } else {
                    vec![]
                },
                active: i % 2 == 0,
                ..Default::default()
            })
            .collect();
        self.state.seed(&users);
    }
}

/// A non-zero u32 (panics on 0: test input).
pub fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}
