//! Fault injection: `nft` fails. A wrapper script stands in for the kernel's refusal (it
//! exits 1 like `nft` does when the kernel rejects a transaction, while a flag file
//! exists); then the binary goes missing. Both times the previous ruleset stays in force
//! (no denied probe connects, every allowed one still does), the agent retries with
//! backoff, reports 503 on `/healthz` after repeated failures, stays alive, and applies
//! the new state once `nft` works again.

use std::path::PathBuf;
use std::time::Duration;

use crate::harness::{self, model_of, Fixture};
use crate::netns::Proc;

/// prod/db accepts web on 5432 only.
const FIRST: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: prod}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n    - from: [{podSelector: {matchLabels: {app: web}}}]\n      ports: [{port: 5432}]\n";

/// prod/db accepts every prod pod on any port; dev pods may not send anything.
const SECOND: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: prod}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n    - from: [{podSelector: {}}]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: quiet, namespace: dev}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n";

/// Everything open again.
const THIRD: &str = "";

/// `DIR/bin/nft-NODE`: logs every call to `DIR/NODE.nft-calls`, fails while
/// `DIR/nft.fail` exists, else runs the real `nft`.
fn wrapper(fx: &Fixture, node: &str) -> PathBuf {
    let dir = fx.dir();
    std::fs::create_dir_all(dir.join("bin")).expect("bin dir");
    let path = dir.join("bin").join(format!("nft-{node}"));
    let calls = dir.join(format!("{node}.nft-calls"));
    let flag = dir.join("nft.fail");
    let script = format!(
        "#!/bin/sh\nif [ -e '{flag}' ]; then\n  cat >/dev/null\n  echo fail >> '{calls}'\n  echo 'Error: Could not process rule: Operation not supported' >&2\n  exit 1\nfi\necho ok >> '{calls}'\nexec nft \"$@\"\n",
        flag = flag.display(),
        calls = calls.display()
    );
    std::fs::write(&path, script).expect("wrapper");
    crate::netns::sh("chmod", &["+x", path.to_str().expect("utf-8 path")]);
    path
}

fn failed_calls(fx: &Fixture, node: &str) -> usize {
    std::fs::read_to_string(fx.dir().join(format!("{node}.nft-calls")))
        .unwrap_or_default()
        .lines()
        .filter(|l| *l == "fail")
        .count()
}

fn assert_alive(agents: &mut [Proc]) {
    for agent in agents {
        assert!(
            agent.child.try_wait().expect("wait").is_none(),
            "the agent exited"
        );
    }
}

/// Both agents answer 503 on `/healthz` with `want` in the body, and 200 on `/livez`.
fn assert_unhealthy(fx: &Fixture, want: &str) {
    for node in harness::NODES {
        let (code, body) = fx.fetch(node, "/healthz");
        assert_eq!(code, 503, "{node} /healthz: {body}");
        assert!(body.contains(want), "{node} /healthz: {body}");
        let (code, _) = fx.fetch(node, "/livez");
        assert_eq!(code, 200, "{node} /livez");
    }
}

#[test]
fn a_failed_apply_keeps_the_previous_ruleset_and_is_retried() {
    let fx = Fixture::new("apply");
    let cluster = harness::cluster_yaml();
    let wrappers: Vec<PathBuf> = harness::NODES.iter().map(|n| wrapper(&fx, n)).collect();
    fx.write("policies.yaml", FIRST);
    let mut agents: Vec<Proc> = harness::NODES
        .iter()
        .zip(&wrappers)
        .map(|(node, nft)| fx.start_agent(node, &["--nft", nft.to_str().expect("utf-8")]))
        .collect();
    let first = model_of(&[&cluster, FIRST]);
    fx.wait_applied(&first, &harness::NODES);
    fx.check(&first).assert_exact("first state");

    // The kernel refuses every transaction.
    let flag = fx.dir().join("nft.fail");
    std::fs::write(&flag, "").expect("flag");
    fx.write("policies.yaml", SECOND);
    for node in harness::NODES {
        fx.wait_for(
            &format!("{node} retries the refused apply"),
            Duration::from_secs(15),
            || failed_calls(&fx, node) >= 3,
        );
    }
    fx.flush_conntrack();
    fx.check(&first)
        .assert_exact("nft refuses: the first ruleset stays in force");
    assert_unhealthy(&fx, "applies failed in a row");
    assert_alive(&mut agents);
    assert_eq!(
        fx.metric("node-a", "netpol_agent_apply_consecutive_failures")
            .map(|f| f >= 3.0),
        Some(true)
    );
    std::fs::remove_file(&flag).expect("flag");
    let second = model_of(&[&cluster, SECOND]);
    fx.wait_applied(&second, &harness::NODES);
    fx.flush_conntrack();
    fx.check(&second)
        .assert_exact("nft works again: the retry applied");
    for node in harness::NODES {
        assert_eq!(
            fx.fetch(node, "/healthz"),
            (200, "ok\n".to_string()),
            "{node}"
        );
    }

    // The nft binary is gone.
    let hidden: Vec<PathBuf> = wrappers.iter().map(|w| w.with_extension("gone")).collect();
    for (w, h) in wrappers.iter().zip(&hidden) {
        std::fs::rename(w, h).expect("hide nft");
    }
    fx.write("policies.yaml", THIRD);
    for node in harness::NODES {
        fx.wait_for(
            &format!("{node} retries without nft"),
            Duration::from_secs(15),
            || fx.metric(node, "netpol_agent_apply_consecutive_failures") >= Some(3.0),
        );
    }
    fx.flush_conntrack();
    fx.check(&second)
        .assert_exact("nft missing: the second ruleset stays in force");
    assert_unhealthy(&fx, "No such file");
    assert_alive(&mut agents);
    for (w, h) in wrappers.iter().zip(&hidden) {
        std::fs::rename(h, w).expect("restore nft");
    }
    let third = model_of(&[&cluster, THIRD]);
    fx.wait_applied(&third, &harness::NODES);
    fx.flush_conntrack();
    fx.check(&third)
        .assert_exact("nft is back: the retry applied");
    let log = fx.log("node-a");
    assert!(log.contains("will retry the apply"), "{log}");
}
