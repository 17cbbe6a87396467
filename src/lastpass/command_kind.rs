//! The wire name of a command without its data ([`CommandKind`]): what errors, logs, metric
//! labels and the planner name a command by.

use std::fmt;

/// The wire name of a command, without its data: used in errors, logs and metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CommandKind {
    /// `getuserdata`: read users and groups (paged).
    GetUserData,
    /// `batchadd`: create (or update) users.
    BatchAdd,
    /// `updateuser`: change a user's full name.
    UpdateUser,
    /// `batchchangegrp`: add users to and remove them from groups.
    BatchChangeGrp,
    /// `deluser`: deactivate, remove from company or delete a user.
    DelUser,
    /// `disableuser`: block users' logins.
    DisableUser,
    /// `enableuser`: re-enable disabled users.
    EnableUser,
    /// `reinviteuser`: resend an invitation e-mail.
    ReinviteUser,
    /// `resetpassword`: e-mail a password reset link.
    ResetPassword,
}

impl CommandKind {
    /// The `cmd` value on the wire; also a bounded metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GetUserData => "getuserdata",
            Self::BatchAdd => "batchadd",
            Self::UpdateUser => "updateuser",
            Self::BatchChangeGrp => "batchchangegrp",
            Self::DelUser => "deluser",
            Self::DisableUser => "disableuser",
            Self::EnableUser => "enableuser",
            Self::ReinviteUser => "reinviteuser",
            Self::ResetPassword => "resetpassword",
        }
    }

    /// Whether the command changes the account (its lost reply is an unknown outcome).
    pub fn is_write(self) -> bool {
        self != Self::GetUserData
    }
}

impl fmt::Display for CommandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
