//! `lastpass-operator simulator`: runs the simulator as a standalone server.

/// Command-line options of `lastpass-operator simulator`.
#[derive(Debug, clap::Args)]
pub struct SimulatorArgs {}

/// Runs the simulator until interrupted.
pub async fn run(_args: SimulatorArgs) -> anyhow::Result<()> {
    anyhow::bail!("the simulator is not implemented yet (issue: LastPass API client and simulator)")
}
