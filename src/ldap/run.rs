//! The pull loop: every integration with `spec.ldap` is pulled on its interval, at once when
//! its spec changes or its `lastpass-operator.io/resync` annotation gets a new value, and
//! again after a minute when a pull fails.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};
use tokio::time::Instant;

use super::config::Settings;
use super::pull_once;
use crate::crd::{
    APPROVE_PLAN_ANNOTATION, DirectoryIntegration, REJECT_PLAN_ANNOTATION, RESYNC_ANNOTATION,
};

/// How often the integrations are listed for due pulls.
pub const SCAN_EVERY: Duration = Duration::from_secs(5);
/// Retry period after a failed pull (or the interval, if shorter).
pub const RETRY_AFTER: Duration = Duration::from_secs(60);

/// When each integration is next due. Pure bookkeeping, so it is tested without a clock.
#[derive(Debug, Default)]
pub struct Schedule {
    entries: HashMap<String, (Instant, String)>,
}

impl Schedule {
    /// Whether `key` is due: never pulled, its fingerprint (generation and resync
    /// annotation) changed, or its time has come.
    pub fn due(&self, key: &str, fingerprint: &str, now: Instant) -> bool {
        match self.entries.get(key) {
            None => true,
            Some((next, fp)) => fp != fingerprint || now >= *next,
        }
    }

    /// Records a pull of `key` at `now`; the next one is due after `next_in`.
    pub fn record(&mut self, key: &str, fingerprint: &str, now: Instant, next_in: Duration) {
        self.entries
            .insert(key.to_string(), (now + next_in, fingerprint.to_string()));
    }

    /// Forgets integrations that are gone or lost their `spec.ldap`.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.entries.retain(|k, _| keep(k));
    }
}

/// Pulls every integration with `spec.ldap` in `namespaces` (all namespaces when empty)
/// until `shutdown` completes. Pulls run one after the other; each is bounded by its own
/// timeouts. Run it on the leader only.
pub async fn run(client: Client, namespaces: Vec<String>, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut schedule = Schedule::default();
    loop {
        let integrations = list(&client, &namespaces).await;
        schedule.retain(|k| integrations.iter().any(|di| key(di) == k));
        for di in &integrations {
            let (key, fingerprint) = (key(di), fingerprint(di));
            if !schedule.due(&key, &fingerprint, Instant::now()) {
                continue;
            }
            let interval = Settings::from_integration(di)
                .map(|s| s.interval)
                .unwrap_or(RETRY_AFTER);
            let next_in = tokio::select! {
                res = pull_once(&client, di) => match res {
                    Ok(_) => interval,
                    Err(_) => interval.min(RETRY_AFTER),
                },
                () = &mut shutdown => return,
            };
            schedule.record(&key, &fingerprint, Instant::now(), next_in);
        }
        tokio::select! {
            () = tokio::time::sleep(SCAN_EVERY) => {}
            () = &mut shutdown => return,
        }
    }
}

async fn list(client: &Client, namespaces: &[String]) -> Vec<DirectoryIntegration> {
    let apis: Vec<Api<DirectoryIntegration>> = if namespaces.is_empty() {
        vec![Api::all(client.clone())]
    } else {
        namespaces
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect()
    };
    let mut out = Vec::new();
    for api in apis {
        match api.list(&ListParams::default()).await {
            Ok(list) => out.extend(list.items.into_iter().filter(|di| di.spec.ldap.is_some())),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list DirectoryIntegrations for LDAP pulls")
            }
        }
    }
    out
}

fn key(di: &DirectoryIntegration) -> String {
    format!("{}/{}", di.namespace().unwrap_or_default(), di.name_any())
}

/// Generation and the annotations that ask for a pull now: resync, and an approval or
/// rejection of held deletions.
fn fingerprint(di: &DirectoryIntegration) -> String {
    let annotation = |key| {
        di.annotations()
            .get(key)
            .map(String::as_str)
            .unwrap_or("")
            .to_string()
    };
    format!(
        "{}/{}/{}/{}",
        di.metadata.generation.unwrap_or_default(),
        annotation(RESYNC_ANNOTATION),
        annotation(APPROVE_PLAN_ANNOTATION),
        annotation(REJECT_PLAN_ANNOTATION),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_on_first_sight_interval_and_change() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        assert!(s.due("ns/a", "1/", t0), "never pulled");
        s.record("ns/a", "1/", t0, Duration::from_secs(900));
        assert!(!s.due("ns/a", "1/", t0 + Duration::from_secs(899)));
        assert!(
            s.due("ns/a", "1/", t0 + Duration::from_secs(900)),
            "interval passed"
        );
        assert!(s.due("ns/a", "2/", t0), "spec changed");
        assert!(s.due("ns/a", "1/now", t0), "resync annotation");
        s.retain(|k| k != "ns/a");
        assert!(s.due("ns/a", "1/", t0), "forgotten");
    }

    #[test]
    fn an_approval_or_rejection_changes_the_fingerprint() {
        let mut di: DirectoryIntegration = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "acme", "generation": 3},
            "spec": {"lastpass": {"credentialsSecretRef": {"name": "x"}}},
        }))
        .unwrap();
        let before = fingerprint(&di);
        for key in [APPROVE_PLAN_ANNOTATION, REJECT_PLAN_ANNOTATION] {
            di.annotations_mut().insert(key.into(), "ldap-1".into());
            assert_ne!(fingerprint(&di), before, "{key}");
            di.annotations_mut().clear();
        }
        assert_eq!(fingerprint(&di), before);
    }
}
