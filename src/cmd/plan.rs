//! `lastpass-operator plan -f DIR`: what would change in LastPass for these YAML files,
//! without changing anything. Exit 0: nothing to do; 2: changes planned; 1: error.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Serialize;

use crate::crd::{DirectoryIntegration, PlanItem, PlanSummary};
use crate::engine::account::{client_config, guards_of, policy_of};
use crate::engine::desire::desire;
use crate::engine::plan::{Refusal, plan};
use crate::engine::report_issues::issue_condition;
use crate::engine::report_plan::{plan_items, plan_summary};
use crate::engine::safeguard::guard;
use crate::lastpass::{Client, LastPass};
use crate::source::files::Manifests;
use crate::status::refusal::how_to_decide;

use super::plan_cluster::{Overlay, covered_namespaces, overlay, read_cluster};

/// Options of `plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Directories or files of resource manifests (repeatable).
    #[arg(short = 'f', long = "filename", required = true)]
    pub paths: Vec<PathBuf>,
    /// Only this DirectoryIntegration (default: every one in the files).
    #[arg(long)]
    pub integration: Option<String>,
    /// Namespace for manifests that name none.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// Enterprise API URL, instead of the integration's `spec.lastpass.endpoint`.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// YAML or JSON file with `cid` and `provhash` (or set LASTPASS_CID and LASTPASS_PROVHASH).
    #[arg(long)]
    pub credentials: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Lay the files over this cluster's resources (read only): Git-made resources the files
    /// no longer contain show as deprovisions, and holds are judged with the live safeguard
    /// window. Without it (or `--cluster`), deletions cannot be seen.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Like `--kubeconfig`, with the default kubeconfig (KUBECONFIG, ~/.kube/config) or the
    /// in-cluster config.
    #[arg(long)]
    pub cluster: bool,
}

/// Output format of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object, for machines.
    Json,
    /// Markdown, for a pull-request comment.
    Markdown,
}

/// Failure of `plan`.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The files could not be read.
    #[error(transparent)]
    Files(#[from] crate::source::files::FilesError),
    /// No integration to plan for.
    #[error("no DirectoryIntegration{} in {path}", .name.as_ref().map(|n| format!(" named {n}")).unwrap_or_default())]
    NoIntegration {
        /// The files.
        path: String,
        /// The name asked for.
        name: Option<String>,
    },
    /// No credentials were given.
    #[error(
        "no LastPass credentials: pass --credentials FILE (keys cid, provhash) or set LASTPASS_CID and LASTPASS_PROVHASH"
    )]
    NoCredentials,
    /// The credentials file is unreadable.
    #[error("cannot read credentials from {path}: {message}")]
    Credentials {
        /// The file.
        path: String,
        /// What is wrong (never the provhash).
        message: String,
    },
    /// The integration breaks a rule of its CRD; LastPass was not called.
    #[error("DirectoryIntegration {integration} is invalid: {message}")]
    InvalidSpec {
        /// The integration.
        integration: String,
        /// The broken rules and their fixes.
        message: String,
    },
    /// The cluster could not be read.
    #[error(
        "reading the cluster's LastPassUsers, LastPassGroups and DirectoryIntegrations: {0} (plan needs get/list on them in the files' namespaces; without --kubeconfig/--cluster it plans from the files alone)"
    )]
    Cluster(String),
    /// LastPass could not be read.
    #[error("reading the LastPass account of {integration}: {source}")]
    LastPass {
        /// The integration.
        integration: String,
        /// The cause.
        #[source]
        source: crate::lastpass::ApiError,
    },
}

