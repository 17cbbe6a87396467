//! [`SimState`]: the shared state of one simulator (credentials, account, knobs, call log,
//! queued faults), cheap to clone, and its builder.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::knobs::{Knobs, PendingFault};
use super::store::{ConsoleEdit, SeedUser, Store};

/// Default API path, as on lastpass.com.
pub const DEFAULT_PATH: &str = "/enterpriseapi.php";

/// How the simulator answered one API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A read answered with data.
    Data,
    /// `{"status":"OK"}`.
    Ok,
    /// `WARN` with per-user errors (the rest applied).
    Warn,
    /// `FAIL`: nothing applied.
    Fail,
    /// The `success` form of `disableuser`/`enableuser`.
    Success,
    /// The XML authorization error.
    AuthError,
    /// HTTP 429.
    Throttled,
    /// HTTP 503 (injected).
    ServerError,
    /// An HTML page with HTTP 200 (injected, not applied).
    Html,
    /// Applied, empty body (injected).
    Empty,
    /// Applied, truncated body (injected).
    Truncated,
    /// Connection closed without an answer (applied unless the fault said before).
    Dropped,
}

/// One entry of the call log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// 1-based number of the call since start (not reset with the log).
    pub seq: u64,
    /// When the call arrived.
    pub at: Timestamp,
    /// `cmd` (empty when unreadable).
    pub command: String,
    /// Usernames the call named.
    pub targets: Vec<String>,
    /// `pageindex` of a paged read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_index: Option<u64>,
    /// `pagesize` of a paged read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u64>,
    /// How it was answered.
    pub outcome: Outcome,
}

/// `getuserdata` calls answered with data since start (not reset with the call log), so tests
/// can wait until the operator provably read the account instead of sleeping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadCounts {
    /// Whole-account reads (no username, `disabled` or `admin` filter), one per page.
    pub whole: u64,
    /// Filtered reads (by username, `disabled` or `admin`).
    pub filtered: u64,
}

/// Everything behind the lock.
#[derive(Debug, Default)]
pub(crate) struct World {
    pub(crate) store: Store,
    pub(crate) knobs: Knobs,
    pub(crate) calls: Vec<CallRecord>,
    pub(crate) faults: VecDeque<PendingFault>,
    pub(crate) seq: u64,
    pub(crate) reads: ReadCounts,
}

/// Username of the admin every simulated account starts with: a real account always holds
/// its admin (whose provisioning hash the operator uses).
pub const DEFAULT_ADMIN: &str = "admin@example.com";

pub(crate) struct Shared {
    pub(crate) cid: String,
    pub(crate) provhash: SecretString,
    pub(crate) path: String,
    pub(crate) world: Mutex<World>,
}

/// The state of one simulator; clones share it.
#[derive(Clone)]
pub struct SimState {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimState")
            .field("cid", &self.shared.cid)
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

/// Builds a [`SimState`].
#[derive(Debug)]
pub struct SimBuilder {
    cid: String,
    provhash: SecretString,
    path: String,
    knobs: Knobs,
    store: Store,
    admin: Option<String>,
}

impl SimBuilder {
    /// The account's admin (default [`DEFAULT_ADMIN`]); added, active and `admin: true`, when
    /// the starting account has no admin.
    #[must_use]
    pub fn admin(mut self, username: impl Into<String>) -> Self {
        self.admin = Some(username.into());
        self
    }

    /// Starts without adding an admin: an account no real LastPass tenant can be (for tests of
    /// what the operator does with such reads).
    #[must_use]
    pub fn without_admin(mut self) -> Self {
        self.admin = None;
        self
    }

    /// Serves the API on this path instead of `/enterpriseapi.php`.
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Sets every knob.
    #[must_use]
    pub fn knobs(mut self, knobs: Knobs) -> Self {
        self.knobs = knobs;
        self
    }

    /// Starts from this account (e.g. loaded with [`Store::load`]).
    #[must_use]
    pub fn store(mut self, store: Store) -> Self {
        self.store = store;
        self
    }

