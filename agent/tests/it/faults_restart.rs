//! Fault injection: agents killed and restarted over and over. The ruleset stays in the
//! kernel while no agent runs, and a new agent replaces it in one transaction once it has
//! read the directory, so no probe ever sees a window: while a prober compares every pair
//! with the matrix round after round, and a connection stays open, the agents of both nodes
//! are killed (SIGKILL or SIGTERM) and started again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::harness::{self, model_of, probe_all_within, Fixture};
use crate::netns::Proc;

/// prod/db accepts web on 5432 only; dev accepts nothing.
const POLICIES: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: prod}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n    - from: [{podSelector: {matchLabels: {app: web}}}]\n      ports: [{port: 5432}]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-ingress, namespace: dev}\nspec:\n  podSelector: {}\n";

/// Then: cache accepts nothing either.
const MORE: &str = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: cache, namespace: prod}\nspec:\n  podSelector: {matchLabels: {app: cache}}\n  policyTypes: [Ingress]\n";

fn stop(agent: &mut Proc, gently: bool) {
    if gently {
        let pid = agent.child.id().to_string();
        crate::netns::sh("kill", &["-TERM", &pid]);
    } else {
        let _ = agent.child.kill();
    }
    let _ = agent.child.wait();
}

fn start(fx: &Fixture) -> Vec<Proc> {
    // A fresh status file, so `wait_applied` sees the new agents' own apply.
    for node in harness::NODES {
        let _ = std::fs::remove_file(fx.dir().join(format!("{node}.status")));
    }
    harness::NODES
        .iter()
        .map(|n| fx.start_agent(n, &[]))
        .collect()
}

#[test]
fn restarted_agents_never_open_a_window() {
    let fx = Fixture::new("restart");
    let cluster = harness::cluster_yaml();
    fx.write("policies.yaml", POLICIES);
    let model = model_of(&[&cluster, POLICIES]);
    let mut agents = start(&fx);
    fx.wait_applied(&model, &harness::NODES);
    fx.check(&model).assert_exact("before the restarts");
    let mut held = fx.hold("prod/web", "tcp:10.99.2.2:5432");
    assert!(held.ping(), "the held connection works");

    let done = AtomicBool::new(false);
    let rounds = std::thread::scope(|scope| {
        let prober = scope.spawn(|| {
            let mut rounds = Vec::new();
            while !done.load(Ordering::Relaxed) {
                // Short rounds (300 ms timeouts; a handshake between namespaces takes
                // well under a millisecond): a window of a few hundred milliseconds, such
                // as an agent applying an empty state before reading the directory, is
                // caught by several rounds.
                let results = probe_all_within(&fx.cluster, 300);
                rounds.push(harness::compare(&fx.cluster, &model, &results));
            }
            rounds
        });
        for restart in 0..6 {
            for agent in &mut agents {
                stop(agent, restart % 2 == 1);
            }
            // Nobody enforces: the kernel keeps the table.
            std::thread::sleep(Duration::from_millis(400));
            agents = start(&fx);
            fx.wait_applied(&model, &harness::NODES);
            assert!(
                held.ping(),
                "restart {restart}: the held connection was cut"
            );
        }
        done.store(true, Ordering::Relaxed);
        prober.join().expect("prober")
    });
    assert!(rounds.len() >= 3, "only {} probe rounds", rounds.len());
    for (i, round) in rounds.iter().enumerate() {
        round.assert_exact(&format!("probe round {i} during the restarts"));
    }
    println!(
        "restart loop: 6 restarts of both agents, {} probe rounds of {} probes, no mismatch",
        rounds.len(),
        rounds[0].probes
    );

    // A change while no agent runs: the old ruleset holds until a new agent has read the
    // directory, then the new one replaces it at once.
    for agent in &mut agents {
        stop(agent, false);
    }
    let changed = format!("{POLICIES}{MORE}");
    fx.write("policies.yaml", &changed);
    std::thread::sleep(Duration::from_millis(300));
    fx.check(&model)
        .assert_exact("changed while no agent runs: the old ruleset holds");
    let next = model_of(&[&cluster, &changed]);
    let _agents = start(&fx);
    fx.wait_applied(&next, &harness::NODES);
    fx.flush_conntrack();
    fx.check(&next)
        .assert_exact("the new agents applied the change");
}
