//! Fixtures of the engine scenarios: a simulator on loopback, a client with fast retries, and
//! builders of desired state.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use lastpass_operator::crd::{DeprovisionAction, GroupPolicy};
use lastpass_operator::engine::converge::{ConvergeInput, ConvergeOutcome, converge};
use lastpass_operator::engine::desire::Desire;
use lastpass_operator::engine::guard::Guards;
use lastpass_operator::engine::model::{
    Desired, DesiredGroup, DesiredUser, Leaving, ResourceRef, user_key,
};
use lastpass_operator::engine::plan::Policy;
use lastpass_operator::engine::report::{Report, report};
use lastpass_operator::lastpass::{Client, ClientConfig, RateLimit, RetryPolicy};
use lastpass_operator::simulator::{CallRecord, Knobs, RunningSimulator, SimState};
use secrecy::SecretString;

/// Account id of every fixture.
pub const CID: &str = "87654321";
/// API secret of every fixture.
pub const PROVHASH: &str = "engine-scenario-provhash-5f3a";

/// A simulated account and a client for it.
pub struct Account {
    /// The simulator.
    pub sim: RunningSimulator,
    /// A client with fast retries and a loose rate limit.
    pub client: Client,
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

/// A client configuration for `url` with fast retries.
pub fn config(url: &str, provhash: &str) -> ClientConfig {
    let mut c = ClientConfig::new(url, CID, SecretString::from(provhash.to_string()));
    c.request_timeout = Duration::from_secs(5);
    c.retry = RetryPolicy {
        attempts: 6,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(20),
    };
    c.rate_limit = RateLimit {
        requests_per_second: nz(1000),
        burst: nz(1000),
    };
    c
}

impl Account {
    /// Starts a simulator with these knobs.
    pub async fn start(knobs: Knobs) -> Self {
        lastpass_operator::install_crypto_provider();
        let state = SimState::builder(CID, SecretString::from(PROVHASH))
            .knobs(knobs)
            .build();
        let sim = RunningSimulator::start(state).await.unwrap();
        let client = Client::new(config(&sim.url, PROVHASH)).unwrap();
        Self { sim, client }
    }

    /// The simulator's state.
    pub fn state(&self) -> &SimState {
        &self.sim.state
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

    /// Users of the account besides its admin (every simulated account starts with one).
    pub fn people(&self) -> usize {
        self.state()
            .with_store(|s| s.users.values().filter(|u| !u.admin).count())
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

    /// Write calls of the log (anything but `getuserdata`).
    pub fn writes(&self) -> Vec<CallRecord> {
        self.state()
            .calls()
            .into_iter()
            .filter(|c| c.command != "getuserdata")
            .collect()
    }
}

/// Default guards with a budget of `max`.
pub fn budget(max: usize) -> Guards {
    Guards {
        max_per_sync: max,
        ..Guards::default()
    }
}

/// A desired user with no name, groups or attributes.
pub fn user(username: &str) -> DesiredUser {
    DesiredUser {
        username: username.into(),
        full_name: None,
        groups: Default::default(),
        attributes: Default::default(),
        attributes_sent: None,
        suspended: false,
        password_reset_required: true,
        resource: rref(username),
        adopted: false,
    }
}

/// The resource reference the builders give a username.
pub fn rref(username: &str) -> ResourceRef {
    ResourceRef::user(
        "team",
        username.split('@').next().unwrap().replace('.', "-"),
    )
}

/// Builder methods of [`DesiredUser`].
pub trait UserExt {
    /// With a display name.
    fn named(self, name: &str) -> Self;
    /// In these groups.
    fn in_groups(self, groups: &[&str]) -> Self;
    /// Suspended.
    fn suspended(self) -> Self;
}

impl UserExt for DesiredUser {
    fn named(mut self, name: &str) -> Self {
        self.full_name = Some(name.into());
        self
    }
    fn in_groups(mut self, groups: &[&str]) -> Self {
        self.groups = groups.iter().map(|g| g.to_string()).collect();
        self
    }
    fn suspended(mut self) -> Self {
        self.suspended = true;
        self
    }
}

/// Desired state of these users.
pub fn desired(users: Vec<DesiredUser>) -> Desired {
    Desired {
        users: users
            .into_iter()
            .map(|u| (user_key(&u.username), u))
            .collect(),
        ..Desired::default()
    }
}

/// Adds a LastPassGroup.
pub fn with_group(mut d: Desired, name: &str, members: &[&str], policy: GroupPolicy) -> Desired {
    d.groups.insert(
        name.into(),
        DesiredGroup {
            name: name.into(),
            members: members.iter().map(|m| user_key(m)).collect(),
            policy,
            resource: ResourceRef::group("team", name.to_lowercase()),
            ..DesiredGroup::default()
        },
    );
    d
}

/// Marks a user as leaving (its resource is being deleted).
pub fn leaving(mut d: Desired, username: &str, action: DeprovisionAction) -> Desired {
    d.users.remove(&user_key(username));
    d.leaving.insert(
        user_key(username),
        Leaving {
            username: username.into(),
            action,
            resource: rref(username),
            approved_plan: None,
        },
    );
    d
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
