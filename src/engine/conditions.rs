//! Conditions and the reasons shared by conditions and Events.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Condition types of the operator's resources.
pub mod types {
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
}

/// Why a condition has its status; also the `reason` of Events. CamelCase on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Reason {
    Active,
    Invited,
    Suspended,
    Provisioning,
    Deprovisioning,
    DeprovisionBlocked,
    DeleteNotAllowed,
    DryRun,
    SeatsExhausted,
    LastPassRejected,
    IntegrationNotFound,
    IntegrationNotAllowed,
    UsernameConflict,
    GroupNameConflict,
    InvalidSelector,
    InvalidUsername,
    InvalidMember,
    UsernameChanged,
    GroupNameChanged,
    IntegrationRefChanged,
    InitialPasswordConflict,
    CrossNamespaceReference,
    CredentialsInvalid,
    CredentialsMissing,
    CredentialsAccepted,
    LastPassUnavailable,
    OutcomeUnknown,
    Interrupted,
    ReadNotTrusted,
    SyncSucceeded,
    SyncFailed,
    WithinBudget,
    SeatsAvailable,
    MembersMissing,
    MembersInSync,
    Pending,
    /// The integration breaks a rule of its CRD (checked by the operator where there is no CEL).
    InvalidSpec,
    /// `spec.lastpass.endpoint` is plain http off loopback: nothing is sent to it.
    InsecureEndpoint,
    GroupTakeoverPending,
    TakeoverNotNeeded,
    PlanRejected,
    PlanApproved,
    /// One Event summarising the invitations, updates and membership changes of a bulk plan.
    BulkApplied,
}

impl Reason {
    /// The CamelCase string written to the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Invited => "Invited",
            Self::Suspended => "Suspended",
            Self::Provisioning => "Provisioning",
            Self::Deprovisioning => "Deprovisioning",
            Self::DeprovisionBlocked => "DeprovisionBlocked",
            Self::DeleteNotAllowed => "DeleteNotAllowed",
            Self::DryRun => "DryRun",
            Self::SeatsExhausted => "SeatsExhausted",
            Self::LastPassRejected => "LastPassRejected",
            Self::IntegrationNotFound => "IntegrationNotFound",
            Self::IntegrationNotAllowed => "IntegrationNotAllowed",
            Self::UsernameConflict => "UsernameConflict",
            Self::GroupNameConflict => "GroupNameConflict",
            Self::InvalidUsername => "InvalidUsername",
            Self::InvalidMember => "InvalidMember",
            Self::UsernameChanged => "UsernameChanged",
            Self::GroupNameChanged => "GroupNameChanged",
            Self::IntegrationRefChanged => "IntegrationRefChanged",
            Self::InitialPasswordConflict => "InitialPasswordConflict",
            Self::CrossNamespaceReference => "CrossNamespaceReference",
            Self::InvalidSelector => "InvalidSelector",
            Self::CredentialsInvalid => "CredentialsInvalid",
            Self::CredentialsMissing => "CredentialsMissing",
            Self::CredentialsAccepted => "CredentialsAccepted",
            Self::LastPassUnavailable => "LastPassUnavailable",
            Self::OutcomeUnknown => "OutcomeUnknown",
            Self::Interrupted => "Interrupted",
            Self::ReadNotTrusted => "ReadNotTrusted",
            Self::SyncSucceeded => "SyncSucceeded",
            Self::SyncFailed => "SyncFailed",
            Self::WithinBudget => "WithinBudget",
            Self::SeatsAvailable => "SeatsAvailable",
            Self::MembersMissing => "MembersMissing",
            Self::MembersInSync => "MembersInSync",
            Self::Pending => "Pending",
            Self::InvalidSpec => "InvalidSpec",
            Self::InsecureEndpoint => "InsecureEndpoint",
            Self::GroupTakeoverPending => "GroupTakeoverPending",
            Self::TakeoverNotNeeded => "TakeoverNotNeeded",
            Self::PlanRejected => "PlanRejected",
            Self::PlanApproved => "PlanApproved",
            Self::BulkApplied => "BulkApplied",
        }
    }
}

/// A condition of `type_` with the given truth, reason and message.
pub fn condition(
    type_: &str,
    status: bool,
    reason: Reason,
    message: impl Into<String>,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    // An empty message is written as null by the API types, which the schema refuses.
    let message = match message.into() {
        m if m.is_empty() => reason.as_str().to_string(),
        m => m,
    };
    Condition {
        type_: type_.to_string(),
        status: if status { "True" } else { "False" }.to_string(),
        reason: reason.as_str().to_string(),
        message,
        observed_generation: generation,
        last_transition_time: now.clone(),
    }
}

/// Replaces the same-type condition; keeps `lastTransitionTime` unless the status flips.
/// Returns whether anything but the time changed.
pub fn set_condition(list: &mut Vec<Condition>, mut new: Condition) -> bool {
    match list.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) => {
            if old.status == new.status {
                new.last_transition_time = old.last_transition_time.clone();
            }
            let changed = old.status != new.status
                || old.reason != new.reason
                || old.message != new.message
                || old.observed_generation != new.observed_generation;
            *old = new;
            changed
        }
        None => {
            list.push(new);
            true
        }
    }
}

/// Carries the transition times of `old` into `new` where a condition's status did not flip,
/// so that recomputing a status does not look like a change.
pub fn keep_transition_times(new: &mut [Condition], old: &[Condition]) {
    for c in new.iter_mut() {
        if let Some(o) = old.iter().find(|o| o.type_ == c.type_)
            && o.status == c.status
        {
            c.last_transition_time = o.last_transition_time.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Time {
        Time(jiff::Timestamp::from_second(s).unwrap())
    }

    #[test]
    fn transition_time_moves_only_when_the_status_flips() {
        let mut list = vec![];
        assert!(set_condition(
            &mut list,
            condition(types::READY, false, Reason::Pending, "", Some(1), &at(10))
        ));
        assert!(set_condition(
            &mut list,
            condition(
                types::READY,
                false,
                Reason::Provisioning,
                "x",
                Some(1),
                &at(20)
            )
        ));
        assert_eq!(
            list[0].last_transition_time,
            at(10),
            "same status keeps the time"
        );
        assert!(!set_condition(
            &mut list,
            condition(
                types::READY,
                false,
                Reason::Provisioning,
                "x",
                Some(1),
                &at(30)
            )
        ));
        assert!(set_condition(
            &mut list,
            condition(types::READY, true, Reason::Active, "", Some(1), &at(40))
        ));
        assert_eq!(list[0].last_transition_time, at(40));
        assert_eq!(list.len(), 1);
    }
}
