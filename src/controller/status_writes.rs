//! The statuses of a sync's users and groups, written in the background: the account task
//! goes on to the next slice of a burst while they land, so the LastPass work of one slice
//! overlaps the status writes of the one before. One sync's writes at a time: the next sync
//! waits for them before it compares its own with what the resources show. The suspension
//! intents a sync closed are removed once the statuses that say `Suspended` have landed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::reflector::ObjectRef;
use kube::{Client, ResourceExt};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::crd::{
    InitialPassword, LastPassGroup, LastPassGroupStatus, LastPassUser,
    SUSPEND_REQUESTED_ANNOTATION, UserPhase,
};
use crate::engine::account::AccountSync;
use crate::engine::desire::Desire;
use crate::engine::model::ResourceRef;
use crate::status::writer::{digest, next_status};

use super::context::Context;
use super::debounce::Trigger;
use super::secrets::secret_name;
use super::status::apply_status;
use super::stores::Stores;

/// The status writes of the last sync, while they are in flight.
#[derive(Default)]
pub struct StatusWrites {
    running: Option<JoinHandle<Landed>>,
    /// Users whose status a recent sync wrote, with when those writes landed (`None` while in
    /// flight): the cache may not show them yet, so a sync's desire does not vouch for what
    /// they show.
    recent: HashMap<ResourceRef, Option<Instant>>,
}

/// How long after its writes landed a user's cached status is not trusted to show them.
const SETTLE: Duration = Duration::from_secs(30);

/// What the last sync's writes set, by uid ([`digest`]): the cache may not show them yet when
/// the next sync compares, and a status is not written twice because a watch lags.
type Written = HashMap<String, u64>;

/// What a sync's writes came to: what they set, and the uids whose write failed (`None` when
/// the writing task itself ended abnormally, so that nothing is known to have landed).
#[derive(Default)]
struct Landed {
    written: Written,
    failed: Option<HashSet<String>>,
}

/// Waits for the writes of `running`, if any.
async fn landed(running: Option<JoinHandle<Landed>>) -> Landed {
    let Some(running) = running else {
        return Landed {
            failed: Some(HashSet::new()),
            ..Landed::default()
        };
    };
    running.await.unwrap_or_else(|e| {
        warn!(error = %e, "status writes ended abnormally; the next sync retries them");
        Landed::default()
    })
}

/// The resources a sync planned from, by reference: their generations are the ones its
/// statuses describe.
pub struct Planned<'a> {
    /// LastPassUsers of the sync's snapshot.
    pub users: &'a HashMap<ResourceRef, &'a Arc<LastPassUser>>,
    /// LastPassGroups of the sync's snapshot.
    pub groups: &'a HashMap<ResourceRef, &'a Arc<LastPassGroup>>,
}

enum Write {
    User(
        ResourceRef,
        Arc<LastPassUser>,
        crate::crd::LastPassUserStatus,
    ),
    Group(Arc<LastPassGroup>, LastPassGroupStatus),
}

impl Write {
    fn uid(&self) -> Option<&str> {
        match self {
            Write::User(_, u, _) => uid(u.as_ref()),
            Write::Group(g, _) => uid(g.as_ref()),
        }
    }

    fn digest(&self) -> u64 {
        match self {
            Write::User(_, _, s) => digest(s),
            Write::Group(_, s) => digest(s),
        }
    }
}

impl StatusWrites {
    /// Waits until the writes in flight have landed (or failed, which the next sync retries);
    /// returns what they wrote.
    pub async fn finish(&mut self) -> Written {
        let written = landed(self.running.take()).await.written;
        let landed = Instant::now();
        self.recent.values_mut().for_each(|t| {
            t.get_or_insert(landed);
        });
        written
    }

