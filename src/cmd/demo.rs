//! `lastpass-operator demo`: the embedded default. Starts the LastPass simulator, feeds the
//! account engine the non-IdP `examples/` (embedded in the binary), and prints what happened:
//! statuses as `kubectl get` shows them, the simulator's view of the account, a dry-run plan,
//! and a deprovisioning held back by the safeguard until it is approved.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use secrecy::SecretString;

use crate::crd::{APPROVE_PLAN_ANNOTATION, DirectoryIntegration, LastPassUser};
use crate::engine::account::{AccountSync, client_config, sync_account};
use crate::engine::model::user_key;
use crate::engine::password;
use crate::lastpass::Client;
use crate::simulator::{ConsoleEdit, Knobs, RunningSimulator, SeedUser, SimState};
use crate::source::files::Manifests;

use super::table::table;

/// The examples the demo runs, embedded so it works from any directory.
const EXAMPLES: [(&str, &str); 4] = [
    (
        "examples/00-integration.yaml",
        include_str!("../../examples/00-integration.yaml"),
    ),
    (
        "examples/10-users.yaml",
        include_str!("../../examples/10-users.yaml"),
    ),
    (
        "examples/20-groups.yaml",
        include_str!("../../examples/20-groups.yaml"),
    ),
    (
        "examples/30-dry-run.yaml",
        include_str!("../../examples/30-dry-run.yaml"),
    ),
];

const NAMESPACE: &str = "lastpass";
const CID: &str = "12345678";

/// Options of `demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Simulated latency of each LastPass call, in milliseconds (production is ~300).
    #[arg(long, default_value_t = 20)]
    pub latency_ms: u64,
    /// Run the real controllers against this cluster instead (KUBECONFIG is used when set).
    /// The CRDs are installed and the examples applied in `--namespace`.
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// Namespace of the cluster demo.
    #[arg(long, default_value = "lastpass-demo")]
    pub namespace: String,
}

fn heading(text: &str) {
    println!("\n\x1b[1m== {text}\x1b[0m");
}

fn age(resource_age_s: u64) -> String {
    format!("{resource_age_s}s")
}

fn ready_of(conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]) -> String {
    conditions
        .iter()
        .find(|c| c.type_ == crate::status::types::READY)
        .map(|c| c.status.clone())
        .unwrap_or_default()
}

