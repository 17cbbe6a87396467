//! The process-wide write gate: closed once at shutdown (SIGTERM) or on loss of leadership.
//!
//! While open, writes go out as usual. Once closed, the write in flight (if any) completes and
//! its reply is read, but no new write starts: [`crate::lastpass::Client::execute`] answers
//! [`crate::lastpass::ApiError::Interrupted`] instead. The engine then re-reads the account
//! (reads stay allowed) and the statuses it writes say what really happened (`Synced=False`,
//! reason `Interrupted`), so a shutdown never leaves a status that claims a change LastPass did
//! not get, nor a change LastPass got but no status shows.
//!
//! It is process-wide on purpose: every account's client must stop at once, and the clients
//! are built per sync deep inside the controllers.

use std::sync::OnceLock;

use tokio::sync::watch;

fn sender() -> &'static watch::Sender<bool> {
    static GATE: OnceLock<watch::Sender<bool>> = OnceLock::new();
    GATE.get_or_init(|| watch::channel(false).0)
}

/// Closes the gate: no LastPass write starts after this call. Idempotent.
pub fn close() {
    sender().send_replace(true);
}

/// Whether writes to LastPass may start.
pub fn is_open() -> bool {
    !*sender().borrow()
}

/// Completes once the gate is closed (at once if it already is).
pub async fn closed() {
    let mut rx = sender().subscribe();
    let _ = rx.wait_for(|closed| *closed).await;
}
