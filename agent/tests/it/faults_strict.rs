//! Strict mode with real packets. By default a change that denies an open connection lets
//! it run (new connections follow the new rules); with `--strict` the agent cuts it through
//! conntrack as soon as the change is applied, including on start-up, and leaves allowed
//! connections alone.

use std::time::Duration;

use crate::harness::{self, model_of, Fixture};

/// prod/db accepts web on 5432.
const ALLOW: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: prod}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n    - from: [{podSelector: {matchLabels: {app: web}}}]\n      ports: [{port: 5432}]\n";

/// prod/db accepts nothing.
const DENY: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: prod}\nspec:\n  podSelector: {matchLabels: {app: db}}\n";

const DB: &str = "tcp:10.99.2.2:5432";
const CACHE: &str = "tcp:10.99.2.4:80";

#[test]
fn strict_mode_cuts_established_flows_the_new_state_denies() {
    let fx = Fixture::new("strict");
    let cluster = harness::cluster_yaml();
    let (allow, deny) = (model_of(&[&cluster, ALLOW]), model_of(&[&cluster, DENY]));

    // Default mode: the denied connection lives on.
    fx.write("policies.yaml", ALLOW);
    let agents: Vec<_> = harness::NODES
        .iter()
        .map(|n| fx.start_agent(n, &[]))
        .collect();
    fx.wait_applied(&allow, &harness::NODES);
    let mut kept = fx.hold("prod/web", DB);
    fx.write("policies.yaml", DENY);
    fx.wait_applied(&deny, &harness::NODES);
    assert!(kept.ping(), "default mode keeps established connections");
    drop(agents);

    // A strict agent starting up cuts what the state it applies denies.
    for node in harness::NODES {
        let _ = std::fs::remove_file(fx.dir().join(format!("{node}.status")));
    }
    let agents: Vec<_> = harness::NODES
        .iter()
        .map(|n| fx.start_agent(n, &["--strict"]))
        .collect();
    fx.wait_applied(&deny, &harness::NODES);
    assert!(!kept.ping(), "strict start-up cuts the denied connection");

    // A change under strict mode: the newly denied connection is cut, an allowed one
    // (cache is not isolated) is not.
    fx.write("policies.yaml", ALLOW);
    fx.wait_applied(&allow, &harness::NODES);
    let mut cut = fx.hold("prod/web", DB);
    let mut allowed = fx.hold("prod/web", CACHE);
    assert!(cut.ping() && allowed.ping(), "both connections work");
    fx.write("policies.yaml", DENY);
    fx.wait_applied(&deny, &harness::NODES);
    assert!(
        !cut.ping(),
        "strict mode cuts the connection the change denies"
    );
    assert!(
        allowed.ping(),
        "strict mode leaves allowed connections alone"
    );
    fx.check(&deny).assert_exact("after the strict change");
    let cuts = fx
        .metric("node-b", "netpol_agent_strict_flows_cut_total")
        .unwrap_or(0.0);
    assert!(cuts >= 2.0, "node-b cut {cuts} flows");
    fx.wait_for("healthy", Duration::from_secs(1), || {
        fx.fetch("node-b", "/healthz") == (200, "ok\n".to_string())
    });
    drop(agents);
}
