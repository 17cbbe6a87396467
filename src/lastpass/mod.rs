//! LastPass Enterprise API client (reference: `lastpass-api.md`).
//!
//! - [`command`]: [`Command`] and [`CommandKind`], and the one envelope function.
//! - [`batch`]: typed writes ([`Batch`], [`DeleteAction`]) and [`split`] into chunks.
//! - [`reply`]: classification of every answer into one [`Reply`] (§2 of the reference).
//! - [`snapshot`]: decoded `getuserdata` pages and the merged account [`Snapshot`].
//! - [`time`]: [`LastPassZone`], the zone LastPass's zone-less timestamps are read in.
//! - [`trust`]: which `getuserdata` replies a decision may rest on.
//! - [`error`]: [`ApiError`] with [`ApiError::class`] and [`ApiError::metric_label`].
//! - [`config`]: [`ClientConfig`] (the provhash is a redacting `SecretString`).
//! - [`client`]: the HTTP [`Client`]: rate limiting, retries, batching.
//! - [`gate`]: the process-wide write gate closed at shutdown.
//! - [`group_names`]: [`GroupNames`], a user's groups as shared names, and their [`Interner`].
//!
//! The engine talks to an account through the [`LastPass`] trait, implemented by [`Client`]
//! for the real API and the simulator alike.

pub mod batch;
pub mod client;
pub mod command;
pub mod command_kind;
pub mod config;
pub mod error;
pub mod gate;
pub mod group_names;
pub mod reply;
pub mod snapshot;
pub mod time;
pub mod trust;
mod wire;

use std::future::Future;

pub use batch::{Batch, DeleteAction, GroupChange, NewUser, UserUpdate, split};
pub use client::{BatchReport, Client};
pub use command::{Command, UserQuery};
pub use command_kind::CommandKind;
pub use config::{ClientConfig, DEFAULT_ENDPOINT, RateLimit, RetryPolicy, insecure_endpoint};
pub use error::{ApiError, ErrorClass};
pub use group_names::{GroupNames, Interner};
pub use reply::{Reply, UserFailure};
pub use snapshot::{Snapshot, User, UserPage, UsersShape};
pub use time::{DEFAULT_TIME_ZONE, LastPassZone, UnknownTimeZone};

/// One LastPass account, as the engine sees it.
pub trait LastPass: Send + Sync {
    /// Reads the whole account with paged `getuserdata`. Never writes. A read no decision may
    /// rest on (no users collection, no user at all, pages that do not add up) is
    /// [`ApiError::ReadNotTrusted`], never an empty snapshot.
    fn observe(&self) -> impl Future<Output = Result<Snapshot, ApiError>> + Send;

    /// Reads one user with `getuserdata` filtered by `username`. Never writes. `Ok(None)` is the
    /// documented no-match reply: it means "absent" only next to a trusted whole-account read
    /// of the same sync that did not list the user either.
    fn observe_user(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<User>, ApiError>> + Send;

    /// Sends one write (bulk writes split into chunks of the configured batch size). A lost
    /// reply is [`ApiError::OutcomeUnknown`]: re-observe, never resend. A partial result is
    /// `Ok` with [`BatchReport::failures`].
    fn execute(&self, batch: &Batch) -> impl Future<Output = Result<BatchReport, ApiError>> + Send;
}

impl LastPass for Client {
    fn observe(&self) -> impl Future<Output = Result<Snapshot, ApiError>> + Send {
        Client::observe(self)
    }

    fn observe_user(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<User>, ApiError>> + Send {
        Client::observe_user(self, username)
    }

    fn execute(&self, batch: &Batch) -> impl Future<Output = Result<BatchReport, ApiError>> + Send {
        Client::execute(self, batch)
    }
}
