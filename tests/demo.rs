//! The README's first command must keep working: the demo runs to the end.

#[tokio::test]
async fn the_demo_runs_to_the_end() {
    lastpass_operator::install_crypto_provider();
    let args = lastpass_operator::cmd::demo::DemoArgs {
        latency_ms: 0,
        kubeconfig: None,
        namespace: "unused".into(),
    };
    lastpass_operator::cmd::demo::run(args)
        .await
        .expect("demo succeeds");
}

/// The demo's users log in during the run: `LAST LOGIN` shows seconds, as `kubectl get` would
/// (LastPass's zone-less times read in the account's zone; read as UTC they were five hours
/// old, or `<invalid>` in the future).
#[test]
fn the_demo_shows_a_login_made_just_now_as_seconds_ago() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lastpass-operator"))
        .args(["demo", "--latency-ms", "0"])
        .env_remove("KUBECONFIG")
        .output()
        .expect("demo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let header = text
        .lines()
        .find(|l| l.contains("LAST LOGIN"))
        .expect("a LAST LOGIN column");
    let column = header.find("LAST LOGIN").unwrap();
    let jane = text
        .lines()
        .find(|l| l.starts_with("jane-doe "))
        .expect("jane-doe listed");
    let login = jane[column..].split_whitespace().next().unwrap();
    let secs: u64 = login
        .strip_suffix('s')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("jane-doe logged in just now, LAST LOGIN says {login:?}"));
    assert!(secs < 60, "LAST LOGIN {login}");
}
