//! Thin entry point: parse the command line and hand it to the library.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    lastpass_operator::install_crypto_provider();
    let cli = lastpass_operator::cli::Cli::parse();
    lastpass_operator::cli::dispatch(cli).await
}
