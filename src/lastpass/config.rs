//! [`ClientConfig`]: where the API is, the credentials, and the client's limits. The provhash
//! is a [`SecretString`], so `Debug` shows `[REDACTED]`.

use std::num::NonZeroU32;
use std::time::Duration;

use secrecy::SecretString;

/// The production endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://lastpass.com/enterpriseapi.php";

/// Token bucket of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub requests_per_second: NonZeroU32,
    /// Requests allowed at once after a quiet period.
    pub burst: NonZeroU32,
}

impl Default for RateLimit {
    /// 5 requests per second, burst 10 (§4).
    fn default() -> Self {
        Self {
            requests_per_second: NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
            burst: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// Backoff for retryable replies: exponential from `base`, capped at `cap`, full jitter;
/// a `Retry-After` from the server wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, the first included (1 = never retry).
    pub attempts: usize,
    /// First backoff ceiling.
    pub base: Duration,
    /// Largest backoff ceiling.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, 0.5 s base, 60 s cap (§4).
    fn default() -> Self {
        Self {
            attempts: 5,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(60),
        }
    }
}

/// Everything a [`crate::lastpass::Client`] needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Full URL of `enterpriseapi.php` (or the simulator).
    pub endpoint: String,
    /// Account id, sent as an integer when numeric.
    pub cid: String,
    /// Provisioning hash: secret, never logged.
    pub provhash: SecretString,
    /// Time allowed for one HTTP exchange.
    pub request_timeout: Duration,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Token bucket shared by every clone of the client.
    pub rate_limit: RateLimit,
    /// Users per `batchadd`/`batchchangegrp`/`disableuser`/`enableuser` call.
    pub max_batch: usize,
    /// Users per `getuserdata` page.
    pub page_size: usize,
    /// Retries of retryable replies.
    pub retry: RetryPolicy,
    /// Allow plain `http://` to a host that is not loopback (see [`insecure_endpoint`]).
    pub allow_insecure_endpoint: bool,
}

impl ClientConfig {
    /// A configuration with the defaults of §4: 30 s timeout, 5 req/s burst 10, batches of
    /// 100, pages of 2,000, 5 attempts.
    pub fn new(
        endpoint: impl Into<String>,
        cid: impl Into<String>,
        provhash: SecretString,
    ) -> Self {
        Self {
            endpoint: endpoint.into(),
            cid: cid.into(),
            provhash,
            request_timeout: Duration::from_secs(30),
            user_agent: format!("lastpass-operator/{}", env!("CARGO_PKG_VERSION")),
            rate_limit: RateLimit::default(),
            max_batch: 100,
            page_size: 2000,
            retry: RetryPolicy::default(),
            allow_insecure_endpoint: false,
        }
    }
}

/// Why `endpoint` must not receive the provisioning hash, or `None` when it may: the scheme is
/// `https`, or `http` to a loopback host (127.0.0.0/8, `::1`, `localhost`), which never leaves
/// the machine. Anything else (another scheme, no host, not a URL) is refused. The CRD states
/// the same rule in CEL (`crd::ENDPOINT_RULE`).
pub fn insecure_endpoint(endpoint: &str) -> Option<String> {
    let url = match reqwest::Url::parse(endpoint.trim()) {
        Ok(u) => u,
        Err(e) => return Some(format!("{endpoint:?} is not a URL ({e})")),
    };
    match url.scheme() {
        "https" => None,
        "http" => {
            // The parser has normalised the host: IPv4 in dotted decimal, IPv6 in brackets,
            // domains in lower case.
            let host = url.host_str().unwrap_or_default();
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = bare == "localhost"
                || bare
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            (!loopback).then(|| {
                format!(
                    "{} is plain http to a host that is not loopback",
                    url.host_str().unwrap_or_default()
                )
            })
        }
        other => Some(format!("scheme {other:?} is neither https nor http")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The verdict on URLs is tested with the CEL rule's in tests/crd_validation.rs; what CEL
    /// never sees (not a URL at all) is refused here.
    #[test]
    fn what_is_not_a_url_may_not_carry_the_provhash() {
        assert!(insecure_endpoint("lastpass dot com").is_some());
        assert!(insecure_endpoint("").is_some());
    }

    #[test]
    fn the_client_refuses_an_insecure_endpoint_unless_allowed() {
        crate::install_crypto_provider();
        let mut c = ClientConfig::new("http://lastpass.example/x", "1", SecretString::from("h"));
        let err = crate::lastpass::Client::new(c.clone()).expect_err("refused");
        assert!(err.to_string().contains("allowInsecureEndpoint"), "{err}");
        c.allow_insecure_endpoint = true;
        assert!(crate::lastpass::Client::new(c).is_ok());
    }

    #[test]
    fn debug_redacts_the_provhash() {
        let c = ClientConfig::new(
            DEFAULT_ENDPOINT,
            "123",
            SecretString::from("very-secret-hash"),
        );
        let s = format!("{c:?}");
        assert!(!s.contains("very-secret-hash"), "{s}");
        assert!(s.contains("REDACTED"), "{s}");
    }
}
