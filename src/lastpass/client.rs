//! The HTTP client: one [`Client`] per LastPass account, cheap to clone. It rate-limits every
//! call with the account's token bucket, retries only retryable replies (exponential backoff
//! with full jitter, `Retry-After` wins), and never resends a write whose outcome is unknown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tracing::{Instrument, debug, debug_span, warn};

use super::batch::{Batch, split};
use super::command::{Command, UserQuery, envelope};
use super::command_kind::CommandKind;
use super::config::ClientConfig;
use super::error::ApiError;
use super::reply::{Reply, UserFailure, classify, request_secrets};
use super::snapshot::{Snapshot, User, UserPage, decode_page};
use super::trust;

/// What one applied write (all its chunks) reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReport {
    /// The command sent.
    pub command: CommandKind,
    /// HTTP calls made (chunks; retries not counted).
    pub calls: usize,
    /// Per-user failures of partial replies; the other targets were applied.
    pub failures: Vec<UserFailure>,
    /// Targets a bulk reply listed as unchanged (already in the requested state).
    pub unchanged: Vec<String>,
}

impl BatchReport {
    /// Whether every target was applied (no failure reported).
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty()
    }
}

/// How one HTTP exchange ended, before retries are considered.
enum Answer {
    /// The server answered; classified, with the body for reads to decode.
    Reply(Reply, bytes::Bytes),
    /// A write was sent and the exchange broke: unknown outcome.
    Lost {
        reason: String,
        source: reqwest::Error,
    },
}

/// A failure worth another attempt.
struct Again {
    retry_after: Option<Duration>,
    reason: String,
    throttled: bool,
}

struct Inner {
    http: reqwest::Client,
    url: reqwest::Url,
    config: ClientConfig,
    limiter: DefaultDirectRateLimiter,
    /// One write in flight per account (§4).
    writes: tokio::sync::Mutex<()>,
}

