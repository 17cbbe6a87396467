//! `plan -f DIR --kubeconfig K` against the real API server: the files of a pull request laid
//! over the cluster's resources. Users the operator provisioned that the files no longer
//! contain show as deprovisions (a GitOps prune would delete them), two of them at once are a
//! safeguard hold with the commands to decide, a rename shows as `UsernameChanged`; without
//! the cluster the same files say that deletions cannot be seen. Exit codes 0/2/1.

mod support;

use std::path::Path;

use lastpass_operator::crd::{DirectoryIntegration, UserPhase};
use serde_json::json;
use support::account::{CID, PROVHASH};
use support::builders::user;
use support::operator::*;
use support::process::binary;

/// A directory removed when dropped.
struct Dir(std::path::PathBuf);

impl Dir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write(dir: &Path, name: &str, value: serde_json::Value) {
    std::fs::write(
        dir.join(name),
        serde_json::to_string_pretty(&value).unwrap(),
    )
    .unwrap();
}

/// LastPassUser `name` of namespace `ns` as a manifest file holds it.
fn user_manifest(ns: &str, name: &str, username: &str) -> serde_json::Value {
    let mut u = user(name, username, json!({}));
    u.metadata.namespace = Some(ns.into());
    serde_json::to_value(u).expect("a user serializes")
}

/// Runs `plan` with `args`; (exit code, stdout, stderr). Off the test's runtime, which serves
/// the simulator.
async fn plan(args: Vec<String>) -> (i32, String, String) {
    let out = tokio::process::Command::new(binary())
        .arg("plan")
        .args(args)
        .output()
        .await
        .expect("run plan");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn plan_over_the_cluster_shows_deprovisions_holds_and_renames() {
    let Some((cluster, ns, sim)) = account(json!({"deprovision": {"maxPerSync": 1}})).await else {
        return;
    };
    let op = Operator::start(&ns);
    for (name, username) in [
        ("ann", "ann@example.com"),
        ("bob", "bob@example.com"),
        ("cat", "cat@example.com"),
    ] {
        create_user(&ns, &user(name, username, json!({}))).await;
    }
    for name in ["ann", "bob", "cat"] {
        wait_user(&ns, name, 60, |u| is(u, UserPhase::Invited, "True")).await;
    }
    op.stop().await;
    let calls_before = sim.state.calls().len();

    // The pull request: the integration as it is, Ann renamed, Bob and Cat gone.
    let dir = std::env::temp_dir().join(format!("lpo-plan-{}", ns.name));
    std::fs::create_dir_all(&dir).unwrap();
    let dir = Dir(dir);
    let live: DirectoryIntegration = ns.api().get("acme").await.unwrap();
    write(
        dir.path(),
        "00-integration.yaml",
        json!({
            "apiVersion": "lastpass-operator.io/v1alpha1", "kind": "DirectoryIntegration",
            "metadata": {"name": "acme", "namespace": ns.name},
            "spec": live.spec,
        }),
    );
    write(
        dir.path(),
        "10-users.yaml",
        user_manifest(&ns.name, "ann", "ann@example.com"),
    );
    let creds = dir.path().join("creds.yaml");
    std::fs::write(&creds, format!("cid: {CID}\nprovhash: {PROVHASH}\n")).unwrap();
    let files = dir.path().to_str().unwrap().to_string();
    let creds = creds.to_str().unwrap().to_string();
    let kubeconfig = cluster.kubeconfig().to_str().unwrap().to_string();
    // The credentials file sits next to the manifests: it is no resource, `plan` skips it.
    let base = ["-f", &files, "--credentials", &creds];

    let with = |extra: &[&str]| {
        let args: Vec<String> = base.iter().chain(extra).map(|s| s.to_string()).collect();
        plan(args)
    };

    // Over the cluster: two deprovisions, held (more than maxPerSync 1), with the commands.
    let (code, out, err) = with(&["--kubeconfig", &kubeconfig, "--format", "markdown"]).await;
    assert_eq!(code, 2, "changes planned: exit 2\n{out}\n{err}");
    for want in [
        &format!("removed from the files: LastPassUser {}/bob", ns.name),
        &format!("removed from the files: LastPassUser {}/cat", ns.name),
        "| Deprovision | bob@example.com |",
        "| Deprovision | cat@example.com |",
        "**2 to deprovision**",
        "the safeguard would **hold** the destructive changes",
        &format!(
            "kubectl -n {} annotate lpdi acme lastpass-operator.io/approve-plan=",
            ns.name
        ),
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    assert!(!out.contains("deletions cannot be seen"), "{out}");
    println!("{out}");

    // Without the cluster: the same files plan no deprovision, and say why.
    let (code, out, _) = with(&["--format", "markdown"]).await;
    assert_eq!(code, 0, "the files alone change nothing: exit 0\n{out}");
    assert!(!out.contains("| Deprovision |"), "{out}");
    assert!(
        out.contains("deletions cannot be seen without the cluster"),
        "{out}"
    );

    // A rename of a bound user is what the operator would refuse: nothing sent to LastPass.
    write(
        dir.path(),
        "10-users.yaml",
        user_manifest(&ns.name, "ann", "ann.lee@example.com"),
    );
    let (_, out, _) = with(&["--kubeconfig", &kubeconfig]).await;
    assert!(
        out.contains(&format!("User {}/ann: UsernameChanged", ns.name)),
        "{out}"
    );
    assert!(
        !out.contains("Create           ann.lee@example.com"),
        "{out}"
    );

    // The files as the cluster has them: nothing to do, exit 0.
    for (file, name, username) in [
        ("10-users.yaml", "ann", "ann@example.com"),
        ("11-bob.yaml", "bob", "bob@example.com"),
        ("12-cat.yaml", "cat", "cat@example.com"),
    ] {
        write(dir.path(), file, user_manifest(&ns.name, name, username));
    }
    let (code, out, err) = with(&["--kubeconfig", &kubeconfig]).await;
    assert_eq!(code, 0, "nothing to do: exit 0\n{out}\n{err}");

    // plan only reads.
    let writes: Vec<_> = sim.state.calls()[calls_before..]
        .iter()
        .filter(|c| c.command != "getuserdata")
        .map(|c| c.command.clone())
        .collect();
    assert!(writes.is_empty(), "plan wrote to LastPass: {writes:?}");
    ns.cleanup().await;
}
