//! Reply classification (§2 of the API reference): every HTTP answer becomes exactly one
//! [`Reply`]. Pure functions, no I/O; the client turns replies into results and errors.

use std::time::Duration;

use serde_json::Value;

use super::command_kind::CommandKind;
use super::wire::value_to_strings;

/// One per-user failure inside a partial result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFailure {
    /// The target the message names, when one of the batch's usernames appears in it.
    pub username: Option<String>,
    /// The server's message (free text: diagnostics only).
    pub message: String,
}

/// The class of one reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `OK`/`success` with no errors; for a read, a JSON body without a failure status (the
    /// caller decodes the bytes it classified).
    Success {
        /// Targets a bulk `success` reply lists as `unchanged_users`.
        unchanged: Vec<String>,
    },
    /// Some targets failed, the others were applied: re-read those users.
    Partial {
        /// What failed, per user where the message names one.
        failures: Vec<UserFailure>,
        /// Targets a bulk reply lists as unchanged.
        unchanged: Vec<String>,
    },
    /// `FAIL`: nothing to retry until the input changes.
    Permanent {
        /// The server's messages.
        messages: Vec<String>,
    },
    /// Throttled or transiently unavailable: back off and try again.
    Retryable {
        /// Server-requested wait (`Retry-After`), which wins over the backoff.
        retry_after: Option<Duration>,
        /// What happened, for errors and logs.
        reason: String,
    },
    /// XML `rc="Authorization Error"`: bad cid or provhash.
    Auth,
    /// A write may or may not have been applied: re-read and re-plan, never resend blind.
    UnknownOutcome {
        /// What happened, for errors and logs.
        reason: String,
    },
}

impl Reply {
    /// Replaces every `secret` in the server's free text with `[redacted]`: an upstream may
    /// echo the request (its provhash, a new user's password) in an error, and that text goes
    /// on to errors, logs, statuses and Events.
    pub fn redact(&mut self, secrets: &[String]) {
        let texts: Vec<&mut String> = match self {
            Reply::Partial { failures, .. } => {
                failures.iter_mut().map(|f| &mut f.message).collect()
            }
            Reply::Permanent { messages } => messages.iter_mut().collect(),
            Reply::Retryable { reason, .. } | Reply::UnknownOutcome { reason } => vec![reason],
            Reply::Success { .. } | Reply::Auth => Vec::new(),
        };
        for text in texts {
            for secret in secrets.iter().filter(|s| !s.is_empty()) {
                if text.contains(secret.as_str()) {
                    *text = text.replace(secret.as_str(), "[redacted]");
                }
            }
        }
    }
}

