//! The policy tiers in Kubernetes mode against the REAL control plane, with real packets:
//! AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy objects created
//! through the API are enforced by both nodes' agents exactly as the core compiles the same
//! objects from files.
//!
//! The agents start on an API server WITHOUT the policy-tier CRDs (they must enforce the
//! NetworkPolicies all the same); the CRDs are installed while they run, and API discovery
//! (every second here, `--discovery-interval 1`) makes them watch the new kinds. Then: an
//! AdminNetworkPolicy's Deny over a NetworkPolicy's allow; an Admin Pass falling through to
//! a NetworkPolicy; a Baseline Deny where no NetworkPolicy decides; two Admin policies whose
//! order a priority change (one field patched through the API) reverses while the agents
//! run, in the kernels within [`FOLLOW_WITHIN`]; last, the ClusterNetworkPolicy CRD is
//! removed and its policies stop being enforced. Each step: both rulesets equal to those
//! compiled from the files, and every pod pair probed on every port against the engine.
//! The same scenario files run in manifests mode in `packets.rs`.

use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::Api;

use crate::apiserver::{data, expected, report, Live, FOLLOW_WITHIN};

/// The first policy-tier list after the CRDs appear waits for discovery and a list.
const APPEAR_WITHIN: Duration = Duration::from_secs(30);

fn step(live: &mut Live, name: &str, file: &str) {
    let text = data(file);
    let start = Instant::now();
    live.set_policies(&text);
    let model = expected(&[&live.cluster, &text]);
    live.enforce_and_probe(name, &model, APPEAR_WITHIN, start);
}

/// Patches `spec.priority` of ClusterNetworkPolicy `name`.
fn set_priority(live: &Live, name: &str, priority: u32) {
    let client = live.cp.client();
    let kinds = live
        .cp
        .block_on(netpol_kube::read::served_tier_kinds(&client))
        .expect("discovery");
    let cnp: ApiResource = kinds
        .into_iter()
        .find(|k| k.kind == "ClusterNetworkPolicy")
        .expect("ClusterNetworkPolicy served");
    let api = Api::<DynamicObject>::all_with(client, &cnp);
    let patch = Patch::Merge(serde_json::json!({"spec": {"priority": priority}}));
    live.cp
        .block_on(api.patch(name, &PatchParams::default(), &patch))
        .expect("patch priority");
}

#[test]
fn agents_enforce_cluster_policies_from_a_real_api_server() {
    let started = Instant::now();
    let mut live = Live::start_with(false);
    step(
        &mut live,
        "no tier CRDs: default deny ingress",
        "01-default-deny-ingress.yaml",
    );

    let crds = live.cp.install_tier_crds();
    assert_eq!(crds.len(), 3, "tier CRDs: {crds:?}");
    step(
        &mut live,
        "CRDs appear: ANP Deny over NP",
        "10-admin-deny.yaml",
    );
    step(
        &mut live,
        "CNP Admin Pass to NP",
        "11-admin-pass-to-networkpolicy.yaml",
    );
    step(&mut live, "CNP Baseline Deny", "12-baseline.yaml");
    step(
        &mut live,
        "priority: Deny first",
        "13-priority-deny-first.yaml",
    );

    // One field changes through the API; the expectation is the file with that change.
    let start = Instant::now();
    set_priority(&live, "db-accept-web", 10);
    let after = data("14-priority-accept-first.yaml");
    let model = expected(&[&live.cluster, &after]);
    live.enforce_and_probe(
        "live: priority 30 -> 10, Accept first",
        &model,
        FOLLOW_WITHIN,
        start,
    );
    let with_tiers = live.rows.len();

    // The ClusterNetworkPolicy CRD removed: its objects go with it, and the agents stop
    // enforcing them (discovery drops the kind) rather than keep their last state.
    let start = Instant::now();
    let crds = Api::<CustomResourceDefinition>::all(live.cp.client());
    live.cp
        .block_on(crds.delete(
            "clusternetworkpolicies.policy.networking.k8s.io",
            &DeleteParams::default(),
        ))
        .expect("delete the ClusterNetworkPolicy CRD");
    let model = expected(&[&live.cluster]);
    live.enforce_and_probe(
        "CRD removed: its policies gone",
        &model,
        APPEAR_WITHIN,
        start,
    );

    report(&live.rows, started);
    assert!(
        live.rows[..with_tiers].iter().all(|r| r.allowed < r.probes),
        "every step with policies denies something"
    );
    drop(std::mem::take(&mut live.agents));
}
