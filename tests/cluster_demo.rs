//! `demo --kubeconfig`: the examples through the real controllers on a real API server.

mod support;

#[tokio::test]
async fn the_cluster_demo_gets_every_user_ready() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let args = lastpass_operator::cmd::demo::DemoArgs {
        latency_ms: 0,
        kubeconfig: Some(cluster.kubeconfig().to_path_buf()),
        namespace: format!("lpo-demo-{}", std::process::id()),
    };
    lastpass_operator::cmd::demo::run(args)
        .await
        .expect("every user Ready, a deletion deactivated");
}
