//! The LastPass client of one account, owned by its account task for the task's life: the
//! token bucket and the connection pool carry over from one sync to the next, whatever woke
//! it (a resource change, a Secret, SCIM, the interval), so back-to-back syncs share one rate
//! limit instead of each starting with a full burst. It is rebuilt only when what it was
//! built from changes: endpoint, credentials, rate limit or transport settings.

use secrecy::ExposeSecret;

use crate::lastpass::{ApiError, Client, ClientConfig};
use crate::naming::sha256_hex;

/// The account task's client and what it was built from.
#[derive(Default)]
pub struct AccountClient {
    current: Option<(String, Client)>,
}

impl AccountClient {
    /// The client for `config`: the kept one when `config` is what it was built from, else a
    /// new one (kept from then on).
    pub fn for_config(&mut self, config: ClientConfig) -> Result<Client, ApiError> {
        let built_from = fingerprint(&config);
        if let Some((from, client)) = &self.current
            && *from == built_from
        {
            return Ok(client.clone());
        }
        let client = Client::new(config)?;
        self.current = Some((built_from, client.clone()));
        Ok(client)
    }
}

/// A digest of everything a client is built from (the provisioning hash only inside the
/// digest, never kept in clear).
fn fingerprint(c: &ClientConfig) -> String {
    let text = format!(
        "{}\n{}\n{}\n{}/{}\n{:?}\n{}\n{}\n{}\n{:?}\n{}",
        c.endpoint,
        c.cid,
        c.provhash.expose_secret(),
        c.rate_limit.requests_per_second,
        c.rate_limit.burst,
        c.request_timeout,
        c.max_batch,
        c.page_size,
        c.allow_insecure_endpoint,
        c.retry.attempts,
        c.user_agent,
    );
    sha256_hex(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use secrecy::SecretString;

    use super::*;

    fn config(provhash: &str, rps: u32) -> ClientConfig {
        let mut c = ClientConfig::new(
            "http://127.0.0.1:1/enterpriseapi.php",
            "42",
            SecretString::from(provhash.to_string()),
        );
        c.rate_limit.requests_per_second = NonZeroU32::new(rps).unwrap();
        c
    }

    #[test]
    fn the_client_is_kept_until_what_it_was_built_from_changes() {
        crate::install_crypto_provider();
        let mut account = AccountClient::default();
        account.for_config(config("a", 5)).unwrap();
        let first = account.current.as_ref().unwrap().0.clone();
        account.for_config(config("a", 5)).unwrap();
        assert_eq!(
            account.current.as_ref().unwrap().0,
            first,
            "same config: kept"
        );
        account.for_config(config("b", 5)).unwrap();
        let rotated = account.current.as_ref().unwrap().0.clone();
        assert_ne!(rotated, first, "new credentials: rebuilt");
        account.for_config(config("b", 7)).unwrap();
        assert_ne!(
            account.current.as_ref().unwrap().0,
            rotated,
            "new rate limit: rebuilt"
        );
    }
}
