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