    /// Forgets what `desire` says its users' resources show ([`DesiredUser::shown`]) where a
    /// recent sync wrote their status: the report then builds their statuses in full, and the
    /// writes compare them with the resource as it is by then.
    ///
    /// [`DesiredUser::shown`]: crate::engine::model::DesiredUser::shown
    pub fn distrust_recent(&mut self, desire: &mut Desire) {
        let now = Instant::now();
        self.recent
            .retain(|_, landed| landed.is_none_or(|t| now.duration_since(t) < SETTLE));
        if self.recent.is_empty() {
            return;
        }
        for u in desire.desired.users.values_mut() {
            if self.recent.contains_key(&u.resource) {
                u.shown = None;
            }
        }
    }

    /// Starts writing the statuses of `sync` that differ from what the resources show now,
    /// after the previous sync's writes have landed. Each status describes the generation the
    /// sync planned from. A slice of a burst writes its users' statuses (each is Ready as soon
    /// as it is invited) and leaves the groups' to the sync that ends the burst, or every slice
    /// would rewrite every group's member count.
    pub async fn start(
        &mut self,
        ctx: &Context,
        sync: &AccountSync,
        planned: &Planned<'_>,
        trigger: Trigger,
        now: &Time,
    ) {
        let written = self.finish().await;
        let unread = sync.outcome.observed.is_none();
        let mut writes = Vec::new();
        for (r, status) in &sync.report.users {
            let Some(&u) = planned.users.get(r) else {
                continue;
            };
            let Some(current) = cached(&ctx.users, u) else {
                continue;
            };
            if let Some(next) = user_status(u, &current, status, unread, now) {
                writes.push(Write::User(r.clone(), current, next));
            }
        }
        // A group's status (members, missing members, readiness) describes the burst's end:
        // written once then, not once per slice.
        let groups_settled = trigger != Trigger::Slice;
        for (r, status) in sync.report.groups.iter().filter(|_| groups_settled) {
            let Some(&g) = planned.groups.get(r) else {
                continue;
            };
            let Some(current) = cached(&ctx.groups, g) else {
                continue;
            };
            let status = group_status(current.status.as_ref(), status);
            if let Some(next) =
                next_status(current.status.as_ref(), status, g.metadata.generation, now)
            {
                writes.push(Write::Group(current, next));
            }
        }
        writes.retain(|w| w.uid().and_then(|id| written.get(id)) != Some(&w.digest()));
        for w in &writes {
            if let Write::User(r, _, _) = w {
                self.recent.insert(r.clone(), None);
            }
        }
        if writes.is_empty() {
            return;
        }
        let client = ctx.client.clone();
        let concurrency = ctx.settings.write_concurrency.max(1);
        self.running = Some(tokio::spawn(write_all(client, writes, concurrency)));
    }

    /// Removes the suspension intents of `intents_done` (users whose suspension the sync
    /// confirmed and recorded in the integration's status) once their statuses have landed,
    /// never before: a controller that saw `suspended: true` with neither an intent nor a
    /// `Suspended` status would record a new intent, a second revocation. Only a user whose
    /// status says `Suspended` loses it (one the same sync reports `Failed` keeps it, and the
    /// next sync confirms it again); one whose status write failed keeps it too.
    pub fn forget_intents(
        &mut self,
        ctx: &Context,
        sync: &AccountSync,
        planned: &Planned<'_>,
        intents_done: &[ResourceRef],
    ) {
        let forget: Vec<Intent> = intents_done
            .iter()
            .filter_map(|r| {
                let current = cached(&ctx.users, planned.users.get(r)?)?;
                let value = current
                    .annotations()
                    .get(SUSPEND_REQUESTED_ANNOTATION)?
                    .clone();
                says_suspended(sync.report.users.get(r), &current).then_some(Intent {
                    user: current,
                    value,
                })
            })
            .collect();
        if forget.is_empty() {
            return;
        }
        let writing = self.running.take();
        self.running = Some(tokio::spawn(forget_after(
            ctx.client.clone(),
            writing,
            forget,
        )));
    }
}

