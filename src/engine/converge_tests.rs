//! A sync whose confirming re-read fails, against the simulator.

use std::sync::atomic::{AtomicUsize, Ordering};

use secrecy::SecretString;

use super::*;
use crate::engine::model::{DesiredUser, ResourceRef};
use crate::lastpass::{Batch, BatchReport, Client, ClientConfig, Snapshot, User};
use crate::simulator::{RunningSimulator, SimState};

/// The simulator's client, but every whole-account read after the first fails.
struct SecondReadFails {
    client: Client,
    reads: AtomicUsize,
}

impl LastPass for SecondReadFails {
    async fn observe(&self) -> Result<Snapshot, ApiError> {
        if self.reads.fetch_add(1, Ordering::SeqCst) == 0 {
            self.client.observe().await
        } else {
            Err(ApiError::Unavailable {
                command: CommandKind::GetUserData,
                attempts: 1,
                reason: "test: the re-read fails".into(),
            })
        }
    }

    async fn observe_user(&self, username: &str) -> Result<Option<User>, ApiError> {
        self.client.observe_user(username).await
    }

    async fn execute(&self, batch: &Batch) -> Result<BatchReport, ApiError> {
        self.client.execute(batch).await
    }
}

#[tokio::test]
async fn a_failed_re_read_reports_no_snapshot_rather_than_the_one_before_the_writes() {
    crate::install_crypto_provider();
    let state = SimState::builder("1234", SecretString::from("provhash")).build();
    let sim = RunningSimulator::start(state).await.expect("simulator");
    let mut config = ClientConfig::new(&sim.url, "1234", SecretString::from("provhash"));
    config.allow_insecure_endpoint = true;
    let lastpass = SecondReadFails {
        client: Client::new(config).expect("client"),
        reads: AtomicUsize::new(0),
    };
    let mut input = ConvergeInput::default();
    input.desired.users.insert(
        "ann@example.com".into(),
        DesiredUser {
            username: "ann@example.com".into(),
            resource: ResourceRef::user("ns", "ann"),
            ..DesiredUser::default()
        },
    );

    let out = converge(&lastpass, &input).await;

    assert_eq!(out.applied.len(), 1, "ann was invited: {out:?}");
    assert!(
        matches!(out.error, Some(ApiError::Unavailable { .. })),
        "{out:?}"
    );
    assert!(
        out.observed.is_none(),
        "the snapshot from before the invitation is not reported as the account: {:?}",
        out.observed
    );
    assert_eq!(out.initial_plan.creates.len(), 1, "{out:?}");
}
