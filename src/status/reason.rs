//! The one `Reason` enum: the `reason` of every condition and every Event the operator writes.

/// Declares [`Reason`] from one list: each variant's wire string is its name.
macro_rules! reasons {
    ($($(#[doc = $doc:literal])* $name:ident,)*) => {
        /// Why a condition has its status, or why an Event was published. CamelCase on the wire.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Reason {
            $($(#[doc = $doc])* $name,)*
        }

        impl Reason {
            /// Every reason, in declaration order.
            pub const ALL: &'static [Reason] = &[$(Reason::$name,)*];

            /// The CamelCase string written to the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$name => stringify!($name),)*
                }
            }
        }
    };
}

reasons! {
    // A user's or group's state in LastPass.
    /// The account is active in LastPass.
    Active,
    /// Invited; the person has not logged in yet. Also the Event of an invitation.
    Invited,
    /// Disabled in LastPass. Also the Event of a suspension.
    Suspended,
    /// Being created in LastPass.
    Provisioning,
    /// Being deprovisioned in LastPass.
    Deprovisioning,
    /// Not yet planned for.
    Pending,
    // Refusals and conflicts found in the resources.
    /// The safeguard holds the plan's destructive part. Also its Event.
    DeprovisionBlocked,
    /// `deprovisionAction: Delete` without `allowDelete` on the integration.
    DeleteNotAllowed,
    /// The integration is a dry run: nothing is sent to LastPass.
    DryRun,
    /// LastPass has no seats left for invitations.
    SeatsExhausted,
    /// LastPass refused a change. Also its Event.
    LastPassRejected,
    /// `spec.integrationRef` names no DirectoryIntegration. Also its Event.
    IntegrationNotFound,
    /// The integration does not admit the resource's namespace.
    IntegrationNotAllowed,
    /// Another resource owns the username.
    UsernameConflict,
    /// Another resource owns the group name.
    GroupNameConflict,
    /// A label selector does not parse.
    InvalidSelector,
    /// The username is no e-mail address.
    InvalidUsername,
    /// A group member cannot be resolved.
    InvalidMember,
    /// The username changed after binding (LastPass cannot rename).
    UsernameChanged,
    /// The group name changed after binding.
    GroupNameChanged,
    /// The integration reference changed after binding.
    IntegrationRefChanged,
    /// `initialPassword` conflicts with the integration's settings.
    InitialPasswordConflict,
    /// A reference to another namespace that is not allowed.
    CrossNamespaceReference,
    /// The integration breaks a rule of its CRD (checked by the operator where there is no CEL).
    InvalidSpec,
    /// `spec.lastpass.endpoint` is plain http off loopback: nothing is sent to it.
    InsecureEndpoint,
    // The account and its syncs.
    /// LastPass refused the credentials. Also its Event.
    CredentialsInvalid,
    /// The credentials Secret is missing or incomplete. Also its Event.
    CredentialsMissing,
    /// LastPass accepted the credentials.
    CredentialsAccepted,
    /// LastPass did not answer or failed; retried.
    LastPassUnavailable,
    /// A write's outcome is unknown; the account is read again before anything else.
    OutcomeUnknown,
    /// The sync was interrupted (shutdown).
    Interrupted,
    /// A read of the account was not trusted (see the trusted-read rules). Also its Event.
    ReadNotTrusted,
    /// The last sync succeeded.
    SyncSucceeded,
    /// The last sync failed. Also its Event.
    SyncFailed,
    /// The plan's deletions are within the safeguard's budget.
    WithinBudget,
    /// LastPass has seats for the invitations.
    SeatsAvailable,
    /// A group has members the operator does not manage yet.
    MembersMissing,
    /// A group's members are what the resources declare.
    MembersInSync,
    /// A directory-made group waits for the take-over annotation. Also its Event.
    GroupTakeoverPending,
    /// No take-over is needed.
    TakeoverNotNeeded,
    /// A held plan was rejected with the annotation. Also its Event.
    PlanRejected,
    /// A held plan was approved with the annotation. Also its Event.
    PlanApproved,
    // Events of applied changes.
    /// Event: a LastPass profile was updated.
    Updated,
    /// Event: a user's LastPass group memberships changed.
    GroupsChanged,
    /// Event: a user was deprovisioned in LastPass.
    Deprovisioned,
    /// Event: a user was enabled in LastPass again.
    Enabled,
    /// Event: an invitation was sent again.
    Reinvited,
    /// Event: a password reset was e-mailed.
    PasswordReset,
    /// Event: a user was read.
    Observed,
    /// Event: LastPass confirmed a deprovision or suspension (with its latency).
    Revoked,
    /// Event: a dry run's plan changed.
    DryRunPlan,
    /// Event: changes were applied to repair drift.
    Synced,
    /// Event: the invitations, updates and membership changes of a bulk plan, in one summary.
    BulkApplied,
    // The SCIM bearer token.
    /// The token is in its Secret. Also the Event of a mint.
    TokenMinted,
    /// Event: the token was rotated.
    TokenRotated,
    /// Event: the previous token has 10 % of its overlap left.
    PreviousTokenExpiring,
    /// The token cannot be managed (its error says why).
    TokenError,
    // The LDAP pull.
    /// The pull worked.
    Ok,
    /// `spec.ldap` is invalid.
    ConfigInvalid,
    /// The bind or CA Secret is missing or incomplete.
    SecretInvalid,
    /// TCP connection failed.
    Unreachable,
    /// TLS failed.
    TlsFailed,
    /// A timeout expired.
    Timeout,
    /// The bind was refused.
    BindFailed,
    /// A search failed.
    SearchFailed,
    /// The Kubernetes API failed.
    ApiFailed,
    /// Some directory entries were skipped (duplicates, claimed names, no username).
    Conflicts,
    /// A directory user's e-mail changed; the pull does not rename LastPass users.
    EmailChanged,
    /// The directory was not read, so nothing was synced.
    PullFailed,
    /// The safeguard holds the pull's deletions (more than the limits allow).
    OverSafeguard,
    /// The user search returned no user: the pull is held as a whole.
    NoUsersSeen,
    /// The held deletions were rejected with `lastpass-operator.io/reject-plan`.
    PullRejected,
    /// The held deletions were approved with `lastpass-operator.io/approve-plan`.
    PullApproved,
    /// The pull's deletions were within the safeguard.
    WithinSafeguard,
    /// Event: a pull's deletions are held by the safeguard.
    LdapDeletionsHeld,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_wire_string_is_unique_and_camel_case() {
        let strings: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        let unique: BTreeSet<&str> = strings.iter().copied().collect();
        assert_eq!(unique.len(), strings.len(), "a reason written twice");
        for s in strings {
            let mut chars = s.chars();
            assert!(
                chars.next().is_some_and(|c| c.is_ascii_uppercase())
                    && chars.all(|c| c.is_ascii_alphanumeric()),
                "{s} is not CamelCase"
            );
        }
    }

    #[test]
    fn wire_strings_are_those_already_written() {
        // A few that tests, alerts and dashboards read.
        assert_eq!(Reason::DeprovisionBlocked.as_str(), "DeprovisionBlocked");
        assert_eq!(Reason::ReadNotTrusted.as_str(), "ReadNotTrusted");
        assert_eq!(Reason::TokenMinted.as_str(), "TokenMinted");
        assert_eq!(Reason::Ok.as_str(), "Ok");
    }
}
