//! `bench --cluster`, phase `deprovision`: 1 % of the users deleted at once through the API
//! server; timed until every finalizer is released, with the revocation latency the operator
//! reports in the integration's `status.revocation` (from each deletion timestamp to LastPass
//! confirming the deactivation, the default debounce included). Also the cluster run's shared
//! handles ([`Cluster`]).

use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use kube::api::{Api, DeleteParams};
use kube::runtime::reflector::Store;
use kube::{Client, ResourceExt};

use crate::crd::{DirectoryIntegration, LastPassUser};
use crate::simulator::RunningSimulator;

use super::BenchError;
use super::measure::Limits;
use super::meter::StatusMeter;
use super::report::RevocationFigures;

/// How long the deleted users may take to be released.
const DEADLINE: Duration = Duration::from_secs(600);

/// What the phase needs from the cluster run.
pub struct Cluster<'a> {
    /// A client without the status meter.
    pub client: &'a Client,
    /// The bench namespace.
    pub namespace: &'a str,
    /// The integration's name.
    pub integration: &'a str,
    /// Every LastPassUser of the namespace, as watched.
    pub users: &'a Store<LastPassUser>,
    /// The simulated account.
    pub sim: &'a RunningSimulator,
    /// Status writes of the controllers.
    pub meter: &'a StatusMeter,
    /// Rate and batch limits.
    pub limits: &'a Limits,
}

/// Deletes `count` users, waits until they are gone and the integration's status counts their
/// revocations; returns the wall time until the last was released, and the revocations.
pub async fn deprovision(
    c: &Cluster<'_>,
    count: usize,
) -> Result<(f64, RevocationFigures), BenchError> {
    let err = |step: &'static str| {
        move |e: kube::Error| BenchError::Cluster {
            step: step.to_string(),
            reason: e.to_string(),
        }
    };
    let api: Api<LastPassUser> = Api::namespaced(c.client.clone(), c.namespace);
    let mut names: Vec<String> = c.users.state().iter().map(|u| u.name_any()).collect();
    names.sort();
    names.truncate(count);
    let started = Instant::now();
    let deleted: Vec<Result<(), kube::Error>> = stream::iter(names.clone())
        .map(|name| {
            let api = api.clone();
            async move {
                api.delete(&name, &DeleteParams::default())
                    .await
                    .map(|_| ())
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    deleted
        .into_iter()
        .collect::<Result<Vec<()>, _>>()
        .map_err(err("deleting users"))?;
    let gone_at = loop {
        let left = c
            .users
            .state()
            .iter()
            .filter(|u| names.contains(&u.name_any()))
            .count();
        if left == 0 {
            break Instant::now();
        }
        if started.elapsed() > DEADLINE {
            return Err(BenchError::NotConverged {
                phase: "deprovision".into(),
                detail: format!("{left} deleted users still hold their finalizer"),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let integrations: Api<DirectoryIntegration> = Api::namespaced(c.client.clone(), c.namespace);
    let revocation = loop {
        let i = integrations
            .get(c.integration)
            .await
            .map_err(err("reading the integration"))?;
        let r = i.status.and_then(|s| s.revocation);
        if let Some(r) = r.filter(|r| r.count as usize >= count) {
            break r;
        }
        if started.elapsed() > DEADLINE {
            return Err(BenchError::NotConverged {
                phase: "deprovision".into(),
                detail: "status.revocation never counted every deletion".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let wall_s = (gone_at - started).as_secs_f64();
    Ok((
        wall_s,
        RevocationFigures {
            count: revocation.count as usize,
            p50_s: revocation.p50,
            p99_s: revocation.p99,
        },
    ))
}
