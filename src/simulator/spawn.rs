//! A simulator running in the background of this process, for the demo, the benchmark and
//! tests: bound to `127.0.0.1:0`, stopped when the handle is dropped.

use tokio::sync::oneshot;

use super::state::SimState;

/// A simulator served in the background; dropping it stops the server.
pub struct RunningSimulator {
    /// The simulator's state: seed it, read its call log, edit users as a console admin.
    pub state: SimState,
    /// Full URL of the API endpoint.
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
}

impl RunningSimulator {
    /// Serves `state` on an ephemeral loopback port.
    pub async fn start(state: SimState) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}{}", listener.local_addr()?, state.path());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(super::serve(listener, state.clone(), async {
            let _ = rx.await;
        }));
        Ok(Self {
            state,
            url,
            stop: Some(tx),
        })
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
