//! One pull of one integration: read the directory, compute and write the resources, report
//! in status. See [`pull_once`].

use std::time::{Duration, Instant};

use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};

use super::config::{self, Settings};
use super::connect;
use super::desired::{Problem, Target};
use super::safeguard::{self, Decisions, Limits, Verdict as Safeguard};
use super::status::{self, Verdict};
use super::{Error, apply, events, plan, read};
use crate::crd::{DirectoryIntegration, LastPassGroup, LastPassUser, LdapStatus};
use crate::status::Reason;

/// Problems kept in `status.ldap.problems`.
const MAX_PROBLEMS: usize = 20;

/// What one pull saw and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullReport {
    /// User entries returned by the user search.
    pub users_seen: usize,
    /// Group entries under the group base DN.
    pub groups_seen: usize,
    /// Resources created.
    pub created: usize,
    /// Resources updated.
    pub updated: usize,
    /// Resources deleted (the engine's finalizer deprovisions their users).
    pub deleted: usize,
    /// Directory entries left out (see `problems`).
    pub skipped: usize,
    /// Why entries were left out, for people.
    pub problems: Vec<String>,
    /// Directory users whose e-mail changed (kept under their old username).
    pub email_changes: usize,
    /// LastPassUsers of source ldap for this integration after the pull.
    pub managed_users: usize,
    /// LastPassGroups of source ldap for this integration after the pull.
    pub managed_groups: usize,
    /// Time spent reading the directory (connect, bind, searches).
    pub read_time: Duration,
    /// Time spent listing and writing resources.
    pub write_time: Duration,
    /// What the safeguard said about the pull's deletions.
    pub safeguard: Safeguard,
}

