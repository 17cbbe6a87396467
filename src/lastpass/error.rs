//! [`ApiError`]: every way a call can fail, each classified once ([`ErrorClass`]) and given a
//! fixed metric label. No variant holds the provhash or a request body.

use std::time::Duration;

use super::command_kind::CommandKind;

/// What the caller should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Transient: try again later with backoff (the client already retried what it could).
    Retry,
    /// The account may have changed: re-read with `getuserdata` and re-plan; never resend.
    Reobserve,
    /// Will fail again with the same input: report it, do not retry until the input changes.
    Permanent,
    /// Credentials rejected: stop until the Secret changes.
    Auth,
    /// The operator is shutting down (or lost leadership): nothing more is written; the next
    /// leader re-reads the account and carries on.
    Interrupted,
    /// A read came back in a form no decision may rest on (an empty account, no users
    /// collection, pages that do not add up): stop before planning, change and release
    /// nothing, read again later.
    Untrusted,
}

/// A failed LastPass API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The API answered `rc="Authorization Error"`.
    #[error(
        "LastPass rejected the cid/provhash on {command}; check the credentials Secret \
         (keys cid and provhash) and whether the provhash was reset in the Admin Console"
    )]
    Unauthorized {
        /// The command that was refused.
        command: CommandKind,
    },
    /// The API answered `FAIL` (or a non-retryable HTTP status).
    #[error("LastPass refused {command}: {}; fix the input before retrying", messages.join("; "))]
    Failed {
        /// The command that failed.
        command: CommandKind,
        /// The server's messages (free text).
        messages: Vec<String>,
    },
    /// Still throttled (HTTP 429) after every allowed attempt.
    #[error(
        "LastPass throttled {command} {attempts} times in a row; lower spec.sync.rateLimit \
         or wait before the next sync"
    )]
    Throttled {
        /// The throttled command.
        command: CommandKind,
        /// Attempts made.
        attempts: usize,
        /// The last `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// Transiently unavailable (5xx, connection refused, a read that timed out or came back
    /// unreadable) after every allowed attempt; nothing was changed.
    #[error(
        "LastPass was unavailable for {command} after {attempts} attempts ({reason}); will retry later"
    )]
    Unavailable {
        /// The command.
        command: CommandKind,
        /// Attempts made.
        attempts: usize,
        /// The last failure.
        reason: String,
    },
    /// A write was sent but its result is unknown (timeout, dropped connection, unreadable or
    /// unknown reply). It may or may not have been applied.
    #[error("outcome of {command} unknown ({reason}); re-reading the account before any retry")]
    OutcomeUnknown {
        /// The write.
        command: CommandKind,
        /// What went wrong.
        reason: String,
        /// The transport error, when there was one.
        #[source]
        source: Option<reqwest::Error>,
    },
    /// `getuserdata` answered JSON the client cannot understand.
    #[error("could not decode the {command} reply: {source}; the API may have changed")]
    Decode {
        /// The read.
        command: CommandKind,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// The write gate is closed (shutdown or loss of leadership); the write was not sent.
    #[error(
        "{command} not sent: the operator is shutting down or lost leadership; the next leader \
         re-reads the account and carries on"
    )]
    Interrupted {
        /// The write that was held back.
        command: CommandKind,
    },
    /// A `getuserdata` reply no decision may rest on (see `lastpass::trust`). Nothing was
    /// planned, written or released.
    #[error(
        "the LastPass read cannot be trusted: {reason}; nothing was planned, written or \
         released — check spec.lastpass.endpoint and whether the API changed, the next sync \
         reads again"
    )]
    ReadNotTrusted {
        /// What was wrong with the reply (never a secret, never the body).
        reason: String,
    },
    /// The client could not be built from its configuration.
    #[error("invalid LastPass client configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
}

impl ApiError {
    /// What the caller should do about this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Unauthorized { .. } => ErrorClass::Auth,
            Self::Failed { .. } | Self::Config { .. } => ErrorClass::Permanent,
            Self::Throttled { .. } | Self::Unavailable { .. } | Self::Decode { .. } => {
                ErrorClass::Retry
            }
            Self::OutcomeUnknown { .. } => ErrorClass::Reobserve,
            Self::Interrupted { .. } => ErrorClass::Interrupted,
            Self::ReadNotTrusted { .. } => ErrorClass::Untrusted,
        }
    }

    /// A fixed, bounded metric label per variant.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Unauthorized { .. } => "unauthorized",
            Self::Failed { .. } => "failed",
            Self::Throttled { .. } => "throttled",
            Self::Unavailable { .. } => "unavailable",
            Self::OutcomeUnknown { .. } => "outcome_unknown",
            Self::Decode { .. } => "decode",
            Self::Config { .. } => "config",
            Self::Interrupted { .. } => "interrupted",
            Self::ReadNotTrusted { .. } => "read_not_trusted",
        }
    }

    /// The command that failed, if any.
    pub fn command(&self) -> Option<CommandKind> {
        match self {
            Self::Unauthorized { command }
            | Self::Failed { command, .. }
            | Self::Throttled { command, .. }
            | Self::Unavailable { command, .. }
            | Self::OutcomeUnknown { command, .. }
            | Self::Decode { command, .. }
            | Self::Interrupted { command } => Some(*command),
            Self::ReadNotTrusted { .. } => Some(CommandKind::GetUserData),
            Self::Config { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_labels_are_fixed() {
        let c = CommandKind::BatchAdd;
        let cases = [
            (
                ApiError::Unauthorized { command: c },
                ErrorClass::Auth,
                "unauthorized",
            ),
            (
                ApiError::Failed {
                    command: c,
                    messages: vec!["x".into()],
                },
                ErrorClass::Permanent,
                "failed",
            ),
            (
                ApiError::Throttled {
                    command: c,
                    attempts: 3,
                    retry_after: None,
                },
                ErrorClass::Retry,
                "throttled",
            ),
            (
                ApiError::Unavailable {
                    command: c,
                    attempts: 3,
                    reason: "503".into(),
                },
                ErrorClass::Retry,
                "unavailable",
            ),
            (
                ApiError::OutcomeUnknown {
                    command: c,
                    reason: "reset".into(),
                    source: None,
                },
                ErrorClass::Reobserve,
                "outcome_unknown",
            ),
            (
                ApiError::ReadNotTrusted {
                    reason: "no users".into(),
                },
                ErrorClass::Untrusted,
                "read_not_trusted",
            ),
            (
                ApiError::Config {
                    reason: "bad url".into(),
                },
                ErrorClass::Permanent,
                "config",
            ),
        ];
        for (e, class, label) in cases {
            assert_eq!((e.class(), e.metric_label()), (class, label), "{e}");
        }
    }

    #[test]
    fn messages_name_the_command_and_what_to_do() {
        let e = ApiError::OutcomeUnknown {
            command: CommandKind::DelUser,
            reason: "connection closed".into(),
            source: None,
        };
        assert_eq!(
            e.to_string(),
            "outcome of deluser unknown (connection closed); re-reading the account before any retry"
        );
    }
}