    /// The state.
    pub fn build(self) -> SimState {
        let mut store = self.store;
        if let Some(admin) = &self.admin
            && !store.users.values().any(|u| u.admin)
        {
            let seed = SeedUser {
                username: admin.clone(),
                fullname: "Account Admin".into(),
                admin: true,
                active: true,
                ..SeedUser::default()
            };
            store.seed(&[seed], &self.knobs, Timestamp::now());
        }
        let world = World {
            store,
            knobs: self.knobs,
            ..World::default()
        };
        SimState {
            shared: Arc::new(Shared {
                cid: self.cid,
                provhash: self.provhash,
                path: self.path,
                world: Mutex::new(world),
            }),
        }
    }
}

impl SimState {
    /// A builder for an account with these credentials.
    pub fn builder(cid: impl Into<String>, provhash: SecretString) -> SimBuilder {
        SimBuilder {
            cid: cid.into(),
            provhash,
            path: DEFAULT_PATH.to_string(),
            knobs: Knobs::default(),
            store: Store::default(),
            admin: Some(DEFAULT_ADMIN.to_string()),
        }
    }

    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.shared
            .world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a request's `cid` (number or string) and `provhash` are the account's.
    pub(crate) fn authorized(
        &self,
        cid: Option<&serde_json::Value>,
        provhash: Option<&str>,
    ) -> bool {
        let cid_ok = match cid {
            Some(serde_json::Value::Number(n)) => n.to_string() == self.shared.cid,
            Some(serde_json::Value::String(s)) => s.trim() == self.shared.cid,
            _ => false,
        };
        cid_ok && provhash.is_some_and(|p| p == self.shared.provhash.expose_secret())
    }

    /// The API path.
    pub fn path(&self) -> &str {
        &self.shared.path
    }

    /// A copy of the account.
    pub fn store(&self) -> Store {
        self.world().store.clone()
    }

    /// Runs `f` on the account without copying it.
    pub fn with_store<R>(&self, f: impl FnOnce(&Store) -> R) -> R {
        f(&self.world().store)
    }

    /// The call log.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.world().calls.clone()
    }

    /// `getuserdata` calls answered so far, whole-account and filtered.
    pub fn read_counts(&self) -> ReadCounts {
        self.world().reads
    }

    /// Empties the call log.
    pub fn clear_calls(&self) {
        self.world().calls.clear();
    }

    /// The current knobs.
    pub fn knobs(&self) -> Knobs {
        self.world().knobs.clone()
    }

    /// Replaces the knobs.
    pub fn set_knobs(&self, knobs: Knobs) {
        self.world().knobs = knobs;
    }

    /// Queues a fault for the next matching API call.
    pub fn push_fault(&self, fault: PendingFault) {
        self.world().faults.push_back(fault);
    }

    /// Creates users as a console admin would; returns their ids.
    pub fn seed(&self, users: &[SeedUser]) -> Vec<u64> {
        let mut w = self.world();
        let World { store, knobs, .. } = &mut *w;
        store.seed(users, knobs, Timestamp::now())
    }

    /// Edits a user as a console admin would; `false` if unknown.
    pub fn edit(&self, username: &str, edit: &ConsoleEdit) -> bool {
        let mut w = self.world();
        let World { store, knobs, .. } = &mut *w;
        store.edit(username, edit, knobs)
    }

    /// Deletes a user in the console; `false` if unknown.
    pub fn delete_user(&self, username: &str) -> bool {
        let mut w = self.world();
        let World { store, knobs, .. } = &mut *w;
        store.remove(&username.to_lowercase(), knobs).is_some()
    }

    /// The user logs in (an invited user becomes active); `false` if unknown.
    pub fn login(&self, username: &str) -> bool {
        self.world().store.login(username, Timestamp::now())
    }

    /// Saves the account as JSON.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let store = self.store();
        store.save(path)
    }
}