/// The secrets a request body carries: every string under a `provhash` or `password` key.
pub fn request_secrets(body: &[u8]) -> Vec<String> {
    fn collect(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("provhash" | "password", Value::String(s)) => out.push(s.clone()),
                        _ => collect(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        collect(&v, &mut out);
    }
    out
}

/// The longest `Retry-After` honoured; longer requests are capped to this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// Parses `Retry-After` as delta-seconds or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let when = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let wait = when.duration_since(jiff::Timestamp::now());
    Some(
        Duration::try_from(wait)
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

/// Classifies one HTTP answer to `kind` sent for `targets`.
pub fn classify(
    kind: CommandKind,
    targets: &[&str],
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
) -> Reply {
    let write = kind.is_write();
    let lost = |reason: String| {
        if write {
            Reply::UnknownOutcome { reason }
        } else {
            Reply::Retryable {
                retry_after: None,
                reason,
            }
        }
    };
    match status {
        429 => {
            return Reply::Retryable {
                retry_after: retry_after.and_then(parse_retry_after),
                reason: "HTTP 429 Too Many Requests".into(),
            };
        }
        408 | 500..=599 => {
            return Reply::Retryable {
                retry_after: retry_after.and_then(parse_retry_after),
                reason: format!("HTTP {status}"),
            };
        }
        200..=299 => {}
        other => {
            return Reply::Permanent {
                messages: vec![format!("HTTP {other}")],
            };
        }
    }
    let text = trim_start(body);
    match text.first() {
        None => lost("empty body".into()),
        Some(b'<') => {
            if contains(text, b"rc=\"Authorization Error\"") {
                Reply::Auth
            } else {
                lost("XML or HTML body instead of JSON".into())
            }
        }
        Some(b'[') if !write => match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
            Ok(_) => Reply::Success { unchanged: vec![] },
            Err(e) => lost(format!("malformed JSON body ({e})")),
        },
        Some(b'{') if !write => match serde_json::from_slice::<ReadProbe>(text) {
            Ok(p) => classify_read(p),
            Err(e) => lost(format!("malformed JSON body ({e})")),
        },
        Some(b'{' | b'[') => match serde_json::from_slice::<Value>(text) {
            Ok(v) => classify_write(kind, targets, v),
            Err(e) => lost(format!("malformed JSON body ({e})")),
        },
        Some(_) => lost("body is neither JSON nor XML".into()),
    }
}

fn trim_start(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    &b[start..]
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn status_of(v: &Value) -> Option<String> {
    v.get("status")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
}

fn messages_of(v: &Value) -> Vec<String> {
    let mut m = v.get("error").map(value_to_strings).unwrap_or_default();
    m.extend(v.get("errors").map(value_to_strings).unwrap_or_default());
    m
}

/// The parts of a read's body that matter for classification; the rest is skipped without
/// building a tree (pages are large).
#[derive(serde::Deserialize)]
struct ReadProbe {
    #[serde(default)]
    status: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    errors: Option<Value>,
}

fn classify_read(p: ReadProbe) -> Reply {
    let failed = p
        .status
        .as_ref()
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("fail"));
    if failed {
        let mut messages = p.error.as_ref().map(value_to_strings).unwrap_or_default();
        messages.extend(p.errors.as_ref().map(value_to_strings).unwrap_or_default());
        Reply::Permanent { messages }
    } else {
        Reply::Success { unchanged: vec![] }
    }
}

fn classify_write(kind: CommandKind, targets: &[&str], v: Value) -> Reply {
    let Some(status) = status_of(&v) else {
        return Reply::UnknownOutcome {
            reason: format!("{kind} reply has no status"),
        };
    };
    let messages = messages_of(&v);
    match status.as_str() {
        "ok" if messages.is_empty() => Reply::Success { unchanged: vec![] },
        "ok" | "warn" => Reply::Partial {
            failures: failures(targets, messages),
            unchanged: vec![],
        },
        "fail" => Reply::Permanent { messages },
        "success" => classify_bulk(kind, targets, &v, messages),
        other => Reply::UnknownOutcome {
            reason: format!("{kind} reply has unknown status {other:?}"),
        },
    }
}

/// `disableuser`/`enableuser`: every target must be in a result list.
fn classify_bulk(kind: CommandKind, targets: &[&str], v: &Value, messages: Vec<String>) -> Reply {
    let list = |key: &str| v.get(key).map(value_to_strings).unwrap_or_default();
    let done_key = match kind {
        CommandKind::EnableUser => "enabled_users",
        _ => "disabled_users",
    };
    let done: Vec<String> = list(done_key);
    let unchanged = list("unchanged_users");
    let listed = |t: &str| {
        done.iter()
            .chain(&unchanged)
            .any(|u| u.eq_ignore_ascii_case(t))
    };
    let mut fails = failures(targets, messages);
    for t in targets.iter().filter(|t| !listed(t)) {
        if !fails.iter().any(|f| f.username.as_deref() == Some(*t)) {
            fails.push(UserFailure {
                username: Some((*t).to_string()),
                message: format!("{t} is missing from {done_key} and unchanged_users"),
            });
        }
    }
    if fails.is_empty() {
        Reply::Success { unchanged }
    } else {
        Reply::Partial {
            failures: fails,
            unchanged,
        }
    }
}

/// Attributes each message to the longest target username it mentions.
fn failures(targets: &[&str], messages: Vec<String>) -> Vec<UserFailure> {
    messages
        .into_iter()
        .map(|message| {
            let lower = message.to_lowercase();
            let username = targets
                .iter()
                .filter(|t| !t.is_empty() && lower.contains(&t.to_lowercase()))
                .max_by_key(|t| t.len())
                .map(|t| (*t).to_string());
            UserFailure { username, message }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::CommandKind::*;
    use super::*;

    const AUTH: &[u8] =
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<lastpass rc=\"Authorization Error\"/>\n";

    fn write(kind: CommandKind, body: &str) -> Reply {
        classify(kind, &["ann@x.io", "bob@x.io"], 200, None, body.as_bytes())
    }

    /// A named row: command, body, and what the reply must look like.
    type Case = (&'static str, CommandKind, &'static str, fn(&Reply) -> bool);

    #[test]
    fn every_form_of_the_table() {
        let cases: Vec<Case> = vec![
            ("OK", BatchAdd, r#"{"status":"OK"}"#, |r| {
                matches!(r, Reply::Success { .. })
            }),
            (
                "ok lower case",
                UpdateUser,
                r#"{"status":"ok","message":"done"}"#,
                |r| matches!(r, Reply::Success { .. }),
            ),
            (
                "WARN errors",
                BatchChangeGrp,
                r#"{"status":"WARN","errors":["bob@x.io does not exist"]}"#,
                |r| {
                    matches!(r, Reply::Partial { failures, .. }
                    if failures == &[UserFailure { username: Some("bob@x.io".into()), message: "bob@x.io does not exist".into() }])
                },
            ),
            (
                "FAIL string",
                DelUser,
                r#"{"status":"FAIL","error":"No such user: ann@x.io"}"#,
                |r| matches!(r, Reply::Permanent { messages } if messages == &["No such user: ann@x.io"]),
            ),
            (
                "FAIL list",
                ResetPassword,
                r#"{"status":"FAIL","error":["user not found: ann@x.io"]}"#,
                |r| matches!(r, Reply::Permanent { messages } if messages.len() == 1),
            ),
            (
                "success all listed",
                DisableUser,
                r#"{"status":"success","disabled_users":["ann@x.io"],"unchanged_users":["BOB@x.io"]}"#,
                |r| matches!(r, Reply::Success { unchanged, .. } if unchanged == &["BOB@x.io"]),
            ),
            (
                "success with error",
                EnableUser,
                r#"{"status":"success","enabled_users":["ann@x.io","bob@x.io"],"error":"something"}"#,
                |r| matches!(r, Reply::Partial { .. }),
            ),
            (
                "success missing target",
                EnableUser,
                r#"{"status":"success","enabled_users":["ann@x.io"]}"#,
                |r| matches!(r, Reply::Partial { failures, .. } if failures[0].username.as_deref() == Some("bob@x.io")),
            ),
            ("unknown status", BatchAdd, r#"{"status":"MAYBE"}"#, |r| {
                matches!(r, Reply::UnknownOutcome { .. })
            }),
            ("no status on write", BatchAdd, r#"{"Users":[]}"#, |r| {
                matches!(r, Reply::UnknownOutcome { .. })
            }),
            (
                "HTML on write",
                BatchAdd,
                "<html><body>Access denied</body></html>",
                |r| matches!(r, Reply::UnknownOutcome { .. }),
            ),
            ("empty on write", DelUser, "", |r| {
                matches!(r, Reply::UnknownOutcome { .. })
            }),
            ("truncated on write", BatchAdd, r#"{"status":"O"#, |r| {
                matches!(r, Reply::UnknownOutcome { .. })
            }),
            ("HTML on read", GetUserData, "<!DOCTYPE html>", |r| {
                matches!(r, Reply::Retryable { .. })
            }),
            ("read without status", GetUserData, r#"{"Users":[]}"#, |r| {
                matches!(r, Reply::Success { .. })
            }),
            (
                "read FAIL",
                GetUserData,
                r#"{"status":"FAIL","error":"bad"}"#,
                |r| matches!(r, Reply::Permanent { .. }),
            ),
        ];
        for (name, kind, body, ok) in cases {
            let got = write(kind, body);
            assert!(ok(&got), "{name}: got {got:?}");
        }
    }

    #[test]
    fn auth_error_is_sniffed_whatever_the_content_type() {
        assert_eq!(classify(BatchAdd, &[], 200, None, AUTH), Reply::Auth);
        assert_eq!(classify(GetUserData, &[], 200, None, AUTH), Reply::Auth);
    }

    #[test]
    fn http_statuses() {
        let r = classify(BatchAdd, &[], 429, Some("7"), b"");
        assert_eq!(
            r,
            Reply::Retryable {
                retry_after: Some(Duration::from_secs(7)),
                reason: "HTTP 429 Too Many Requests".into()
            }
        );
        assert!(matches!(
            classify(BatchAdd, &[], 503, None, b"<html>"),
            Reply::Retryable {
                retry_after: None,
                ..
            }
        ));
        assert!(matches!(
            classify(GetUserData, &[], 404, None, b""),
            Reply::Permanent { .. }
        ));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("999999"), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn failure_attribution_prefers_the_longest_match() {
        let f = failures(
            &["a@x.io", "ba@x.io"],
            vec!["ba@x.io does not exist".into()],
        );
        assert_eq!(f[0].username.as_deref(), Some("ba@x.io"));
        let f = failures(&["a@x.io"], vec!["internal error".into()]);
        assert_eq!(f[0].username, None);
    }

    #[test]
    fn secrets_of_the_request_are_redacted_from_every_free_text() {
        let body = br#"{"cid":"1","provhash":"ph-secret","cmd":"batchadd",
            "data":[{"username":"a@x.io","password":"pw-secret"}]}"#;
        let mut secrets = request_secrets(body);
        secrets.sort();
        assert_eq!(secrets, ["ph-secret", "pw-secret"]);
        let mut partial = Reply::Partial {
            failures: failures(&["a@x.io"], vec!["a@x.io: bad password pw-secret".into()]),
            unchanged: vec![],
        };
        partial.redact(&secrets);
        let mut permanent = Reply::Permanent {
            messages: vec!["request provhash=ph-secret".into()],
        };
        permanent.redact(&secrets);
        let mut unknown = Reply::UnknownOutcome {
            reason: "ph-secret".into(),
        };
        unknown.redact(&secrets);
        let text = format!("{partial:?} {permanent:?} {unknown:?}");
        assert!(!text.contains("secret"), "{text}");
        assert_eq!(text.matches("[redacted]").count(), 3, "{text}");
    }
}
