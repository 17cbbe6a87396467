//! A simulator of the LastPass Enterprise API, served over real HTTP (axum), with the API's
//! semantics and wire quirks (see `lastpass-api.md` §6–§7 and `README-lastpass.md`).
//!
//! - [`state`]: [`SimState`] (credentials, account, knobs, call log) and its builder.
//! - [`store`]: the account: users, ids, groups; console-side edits; JSON persistence.
//! - [`knobs`]: latency, throttling, faults, limits and the §6 behaviour choices.
//! - `read`/`commands`: `getuserdata` and the write commands.
//! - `server`: the API handler and [`serve`]; `admin`: the test-only `/__admin/` API.
//! - [`cli`]: `lastpass-operator simulator`.

mod admin;
pub mod cli;
mod commands;
pub mod knobs;
mod read;
mod server;
mod spawn;
pub mod state;
pub mod store;

use axum::Router;
use axum::routing::post;

pub use commands::password_digest;
pub use knobs::WholeRead;
pub use knobs::{Fault, Knobs, PendingFault, TimestampZone};
pub use server::{AUTH_ERROR, serve};
pub use spawn::RunningSimulator;
pub use state::{
    CallRecord, DEFAULT_ADMIN, DEFAULT_PATH, Outcome, ReadCounts, SimBuilder, SimState,
};
pub use store::{ConsoleEdit, SeedUser, SimUser, Store};

/// The simulator's routes: `POST` on the configured API path, and `/__admin/`.
pub fn router(state: SimState) -> Router {
    let path = state.path().to_string();
    Router::new()
        .route(&path, post(server::api))
        .nest("/__admin", admin::routes())
        .with_state(state)
}

#[cfg(test)]
mod tests;
