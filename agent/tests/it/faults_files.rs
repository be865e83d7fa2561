//! Fault injection, manifests mode: a policy file with a typo (issue 14). The agent keeps
//! enforcing the file's last good version, as the API server keeps the last accepted object;
//! a file that never parsed isolates the namespaces it names (`--on-error fail-closed`, the
//! default); `--dry-run` and `--once` exit 1 with the diagnostics.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::harness::{self, deny_all, model_of, Fixture, AGENT};
use crate::netns::{self, Netns};

/// One local pod in `prod` on node-a.
const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: prod, labels: {app: web}}\nspec: {nodeName: node-a}\nstatus: {podIP: 10.99.1.2, podIPs: [{ip: 10.99.1.2}]}\n";

/// `deny_all` with the typo of the issue: the closing `]` of `policyTypes` is missing.
fn broken(text: &str) -> String {
    let out = text.replace("Egress]", "Egress");
    assert_ne!(out, text, "the typo applies");
    out
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netpol-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn agent(netns: Option<&Netns>, args: &[&str]) -> Output {
    let mut command = match netns {
        Some(ns) => ns.command(Path::new(AGENT), args),
        None => {
            let mut c = Command::new(AGENT);
            c.args(args);
            c
        }
    };
    command.env("NO_COLOR", "1").output().expect("run agent")
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn dry_run_and_once_of_a_typo_in_a_deny_all_file_exit_1_and_keep_the_deny() {
    let dir = scratch_dir("typo");
    let d = dir.to_str().expect("utf-8 path");
    std::fs::write(dir.join("pod.yaml"), POD).expect("pod");
    std::fs::write(dir.join("deny.yaml"), deny_all("prod", "deny-all")).expect("policy");
    let base = [
        "--manifests",
        d,
        "--node-name",
        "node-a",
        "--metrics-addr",
        "off",
    ];
    let dry_run = [&base[..], &["--dry-run"]].concat();

    let good = agent(None, &dry_run);
    assert_eq!(good.status.code(), Some(0), "{}", show(&good));
    let good_text = String::from_utf8_lossy(&good.stdout).into_owned();
    assert!(good_text.contains("10.99.1.2"), "{}", show(&good));

    std::fs::write(dir.join("deny.yaml"), broken(&deny_all("prod", "deny-all"))).expect("typo");
    let out = agent(None, &dry_run);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    // The CLI's rendering: code, file, line, the source line, help.
    for want in [
        "yaml-syntax",
        "deny.yaml",
        "policyTypes: [Ingress, Egress",
        "help:",
    ] {
        assert!(
            stderr.contains(want),
            "stderr lacks {want:?}\n{}",
            show(&out)
        );
    }
    // The file never parsed in this (one-shot) run, so prod, the namespace it names, is
    // isolated: the pod is still in the ruleset, exactly as under the deny-all.
    assert!(stdout.contains("10.99.1.2"), "{}", show(&out));

    // `--on-error ignore` enforces the other files only: the pod is open, but the exit
    // status and the diagnostics still say the state is broken.
    let ignore = agent(None, &[&dry_run[..], &["--on-error", "ignore"]].concat());
    assert_eq!(ignore.status.code(), Some(1), "{}", show(&ignore));
    assert!(
        !String::from_utf8_lossy(&ignore.stdout).contains("10.99.1.2"),
        "{}",
        show(&ignore)
    );

    // `--once` applies the same fail-safe ruleset, then exits 1.
    netns::require_netns();
    netns::cleanup_leftovers();
    let ns = Netns::new(format!("{}{}-once", netns::PREFIX, std::process::id()));
    let once = agent(Some(&ns), &[&base[..], &["--once"]].concat());
    assert_eq!(once.status.code(), Some(1), "{}", show(&once));
    assert!(
        String::from_utf8_lossy(&once.stderr).contains("deny.yaml"),
        "{}",
        show(&once)
    );
    let table = ns.exec("nft", &["list", "table", "inet", "netpol"]);
    assert!(table.contains("10.99.1.2"), "applied:\n{table}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits until both agents have read the manifests after a change that may or may not
/// change the ruleset: either the applied hash moved away from `before`, or the agent
/// counts a rejected source.
fn wait_read(fx: &Fixture, before: &[String; 2], rejected: f64) {
    for (i, node) in harness::NODES.iter().enumerate() {
        fx.wait_for(
            &format!("{node} reads the changed manifests"),
            Duration::from_secs(10),
            || {
                fx.status(node) != before[i]
                    || fx.metric(node, "netpol_agent_rejected_sources") == Some(rejected)
            },
        );
    }
}

fn statuses(fx: &Fixture) -> [String; 2] {
    [fx.status("node-a"), fx.status("node-b")]
}

#[test]
fn a_typo_in_a_policy_file_keeps_its_last_good_version_in_force() {
    let fx = Fixture::new("typo");
    let cluster = harness::cluster_yaml();
    let deny = deny_all("prod", "deny-all");
    fx.write("policies.yaml", &deny);
    let _agents: Vec<_> = harness::NODES
        .iter()
        .map(|n| fx.start_agent(n, &[]))
        .collect();
    let enforced = model_of(&[&cluster, &deny]);
    fx.wait_applied(&enforced, &harness::NODES);
    fx.check(&enforced).assert_exact("deny-all in prod");

    // The typo: the agents keep the deny-all, report the file and stay up.
    let before = statuses(&fx);
    fx.write("policies.yaml", &broken(&deny));
    wait_read(&fx, &before, 1.0);
    fx.flush_conntrack();
    fx.check(&enforced)
        .assert_exact("policies.yaml has a typo: its last good version stays in force");
    assert_eq!(statuses(&fx), before, "no apply for a rejected file");
    for node in harness::NODES {
        let (code, body) = fx.fetch(node, "/healthz");
        assert_eq!(code, 200, "{node} /healthz: {body}");
        assert!(
            body.starts_with("degraded") && body.contains("policies.yaml"),
            "{node} /healthz: {body}"
        );
        assert_eq!(
            fx.metric(node, "netpol_agent_rejected_sources"),
            Some(1.0),
            "{node}"
        );
        let log = fx.log(node);
        let reports = log
            .lines()
            .filter(|l| l.contains("policies.yaml") && l.contains("rejected"))
            .count();
        assert_eq!(reports, 1, "{node}: logged once per change:\n{log}");
        assert!(
            log.contains("line="),
            "{node}: the log names the line:\n{log}"
        );
    }

    // The fix is taken at once: ingress deny only, egress open.
    let fixed = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny-all\n  namespace: prod\nspec:\n  podSelector: {}\n";
    fx.write("policies.yaml", fixed);
    let enforced = model_of(&[&cluster, fixed]);
    fx.wait_applied(&enforced, &harness::NODES);
    fx.flush_conntrack();
    fx.check(&enforced).assert_exact("fixed");
    for node in harness::NODES {
        let (code, body) = fx.fetch(node, "/healthz");
        assert_eq!((code, body.trim()), (200, "ok"), "{node}");
    }

    // A new file that never parsed: dev, the namespace it names, fails closed (both
    // directions isolated, as under a deny-all in dev written by hand).
    let before = statuses(&fx);
    fx.write("dev.yaml", &broken(&deny_all("dev", "dev-policy")));
    let closed = model_of(&[&cluster, fixed, &deny_all("dev", "by-hand")]);
    for (i, node) in harness::NODES.iter().enumerate() {
        // The agents' stand-in policy has its own name, so the ruleset text (and its hash)
        // differs from `closed`'s: wait for the apply, then let the packets judge.
        fx.wait_for(
            &format!("{node} applies the fail-closed state"),
            Duration::from_secs(10),
            || {
                fx.status(node) != before[i]
                    && fx.metric(node, "netpol_agent_fail_closed_namespaces") == Some(1.0)
            },
        );
    }
    fx.flush_conntrack();
    fx.check(&closed)
        .assert_exact("dev.yaml never parsed: dev fails closed");
    let (_, body) = fx.fetch("node-a", "/healthz");
    assert!(
        body.contains("dev.yaml") && body.contains("fail"),
        "/healthz: {body}"
    );
    assert_eq!(
        fx.metric("node-a", "netpol_agent_fail_closed_namespaces"),
        Some(1.0)
    );
}

/// An AdminNetworkPolicy whose priority is not a number: the core rejects the file.
const BROKEN_ANP: &str = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata:\n  name: guardrails\nspec:\n  priority: high\n  subject:\n    namespaces: {}\n  ingress:\n  - name: from-dev\n    action: Allow\n    from:\n    - namespaces:\n        matchLabels: {env: dev}\n";

/// What the Admin tier's stand-in does, written by hand under another name: every pod's
/// ingress from pods and egress to every address denied first.
const ADMIN_DENY_ALL: &str = "apiVersion: policy.networking.k8s.io/v1beta1\nkind: ClusterNetworkPolicy\nmetadata:\n  name: by-hand\nspec:\n  tier: Admin\n  priority: 0\n  subject:\n    namespaces: {}\n  ingress:\n  - action: Deny\n    from: [{namespaces: {}}]\n  egress:\n  - action: Deny\n    to: [{networks: [0.0.0.0/0, \"::/0\"]}]\n";

#[test]
fn a_cluster_policy_file_that_never_parsed_fails_its_tier_closed() {
    let fx = Fixture::new("tierfc");
    let cluster = harness::cluster_yaml();
    let allow = data_file("12-baseline.yaml");
    fx.write("policies.yaml", &allow);
    let _agents: Vec<_> = harness::NODES
        .iter()
        .map(|n| fx.start_agent(n, &[]))
        .collect();
    let enforced = model_of(&[&cluster, &allow]);
    fx.wait_applied(&enforced, &harness::NODES);
    fx.check(&enforced)
        .assert_exact("a Baseline policy and a NetworkPolicy");

    // An Admin policy that never parsed could have denied anything between pods: the Admin
    // tier fails closed, above the NetworkPolicy that allows prod/web into dev/api.
    let before = statuses(&fx);
    fx.write("guardrails.yaml", BROKEN_ANP);
    let closed = model_of(&[&cluster, &allow, ADMIN_DENY_ALL]);
    for (i, node) in harness::NODES.iter().enumerate() {
        fx.wait_for(
            &format!("{node} applies the fail-closed Admin tier"),
            Duration::from_secs(10),
            || fx.status(node) != before[i],
        );
    }
    fx.flush_conntrack();
    let check = fx.check(&closed);
    check.assert_exact("guardrails.yaml never parsed: the Admin tier fails closed");
    assert_eq!(check.allowed, 0, "no pod reaches another");
    let (_, body) = fx.fetch("node-a", "/healthz");
    assert!(
        body.contains("guardrails.yaml") && body.contains("the Admin tier (every pod) fail closed"),
        "/healthz: {body}"
    );

    // The file fixed: its policy is enforced instead of the stand-in.
    let fixed = BROKEN_ANP.replace("priority: high", "priority: 10");
    fx.write("guardrails.yaml", &fixed);
    let enforced = model_of(&[&cluster, &allow, &fixed]);
    fx.wait_applied(&enforced, &harness::NODES);
    fx.flush_conntrack();
    fx.check(&enforced).assert_exact("fixed");
}

fn data_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/netns")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