/// A time as `kubectl get` shows a date column: how long ago (`<invalid>` in the future, as
/// kubectl does: a zone misread shows up, it is not hidden).
fn time_of(t: &Option<Time>) -> String {
    let Some(t) = t else {
        return "<none>".into();
    };
    let secs = jiff::Timestamp::now().duration_since(t.0).as_secs();
    match secs {
        s if s < -1 => "<invalid>".into(),
        s if s < 120 => format!("{}s", s.max(0)),
        s if s < 120 * 60 => format!("{}m", s / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn print_statuses(m: &Manifests, sync: &AccountSync, started: Instant) {
    let secs = started.elapsed().as_secs();
    let users: Vec<Vec<String>> = m
        .users
        .iter()
        .filter_map(|u| {
            let st = sync
                .report
                .users
                .get(&crate::engine::desire::resource_ref(u))?;
            Some(vec![
                u.name_any(),
                u.spec.username.clone(),
                u.spec.integration_ref.name.clone(),
                st.phase.map(|p| format!("{p:?}")).unwrap_or_default(),
                ready_of(&st.conditions),
                time_of(&st.last_login),
                age(secs),
            ])
        })
        .collect();
    println!("$ kubectl get lpu -n {NAMESPACE}");
    println!(
        "{}",
        table(
            &[
                "NAME",
                "USERNAME",
                "INTEGRATION",
                "PHASE",
                "READY",
                "LAST LOGIN",
                "AGE"
            ],
            &users
        )
    );
    let groups: Vec<Vec<String>> = m
        .groups
        .iter()
        .filter_map(|g| {
            let st = sync
                .report
                .groups
                .get(&crate::engine::desire::resource_ref(g))?;
            Some(vec![
                g.name_any(),
                g.spec.group_name.clone(),
                g.spec.integration_ref.name.clone(),
                format!("{:?}", g.spec.policy),
                st.member_count.unwrap_or_default().to_string(),
                ready_of(&st.conditions),
                if st.missing_members.is_empty() {
                    String::new()
                } else {
                    format!("missing: {}", st.missing_members.join(", "))
                },
            ])
        })
        .collect();
    println!("\n$ kubectl get lpg -n {NAMESPACE}");
    println!(
        "{}",
        table(
            &[
                "NAME",
                "GROUP",
                "INTEGRATION",
                "POLICY",
                "MEMBERS",
                "READY",
                "(status.missingMembers)"
            ],
            &groups
        )
    );
    let st = &sync.report.integration;
    let counts = st.counts.clone().unwrap_or_default();
    println!("\n$ kubectl get lpdi -n {NAMESPACE}");
    println!(
        "{}",
        table(
            &[
                "NAME",
                "READY",
                "MANAGED",
                "ACTIVE",
                "INVITED",
                "SUSPENDED",
                "UNMANAGED",
                "PENDING DEPROVISION"
            ],
            &[vec![
                "acme".into(),
                ready_of(&st.conditions),
                counts.managed.to_string(),
                counts.active.to_string(),
                counts.invited.to_string(),
                counts.suspended.to_string(),
                counts.unmanaged.to_string(),
                counts.pending_deprovision.to_string(),
            ]],
        )
    );
}

fn print_account(state: &SimState) {
    let store = state.store();
    let rows: Vec<Vec<String>> = store
        .users_by_id()
        .map(|u| {
            let state = if u.disabled {
                "disabled"
            } else if u.neverloggedin {
                "invited"
            } else {
                "active"
            };
            vec![
                u.id.to_string(),
                u.username.clone(),
                u.fullname.clone(),
                state.into(),
                u.groups.iter().collect::<Vec<_>>().join(", "),
            ]
        })
        .collect();
    println!(
        "{}",
        table(&["ID", "USERNAME", "FULL NAME", "STATE", "GROUPS"], &rows)
    );
}

fn print_sync(
    label: &str,
    state: &SimState,
    before: usize,
    sync: &AccountSync,
    took: std::time::Duration,
) {
    let calls = state.calls();
    let mut by_command: BTreeMap<String, usize> = BTreeMap::new();
    for c in &calls[before.min(calls.len())..] {
        *by_command.entry(c.command.clone()).or_default() += 1;
    }
    let plan = &sync.outcome.initial_plan;
    println!(
        "{label}: {} changes planned ({} invites, {} updates/suspends, {} membership changes, {} deprovisions) \
         → {} LastPass calls {:?} in {} ms",
        plan.write_count(),
        plan.creates.len(),
        plan.updates.len() + plan.disables.len() + plan.enables.len(),
        plan.membership_changes(),
        plan.deprovisions.len(),
        by_command.values().sum::<usize>(),
        by_command,
        took.as_millis()
    );
    if let Some(e) = &sync.outcome.error {
        println!("  error: {e}");
    }
}

/// Writes the statuses of a sync back onto the resources, as the controllers do in a cluster
/// (the next sync reads them: e.g. which attributes were already sent).
fn write_back(m: &mut Manifests, sync: &AccountSync) {
    for u in m.users.iter_mut() {
        if let Some(st) = sync
            .report
            .users
            .get(&crate::engine::desire::resource_ref(u))
        {
            u.status = Some(st.clone());
        }
    }
}

async fn run_sync(
    client: &Client,
    integration: &DirectoryIntegration,
    m: &mut Manifests,
    passwords: BTreeMap<String, SecretString>,
) -> (AccountSync, std::time::Duration) {
    let t = Instant::now();
    let s = sync_account(
        client,
        integration,
        &m.users,
        &m.groups,
        &BTreeMap::new(),
        passwords,
    )
    .await;
    let took = t.elapsed();
    write_back(m, &s);
    (s, took)
}

fn seed(username: &str, fullname: &str, groups: &[&str]) -> SeedUser {
    SeedUser {
        username: username.into(),
        fullname: fullname.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        disabled: false,
        admin: false,
        active: true,
        multifactor: Some("lastpass_authenticator".into()),
    }
}

/// Runs the demo.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut m = Manifests::default();
    for (name, text) in EXAMPLES {
        m.add_yaml(Path::new(name), text, NAMESPACE)?;
    }
    if let Some(kubeconfig) = &args.kubeconfig {
        // The cluster demo: only the `acme` integration and its resources.
        m.integrations
            .retain(|i| i.metadata.name.as_deref() == Some("acme"));
        return super::demo_cluster::run(kubeconfig, &args.namespace, m).await;
    }
    let provhash = "demo-provhash-not-a-secret";
    // The account's admin (whose provisioning hash the operator uses) is one of them: a real
    // account is never empty.
    let state = SimState::builder(CID, SecretString::from(provhash))
        .admin("it.admin@example.com")
        .knobs(Knobs::default().latency(args.latency_ms, args.latency_ms / 4))
        .build();
    // Users an admin made in the console before the operator arrived.
    state.seed(&[
        SeedUser {
            admin: true,
            ..seed("it.admin@example.com", "IT Admin", &["Engineering"])
        },
        seed(
            "cfo@example.com",
            "Chief Financial Officer",
            &["Finance", "Board"],
        ),
        seed("old.intern@example.com", "Old Intern", &["Finance"]),
    ]);
    let sim = RunningSimulator::start(state).await?;
    heading(&format!(
        "LastPass simulator at {} ({} ms latency), 3 users already made in the console",
        sim.url, args.latency_ms
    ));
    print_account(&sim.state);

    let acme = m
        .integration("acme")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("examples lack DirectoryIntegration acme"))?;
    let mut config = client_config(&acme, CID, SecretString::from(provhash));
    config.endpoint = sim.url.clone();
    let client = Client::new(config)?;
    heading(&format!(
        "kubectl apply -f examples/: DirectoryIntegration acme, {} LastPassUsers, {} LastPassGroups",
        m.users.len(),
        m.groups.len()
    ));
    let mut passwords = BTreeMap::new();
    for u in m
        .users
        .iter()
        .filter(|u| u.spec.initial_password == crate::crd::InitialPassword::Generate)
    {
        passwords.insert(user_key(&u.spec.username), password::generate());
        println!(
            "  {} has initialPassword: Generate → a temporary password goes to Secret {}-initial-password (never printed)",
            u.spec.username,
            u.name_any()
        );
    }
    let before = sim.state.calls().len();
    let (first, took) = run_sync(&client, &acme, &mut m, passwords).await;
    print_sync("sync 1", &sim.state, before, &first, took);

    heading(
        "Jane and Raj log in; a console admin renames Raj and removes Jane from On-Call (drift)",
    );
    sim.state.login("jane.doe@example.com");
    sim.state.login("raj.patel@example.com");
    sim.state.edit(
        "raj.patel@example.com",
        &ConsoleEdit {
            fullname: Some("R. Patel".into()),
            ..ConsoleEdit::default()
        },
    );
    sim.state.edit(
        "jane.doe@example.com",
        &ConsoleEdit {
            remove_groups: vec!["On-Call".into()],
            ..ConsoleEdit::default()
        },
    );
    let before = sim.state.calls().len();
    let (second, took) = run_sync(&client, &acme, &mut m, BTreeMap::new()).await;
    print_sync(
        "sync 2 (drift corrected)",
        &sim.state,
        before,
        &second,
        took,
    );
    let before = sim.state.calls().len();
    let (steady, took) = run_sync(&client, &acme, &mut m, BTreeMap::new()).await;
    print_sync(
        "sync 3 (steady state: reads only)",
        &sim.state,
        before,
        &steady,
        took,
    );

    heading("Status, as kubectl shows it");
    print_statuses(&m, &steady, started);
    heading("The LastPass account (simulator's view)");
    print_account(&sim.state);

    heading(
        "Dry run: the same users planned against DirectoryIntegration acme-preview (dryRun: true)",
    );
    let preview_state = SimState::builder("87654321", SecretString::from(provhash)).build();
    let preview_sim = RunningSimulator::start(preview_state).await?;
    let mut preview = m
        .integration("acme-preview")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("examples lack acme-preview"))?;
    preview.spec.allowed_namespaces.from = crate::crd::NamespacesFrom::All;
    let mut preview_users = m.clone();
    for u in preview_users.users.iter_mut() {
        u.spec.integration_ref.name = "acme-preview".into();
        u.metadata.namespace = preview.metadata.namespace.clone();
    }
    let mut config = client_config(&preview, "87654321", SecretString::from(provhash));
    config.endpoint = preview_sim.url.clone();
    let preview_client = Client::new(config)?;
    let (dry, _) = run_sync(
        &preview_client,
        &preview,
        &mut preview_users,
        BTreeMap::new(),
    )
    .await;
    let plan = dry.report.integration.plan.clone().unwrap_or_default();
    println!(
        "status.plan: id {}, creates {}, updates {}, groupChanges {}, deprovisions {}",
        plan.id, plan.creates, plan.updates, plan.group_changes, plan.deprovisions
    );
    for item in &plan.sample {
        println!(
            "  - {} {} {}",
            item.action,
            item.username,
            item.detail.clone().unwrap_or_default()
        );
    }
    let writes = preview_sim
        .state
        .calls()
        .iter()
        .filter(|c| c.command != "getuserdata")
        .count();
    println!("write calls made: {writes}");

    heading("Safeguard: 3 LastPassUsers deleted while spec.sync.deprovision.maxPerSync is 2");
    let mut strict = acme.clone();
    strict.spec.sync.deprovision.max_per_sync = 2;
    let now = Time(jiff::Timestamp::now());
    for name in ["raj-patel", "kiosk", "alex-leaver"] {
        if let Some(u) = m
            .users
            .iter_mut()
            .find(|u: &&mut LastPassUser| u.name_any() == name)
        {
            u.metadata.deletion_timestamp = Some(now.clone());
        }
    }
    let before = sim.state.calls().len();
    let (blocked, took) = run_sync(&client, &strict, &mut m, BTreeMap::new()).await;
    print_sync("sync 4", &sim.state, before, &blocked, took);
    let cond = blocked
        .report
        .integration
        .conditions
        .iter()
        .find(|c| c.type_ == crate::status::types::DEPROVISION_BLOCKED)
        .cloned();
    let plan_id = blocked
        .outcome
        .blocked
        .as_ref()
        .map(|b| b.plan_id.clone())
        .unwrap_or_default();
    if let Some(c) = cond {
        println!("DeprovisionBlocked={}: {}", c.status, c.message);
    }
    println!("\n$ kubectl annotate lpdi acme {APPROVE_PLAN_ANNOTATION}={plan_id}");
    strict
        .annotations_mut()
        .insert(APPROVE_PLAN_ANNOTATION.into(), plan_id);
    let before = sim.state.calls().len();
    let (approved, took) = run_sync(&client, &strict, &mut m, BTreeMap::new()).await;
    print_sync("sync 5 (approved)", &sim.state, before, &approved, took);
    println!(
        "released finalizers: {}",
        approved
            .report
            .release
            .iter()
            .chain(&approved.outcome.remaining.finished)
            .map(|r| r.name.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ")
    );
    heading(
        "The LastPass account after deprovisioning (Deactivate keeps the account, disabled; RemoveFromCompany removes it)",
    );
    print_account(&sim.state);
    println!(
        "\ndemo finished in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
