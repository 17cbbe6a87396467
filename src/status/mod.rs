//! The status vocabulary of every resource: condition types, the one [`Reason`] enum (for
//! conditions and Events), the condition helpers, the refusal messages, and the write-on-change
//! status writer that the engine's reports, the LDAP pull, the SCIM token manager and the
//! integration controller all go through.
//!
//! A top-level module rather than part of the engine: the writer talks to the Kubernetes API,
//! which the engine does not, and the engine, `ldap`, `scim` and `controller` all sit above it.
//! It imports none of them.

pub mod condition;
pub mod engine_statuses;
pub mod event;
pub mod kstatus;
pub mod reason;
pub mod refusal;
pub mod types;
pub mod writer;

pub use condition::{condition, keep_transition_times, set_condition};
pub use reason::Reason;
