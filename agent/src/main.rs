//! `netpol-agent`: enforces Kubernetes NetworkPolicies on this node with nftables.
//! See the library docs for the design; this file only parses arguments and sets up logs.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use netpol_agent::run::{run, Args};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: logs collected from a file or a container runtime
        // must stay plain text.
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    match run(Args::parse()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("Error: {error:?}");
            ExitCode::FAILURE
        }
    }
}