/// LastPass Enterprise API client of one account. Clones share the rate limiter.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client; fails on an invalid endpoint URL or HTTP client setup.
    ///
    /// A rustls crypto provider must be installed first
    /// ([`crate::install_crypto_provider`]).
    pub fn new(config: ClientConfig) -> Result<Self, ApiError> {
        let url = reqwest::Url::parse(&config.endpoint).map_err(|e| ApiError::Config {
            reason: format!("endpoint {:?}: {e}", config.endpoint),
        })?;
        // The provisioning hash is in every request body: never over plain http off loopback.
        if !config.allow_insecure_endpoint
            && let Some(why) = super::config::insecure_endpoint(&config.endpoint)
        {
            return Err(ApiError::Config {
                reason: format!(
                    "refusing endpoint {:?}: {why}; use https, or allow it explicitly \
                     (spec.lastpass.allowInsecureEndpoint)",
                    config.endpoint
                ),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .user_agent(config.user_agent.clone())
            .build()
            .map_err(|e| ApiError::Config {
                reason: format!("HTTP client: {e}"),
            })?;
        let quota = Quota::per_second(config.rate_limit.requests_per_second)
            .allow_burst(config.rate_limit.burst);
        let inner = Inner {
            http,
            url,
            limiter: RateLimiter::direct(quota),
            writes: tokio::sync::Mutex::new(()),
            config,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Reads the whole account with paged `getuserdata` (page size from the config). Never
    /// writes; each page is retried on retryable replies. The read must be trusted
    /// ([`super::trust`]): otherwise [`ApiError::ReadNotTrusted`], never an empty snapshot.
    pub async fn observe(&self) -> Result<Snapshot, ApiError> {
        let size = self.inner.config.page_size.max(1);
        let untrusted = |reason: String| {
            warn!(%reason, "whole-account read not trusted");
            ApiError::ReadNotTrusted { reason }
        };
        let mut snap = Snapshot::default();
        let mut seen = 0u64;
        let mut total = None;
        let mut ids = std::collections::HashSet::new();
        for index in 0usize.. {
            let query = UserQuery {
                page_size: Some(size),
                page_index: Some(index),
                ..Default::default()
            };
            let page = self.get_user_data(&query).await?;
            trust::check_page(index, &page).map_err(untrusted)?;
            trust::check_new_ids(index, &page, &mut ids).map_err(untrusted)?;
            let n = page.users.len();
            let before = snap.users.len();
            total = page.total.or(total);
            snap.merge(page);
            seen += n as u64;
            let progressed = snap.users.len() > before;
            let done = match total {
                Some(t) => seen >= t,
                None => n < size,
            };
            if n == 0 || done || !progressed {
                break;
            }
        }
        trust::check_whole(snap.users.len(), total).map_err(untrusted)?;
        snap.compact();
        debug!(
            users = snap.users.len(),
            groups = snap.groups.len(),
            "account observed"
        );
        Ok(snap)
    }

    /// Reads one user with `getuserdata` filtered by `username`: `Ok(None)` for the documented
    /// no-match reply, [`ApiError::ReadNotTrusted`] for a reply without a users collection or
    /// listing anyone else. Never writes.
    pub async fn observe_user(&self, username: &str) -> Result<Option<User>, ApiError> {
        let query = UserQuery {
            username: Some(username.to_string()),
            ..Default::default()
        };
        let page = self.get_user_data(&query).await?;
        trust::filtered_user(username, page).map_err(|reason| {
            warn!(%reason, "filtered read not trusted");
            ApiError::ReadNotTrusted { reason }
        })
    }

    /// One `getuserdata` call (one page, or everything without paging fields).
    pub async fn get_user_data(&self, query: &UserQuery) -> Result<UserPage, ApiError> {
        let command = CommandKind::GetUserData;
        match self.call(&Command::GetUserData(query.clone())).await? {
            Answer::Reply(Reply::Success { .. }, body) => {
                decode_page(&body).map_err(|source| ApiError::Decode { command, source })
            }
            Answer::Reply(other, _) => Err(unexpected(command, other)),
            Answer::Lost { reason, .. } => Err(ApiError::Unavailable {
                command,
                attempts: 1,
                reason,
            }),
        }
    }

    /// Sends a write, split into chunks of `max_batch` users, one chunk at a time. Stops at
    /// the first error: earlier chunks were applied, so re-observe before planning again.
    pub async fn execute(&self, batch: &Batch) -> Result<BatchReport, ApiError> {
        let _one_write = self.inner.writes.lock().await;
        let command = batch.kind();
        let mut report = BatchReport {
            command,
            calls: 0,
            failures: vec![],
            unchanged: vec![],
        };
        for chunk in split(batch, self.inner.config.max_batch)
            .into_iter()
            .filter(|c| !c.is_empty())
        {
            // The gate is checked before each chunk, never during one: a chunk on the wire
            // completes and its reply is read.
            if !super::gate::is_open() {
                warn!(%command, "write gate closed (shutdown or lost leadership); write not sent");
                return Err(ApiError::Interrupted { command });
            }
            report.calls += 1;
            match self.call(&Command::Write(chunk)).await? {
                Answer::Reply(Reply::Success { unchanged }, _) => {
                    report.unchanged.extend(unchanged)
                }
                Answer::Reply(
                    Reply::Partial {
                        failures,
                        unchanged,
                    },
                    _,
                ) => {
                    warn!(%command, failed = failures.len(), "LastPass applied the write partially");
                    report.failures.extend(failures);
                    report.unchanged.extend(unchanged);
                }
                Answer::Reply(other, _) => return Err(unexpected(command, other)),
                Answer::Lost { reason, source } => {
                    return Err(ApiError::OutcomeUnknown {
                        command,
                        reason,
                        source: Some(source),
                    });
                }
            }
        }
        Ok(report)
    }

    /// One call with retries of retryable replies; every other answer is returned as is.
    async fn call(&self, cmd: &Command) -> Result<Answer, ApiError> {
        let command = cmd.kind();
        let targets: Vec<String> = match cmd {
            Command::Write(b) => b.targets().into_iter().map(str::to_owned).collect(),
            Command::GetUserData(_) => vec![],
        };
        let body = envelope(&self.inner.config.cid, &self.inner.config.provhash, cmd);
        let policy = self.inner.config.retry;
        let attempts = AtomicUsize::new(0);
        let backoff = ExponentialBuilder::default()
            .with_min_delay(policy.base)
            .with_max_delay(policy.cap)
            .with_factor(2.0)
            .with_max_times(policy.attempts.saturating_sub(1));
        let span = debug_span!("lastpass_call", %command, cid = %self.inner.config.cid);
        let result = (|| async {
            let n = attempts.fetch_add(1, Ordering::Relaxed) + 1;
            self.attempt(command, &targets, &body, n).await
        })
        .retry(backoff)
        .sleep(tokio::time::sleep)
        // A write is not sent again once the gate closed (shutdown, lost leadership): a
        // retryable reply means it was not applied, and another replica may lead by now.
        .when(|_: &Again| !command.is_write() || super::gate::is_open())
        .adjust(|again: &Again, delay| {
            delay.map(|d| again.retry_after.unwrap_or_else(|| full_jitter(d)))
        })
        .notify(|again: &Again, delay| {
            debug!(%command, reason = %again.reason, ?delay, "retrying LastPass call");
        })
        .instrument(span)
        .await;
        let attempts = attempts.load(Ordering::Relaxed);
        result.map_err(|again| {
            if command.is_write() && !super::gate::is_open() {
                warn!(%command, reason = %again.reason, "write gate closed; the write is not retried");
                ApiError::Interrupted { command }
            } else if again.throttled {
                ApiError::Throttled {
                    command,
                    attempts,
                    retry_after: again.retry_after,
                }
            } else {
                ApiError::Unavailable {
                    command,
                    attempts,
                    reason: again.reason,
                }
            }
        })
    }

    /// One HTTP exchange under the rate limiter.
    async fn attempt(
        &self,
        command: CommandKind,
        targets: &[String],
        body: &[u8],
        n: usize,
    ) -> Result<Answer, Again> {
        self.inner.limiter.until_ready().await;
        let write = command.is_write();
        let started = std::time::Instant::now();
        let metrics = crate::telemetry::metrics::global();
        let sent = self
            .inner
            .http
            .post(self.inner.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                metrics.request(command.as_str(), "transport", started.elapsed());
                return transport(command, e, write);
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                metrics.request(command.as_str(), "transport", started.elapsed());
                return transport(command, e, write);
            }
        };
        let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
        let mut reply = classify(command, &targets, status, retry_after.as_deref(), &bytes);
        if !matches!(reply, Reply::Success { .. } | Reply::Auth) {
            reply.redact(&request_secrets(body));
        }
        let outcome = if status == 429 {
            "throttled"
        } else {
            reply_label(&reply)
        };
        metrics.request(command.as_str(), outcome, started.elapsed());
        debug!(%command, attempt = n, status, bytes = bytes.len(), class = reply_label(&reply), "LastPass replied");
        match reply {
            Reply::Retryable {
                retry_after,
                reason,
            } => Err(Again {
                retry_after,
                reason,
                throttled: status == 429,
            }),
            other => Ok(Answer::Reply(other, bytes)),
        }
    }
}

/// A transport error: retry when nothing reached the server or on reads; otherwise the
/// write's outcome is unknown.
fn transport(command: CommandKind, e: reqwest::Error, write: bool) -> Result<Answer, Again> {
    let reason = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        "connection broken before the reply was complete".to_string()
    };
    debug!(%command, %reason, "LastPass call failed in transport");
    if e.is_connect() || !write {
        Err(Again {
            retry_after: None,
            reason,
            throttled: false,
        })
    } else {
        Ok(Answer::Lost { reason, source: e })
    }
}

fn unexpected(command: CommandKind, reply: Reply) -> ApiError {
    match reply {
        Reply::Auth => ApiError::Unauthorized { command },
        Reply::Permanent { messages } => ApiError::Failed { command, messages },
        Reply::UnknownOutcome { reason } => ApiError::OutcomeUnknown {
            command,
            reason,
            source: None,
        },
        Reply::Retryable { reason, .. } => ApiError::Unavailable {
            command,
            attempts: 1,
            reason,
        },
        Reply::Success { .. } | Reply::Partial { .. } => ApiError::OutcomeUnknown {
            command,
            reason: "unexpected reply form".into(),
            source: None,
        },
    }
}

fn reply_label(r: &Reply) -> &'static str {
    match r {
        Reply::Success { .. } => "success",
        Reply::Partial { .. } => "partial",
        Reply::Permanent { .. } => "permanent",
        Reply::Retryable { .. } => "retryable",
        Reply::Auth => "auth",
        Reply::UnknownOutcome { .. } => "unknown_outcome",
    }
}

/// Full jitter: a uniformly random wait in `[0, ceiling]`.
fn full_jitter(ceiling: Duration) -> Duration {
    ceiling.mul_f64(rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_stays_within_the_ceiling() {
        let ceiling = Duration::from_millis(800);
        let waits: Vec<Duration> = (0..200).map(|_| full_jitter(ceiling)).collect();
        assert!(waits.iter().all(|w| *w <= ceiling));
        assert!(
            waits.iter().any(|w| *w < ceiling / 2),
            "spread over the whole range"
        );
    }
}
