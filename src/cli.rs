//! Command-line interface: one clap enum, one library call per subcommand.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `lastpass-operator`: manage LastPass Business users and groups from Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "lastpass-operator", version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of DESIGN.md.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the controllers, the SCIM server and the metrics endpoint.
    Run(crate::cmd::run::RunArgs),
    /// Print the CustomResourceDefinitions generated from the Rust types.
    Crds {
        /// Write one `<plural>.<group>.yaml` file per CRD into this directory instead.
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// Leave out the CEL rules (`x-kubernetes-validations`), for API servers older than
        /// 1.25 that refuse them; the operator then reports those problems in status.
        #[arg(long)]
        without_cel: bool,
    },
    /// Run the LastPass Enterprise API simulator as a server.
    Simulator(crate::simulator::cli::SimulatorArgs),
    /// Show what would change in LastPass for these YAML files, without changing anything.
    Plan(crate::cmd::plan::PlanArgs),
    /// Run the embedded demo: the simulator plus the engine fed from `examples/`.
    Demo(crate::cmd::demo::DemoArgs),
    /// Measure convergence, API calls and memory at scale.
    Bench(crate::bench::BenchArgs),
}

/// Runs one parsed command line; the exit code says what `plan` found.
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Crds {
            out_dir: None,
            without_cel: true,
        } => {
            let yaml = crate::crd::crds_yaml_without_cel()?;
            std::io::stdout().lock().write_all(yaml.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Crds {
            out_dir: Some(_),
            without_cel: true,
        } => anyhow::bail!("--without-cel is for printing; crds/ always carries the CEL rules"),
        Command::Crds {
            out_dir: None,
            without_cel: false,
        } => {
            let yaml = crate::crd::crds_yaml()?;
            std::io::stdout().lock().write_all(yaml.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Crds {
            out_dir: Some(dir),
            without_cel: false,
        } => {
            std::fs::create_dir_all(&dir)?;
            for (name, yaml) in crate::crd::crd_files()? {
                std::fs::write(dir.join(name), yaml)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulator(args) => crate::simulator::cli::run(args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Run(args) => crate::cmd::run::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Plan(args) => Ok(if crate::cmd::plan::run(args).await? {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }),
        Command::Demo(args) => crate::cmd::demo::run(args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Bench(args) => {
            // The bench prints its own report; the operator's logs only when asked for.
            if std::env::var_os("RUST_LOG").is_some() {
                crate::telemetry::init(crate::telemetry::LogFormat::Text, "warn");
            }
            crate::bench::run(args).await.map(|()| ExitCode::SUCCESS)
        }
    }
}