/// Pulls `spec.ldap` of one integration once: reads the bind Secret, connects, searches,
/// computes the desired resources, creates/updates/deletes the LastPassUsers and
/// LastPassGroups of source `ldap` for this integration, and writes `status.ldap` with the
/// `LdapReachable` and `LdapSynced` conditions.
///
/// Guarantees: resources of another source or integration are never written; a directory
/// error changes no resource (a failed read is never taken for "everyone left"), and neither
/// does a read that found no user, nor deletions beyond the safeguard, until a person approves
/// exactly that pull id ([`super::safeguard`]); a group's `policy` is never applied after its
/// creation; the bind password appears in no error, log or status.
#[tracing::instrument(skip_all, fields(integration = %format!("{}/{}", di.namespace().unwrap_or_default(), di.name_any())))]
pub async fn pull_once(client: &Client, di: &DirectoryIntegration) -> Result<PullReport, Error> {
    let started = Instant::now();
    let previous = di
        .status
        .as_ref()
        .and_then(|s| s.ldap.clone())
        .unwrap_or_default();
    let outcome = pull(client, di).await;
    crate::telemetry::metrics::global().ldap_pull(
        &format!("{}/{}", di.namespace().unwrap_or_default(), di.name_any()),
        if outcome.is_ok() {
            "success"
        } else {
            "failure"
        },
    );
    let elapsed = started.elapsed();
    let now = crate::status::condition::now();
    let mut ldap = LdapStatus {
        last_pull_time: Some(now.clone()),
        last_pull_duration: Some(format!("{:.1}s", elapsed.as_secs_f64())),
        ..previous
    };
    let (reachable, synced) = match &outcome {
        Ok(r) => {
            ldap.last_success_time = Some(now);
            ldap.users_seen = r.users_seen as i64;
            ldap.groups_seen = r.groups_seen as i64;
            ldap.users_managed = r.managed_users as i64;
            ldap.groups_managed = r.managed_groups as i64;
            ldap.created = r.created as i64;
            ldap.updated = r.updated as i64;
            ldap.deleted = r.deleted as i64;
            ldap.skipped = r.skipped as i64;
            ldap.problems = r.problems.iter().take(MAX_PROBLEMS).cloned().collect();
            ldap.last_error = None;
            ldap.held = match &r.safeguard {
                Safeguard::Held(h, _) | Safeguard::Rejected(h) => Some(h.clone()),
                Safeguard::Proceed | Safeguard::Approved(_) => None,
            };
            match &r.safeguard {
                Safeguard::Approved(h) => {
                    safeguard::record(&mut ldap.consumed_approvals, &h.pull_id)
                }
                Safeguard::Rejected(h) => safeguard::record(&mut ldap.rejected, &h.pull_id),
                _ => {}
            }
            let synced = synced(r);
            (ok_reachable(r), synced)
        }
        Err(Failure { error, reached }) => {
            ldap.last_error = Some(error.to_string());
            let reachable = if *reached {
                Verdict {
                    ok: true,
                    reason: Reason::Ok,
                    message: "directory read".into(),
                }
            } else {
                Verdict {
                    ok: false,
                    reason: error.reason(),
                    message: error.to_string(),
                }
            };
            let reason = if *reached {
                error.reason()
            } else {
                Reason::PullFailed
            };
            let synced = Verdict {
                ok: false,
                reason,
                message: error.to_string(),
            };
            (reachable, synced)
        }
    };
    let held = match &outcome {
        Ok(r) => Some(status::deletions_held(
            di,
            &r.safeguard,
            r.deleted,
            &Limits::of(di),
        )),
        Err(_) => None, // the directory was not judged: the condition stays as it was
    };
    let mut verdicts = vec![
        (crate::status::types::LDAP_REACHABLE, &reachable),
        (crate::status::types::LDAP_SYNCED, &synced),
    ];
    if let Some(held) = &held {
        verdicts.push((crate::status::types::LDAP_DELETIONS_HELD, held));
    }
    if let Err(e) = status::write(client, di, &ldap, &verdicts).await {
        tracing::warn!(error = %e, "cannot write the LDAP status");
        if outcome.is_ok() {
            return Err(e);
        }
    }
    if let Ok(r) = &outcome {
        let before = di.status.as_ref().and_then(|s| s.ldap.clone());
        events::publish(client, di, &before.unwrap_or_default(), &r.safeguard).await;
    }
    match outcome {
        Ok(r) => {
            tracing::info!(
                users_seen = r.users_seen,
                created = r.created,
                updated = r.updated,
                deleted = r.deleted,
                skipped = r.skipped,
                read_ms = r.read_time.as_millis() as u64,
                write_ms = r.write_time.as_millis() as u64,
                "LDAP pull done"
            );
            Ok(r)
        }
        Err(f) => {
            tracing::warn!(error = %f.error, reason = f.error.reason().as_str(), "LDAP pull failed");
            Err(f.error)
        }
    }
}

/// The `LdapSynced` verdict of a pull that read the directory: held deletions first, then
/// e-mail changes (`EmailChanged`), then other skipped entries (`Conflicts`).
pub fn synced(r: &PullReport) -> Verdict {
    if let (false, Some(h)) = (r.safeguard.deletes(), r.safeguard.held()) {
        return Verdict {
            ok: false,
            reason: Reason::OverSafeguard,
            message: format!(
                "{}; {} deletions held by the safeguard: see LdapDeletionsHeld (pull {})",
                summary(r),
                h.users + h.groups,
                h.pull_id
            ),
        };
    }
    if r.problems.is_empty() {
        return Verdict {
            ok: true,
            reason: Reason::Ok,
            message: summary(r),
        };
    }
    let reason = if r.email_changes > 0 {
        Reason::EmailChanged
    } else {
        Reason::Conflicts
    };
    Verdict {
        ok: false,
        reason,
        message: format!(
            "{}; {} entries skipped: {}",
            summary(r),
            r.skipped,
            r.problems
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(" | ")
        ),
    }
}

fn summary(r: &PullReport) -> String {
    format!(
        "{} users and {} groups in the directory; {} users and {} groups managed; {} created, {} updated, {} deleted",
        r.users_seen,
        r.groups_seen,
        r.managed_users,
        r.managed_groups,
        r.created,
        r.updated,
        r.deleted
    )
}