/// Whether the user's status will say `Suspended` once this sync's writes land: the status
/// the sync reported, or, where it reported none (nothing changed), the one it shows.
fn says_suspended(reported: Option<&crate::crd::LastPassUserStatus>, user: &LastPassUser) -> bool {
    let phase = match reported {
        Some(status) => status.phase,
        None => user.status.as_ref().and_then(|s| s.phase),
    };
    phase == Some(UserPhase::Suspended)
}

/// A suspension intent to remove: the user as cached, and the intent's value then.
struct Intent {
    user: Arc<LastPassUser>,
    value: String,
}

/// Waits for `writing` (the status writes in flight), then removes each of `forget`'s intents
/// whose status is known to have landed: written now, or not needing a write (its write did
/// not fail). Returns what the writes came to.
async fn forget_after(
    client: Client,
    writing: Option<JoinHandle<Landed>>,
    forget: Vec<Intent>,
) -> Landed {
    let landed = landed(writing).await;
    for Intent { user, value } in forget {
        let Some(id) = uid(user.as_ref()) else {
            continue;
        };
        if landed.failed.as_ref().is_some_and(|f| !f.contains(id)) {
            super::revocation::forget_intent(&client, &user, &value).await;
        }
    }
    landed
}

async fn write_all(client: Client, writes: Vec<Write>, concurrency: usize) -> Landed {
    let (count, started) = (writes.len(), std::time::Instant::now());
    // Each write: its uid, with Ok(what it set) or the error.
    let results: Vec<(Option<String>, Result<u64, super::error::Error>)> = stream::iter(writes)
        .map(|w| {
            let client = client.clone();
            let (id, digest) = (w.uid().map(str::to_string), w.digest());
            async move {
                let result = match w {
                    Write::User(_, u, s) => apply_status(&client, u.as_ref(), &s).await,
                    Write::Group(g, s) => apply_status(&client, g.as_ref(), &s).await,
                };
                (id, result.map(|()| digest))
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut written = Written::with_capacity(results.len());
    let mut failed = HashSet::new();
    for (id, result) in results {
        match result {
            Ok(digest) => written.extend(id.map(|id| (id, digest))),
            Err(e) => {
                failed.extend(id);
                warn!(error = %e, "status write failed; the next sync retries");
            }
        }
    }
    debug!(count, failed = failed.len(), elapsed = ?started.elapsed(), "statuses written");
    Landed {
        written,
        failed: Some(failed),
    }
}

fn uid<K: kube::Resource>(obj: &K) -> Option<&str> {
    obj.meta().uid.as_deref()
}

/// `planned` as the cache holds it now; `None` if it is gone, or was deleted and created again
/// under the same name (another resource, which gets none of the old one's status).
fn cached<K>(stores: &Stores<K>, planned: &K) -> Option<Arc<K>>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    let current = stores.get(&ObjectRef::from_obj(planned))?;
    (uid(current.as_ref()).is_some() && uid(current.as_ref()) == uid(planned)).then_some(current)
}

/// The status to write for user `planned` (as the sync saw it), given the resource as it is
/// now; `None` when it already says so.
fn user_status(
    planned: &LastPassUser,
    current: &LastPassUser,
    reported: &crate::crd::LastPassUserStatus,
    unread: bool,
    now: &Time,
) -> Option<crate::crd::LastPassUserStatus> {
    let shown = current.status.as_ref();
    let mut status = if unread {
        crate::engine::unread::keep_last_read(shown, reported.clone())
    } else {
        reported.clone()
    };
    // A resource keeps its binding while it is left out or leaving, and a leaving one its
    // LastPass id (its revocation is measured because it had an account).
    if let Some(old) = shown {
        status.bound_username = status.bound_username.or(old.bound_username.clone());
        status.bound_integration = status.bound_integration.or(old.bound_integration.clone());
        if status.phase == Some(UserPhase::Deprovisioning) {
            status.lastpass_id = status.lastpass_id.or(old.lastpass_id.clone());
        }
    }
    // Named before the comparison, so an invited user's status that already names its
    // Secret is not written again on every sync.
    if planned.spec.initial_password == InitialPassword::Generate
        && status.lastpass_id.is_some()
        && status.phase == Some(UserPhase::Invited)
    {
        status.initial_password_secret = Some(secret_name(planned));
    }
    next_status(shown, status, planned.metadata.generation, now)
}

/// The reported group status with the binding it already has kept.
fn group_status(
    shown: Option<&LastPassGroupStatus>,
    reported: &LastPassGroupStatus,
) -> LastPassGroupStatus {
    let mut status = reported.clone();
    if let Some(old) = shown {
        status.bound_group_name = status.bound_group_name.or(old.bound_group_name.clone());
        status.bound_integration = status.bound_integration.or(old.bound_integration.clone());
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::{reflector, watcher};

    fn user(uid: &str) -> LastPassUser {
        named("jane", uid)
    }

    fn named(name: &str, uid: &str) -> LastPassUser {
        let spec = serde_json::from_value(serde_json::json!({
            "integrationRef": {"name": "acme"}, "username": format!("{name}@x.io"),
        }))
        .unwrap();
        let mut u = LastPassUser::new(name, spec);
        u.metadata.namespace = Some("team".into());
        u.metadata.uid = Some(uid.into());
        u
    }

    /// A user's uid in [`logging_client`]'s API server.
    fn uid_of(name: &str) -> String {
        format!("uid-{name}")
    }

    /// A client whose API server takes 100 ms per status write, fails bob's, shows dave with
    /// intent `t1` (recorded since) and everyone else with `t0`, and logs each request as
    /// `status <name>`, `get <name>` or `patch <name>` when it is answered.
    fn logging_client() -> (Client, Arc<std::sync::Mutex<Vec<String>>>) {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = log.clone();
        let service = tower::service_fn(move |req: hyper::Request<kube::client::Body>| {
            let seen = seen.clone();
            async move {
                let path = req.uri().path().to_string();
                let mut parts = path.rsplit('/');
                let status = path.ends_with("/status");
                let name = if status { parts.nth(1) } else { parts.next() };
                let name = name.unwrap_or_default().to_string();
                if status {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                let mut shown = named(&name, &uid_of(&name));
                let intent = if name == "dave" { "t1" } else { "t0" };
                shown.metadata.annotations =
                    Some([(SUSPEND_REQUESTED_ANNOTATION.to_string(), intent.to_string())].into());
                let (code, body) = if status && name == "bob" {
                    let failure = serde_json::json!({"kind": "Status", "apiVersion": "v1",
                        "status": "Failure", "reason": "InternalError", "code": 500});
                    (500, failure)
                } else {
                    (200, serde_json::to_value(shown).unwrap())
                };
                let kind = match (status, req.method().as_str()) {
                    (true, _) => "status",
                    (false, "GET") => "get",
                    _ => "patch",
                };
                seen.lock().unwrap().push(format!("{kind} {name}"));
                let body = kube::client::Body::from(serde_json::to_vec(&body).unwrap());
                hyper::Response::builder().status(code).body(body)
            }
        });
        (Client::new(service, "team"), log)
    }

    #[test]
    fn a_status_written_recently_is_not_vouched_for_by_the_cache() {
        use crate::engine::model::{Desired, DesiredUser, ShownStatus};
        let shown = Some(ShownStatus {
            digest: 7,
            generation: 1,
        });
        let want = |name: &str| DesiredUser {
            username: format!("{name}@x.io"),
            resource: ResourceRef::user("team", name),
            shown,
            ..DesiredUser::default()
        };
        let mut desire = Desire {
            desired: Desired::of_users(vec![want("jane"), want("bob"), want("old")]),
            ..Desire::default()
        };
        let mut writes = StatusWrites::default();
        // Jane's write is in flight; old's landed longer ago than the cache may lag.
        writes
            .recent
            .insert(ResourceRef::user("team", "jane"), None);
        let long_ago = Instant::now().checked_sub(SETTLE + Duration::from_secs(1));
        writes
            .recent
            .insert(ResourceRef::user("team", "old"), long_ago);
        writes.distrust_recent(&mut desire);
        let shown_of = |name: &str| {
            let key = crate::engine::model::user_key(&format!("{name}@x.io"));
            desire.desired.users[&key].shown
        };
        assert_eq!(shown_of("jane"), None);
        assert_eq!((shown_of("bob"), shown_of("old")), (shown, shown));
        assert_eq!(writes.recent.len(), 1, "what settled is forgotten");
    }

    #[tokio::test]
    async fn an_intent_is_removed_only_after_its_suspended_status_landed() {
        let (client, log) = logging_client();
        let suspended = crate::crd::LastPassUserStatus {
            phase: Some(UserPhase::Suspended),
            ..Default::default()
        };
        let user = |name: &str| Arc::new(named(name, &uid_of(name)));
        let (jane, bob) = (user("jane"), user("bob"));
        let writes = vec![
            Write::User(
                ResourceRef::user("team", "jane"),
                jane.clone(),
                suspended.clone(),
            ),
            Write::User(ResourceRef::user("team", "bob"), bob.clone(), suspended),
        ];
        let writing = tokio::spawn(write_all(client.clone(), writes, 2));
        // Carl's and dave's statuses already said Suspended: nothing to write or wait for.
        let intents = [jane, bob, user("carl"), user("dave")].map(|user| Intent {
            user,
            value: "t0".into(),
        });
        let landed = forget_after(client, Some(writing), intents.into()).await;
        assert_eq!(landed.written.keys().collect::<Vec<_>>(), [&uid_of("jane")]);
        let log = log.lock().unwrap().clone();
        let at = |entry: &str| log.iter().position(|l| l == entry);
        assert!(at("status jane") < at("get jane"), "{log:?}");
        assert!(
            at("patch jane").is_some() && at("patch carl").is_some(),
            "{log:?}"
        );
        // Bob's status did not land: he keeps his intent, for the next sync to retry.
        assert_eq!(at("get bob"), None, "{log:?}");
        // Dave was suspended again since: his new intent is not the one to remove.
        assert!(
            at("get dave").is_some() && at("patch dave").is_none(),
            "{log:?}"
        );
    }

    #[test]
    fn only_a_status_that_says_suspended_lets_the_intent_go() {
        let status = |phase| crate::crd::LastPassUserStatus {
            phase: Some(phase),
            ..Default::default()
        };
        let mut shown = user("uid-1");
        shown.status = Some(status(UserPhase::Suspended));
        assert!(says_suspended(None, &shown), "unchanged and suspended");
        assert!(says_suspended(Some(&status(UserPhase::Suspended)), &shown));
        // Disabled in LastPass, but the same sync failed another change of the user.
        assert!(!says_suspended(Some(&status(UserPhase::Failed)), &shown));
        shown.status = Some(status(UserPhase::Invited));
        assert!(!says_suspended(None, &shown));
    }

    #[test]
    fn a_status_goes_only_to_the_resource_it_was_planned_for() {
        let (store, mut writer) = reflector::store();
        writer.apply_watcher_event(&watcher::Event::Apply(user("uid-2")));
        let stores = Stores::new(vec![store]);
        // Deleted and created again under the same name: another resource.
        assert!(cached(&stores, &user("uid-1")).is_none());
        assert!(cached(&stores, &user("uid-2")).is_some());
        let mut gone = user("uid-3");
        gone.metadata.name = Some("john".into());
        assert!(cached(&stores, &gone).is_none());
    }
}
