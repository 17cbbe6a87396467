//! The Argo CD health check (`argocd/health.lua`) run by a real Lua 5.1 interpreter (Argo CD
//! runs health checks in gopher-lua, a Lua 5.1) on objects the real controllers wrote, and
//! Flux's reading of the same objects (kstatus).
//!
//! - `health_of_live_objects` (cluster): drives the controllers into every state a GitOps tool
//!   must tell apart — before the operator looked, ready, conflicts, bad credentials, a refused
//!   `Delete`, a plan held by the safeguard — and checks the script's verdict on each live
//!   object. With `LASTPASS_OPERATOR_WRITE_HEALTH_FIXTURES=1` it also writes them to
//!   `tests/fixtures/health/` (normalised).
//! - `health_of_recorded_objects`: the same verdicts on those recorded objects, without a
//!   cluster, and the kstatus reading next to them.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, PostParams};
use lastpass_operator::crd::{DirectoryIntegration, LastPassGroup, LastPassUser, UserPhase};
use serde_json::{Value, json};
use support::account::CID;
use support::builders::{group, secret, user};
use support::operator::*;
use support::{repo_path, wait_for};

/// The Lua 5.1 interpreter (Debian's `lua5.1`), installed by `scripts/test.sh`.
fn lua() -> &'static str {
    "lua5.1"
}

