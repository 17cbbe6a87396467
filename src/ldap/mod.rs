//! LDAP / Active Directory pull: the AD Connector, Kubernetes-native.
//!
//! An integration with `spec.ldap` is pulled on `spec.ldap.interval`: the directory's users
//! and groups are read and turned into LastPassUser / LastPassGroup resources labelled
//! `lastpass-operator.io/source: ldap`, which the account engine provisions under its usual
//! guards (deletion budget, dry run, deprovision action). One pull, step by step:
//!
//! 1. [`config`]: the integration's `spec.ldap`, its bind Secret and CA bundle, validated.
//! 2. [`connect`]: `ldap://` + StartTLS or `ldaps://`, simple bind, timeouts.
//! 3. [`read`]: [`search`]'s paged subtree searches (the paged results control, RFC 2696),
//!    [`ranged`] member lists (`member;range=`), nesting resolved by Active Directory
//!    (LDAP_MATCHING_RULE_IN_CHAIN) or by the operator; [`ad`] decodes AD's encodings.
//! 4. [`directory`]: entries mapped to directory users and groups (attribute mapping,
//!    disabled or expired accounts, stable ids, primary groups); [`membership`] flattens
//!    nested groups, cycle-safe.
//! 5. [`desired`]: a pure function from that snapshot to the desired resources, named by
//!    [`crate::naming`].
//! 6. [`reconcile`]: a pure diff of desired against the resources in the cluster, touching
//!    only resources of source `ldap` for this integration; [`apply`] carries it out.
//!    [`plan`] runs 5, 6 and 7 together, without I/O.
//! 7. [`safeguard`]: a pull deleting more than `maxPerSync` / `maxPercent` of its users, or
//!    seeing no user, deletes nothing until its id is approved or rejected.
//! 8. [`status`]: `status.ldap` and the `LdapReachable` / `LdapSynced` / `LdapDeletionsHeld`
//!    conditions.
//!
//! [`pull_once`] runs one pull; [`run`] pulls every integration with `spec.ldap` on its
//! interval. A resource that leaves the directory (within the safeguard, or approved) is
//! deleted, and the engine's finalizer deprovisions it.

pub mod ad;
pub mod apply;
pub mod config;
pub mod connect;
pub mod desired;
pub mod directory;
mod error;
pub mod events;
pub mod membership;
pub mod plan;
mod pull;
pub mod ranged;
pub mod read;
pub mod reconcile;
mod run;
pub mod safeguard;
pub mod search;
pub mod status;

pub use error::Error;
pub use pull::{PullReport, pull_once, synced};
pub use run::{Schedule, run};

/// Field manager of every write of the LDAP puller (resources and integration status).
pub const FIELD_MANAGER: &str = "lastpass-operator-ldap";

/// Value of [`crate::crd::SOURCE_LABEL`] on resources the LDAP puller owns.
pub const SOURCE_LDAP: &str = "ldap";

/// Annotation on an LDAP-sourced LastPassUser: the directory entry's stable id
/// (`spec.ldap.attributes.stableID`, AD's `objectGUID`), which survives renames of the entry.
pub const STABLE_ID_ANNOTATION: &str = "lastpass-operator.io/ldap-stable-id";

/// Label naming the DirectoryIntegration an LDAP-sourced resource was pulled for.
pub const INTEGRATION_LABEL: &str = "lastpass-operator.io/integration";
