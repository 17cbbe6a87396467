//! A simulated LastPass account on loopback and a client for it with fast retries and a loose
//! rate limit: the world of the contract and engine tests (no Kubernetes), and the account the
//! cluster tests point their integration at.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use lastpass_operator::engine::converge::{ConvergeInput, ConvergeOutcome, converge};
use lastpass_operator::engine::desire::Desire;
use lastpass_operator::engine::guard::Guards;
use lastpass_operator::engine::model::Desired;
use lastpass_operator::engine::plan::Policy;
use lastpass_operator::engine::report::{Report, report};
use lastpass_operator::lastpass::{Client, ClientConfig, RateLimit, RetryPolicy, Snapshot};
use lastpass_operator::simulator::WholeRead;
use lastpass_operator::simulator::{CallRecord, Knobs, RunningSimulator, SeedUser, SimState};
use secrecy::SecretString;

use super::builders::rref;

/// Every whole-account reply no decision may rest on (the simulator's untrusted read shapes).
pub const UNTRUSTED_WHOLE_READS: [WholeRead; 6] = [
    WholeRead::EmptyArray,
    WholeRead::EmptyObject,
    WholeRead::NullUsers,
    WholeRead::StatusOk,
    WholeRead::EmptyUsers,
    WholeRead::TotalTooLarge,
];

/// Account id of every simulated account.
pub const CID: &str = "24681357";
/// API secret of every simulated account; the redaction and leak tests grep for it.
pub const PROVHASH: &str = "PROVHASH-c0ffee-7d1e-test";

/// Starts a simulated LastPass account with these knobs on an ephemeral loopback port.
pub async fn simulator(knobs: Knobs) -> RunningSimulator {
    lastpass_operator::install_crypto_provider();
    let state = SimState::builder(CID, SecretString::from(PROVHASH))
        .knobs(knobs)
        .build();
    RunningSimulator::start(state)
        .await
        .expect("simulator starts")
}

/// A non-zero u32 (panics on 0: test input).
pub fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

/// A client configuration for `url` with this provhash: 10 s timeout, 4 attempts, 1–20 ms
/// backoff, 1000 req/s.
pub fn config(url: &str, provhash: &str) -> ClientConfig {
    let mut c = ClientConfig::new(url, CID, SecretString::from(provhash.to_string()));
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

/// Users of a read besides the account's admin.
pub fn people(snap: &Snapshot) -> usize {
    snap.users.values().filter(|u| !u.admin).count()
}

/// How many calls of `command` the account has answered.
pub fn count_calls(state: &SimState, command: &str) -> usize {
    state
        .calls()
        .iter()
        .filter(|c| c.command == command)
        .count()
}

/// Users of the account besides its admin (every simulated account starts with one).
pub fn people_in(state: &SimState) -> usize {
    state.with_store(|s| s.users.values().filter(|u| !u.admin).count())
}

/// Whether the account's user `username` is disabled (panics if it has none).
pub fn is_disabled(state: &SimState, username: &str) -> bool {
    state
        .store()
        .user(username)
        .unwrap_or_else(|| panic!("{username} is in the account"))
        .disabled
}

/// Whether the account's user `username` is in LastPass group `group` (panics if it has none).
pub fn in_group(state: &SimState, username: &str, group: &str) -> bool {
    state
        .store()
        .user(username)
        .unwrap_or_else(|| panic!("{username} is in the account"))
        .groups
        .contains(group)
}

/// A simulated account and a client for it.
pub struct Account {
    /// The simulator.
    pub sim: RunningSimulator,
    /// A client with [`config`].
    pub client: Client,
}

impl Account {
    /// Starts a simulator with these knobs.
    pub async fn start(knobs: Knobs) -> Self {
        let sim = simulator(knobs).await;
        let client = Client::new(config(&sim.url, PROVHASH)).unwrap();
        Self { sim, client }
    }

    /// The simulator's state: seed it, read its call log and account.
    pub fn state(&self) -> &SimState {
        &self.sim.state
    }

    /// Full API URL.
    pub fn url(&self) -> &str {
        &self.sim.url
    }

    /// A client configuration for this account ([`config`] with the right provhash).
    pub fn config(&self) -> ClientConfig {
        config(&self.sim.url, PROVHASH)
    }

    /// A new client with [`Account::config`] (its own pool and rate limiter).
    pub fn new_client(&self) -> Client {
        Client::new(self.config()).unwrap()
    }

    /// Runs one sync of `desired` with the default policy and `guards`.
    pub async fn sync(&self, desired: &Desired, guards: Guards) -> ConvergeOutcome {
        self.sync_with(desired, Policy::default(), guards).await
    }

    /// Runs one sync with an explicit policy.
    pub async fn sync_with(
        &self,
        desired: &Desired,
        policy: Policy,
        guards: Guards,
    ) -> ConvergeOutcome {
        let input = ConvergeInput {
            desired: desired.clone(),
            policy,
            guards,
            passwords: BTreeMap::new(),
        };
        converge(&self.client, &input).await
    }

    /// Calls of the log with this command.
    pub fn calls(&self, command: &str) -> Vec<CallRecord> {
        self.state()
            .calls()
            .into_iter()
            .filter(|c| c.command == command)
            .collect()
    }

    /// Commands of the call log, in order.
    pub fn commands(&self) -> Vec<String> {
        self.state()
            .calls()
            .into_iter()
            .map(|c| c.command)
            .collect()
    }

    /// Write calls of the log (anything but `getuserdata`).
    pub fn writes(&self) -> Vec<CallRecord> {
        self.state()
            .calls()
            .into_iter()
            .filter(|c| c.command != "getuserdata")
            .collect()
    }

    /// Users of the account besides its admin (every simulated account starts with one).
    pub fn people(&self) -> usize {
        people_in(self.state())
    }

    /// Lower-cased usernames of the account besides its admin.
    pub fn people_names(&self) -> Vec<String> {
        self.state().with_store(|s| {
            s.users
                .iter()
                .filter(|(_, u)| !u.admin)
                .map(|(k, _)| k.clone())
                .collect()
        })
    }

    /// Whether the account's user `username` is disabled (panics if it has none).
    pub fn disabled(&self, username: &str) -> bool {
        is_disabled(self.state(), username)
    }

    /// Seeds `n` users `user{i}@example.com`, every tenth in group `G{i % 7}`, every other one
    /// active.
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
        self.state().seed(&users);
    }
}

/// Default guards with a budget of `max`.
pub fn budget(max: usize) -> Guards {
    Guards {
        max_per_sync: max,
        ..Guards::default()
    }
}

/// Statuses of one sync.
pub fn statuses(desired: &Desired, outcome: &ConvergeOutcome) -> Report {
    let desire = Desire {
        desired: desired.clone(),
        ..Desire::default()
    };
    report(&desire, outcome, &Time(jiff::Timestamp::now()))
}

/// The Ready condition's (status, reason) of a user status.
pub fn ready_of(r: &Report, username: &str) -> (String, String) {
    let st = &r.users[&rref(username)];
    let c = st.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
    (c.status.clone(), c.reason.clone())
}

/// Simulator knobs with nothing special.
pub fn knobs() -> Knobs {
    Knobs::default()
}