/// A Lua literal for a JSON value, as Argo CD hands objects to health scripts (`null`s are
/// absent keys).
fn lua_literal(v: &Value) -> String {
    match v {
        Value::Null => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let mut out = String::from("\"");
            for b in s.bytes() {
                match b {
                    b'"' | b'\\' => {
                        out.push('\\');
                        out.push(b as char);
                    }
                    0x20..=0x7e => out.push(b as char),
                    _ => out.push_str(&format!("\\{b}")),
                }
            }
            out.push('"');
            out
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(lua_literal).collect();
            format!("{{{}}}", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("[{}] = {}", lua_literal(&json!(k)), lua_literal(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// (status, message) of `argocd/health.lua` on `obj`, run by Lua 5.1 as Argo CD runs it: the
/// script's chunk with the global `obj`.
fn argo_health(obj: &Value) -> (String, String) {
    let script =
        std::fs::read_to_string(repo_path("argocd/health.lua")).expect("argocd/health.lua");
    let program = format!(
        "obj = {}\nlocal function check()\n{script}\nend\nlocal hs = check()\n\
         io.write(hs.status, \"\\t\", hs.message or \"\")\n",
        lua_literal(obj)
    );
    let mut child = Command::new(lua())
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lua5.1 runs (apt-get install lua5.1; scripts/test.sh installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(program.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "lua failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (status, message) = text.split_once('\t').expect("status and message");
    (status.to_string(), message.to_string())
}

/// Flux's reading (kstatus, sigs.k8s.io/cli-utils `checkGenericProperties`, which is all it
/// applies to kinds it has no rules for): a deletion is Terminating, an unobserved generation
/// InProgress, `Reconciling=True` InProgress, `Stalled=True` Failed, anything else Current —
/// kstatus does not read `Ready`, so the operator publishes `Reconciling`/`Stalled` too.
fn kstatus(obj: &Value) -> &'static str {
    if obj["metadata"]["deletionTimestamp"].is_string() {
        return "Terminating";
    }
    if let (Some(generation), Some(observed)) = (
        obj["metadata"]["generation"].as_i64(),
        obj["status"]["observedGeneration"].as_i64(),
    ) && generation != observed
    {
        return "InProgress";
    }
    let conditions = obj["status"]["conditions"].as_array().cloned();
    for c in conditions.unwrap_or_default() {
        match (c["type"].as_str(), c["status"].as_str()) {
            (Some("Reconciling"), Some("True")) => return "InProgress",
            (Some("Stalled"), Some("True")) => return "Failed",
            _ => {}
        }
    }
    "Current"
}

/// What a recorded object must read as: (file stem, Argo CD health, kstatus).
const EXPECTED: &[(&str, &str, &str)] = &[
    ("user-before-the-operator", "Progressing", "Current"),
    ("user-ready", "Healthy", "Current"),
    ("user-username-conflict", "Degraded", "Failed"),
    ("user-delete-not-allowed", "Degraded", "Terminating"),
    ("user-deprovision-held", "Suspended", "Terminating"),
    ("group-before-the-operator", "Progressing", "Current"),
    ("group-ready", "Healthy", "Current"),
    ("group-name-conflict", "Degraded", "Failed"),
    ("integration-before-the-operator", "Progressing", "Current"),
    ("integration-ready", "Healthy", "Current"),
    ("integration-credentials-invalid", "Degraded", "Failed"),
    ("integration-plan-held", "Suspended", "Failed"),
];

/// The object as recorded: no server bookkeeping, a fixed namespace.
fn normalised(mut obj: Value) -> Value {
    let ns = obj["metadata"]["namespace"]
        .as_str()
        .unwrap_or("")
        .to_string();
    if let Some(meta) = obj["metadata"].as_object_mut() {
        for key in ["managedFields", "uid", "resourceVersion", "selfLink"] {
            meta.remove(key);
        }
    }
    let text = serde_json::to_string_pretty(&obj).unwrap();
    let text = if ns.is_empty() {
        text
    } else {
        text.replace(&ns, "identity")
    };
    serde_json::from_str(&text).unwrap()
}

fn check(stem: &str, obj: &Value) {
    let (_, want_argo, want_kstatus) = EXPECTED
        .iter()
        .find(|(s, _, _)| *s == stem)
        .unwrap_or_else(|| panic!("no expectation for {stem}"));
    let (got, message) = argo_health(obj);
    assert_eq!(
        &got, want_argo,
        "{stem}: Argo CD health {got} ({message}), want {want_argo}"
    );
    assert_eq!(kstatus(obj), *want_kstatus, "{stem}: kstatus of {obj:#}");
    if std::env::var_os("LASTPASS_OPERATOR_WRITE_HEALTH_FIXTURES").is_some() {
        let path = repo_path(&format!("tests/fixtures/health/{stem}.json"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let text = serde_json::to_string_pretty(&normalised(obj.clone())).unwrap();
        std::fs::write(path, text + "\n").unwrap();
    }
}

#[test]
fn health_of_recorded_objects() {
    let mut table = String::from("| object | Argo CD | kstatus (Flux) |\n|---|---|---|\n");
    for (stem, want_argo, want_kstatus) in EXPECTED {
        let path = repo_path(&format!("tests/fixtures/health/{stem}.json"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let obj: Value = serde_json::from_str(&text).unwrap();
        let (argo, message) = argo_health(&obj);
        assert_eq!(&argo, want_argo, "{stem}: Argo CD {argo} ({message})");
        assert_eq!(kstatus(&obj), *want_kstatus, "{stem}: kstatus");
        table.push_str(&format!("| {stem} | {argo} | {} |\n", kstatus(&obj)));
    }
    println!("{table}");
}

/// The `argocd-cm` patch the README applies carries the script verbatim, under each kind.
#[test]
fn the_argocd_cm_patch_carries_the_script() {
    let script = std::fs::read_to_string(repo_path("argocd/health.lua")).unwrap();
    let patch: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(repo_path("argocd/argocd-cm-patch.yaml")).unwrap(),
    )
    .expect("argocd/argocd-cm-patch.yaml is YAML");
    for kind in ["LastPassUser", "LastPassGroup", "DirectoryIntegration"] {
        let key = format!("resource.customizations.health.lastpass-operator.io_{kind}");
        assert_eq!(
            patch["data"][&key].as_str(),
            Some(script.as_str()),
            "{key} in argocd/argocd-cm-patch.yaml differs from argocd/health.lua"
        );
    }
}

#[test]
fn the_lua_literal_keeps_every_character() {
    let obj = json!({"status": {"message": "quote \" backslash \\ é\nline", "n": 3, "none": null}});
    let program = format!(
        "obj = {}\nio.write(obj.status.message, obj.status.n, tostring(obj.status.none))",
        lua_literal(&obj)
    );
    let out = Command::new(lua()).args(["-e", &program]).output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "quote \" backslash \\ é\nline3nil"
    );
}

async fn object<K>(ns: &support::TestNamespace, name: &str) -> Value
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    serde_json::to_value(ns.api::<K>().get(name).await.expect("get")).unwrap()
}

#[tokio::test]
async fn health_of_live_objects() {
    // Holds two leavers at once (1 is allowed).
    let Some((_, ns, _sim)) = account(json!({"deprovision": {"maxPerSync": 1}})).await else {
        return;
    };
    // A second integration whose Secret LastPass refuses.
    let wrong = secret(
        "wrong-api",
        json!({"cid": CID, "provhash": "not-the-provhash"}),
    );
    ns.api::<Secret>()
        .create(&PostParams::default(), &wrong)
        .await
        .unwrap();
    let mut broken: DirectoryIntegration = ns.api().get("acme").await.unwrap();
    broken.metadata = kube::api::ObjectMeta {
        name: Some("broken".into()),
        ..Default::default()
    };
    broken.spec.lastpass.credentials_secret_ref.name = "wrong-api".into();
    ns.api::<DirectoryIntegration>()
        .create(&PostParams::default(), &broken)
        .await
        .unwrap();

    let users = ns.api::<LastPassUser>();
    for (name, username, extra) in [
        ("ann", "ann@example.com", json!({})),
        ("leaver-1", "leaver1@example.com", json!({})),
        ("leaver-2", "leaver2@example.com", json!({})),
        (
            "erase",
            "erase@example.com",
            json!({"deprovisionAction": "Delete"}),
        ),
    ] {
        create_user(&ns, &user(name, username, extra)).await;
    }
    let groups = ns.api::<LastPassGroup>();
    groups
        .create(
            &PostParams::default(),
            &group(
                "eng",
                "Engineering",
                json!({"members": ["ann@example.com"]}),
            ),
        )
        .await
        .unwrap();
    check(
        "user-before-the-operator",
        &object::<LastPassUser>(&ns, "ann").await,
    );
    check(
        "group-before-the-operator",
        &object::<LastPassGroup>(&ns, "eng").await,
    );
    check(
        "integration-before-the-operator",
        &object::<DirectoryIntegration>(&ns, "acme").await,
    );

    let op = Operator::start(&ns);
    for name in ["ann", "leaver-1", "leaver-2", "erase"] {
        wait_user(&ns, name, 60, |u| is(u, UserPhase::Invited, "True")).await;
    }
    // Younger claimants of a username and a group name.
    create_user(&ns, &user("ann-again", "ann@example.com", json!({}))).await;
    groups
        .create(
            &PostParams::default(),
            &group("eng-again", "Engineering", json!({})),
        )
        .await
        .unwrap();
    wait_user(&ns, "ann-again", 60, |u| {
        ready(u).is_some_and(|(_, r, _)| r == "UsernameConflict")
    })
    .await;
    let conflict = wait_for(Duration::from_secs(60), || async {
        let g = groups.get("eng-again").await.ok()?;
        let reason = g.status.as_ref().and_then(|s| {
            s.conditions
                .iter()
                .find(|c| c.type_ == "Ready")
                .map(|c| c.reason.clone())
        });
        (reason.as_deref() == Some("GroupNameConflict")).then_some(g)
    })
    .await
    .expect("eng-again shows GroupNameConflict");
    check(
        "group-name-conflict",
        &serde_json::to_value(conflict).unwrap(),
    );
    check(
        "user-username-conflict",
        &object::<LastPassUser>(&ns, "ann-again").await,
    );
    check("user-ready", &object::<LastPassUser>(&ns, "ann").await);
    let eng = wait_for(Duration::from_secs(60), || async {
        let g = groups.get("eng").await.ok()?;
        let ready = g.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        });
        ready.then_some(g)
    })
    .await
    .expect("eng Ready");
    check("group-ready", &serde_json::to_value(eng).unwrap());
    let acme = wait_for(Duration::from_secs(60), || async {
        let i: DirectoryIntegration = ns.api().get("acme").await.ok()?;
        condition(&i, "Ready")
            .is_some_and(|(s, _, _)| s == "True")
            .then_some(i)
    })
    .await
    .expect("acme Ready");
    check("integration-ready", &serde_json::to_value(acme).unwrap());
    let broken = wait_for(Duration::from_secs(60), || async {
        let i: DirectoryIntegration = ns.api().get("broken").await.ok()?;
        let refused = condition(&i, "CredentialsValid").is_some_and(|(s, _, _)| s == "False");
        let not_ready = condition(&i, "Ready").is_some_and(|(s, _, _)| s == "False");
        (refused && not_ready).then_some(i)
    })
    .await
    .expect("broken shows CredentialsInvalid");
    check(
        "integration-credentials-invalid",
        &serde_json::to_value(broken).unwrap(),
    );

    // Two leavers (more than maxPerSync 1) and one Delete without allowDelete.
    for name in ["leaver-1", "leaver-2", "erase"] {
        users.delete(name, &DeleteParams::default()).await.unwrap();
    }
    let held = wait_user(&ns, "leaver-1", 60, |u| {
        ready(u).is_some_and(|(_, r, _)| r == "DeprovisionBlocked")
    })
    .await;
    check(
        "user-deprovision-held",
        &serde_json::to_value(held).unwrap(),
    );
    let refused = wait_user(&ns, "erase", 60, |u| {
        ready(u).is_some_and(|(_, r, _)| r == "DeleteNotAllowed")
    })
    .await;
    check(
        "user-delete-not-allowed",
        &serde_json::to_value(refused).unwrap(),
    );
    let acme = wait_for(Duration::from_secs(60), || async {
        let i: DirectoryIntegration = ns.api().get("acme").await.ok()?;
        condition(&i, "DeprovisionBlocked")
            .is_some_and(|(s, _, _)| s == "True")
            .then_some(i)
    })
    .await
    .expect("acme holds the plan");
    check(
        "integration-plan-held",
        &serde_json::to_value(acme).unwrap(),
    );

    op.stop().await;
    ns.cleanup().await;
}
