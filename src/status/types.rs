//! Every condition type the operator writes, whichever writer owns it.

/// The resource is what it declares (Argo CD health reads this).
pub const READY: &str = "Ready";
/// The last sync of the resource succeeded.
pub const SYNCED: &str = "Synced";
/// The LastPass credentials were accepted.
pub const CREDENTIALS_VALID: &str = "CredentialsValid";
/// The safeguard holds the destructive part of a plan (deprovisions, suspensions,
/// membership removals) until a person approves or rejects it.
pub const DEPROVISION_BLOCKED: &str = "DeprovisionBlocked";
/// LastPass refused invitations for want of seats.
pub const SEATS_EXHAUSTED: &str = "SeatsExhausted";
/// A directory-made group is held Additive over a LastPass group with members the
/// operator does not manage, until the `lastpass-operator.io/take-over` annotation.
pub const GROUP_TAKEOVER_PENDING: &str = "GroupTakeoverPending";
/// kstatus's in-progress condition (see [`super::kstatus`]).
pub const RECONCILING: &str = "Reconciling";
/// kstatus's failed condition: the operator cannot go on without a person.
pub const STALLED: &str = "Stalled";
/// LDAP pull: the directory was reached, TLS worked, the bind and the searches succeeded.
pub const LDAP_REACHABLE: &str = "LdapReachable";
/// LDAP pull: the resources match the directory (no skipped entries, no failed writes).
pub const LDAP_SYNCED: &str = "LdapSynced";
/// LDAP pull: the last pull's deletions are held by the safeguard until approved or rejected.
pub const LDAP_DELETIONS_HELD: &str = "LdapDeletionsHeld";
/// SCIM: the bearer token is in its Secret.
pub const TOKEN_READY: &str = "TokenReady";