/// What `plan` found for one integration.
#[derive(Debug, Serialize)]
pub struct IntegrationPlan {
    /// `namespace/name` of the integration.
    pub integration: String,
    /// Users in LastPass.
    pub users_in_lastpass: usize,
    /// Counts and id.
    pub summary: PlanSummary,
    /// Every planned change.
    pub items: Vec<PlanItem>,
    /// The destructive changes the safeguard would hold (plan id), if any.
    pub blocked_plan: Option<HeldPlan>,
    /// Changes refused by policy.
    pub refused: Vec<String>,
    /// LastPass users no resource declares (left alone).
    pub unmanaged: Vec<String>,
    /// Resources left out, with the reason.
    pub issues: Vec<String>,
    /// Whether the cluster was read, so that deletions could be seen.
    pub deletions_visible: bool,
    /// Git-made resources in the cluster that the files no longer contain (`Kind ns/name`):
    /// what a GitOps prune deletes.
    pub removed: Vec<String>,
}

#[derive(serde::Deserialize)]
struct CredentialsFile {
    cid: serde_json::Value,
    provhash: String,
}

fn credentials(args: &PlanArgs) -> Result<(String, SecretString), PlanError> {
    if let Some(path) = &args.credentials {
        let err = |message: String| PlanError::Credentials {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let file: CredentialsFile = serde_saphyr::from_str(&text)
            .map_err(|_| err("expected keys cid and provhash".into()))?;
        let cid = match file.cid {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        return Ok((cid, SecretString::from(file.provhash)));
    }
    match (
        std::env::var("LASTPASS_CID"),
        std::env::var("LASTPASS_PROVHASH"),
    ) {
        (Ok(cid), Ok(hash)) => Ok((cid, SecretString::from(hash))),
        _ => Err(PlanError::NoCredentials),
    }
}

/// What a plan is made from: the resources (from files, or the files laid over a cluster)
/// and whether the cluster was read.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    /// LastPassUsers (deleted ones carry a deletion timestamp).
    pub users: Vec<crate::crd::LastPassUser>,
    /// LastPassGroups.
    pub groups: Vec<crate::crd::LastPassGroup>,
    /// Labels of the namespaces, for `allowedNamespaces.from: Selector`.
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// `Some` (the removed resources) when the cluster was read.
    pub removed: Option<Vec<String>>,
}

impl PlanInput {
    /// The files alone.
    pub fn files(manifests: &Manifests) -> Self {
        Self {
            users: manifests.users.clone(),
            groups: manifests.groups.clone(),
            ..Self::default()
        }
    }

    /// The files laid over a cluster.
    pub fn over_cluster(overlay: Overlay) -> Self {
        Self {
            users: overlay.users,
            groups: overlay.groups,
            namespace_labels: overlay.namespace_labels,
            removed: Some(overlay.removed),
        }
    }
}

/// Plans one integration against a LastPass account, reading only.
pub async fn plan_integration<L: LastPass>(
    lastpass: &L,
    integration: &DirectoryIntegration,
    input: &PlanInput,
) -> Result<IntegrationPlan, crate::lastpass::ApiError> {
    let wanted = desire(
        integration,
        &input.users,
        &input.groups,
        &input.namespace_labels,
    );
    let observed = lastpass.observe().await?;
    let full = plan(&wanted.desired, &observed, &policy_of(integration));
    let guarded = guard(
        &full,
        &wanted.desired,
        &guards_of(integration, jiff::Timestamp::now()),
    );
    let refused = full
        .refused
        .iter()
        .map(|r| match r {
            Refusal::DeleteNotAllowed { username, .. } => {
                format!("{username}: Delete refused (spec.sync.deprovision.allowDelete is false)")
            }
        })
        .collect();
    let issues = wanted
        .issues
        .iter()
        .map(|(r, issue)| {
            let (reason, message) = issue_condition(issue);
            let why = format!("{}: {message}", reason.as_str());
            format!("{:?} {}/{}: {why}", r.kind, r.namespace, r.name)
        })
        .collect();
    let namespace = integration
        .metadata
        .namespace
        .as_deref()
        .unwrap_or_default();
    let name = integration.metadata.name.as_deref().unwrap_or_default();
    let removed = input.removed.clone().unwrap_or_default();
    Ok(IntegrationPlan {
        integration: format!("{namespace}/{name}"),
        users_in_lastpass: observed.users.len(),
        summary: plan_summary(&full),
        items: plan_items(&full),
        blocked_plan: guarded.blocked.map(|b| {
            let how = how_to_decide(namespace, name, &b.plan_id);
            HeldPlan {
                id: b.plan_id,
                reason: b.reason,
                how_to_decide: how,
            }
        }),
        refused,
        unmanaged: full.unmanaged.clone(),
        issues,
        deletions_visible: input.removed.is_some(),
        removed,
    })
}

/// A plan the safeguard would hold.
#[derive(Debug, Serialize)]
pub struct HeldPlan {
    /// Its id (what `approve-plan` names).
    pub id: String,
    /// The limit it exceeds.
    pub reason: String,
    /// The commands that approve or reject it, once it is held in the cluster.
    pub how_to_decide: String,
}

/// The note of a plan made without the cluster.
const NO_DELETIONS_NOTE: &str = "deletions cannot be seen without the cluster: a resource removed from the files is \
     reported as unmanaged, not deprovisioned; pass --kubeconfig (or --cluster) to lay the files \
     over the cluster";

/// Prints a plan for people.
pub fn print_text(p: &IntegrationPlan, out: &mut impl std::io::Write) -> std::io::Result<()> {
    writeln!(
        out,
        "DirectoryIntegration {} ({} users in LastPass)",
        p.integration, p.users_in_lastpass
    )?;
    for item in &p.items {
        let sign = match item.action.as_str() {
            "Create" | "AddToGroup" | "Enable" => "+",
            "Deprovision" | "RemoveFromGroup" | "Suspend" => "-",
            _ => "~",
        };
        let detail = item
            .detail
            .as_deref()
            .map(|d| format!("  ({d})"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {sign} {:<16} {}{detail}",
            item.action, item.username
        )?;
    }
    let s = &p.summary;
    writeln!(
        out,
        "  plan {}: {} to invite, {} to update, {} membership changes, {} to deprovision",
        s.id, s.creates, s.updates, s.group_changes, s.deprovisions
    )?;
    for r in &p.removed {
        writeln!(out, "  - removed from the files: {r}")?;
    }
    if let Some(h) = &p.blocked_plan {
        writeln!(
            out,
            "  ! the safeguard would hold the destructive changes ({}); {}",
            h.reason, h.how_to_decide
        )?;
    }
    for r in &p.refused {
        writeln!(out, "  ! refused: {r}")?;
    }
    for i in &p.issues {
        writeln!(out, "  ! left out: {i}")?;
    }
    if !p.unmanaged.is_empty() {
        writeln!(
            out,
            "  {} LastPass users no resource declares (left alone)",
            p.unmanaged.len()
        )?;
    }
    if !p.deletions_visible {
        writeln!(out, "  note: {NO_DELETIONS_NOTE}")?;
    }
    Ok(())
}

/// Prints a plan as Markdown, for a pull-request comment.
pub fn print_markdown(p: &IntegrationPlan, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let s = &p.summary;
    writeln!(
        out,
        "### DirectoryIntegration `{}`\n\n{} to invite, {} to update, {} membership changes, \
         **{} to deprovision** ({} users in LastPass; plan `{}`)\n",
        p.integration,
        s.creates,
        s.updates,
        s.group_changes,
        s.deprovisions,
        p.users_in_lastpass,
        s.id
    )?;
    if !p.items.is_empty() {
        writeln!(out, "| change | user | detail |\n|---|---|---|")?;
        for item in &p.items {
            let detail = item.detail.as_deref().unwrap_or("").replace('|', "\\|");
            writeln!(out, "| {} | {} | {detail} |", item.action, item.username)?;
        }
        writeln!(out)?;
    }
    for r in &p.removed {
        writeln!(out, "- removed from the files: {r}")?;
    }
    if let Some(h) = &p.blocked_plan {
        writeln!(
            out,
            "- :warning: the safeguard would **hold** the destructive changes ({}); {}",
            h.reason, h.how_to_decide
        )?;
    }
    for r in &p.refused {
        writeln!(out, "- :warning: refused: {r}")?;
    }
    for i in &p.issues {
        writeln!(out, "- :warning: left out: {i}")?;
    }
    if !p.unmanaged.is_empty() {
        writeln!(
            out,
            "- {} LastPass users no resource declares (left alone)",
            p.unmanaged.len()
        )?;
    }
    if !p.deletions_visible {
        writeln!(out, "- note: {NO_DELETIONS_NOTE}")?;
    }
    Ok(())
}

/// The cluster to lay the files over, if asked for.
async fn cluster_client(args: &PlanArgs) -> Result<Option<kube::Client>, PlanError> {
    let err = |e: &dyn std::fmt::Display| PlanError::Cluster(e.to_string());
    if let Some(path) = &args.kubeconfig {
        return super::demo_cluster::client(path)
            .await
            .map(Some)
            .map_err(|e| err(&e));
    }
    if args.cluster {
        return kube::Client::try_default()
            .await
            .map(Some)
            .map_err(|e| err(&e));
    }
    Ok(None)
}

/// Runs `plan`; returns whether any change is planned.
pub async fn run(args: PlanArgs) -> Result<bool, PlanError> {
    let mut manifests = Manifests::default();
    for path in &args.paths {
        manifests.extend(Manifests::load(path, &args.namespace)?);
    }
    let integrations: Vec<DirectoryIntegration> = manifests
        .integrations
        .iter()
        .filter(|i| args.integration.is_none() || i.metadata.name == args.integration)
        .cloned()
        .collect();
    if integrations.is_empty() {
        return Err(PlanError::NoIntegration {
            path: args
                .paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            name: args.integration.clone(),
        });
    }
    let (input, integrations) = match cluster_client(&args).await? {
        Some(client) => {
            let view = read_cluster(&client, &covered_namespaces(&manifests))
                .await
                .map_err(|e| PlanError::Cluster(e.to_string()))?;
            let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::now());
            let laid = overlay(&manifests, &view, &now);
            let integrations = laid
                .integrations
                .iter()
                .filter(|i| {
                    integrations.iter().any(|f| {
                        f.metadata.name == i.metadata.name
                            && f.metadata.namespace == i.metadata.namespace
                    })
                })
                .cloned()
                .collect();
            (PlanInput::over_cluster(laid), integrations)
        }
        None => (PlanInput::files(&manifests), integrations),
    };
    let (cid, provhash) = credentials(&args)?;
    let mut plans = Vec::new();
    for integration in &integrations {
        let mut config = client_config(integration, &cid, provhash.clone());
        if let Some(endpoint) = &args.endpoint {
            config.endpoint = endpoint.clone();
        }
        let name = integration.metadata.name.clone().unwrap_or_default();
        // Checked with the endpoint that will be called (`--endpoint` wins over the spec's).
        let mut effective = integration.clone();
        effective.spec.lastpass.endpoint = config.endpoint.clone();
        let problems = crate::engine::spec_check::check_integration(&effective);
        if let Some((_, message)) = crate::engine::spec_check::summary(&problems) {
            return Err(PlanError::InvalidSpec {
                integration: name,
                message,
            });
        }
        let client = Client::new(config).map_err(|source| PlanError::LastPass {
            integration: name.clone(),
            source,
        })?;
        let p = plan_integration(&client, integration, &input)
            .await
            .map_err(|source| PlanError::LastPass {
                integration: name,
                source,
            })?;
        plans.push(p);
    }
    let changes = plans.iter().any(|p| !p.items.is_empty());
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let json = serde_json::json!({"changes": changes, "integrations": plans});
            let _ = writeln!(stdout, "{json}");
        }
        Format::Text => {
            for p in &plans {
                let _ = print_text(p, &mut stdout);
            }
        }
        Format::Markdown => {
            for p in &plans {
                let _ = print_markdown(p, &mut stdout);
            }
        }
    }
    Ok(changes)
}
