//! Failed-authentication limits of the SCIM endpoint, and who the client is.
//!
//! Failed attempts are counted per client address and per integration path (GCRA, by
//! `governor`). An address past its budget gets `429` with `Retry-After` on every request until
//! the budget refills, before any token is checked. A path past its budget answers its failed
//! attempts with `429` instead of `401`, while requests with a valid token still pass (an
//! attacker cannot lock a provider out of its own endpoint). The client address is the TCP
//! peer; behind configured trusted proxies it is the right-most `X-Forwarded-For` entry that is
//! not a trusted proxy.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Entries a limiter keeps before it forgets the ones whose budget is full again.
const TIDY_ABOVE: usize = 10_000;

/// The TCP peer of a connection (axum connect info, for plain and TLS listeners alike).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

macro_rules! peer_of {
    ($listener:ty) => {
        impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, $listener>>
            for PeerAddr
        {
            fn connect_info(stream: axum::serve::IncomingStream<'_, $listener>) -> Self {
                PeerAddr(*stream.remote_addr())
            }
        }
    };
}
peer_of!(tokio::net::TcpListener);
peer_of!(super::tls::TlsListener);

/// An IP network (`10.0.0.0/8`, `fd00::/8`) or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an IP address or CIDR (e.g. 10.0.0.0/8)");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { net, prefix })
    }
}

impl Cidr {
    /// Whether `ip` is in this network (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |a: IpAddr| -> (u128, u32) {
            match a.to_canonical() {
                IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
                IpAddr::V6(v) => (u128::from(v), 128),
            }
        };
        let ((n, nlen), (a, alen)) = (bits(self.net), bits(ip));
        if nlen != alen {
            return false;
        }
        let shift = nlen - u32::from(self.prefix);
        shift >= nlen || (n >> shift) == (a >> shift)
    }
}

/// Budgets of failed authentications and the trusted proxies.
#[derive(Debug, Clone)]
pub struct AuthLimits {
    /// Failed attempts per minute (and burst) per client address.
    pub per_address: NonZeroU32,
    /// Failed attempts per minute (and burst) per integration path.
    pub per_integration: NonZeroU32,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<Cidr>,
}

impl Default for AuthLimits {
    fn default() -> Self {
        Self {
            per_address: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            per_integration: NonZeroU32::new(60).unwrap_or(NonZeroU32::MIN),
            trusted_proxies: Vec::new(),
        }
    }
}

/// The failed-authentication limiter of one SCIM server.
pub struct Guard {
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_path: DefaultKeyedRateLimiter<u64>,
    /// Addresses past their budget, until when.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    trusted: Vec<Cidr>,
}

impl Guard {
    /// A limiter with these budgets.
    pub fn new(limits: &AuthLimits) -> Self {
        Self {
            by_address: RateLimiter::keyed(Quota::per_minute(limits.per_address)),
            by_path: RateLimiter::keyed(Quota::per_minute(limits.per_integration)),
            blocked: Mutex::new(HashMap::new()),
            trusted: limits.trusted_proxies.clone(),
        }
    }

    /// The client's address: the peer, or behind trusted proxies the right-most
    /// `X-Forwarded-For` entry that is not a trusted proxy.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?;
        let trusted = |ip: IpAddr| self.trusted.iter().any(|c| c.contains(ip));
        if !trusted(peer) {
            return Some(peer);
        }
        let mut client = peer;
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !trusted(ip) {
                        break;
                    }
                }
                // Not an address: what lies beyond it cannot be believed.
                Err(_) => break,
            }
        }
        Some(client)
    }

    /// How long `client` must wait, when it is past its budget.
    pub fn blocked(&self, client: Option<IpAddr>) -> Option<Duration> {
        let client = client?;
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match blocked.get(&client) {
            Some(until) if *until > now => Some(*until - now),
            Some(_) => {
                blocked.remove(&client);
                None
            }
            None => None,
        }
    }

    /// Counts one failed attempt of `client` on `path`; `Some(wait)` when it is past a budget
    /// (answer `429` with `Retry-After`).
    pub fn failed(&self, client: Option<IpAddr>, path: &str) -> Option<Duration> {
        let now = DefaultClock::default().now();
        let mut wait = None;
        if let Some(ip) = client
            && let Err(not_until) = self.by_address.check_key(&ip)
        {
            let w = not_until.wait_time_from(now);
            let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
            if blocked.len() > TIDY_ABOVE {
                let now = Instant::now();
                blocked.retain(|_, until| *until > now);
            }
            blocked.insert(ip, Instant::now() + w);
            wait = Some(w);
        }
        let mut h = DefaultHasher::new();
        path.hash(&mut h);
        if let Err(not_until) = self.by_path.check_key(&h.finish()) {
            let w = not_until.wait_time_from(now);
            wait = Some(wait.map_or(w, |x: Duration| x.max(w)));
        }
        for limiter_len in [self.by_address.len(), self.by_path.len()] {
            if limiter_len > TIDY_ABOVE {
                self.by_address.retain_recent();
                self.by_path.retain_recent();
                break;
            }
        }
        wait
    }
}

/// `Retry-After` seconds for a wait (at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains(ip("10.1.2.3")) && !c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.0.0.1")), "IPv4-mapped");
        let one: Cidr = "192.168.1.1".parse().unwrap();
        assert!(one.contains(ip("192.168.1.1")) && !one.contains(ip("192.168.1.2")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")) && !all.contains(ip("::1")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nope".parse::<Cidr>().is_err());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let g = Guard::new(&AuthLimits {
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
            ..Default::default()
        });
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "1.1.1.1, 203.0.113.9, 10.0.0.7".parse().unwrap(),
        );
        assert_eq!(g.client(Some(ip("10.0.0.2")), &h), Some(ip("203.0.113.9")));
        assert_eq!(
            g.client(Some(ip("198.51.100.1")), &h),
            Some(ip("198.51.100.1")),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(
            g.client(Some(ip("10.0.0.2")), &HeaderMap::new()),
            Some(ip("10.0.0.2"))
        );
    }

    #[test]
    fn an_address_past_its_budget_waits_and_others_do_not() {
        let g = Guard::new(&AuthLimits {
            per_address: NonZeroU32::new(3).unwrap(),
            ..Default::default()
        });
        let a = Some(ip("203.0.113.1"));
        for _ in 0..3 {
            assert_eq!(g.failed(a, "ns/acme"), None);
        }
        assert!(g.blocked(a).is_none());
        let wait = g.failed(a, "ns/acme").expect("past the budget");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(g.blocked(a).is_some());
        assert!(g.blocked(Some(ip("203.0.113.2"))).is_none());
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
    }

    #[test]
    fn a_path_past_its_budget_answers_its_failures_with_a_wait() {
        let g = Guard::new(&AuthLimits {
            per_integration: NonZeroU32::new(2).unwrap(),
            ..Default::default()
        });
        // From many addresses: only the path's budget runs out.
        assert_eq!(g.failed(Some(ip("203.0.113.1")), "ns/acme"), None);
        assert_eq!(g.failed(Some(ip("203.0.113.2")), "ns/acme"), None);
        assert!(g.failed(Some(ip("203.0.113.3")), "ns/acme").is_some());
        assert!(g.blocked(Some(ip("203.0.113.3"))).is_none());
        assert_eq!(g.failed(Some(ip("203.0.113.3")), "ns/other"), None);
    }
}
