//! The label sets of the operator's metrics. Every label is bounded: commands, outcomes and
//! error labels are fixed strings; `integration` is `<namespace>/<name>` of a
//! DirectoryIntegration.

use prometheus_client::encoding::EncodeLabelSet;

/// Labels `command`, `outcome`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandOutcome {
    /// The LastPass command (`getuserdata`, `batchadd`, ...).
    pub command: String,
    /// How the HTTP exchange ended (`success`, `partial`, `permanent`, `retryable`, `auth`,
    /// `unknown_outcome`, `transport`).
    pub outcome: String,
}

/// Label `command`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandLabel {
    /// The LastPass command.
    pub command: String,
}

/// Label `outcome`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// `success` or the error's metric label.
    pub outcome: String,
}

/// Label `integration`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntegrationLabel {
    /// `<namespace>/<name>` of the DirectoryIntegration.
    pub integration: String,
}

/// Labels `integration`, `phase`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntegrationPhase {
    /// `<namespace>/<name>` of the DirectoryIntegration.
    pub integration: String,
    /// The LastPassUser phase (`Pending`, `Invited`, `Active`, ...).
    pub phase: String,
}

/// Labels `kind`, `error`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindError {
    /// The resource kind whose reconcile or sync failed.
    pub kind: String,
    /// The error's fixed metric label.
    pub error: String,
}

/// Labels `integration`, `source`, `action` of a revocation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RevocationLabels {
    /// `<namespace>/<name>` of the DirectoryIntegration.
    pub integration: String,
    /// Where the user's resource came from (`git`, `scim`, `ldap`, `adopted`, `other`).
    pub source: String,
    /// `Deactivate`, `RemoveFromCompany`, `Delete` or `Suspend`.
    pub action: String,
}

/// Labels `integration`, `outcome`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntegrationOutcome {
    /// `<namespace>/<name>` of the DirectoryIntegration.
    pub integration: String,
    /// `success` or the error's fixed metric label.
    pub outcome: String,
}

/// Labels `method`, `code` of a SCIM request (both from fixed sets).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodCode {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE` or `other`.
    pub method: String,
    /// The HTTP status code.
    pub code: String,
}

/// Label `kind`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// `LastPassUser`, `LastPassGroup`, ...
    pub kind: String,
}

/// Label `reason` of a failed SCIM authentication.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// Why authentication failed (`missing_token`, `unknown_integration`, `wrong_token`, ...).
    pub reason: String,
}
