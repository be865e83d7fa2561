//! Every generated ruleset is accepted by nftables itself: `nft -c -f` (parse and validate
//! against the kernel, commit nothing), in a scratch network namespace.

use std::path::Path;

use netpol_agent::enforce::ruleset_for;
use netpol_core::nft::local_pods;
use netpol_core::{FileId, Model};

use crate::netns::{self, Netns};

fn check(ns: &Netns, what: &str, model: &Model, node: &str) {
    let ruleset = ruleset_for(model, node);
    let mut child = ns
        .command(Path::new("nft"), &["-c", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run nft");
    std::io::Write::write_all(
        child.stdin.as_mut().expect("stdin"),
        ruleset.text.as_bytes(),
    )
    .expect("write ruleset");
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("nft");
    assert!(
        out.status.success(),
        "{what} (node {node}): nft -c rejected the ruleset: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        ruleset.text
    );
}

const DUAL_STACK: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: ns, labels: {app: a}}
spec:
  nodeName: n1
  containers: [{name: c, ports: [{name: web, containerPort: 8080}, {name: dns, containerPort: 53, protocol: UDP}]}]
status: {podIP: 10.0.0.1, podIPs: [{ip: 10.0.0.1}, {ip: "fd00::1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: ns, labels: {app: b}}
spec: {nodeName: n1}
status: {podIP: "fd00::2", podIPs: [{ip: "fd00::2"}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - ipBlock: {cidr: "fd00::/8", except: ["fd00::/120", "fd00::1:0/112"]}
        - ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8, 192.168.1.0/24]}
        - podSelector: {matchLabels: {app: b}}
      ports: [{port: web}, {port: 53, protocol: UDP}, {port: 9000, endPort: 9100}, {protocol: SCTP}]
  egress:
    - to: [{namespaceSelector: {}}]
      ports: [{port: dns, protocol: UDP}]
    - {}
"#;

#[test]
fn generated_rulesets_pass_nft_check() {
    netns::require_netns();
    netns::cleanup_leftovers();
    let ns = Netns::new(format!("{}{}-check", netns::PREFIX, std::process::id()));

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/netns");
    let cluster = std::fs::read_to_string(dir.join("cluster.yaml")).expect("cluster.yaml");
    let mut checked = 0;
    let mut scenarios: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/netns")
        .flatten()
        .map(|e| e.path())
        .collect();
    scenarios.sort();
    for path in scenarios {
        let text = std::fs::read_to_string(&path).expect("scenario");
        let model = netpol_core::load(&[(FileId(0), cluster.as_str()), (FileId(1), text.as_str())]);
        for node in ["node-a", "node-b", "elsewhere"] {
            check(&ns, &path.display().to_string(), &model, node);
            checked += 1;
        }
    }

    let model = netpol_core::load(&[(FileId(0), DUAL_STACK)]);
    assert_eq!(
        local_pods(&model, "n1").len(),
        2,
        "dual-stack fixture parsed"
    );
    let ruleset = ruleset_for(&model, "n1");
    assert!(
        ruleset.text.contains("ip6 daddr vmap @") && ruleset.text.contains("ip6 saddr @"),
        "IPv6 rules present:\n{}",
        ruleset.text
    );
    assert!(
        ruleset.text.contains("fd00::100-fd00::ffff"),
        "v6 except subtracted:\n{}",
        ruleset.text
    );
    check(&ns, "dual stack", &model, "n1");
    checked += 1;

    // A synthetic cluster with everything the generator mixes in (matchExpressions, SCTP,
    // v6 ipBlocks, named ports, port ranges), for two of its nodes.
    let text = netpol_core::generate::generate(600, 300, 3);
    let model = netpol_core::load(&[(FileId(0), text.as_str())]);
    assert!(model.policies.len() >= 250, "generated cluster parsed");
    for node in ["node-0", "node-1"] {
        assert!(!local_pods(&model, node).is_empty(), "{node} has pods");
        let ruleset = ruleset_for(&model, node);
        assert!(ruleset.rules > 10, "{node}: {} rules", ruleset.rules);
        check(&ns, "generated cluster", &model, node);
        checked += 1;
    }
    assert!(checked >= 30);
}
