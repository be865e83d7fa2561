//! `netpol-agent`: enforces Kubernetes NetworkPolicies on this node with nftables.
//! See the library docs for the design; this file only parses arguments and sets up logs.

use clap::Parser;
use netpol_agent::run::{run, Args};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    run(Args::parse()).await
}