/// `LdapReachable` of a pull that read the directory. No time in the message (the pull's
/// duration is `status.ldap.lastPullDuration`): a steady pull must not rewrite the condition.
fn ok_reachable(r: &PullReport) -> Verdict {
    Verdict {
        ok: true,
        reason: Reason::Ok,
        message: format!("read {} users and {} groups", r.users_seen, r.groups_seen),
    }
}

/// An error, and whether the directory had been read before it happened.
struct Failure {
    error: Error,
    reached: bool,
}

async fn pull(client: &Client, di: &DirectoryIntegration) -> Result<PullReport, Failure> {
    let unreached = |error| Failure {
        error,
        reached: false,
    };
    let settings = Settings::from_integration(di).map_err(unreached)?;
    let namespace = di.namespace().unwrap_or_default();
    let target = Target {
        namespace: namespace.clone(),
        integration: di.name_any(),
    };

    let read_start = Instant::now();
    let credentials = config::bind_credentials(client, &namespace, &settings.spec)
        .await
        .map_err(unreached)?;
    let ca = config::ca_bundle(client, &namespace, &settings.spec)
        .await
        .map_err(unreached)?;
    let mut session = connect::connect(&settings, ca.as_deref(), &credentials)
        .await
        .map_err(unreached)?;
    let snapshot = read::read_directory(&mut session, &settings).await;
    session.close().await;
    let snapshot = snapshot.map_err(unreached)?;
    let read_time = read_start.elapsed();

    let reached = |error| Failure {
        error,
        reached: true,
    };
    let write_start = Instant::now();
    let (users, groups) = list_existing(client, &namespace).await.map_err(reached)?;
    let previous = di
        .status
        .as_ref()
        .and_then(|s| s.ldap.clone())
        .unwrap_or_default();
    let planned = plan::plan(
        &snapshot,
        &target,
        &settings.spec,
        (&users, &groups),
        &Limits::of(di),
        &Decisions::of(di, &previous),
    );
    let verdict = planned.verdict;
    if let Safeguard::Approved(h) = &verdict {
        // The users first carry the approval (a hint the engine trusts only once recorded),
        // then it is recorded as used, then they are deleted: a failure in between leaves
        // the approval unused for the next pull.
        apply::mark_approved(
            client,
            &namespace,
            &planned.changes.delete_users,
            &h.pull_id,
        )
        .await
        .map_err(reached)?;
        status::record_consumed(client, di, &h.pull_id)
            .await
            .map_err(reached)?;
    }
    let changes = planned.allowed;
    let problems = planned.problems;
    let applied = apply::apply(client, &namespace, &changes).await;
    let report = PullReport {
        users_seen: snapshot.users.len(),
        groups_seen: snapshot.groups.len(),
        created: applied.created,
        updated: applied.updated,
        deleted: applied.deleted,
        skipped: problems.iter().filter(|p| p.skips_entry()).count(),
        problems: problems.iter().map(|p| p.to_string()).collect(),
        email_changes: problems
            .iter()
            .filter(|p| matches!(p, Problem::EmailChanged { .. }))
            .count(),
        managed_users: changes.managed_users,
        managed_groups: changes.managed_groups,
        read_time,
        write_time: write_start.elapsed(),
        safeguard: verdict,
    };
    if let Some((step, source)) = applied.failures.into_iter().next() {
        return Err(reached(Error::Kube { step, source }));
    }
    Ok(report)
}

async fn list_existing(
    client: &Client,
    namespace: &str,
) -> Result<(Vec<LastPassUser>, Vec<LastPassGroup>), Error> {
    let kube_err = |what: &str| {
        let step = format!("listing {what} in namespace {namespace}");
        move |source| Error::Kube { step, source }
    };
    // All of them, not only ours: resources of other sources claim usernames and names.
    let users = Api::<LastPassUser>::namespaced(client.clone(), namespace)
        .list(&ListParams::default())
        .await
        .map_err(kube_err("LastPassUsers"))?;
    let groups = Api::<LastPassGroup>::namespaced(client.clone(), namespace)
        .list(&ListParams::default())
        .await
        .map_err(kube_err("LastPassGroups"))?;
    Ok((users.items, groups.items))
}
