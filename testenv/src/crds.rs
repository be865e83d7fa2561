//! The policy-tier CRDs of sigs.k8s.io/network-policy-api, installed from the Go module
//! cache (`go mod download`, the module proxy): no copy of them lives in this repository.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{Api, Client};
use serde_json::Value;

/// Module, version and file of each CRD: ClusterNetworkPolicy (the experimental channel,
/// a superset of the standard one), AdminNetworkPolicy and BaselineAdminNetworkPolicy.
pub const TIER_CRDS: [(&str, &str, &str); 3] = [
    (
        "sigs.k8s.io/network-policy-api",
        "v0.3.0",
        "config/crd/experimental/policy.networking.k8s.io_clusternetworkpolicies.yaml",
    ),
    (
        "sigs.k8s.io/network-policy-api",
        "v0.1.1",
        "config/crd/policy.networking.k8s.io_adminnetworkpolicies.yaml",
    ),
    (
        "sigs.k8s.io/network-policy-api",
        "v0.1.1",
        "config/crd/policy.networking.k8s.io_baselineadminnetworkpolicies.yaml",
    ),
];

/// How long the API server may take to establish a CRD.
const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(60);

/// Applies the CRDs and waits until each is established; returns their names.
pub async fn install(client: &Client) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for (module, version, file) in TIER_CRDS {
        let path = module_dir(module, version)?.join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        crate::apply(client, &text).await?;
        let yaml: serde_yaml::Value = serde_yaml::from_str(&text)?;
        let name = yaml["metadata"]["name"]
            .as_str()
            .context("CRD without a name")?
            .to_string();
        names.push(name);
    }
    let api = Api::<CustomResourceDefinition>::all(client.clone());
    for name in &names {
        wait_established(&api, name).await?;
    }
    Ok(names)
}

/// The module's directory in the module cache, downloading it first if needed.
fn module_dir(module: &str, version: &str) -> Result<PathBuf> {
    let output = Command::new("go")
        .args(["mod", "download", "-json", &format!("{module}@{version}")])
        // Outside any module: this must not touch a go.mod, and GOFLAGS such as -mod do
        // not apply.
        .current_dir(std::env::temp_dir())
        .env_remove("GOFLAGS")
        .output()
        .context("running `go mod download` (scripts/setup.sh installs Go)")?;
    let info: Value = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "go mod download {module}@{version}: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    match info["Dir"].as_str() {
        Some(dir) if output.status.success() => Ok(PathBuf::from(dir)),
        _ => bail!("go mod download {module}@{version}: {info}"),
    }
}

async fn wait_established(api: &Api<CustomResourceDefinition>, name: &str) -> Result<()> {
    let start = Instant::now();
    loop {
        let crd = api.get(name).await?;
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "Established" && c.status == "True");
        if established {
            return Ok(());
        }
        if start.elapsed() > ESTABLISH_TIMEOUT {
            bail!("CRD {name} is not established after {ESTABLISH_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
