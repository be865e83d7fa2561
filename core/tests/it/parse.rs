//! Text to model: manifests, the compact form, defaulting, diagnostics and robustness.
//!
//! Most tests are tables: an input, and the diagnostic code and line it must produce (or
//! the objects it must give). A diagnostic test checks the line, not just the code, because
//! "which line is wrong" is what the user needs from it.

use std::net::IpAddr;
use std::path::Path;

use netpol_core::{
    build, evaluate, load, parse, Diagnostic, Endpoint, Engine, FileId, Flow, LabelSelector, Model,
    Operator, Parsed, PolicyType, PortRef, Protocol, Severity,
};
use proptest::prelude::*;

fn parse0(text: &str) -> Parsed {
    parse(FileId(0), text)
}

fn load1(text: &str) -> Model {
    load(&[(FileId(0), text)])
}

fn errors(d: &[Diagnostic]) -> Vec<String> {
    d.iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}@{}: {}", d.code, d.span.map_or(0, |s| s.line), d.message))
        .collect()
}

fn examples_dir() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/examples"
    ))
}

fn example(name: &str) -> String {
    // The examples live in the shared folder beside the checkout; the playground's verbatim
    // copy in the repository is preferred so the tests also run from a bare clone.
    let local = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../app/examples")).join(name);
    std::fs::read_to_string(&local)
        .or_else(|_| std::fs::read_to_string(examples_dir().join(name)))
        .unwrap_or_else(|e| panic!("example {name}: {e}"))
}

const POLICY_HEAD: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n  namespace: prod\nspec:\n";

/// A policy whose spec body starts on line 7.
fn policy(spec_body: &str) -> String {
    format!("{POLICY_HEAD}{spec_body}")
}

// ---------------------------------------------------------------------------------------
// the shared examples

#[test]
fn example_allow_same_namespace() {
    let p = parse0(&example("allow-same-namespace.yaml"));
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(p.policies.len(), 1);
    let pol = &p.policies[0];
    assert_eq!(
        (pol.name.as_str(), pol.namespace.as_str()),
        ("allow-same-namespace", "default")
    );
    assert!(pol.pod_selector.is_empty());
    assert_eq!(pol.policy_types, vec![PolicyType::Ingress]);
    assert_eq!(pol.ingress.len(), 1);
    assert!(pol.egress.is_empty());
    let peer = &pol.ingress[0].peers[0];
    let sel = peer.pod_selector.as_ref().unwrap();
    assert_eq!(
        sel.match_labels.get("app").map(String::as_str),
        Some("frontend")
    );
    assert!(peer.namespace_selector.is_none() && peer.ip_block.is_none());
    assert_eq!(pol.span.line, 3, "a policy's span starts at its document");
    let text = example("allow-same-namespace.yaml");
    let of = |s: netpol_core::Span| &text[s.start as usize..s.end as usize];
    assert!(of(pol.span).starts_with("apiVersion: networking.k8s.io/v1"));
    assert!(
        of(pol.span).ends_with("app: frontend"),
        "{:?}",
        of(pol.span)
    );
    assert!(of(pol.ingress[0].span).starts_with("from:"));
    assert!(of(peer.span).starts_with("podSelector:") && of(peer.span).ends_with("frontend"));
    assert_eq!(pol.ingress[0].span.line, 12);
}

#[test]
fn example_internal_policy_and_cluster() {
    let policy_text = example("internal-policy.yaml");
    let cluster_text = example("internal-cluster.yaml");
    let m = load(&[(FileId(0), &policy_text), (FileId(1), &cluster_text)]);
    assert!(m.diagnostics.is_empty(), "{:?}", m.diagnostics);
    let ids: Vec<&str> = m.cluster.pods.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "default/external",
            "default/internal",
            "default/mysql",
            "default/payroll",
            "kube-system/coredns"
        ]
    );
    let ns: Vec<&str> = m
        .cluster
        .namespaces
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(ns, ["default", "kube-system"]);
    for n in &m.cluster.namespaces {
        assert_eq!(n.labels.get("kubernetes.io/metadata.name"), Some(&n.name));
        assert!(n.span.is_some(), "declared namespaces keep their span");
    }
    let dns = &m.cluster.pods[4];
    assert_eq!(dns.ips, vec!["10.244.0.2".parse::<IpAddr>().unwrap()]);
    assert_eq!(dns.named_ports("dns", Protocol::UDP).next(), Some(53));
    assert_eq!(dns.named_ports("dns-tcp", Protocol::TCP).next(), Some(53));
    assert_eq!(dns.named_ports("dns", Protocol::TCP).next(), None);
    assert_eq!(dns.span.map(|s| (s.file, s.line)), Some((FileId(1), 32)));

    let pol = &m.policies[0];
    assert_eq!(pol.policy_types, vec![PolicyType::Egress]);
    assert_eq!(pol.egress.len(), 3);
    let lines: Vec<u32> = pol.egress.iter().map(|r| r.span.line).collect();
    assert_eq!(lines, [15, 23, 31]);
    let third = &pol.egress[2];
    assert!(third.peers.is_empty());
    let ports: Vec<(Protocol, Option<PortRef>)> = third
        .ports
        .iter()
        .map(|p| (p.protocol, p.port.clone()))
        .collect();
    assert_eq!(
        ports,
        [
            (Protocol::TCP, Some(PortRef::Number(53))),
            (Protocol::UDP, Some(PortRef::Number(53)))
        ]
    );
}

#[test]
fn the_same_policy_as_json_gives_the_same_model() {
    let json = r#"{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
  "metadata": {"name": "allow-same-namespace"},
  "spec": {"podSelector": {}, "policyTypes": ["Ingress"],
    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}]}]}}"#;
    let a = parse0(json);
    let b = parse0(&example("allow-same-namespace.yaml"));
    assert!(a.diagnostics.is_empty(), "{:?}", a.diagnostics);
    let strip = |p: &Parsed| {
        let x = &p.policies[0];
        (
            x.name.clone(),
            x.namespace.clone(),
            x.pod_selector.clone(),
            x.policy_types.clone(),
            x.ingress[0].peers[0].pod_selector.clone(),
        )
    };
    assert_eq!(strip(&a), strip(&b));
}

// ---------------------------------------------------------------------------------------
// defaulting and empty-vs-absent

#[test]
fn policy_types_default() {
    // (spec, expected policy types)
    let table: &[(&str, &[PolicyType])] = &[
        ("  podSelector: {}\n", &[PolicyType::Ingress]),
        (
            "  podSelector: {}\n  egress:\n  - {}\n",
            &[PolicyType::Ingress, PolicyType::Egress],
        ),
        // Kubernetes defaults with `len(spec.egress) != 0`, so an empty list adds nothing
        ("  podSelector: {}\n  egress: []\n", &[PolicyType::Ingress]),
        (
            "  podSelector: {}\n  policyTypes: []\n",
            &[PolicyType::Ingress],
        ),
        (
            "  podSelector: {}\n  policyTypes: [Egress]\n",
            &[PolicyType::Egress],
        ),
        (
            "  podSelector: {}\n  policyTypes: [Egress, Ingress, Egress]\n",
            &[PolicyType::Ingress, PolicyType::Egress],
        ),
    ];
    for (spec, want) in table {
        let p = parse0(&policy(spec));
        assert_eq!(p.policies[0].policy_types, *want, "{spec}");
    }
}

#[test]
fn missing_namespace_and_protocol_default() {
    let text = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - port: 80\n";
    let p = parse0(text);
    assert_eq!(p.policies[0].namespace, "default");
    assert_eq!(p.policies[0].ingress[0].ports[0].protocol, Protocol::TCP);
    let m = load1(text);
    assert_eq!(m.cluster.namespaces.len(), 1, "implicit namespace");
    assert_eq!(m.cluster.namespaces[0].name, "default");
    assert_eq!(m.cluster.namespaces[0].span, None);
    assert_eq!(
        m.cluster.namespaces[0]
            .labels
            .get("kubernetes.io/metadata.name"),
        Some(&"default".to_string())
    );
}

#[test]
fn empty_versus_absent() {
    // (spec, number of ingress rules, peers of the first rule, ports of the first rule)
    let table: &[(&str, usize, usize, usize)] = &[
        ("  podSelector: {}\n", 0, 0, 0),
        ("  podSelector: {}\n  ingress: []\n", 0, 0, 0),
        ("  podSelector: {}\n  ingress:\n", 0, 0, 0),
        ("  podSelector: {}\n  ingress: [{}]\n", 1, 0, 0),
        ("  podSelector: {}\n  ingress:\n  - from: []\n", 1, 0, 0),
        (
            "  podSelector: {}\n  ingress:\n  - from:\n    ports: []\n",
            1,
            0,
            0,
        ),
        (
            "  podSelector: {}\n  ingress:\n  - from:\n    - podSelector: {}\n",
            1,
            1,
            0,
        ),
    ];
    for (spec, rules, peers, ports) in table {
        let p = parse0(&policy(spec));
        assert!(
            errors(&p.diagnostics).is_empty(),
            "{spec}: {:?}",
            p.diagnostics
        );
        let pol = &p.policies[0];
        assert_eq!(pol.ingress.len(), *rules, "{spec}");
        if let Some(r) = pol.ingress.first() {
            assert_eq!((r.peers.len(), r.ports.len()), (*peers, *ports), "{spec}");
        }
    }
}

#[test]
fn selectors_empty_absent_and_both() {
    let p = parse0(&policy(
        "  podSelector:\n  ingress:\n  - from:\n    - namespaceSelector: {}\n    - namespaceSelector: {matchLabels: {team: a}}\n      podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [x, y]}]}\n",
    ));
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let pol = &p.policies[0];
    assert_eq!(pol.pod_selector, LabelSelector::default());
    let peers = &pol.ingress[0].peers;
    assert_eq!(
        peers.len(),
        2,
        "both selectors in one entry are one peer (AND)"
    );
    assert_eq!(peers[0].namespace_selector, Some(LabelSelector::default()));
    assert_eq!(peers[0].pod_selector, None);
    let req = &peers[1].pod_selector.as_ref().unwrap().match_expressions[0];
    assert_eq!(
        (req.key.as_str(), req.operator, req.values.clone()),
        (
            "app",
            Operator::NotIn,
            vec!["x".to_string(), "y".to_string()]
        )
    );
    assert_eq!(peers[1].span.line, 11);
}

#[test]
fn ip_blocks_v4_and_v6() {
    let p = parse0(&policy(
        "  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}\n    - ipBlock:\n        cidr: fd00::/8\n        except: [\"fd00:1::/32\"]\n",
    ));
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let peers = &p.policies[0].egress[0].peers;
    let b = peers[0].ip_block.as_ref().unwrap();
    assert!(b.contains("10.2.3.4".parse().unwrap()));
    assert!(!b.contains("10.1.3.4".parse().unwrap()));
    let b6 = peers[1].ip_block.as_ref().unwrap();
    assert!(b6.contains("fd00:2::1".parse().unwrap()));
    assert!(!b6.contains("fd00:1::1".parse().unwrap()));
}

// ---------------------------------------------------------------------------------------
// kinds: lists, workloads, pods

#[test]
fn lists_and_workloads() {
    let text = r#"
apiVersion: v1
kind: DeploymentList
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: api, namespace: prod}
  spec:
    template:
      metadata: {labels: {app: api}}
      spec:
        initContainers: [{name: init, ports: [{containerPort: 1}]}]
        containers: [{name: c, ports: [{name: http, containerPort: 8080}, {containerPort: 53, protocol: UDP}]}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        metadata: {labels: {job: nightly}}
        spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: PodList
items:
- kind: Pod
  apiVersion: v1
  metadata: {name: a, labels: {x: y}}
  spec: {nodeName: node-1}
  status:
    podIP: 10.0.0.1
    podIPs: [{ip: 10.0.0.1}, {ip: "fd00::1"}]
"#;
    let m = load1(text);
    assert!(errors(&m.diagnostics).is_empty(), "{:?}", m.diagnostics);
    let ids: Vec<&str> = m.cluster.pods.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "default/CronJob/nightly",
            "default/a",
            "prod/Deployment/api"
        ]
    );
    let api = &m.cluster.pods[2];
    assert_eq!(api.workload.as_deref(), Some("Deployment"));
    assert_eq!(api.labels.get("app").map(String::as_str), Some("api"));
    assert_eq!(api.ports.len(), 2, "init container ports are not exposed");
    assert_eq!(api.named_ports("http", Protocol::TCP).next(), Some(8080));
    assert_eq!(api.span.map(|s| s.line), Some(5));
    let cj = &m.cluster.pods[0];
    assert_eq!(cj.labels.get("job").map(String::as_str), Some("nightly"));
    let a = &m.cluster.pods[1];
    assert_eq!(a.node.as_deref(), Some("node-1"));
    assert_eq!(
        a.ips,
        vec![
            "10.0.0.1".parse::<IpAddr>().unwrap(),
            "fd00::1".parse::<IpAddr>().unwrap()
        ],
        "v4 and v6, deduplicated"
    );
}

#[test]
fn typed_lists_give_items_the_list_kind() {
    // (list kind, apiVersion, item without kind/apiVersion, what it must become)
    let table = [
        (
            "NamespaceList",
            "v1",
            "{metadata: {name: n, labels: {a: b}}}",
            "namespace n",
        ),
        ("PodList", "v1", "{metadata: {name: p}}", "pod default/p"),
        (
            "NetworkPolicyList",
            "networking.k8s.io/v1",
            "{metadata: {name: np}, spec: {podSelector: {}}}",
            "policy np",
        ),
        (
            "DeploymentList",
            "apps/v1",
            "{metadata: {name: d}, spec: {template: {metadata: {labels: {app: d}}}}}",
            "pod default/Deployment/d",
        ),
        (
            "ServiceList",
            "v1",
            "{metadata: {name: s}, spec: {selector: {app: d}, ports: [{port: 80}]}}",
            "service default/s",
        ),
        (
            "ConfigMapList",
            "v1",
            "{metadata: {name: c}}",
            "ignored ConfigMap",
        ),
    ];
    for (list, api, item, want) in table {
        let text = format!("apiVersion: {api}\nkind: {list}\nitems:\n- {item}\n");
        let p = parse0(&text);
        assert!(
            errors(&p.diagnostics).is_empty(),
            "{list}: {:?}",
            p.diagnostics
        );
        let got: Vec<String> = p
            .namespaces
            .iter()
            .map(|n| format!("namespace {}", n.name))
            .chain(p.pods.iter().map(|x| format!("pod {}", x.id)))
            .chain(p.policies.iter().map(|x| format!("policy {}", x.name)))
            .chain(p.services.iter().map(|x| format!("service {}", x.id)))
            .chain(p.ignored.keys().map(|k| format!("ignored {k}")))
            .collect();
        assert_eq!(got, [want], "{list}");
    }
    // An item's own kind wins; `List` gives nothing, so its items need one.
    let p = parse0("apiVersion: v1\nkind: PodList\nitems:\n- {kind: Namespace, apiVersion: v1, metadata: {name: n}}\n");
    assert_eq!(p.namespaces.len(), 1);
    let p = parse0("apiVersion: v1\nkind: List\nitems:\n- {metadata: {name: p}}\n");
    assert_eq!(p.diagnostics[0].code, "missing-kind");
    // The list's apiVersion is the items': an old group still gets its error.
    let p = parse0("apiVersion: extensions/v1beta1\nkind: NetworkPolicyList\nitems:\n- {metadata: {name: np}, spec: {podSelector: {}}}\n");
    assert_eq!(p.diagnostics[0].code, "wrong-api-version");
    assert_eq!(p.policies.len(), 1);
}

#[test]
fn every_workload_kind() {
    let table = [
        ("Deployment", "apps/v1", "spec:\n  template:\n"),
        ("StatefulSet", "apps/v1", "spec:\n  template:\n"),
        ("DaemonSet", "apps/v1", "spec:\n  template:\n"),
        ("ReplicaSet", "apps/v1", "spec:\n  template:\n"),
        ("ReplicationController", "v1", "spec:\n  template:\n"),
        ("Job", "batch/v1", "spec:\n  template:\n"),
        (
            "CronJob",
            "batch/v1",
            "spec:\n  jobTemplate:\n   spec:\n    template:\n",
        ),
    ];
    for (kind, api, path) in table {
        let indent = " ".repeat(path.lines().count() * 2);
        let text = format!(
            "apiVersion: {api}\nkind: {kind}\nmetadata: {{name: w, namespace: ns}}\n{path}{indent}metadata: {{labels: {{k: v}}}}\n"
        );
        let p = parse0(&text);
        assert!(p.diagnostics.is_empty(), "{kind}: {:?}", p.diagnostics);
        assert_eq!(p.pods.len(), 1, "{kind}");
        assert_eq!(p.pods[0].id, format!("ns/{kind}/w"));
        assert_eq!(
            p.pods[0].labels.get("k").map(String::as_str),
            Some("v"),
            "{kind}"
        );
    }
}

#[test]
fn other_kinds_are_ignored_with_info() {
    let p = parse0("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: example.com/v1\nkind: Job\nmetadata: {name: j}\n---\napiVersion: crd.projectcalico.org/v1\nkind: NetworkPolicy\nmetadata: {name: n}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n");
    assert!(p.pods.is_empty() && p.policies.is_empty());
    let ignored: Vec<(&str, usize)> = p.ignored.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    assert_eq!(
        ignored,
        [
            ("ConfigMap", 2),
            ("Job (example.com/v1)", 1),
            ("NetworkPolicy (crd.projectcalico.org/v1)", 1),
            ("Secret", 1)
        ],
        "counted by kind, for the one-line summary"
    );
    let codes: Vec<(&str, Severity, u32)> = p
        .diagnostics
        .iter()
        .map(|d| (d.code, d.severity, d.span.unwrap().line))
        .collect();
    assert_eq!(
        codes,
        [
            ("ignored-kind", Severity::Info, 2),
            ("ignored-kind", Severity::Info, 6),
            ("ignored-kind", Severity::Info, 9),
            ("ignored-kind", Severity::Info, 13),
            ("ignored-kind", Severity::Info, 18)
        ]
    );
}

// ---------------------------------------------------------------------------------------
// diagnostics: every one at its line

/// (name, input, code, severity, line)
const DIAGNOSTICS: &[(&str, &str, &str, Severity, u32)] = &[
    (
        "yaml syntax error",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: [a\n",
        "yaml-syntax",
        Severity::Error,
        4,
    ),
    (
        "tab indentation",
        "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: a\n",
        "yaml-syntax",
        Severity::Error,
        4,
    ),
    (
        "wrong apiVersion",
        "apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}}\n",
        "wrong-api-version",
        Severity::Error,
        1,
    ),
    (
        "nonexistent apiVersion",
        "apiVersion: networking.k8s.io/v2\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}}\n",
        "wrong-api-version",
        Severity::Error,
        1,
    ),
    (
        "misspelt kind",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicies\nmetadata: {name: p}\n",
        "unknown-kind",
        Severity::Error,
        2,
    ),
    (
        "missing kind",
        "apiVersion: v1\nmetadata: {name: p}\n",
        "missing-kind",
        Severity::Error,
        1,
    ),
    (
        "missing name",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  namespace: x\nspec: {podSelector: {}}\n",
        "missing-name",
        Severity::Error,
        4,
    ),
    (
        "podSelecter typo",
        "  podSelecter: {}\n",
        "unknown-field",
        Severity::Warning,
        7,
    ),
    (
        "namespaceselector case",
        "  podSelector: {}\n  ingress:\n  - from:\n    - namespaceselector: {}\n",
        "unknown-field",
        Severity::Warning,
        10,
    ),
    (
        "port is a list",
        "  podSelector: {}\n  ingress:\n  - ports:\n    - port: [1]\n",
        "invalid-type",
        Severity::Error,
        10,
    ),
    (
        "invalid cidr",
        "  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/33}\n",
        "invalid-cidr",
        Severity::Error,
        10,
    ),
    (
        "cidr without prefix",
        "  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 10.0.0.1\n",
        "invalid-cidr",
        Severity::Error,
        11,
    ),
    (
        "host bits",
        "  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.5/8}\n",
        "cidr-host-bits",
        Severity::Warning,
        10,
    ),
    (
        "except outside cidr",
        "  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 10.0.0.0/16\n        except:\n        - 10.1.0.0/24\n",
        "except-outside-cidr",
        Severity::Error,
        13,
    ),
    (
        "except family mismatch",
        "  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 10.0.0.0/8\n        except: [\"fd00::/16\"]\n",
        "except-outside-cidr",
        Severity::Error,
        12,
    ),
    (
        "port zero",
        "  podSelector: {}\n  ingress:\n  - ports:\n    - port: 0\n",
        "invalid-port",
        Severity::Error,
        10,
    ),
    (
        "port too big",
        "  podSelector: {}\n  ingress:\n  - ports:\n    - port: 65536\n",
        "invalid-port",
        Severity::Error,
        10,
    ),
    (
        "endPort below port",
        "  podSelector: {}\n  ingress:\n  - ports:\n    - port: 8080\n      endPort: 80\n",
        "invalid-port",
        Severity::Error,
        11,
    ),
    (
        "endPort with named port",
        "  podSelector: {}\n  ingress:\n  - ports:\n    - port: http\n      endPort: 90\n",
        "invalid-port",
        Severity::Error,
        11,
    ),
    (
        "endPort without port",
        "  podSelector: {}\n  ingress:\n  - ports:\n    - endPort: 90\n",
        "invalid-port",
        Severity::Error,
        10,
    ),
    (
        "invalid port name",
        "  podSelector: {}\n  ingress:\n  - ports:\n    - port: Web_Port\n",
        "invalid-port",
        Severity::Error,
        10,
    ),
    (
        "quoted port number",
        "  podSelector: {}\n  ingress:\n  - ports:\n    - port: \"80\"\n",
        "invalid-port",
        Severity::Error,
        10,
    ),
    (
        "unknown protocol",
        "  podSelector: {}\n  ingress:\n  - ports:\n    - protocol: HTTP\n",
        "unknown-protocol",
        Severity::Error,
        10,
    ),
    (
        "lower-case protocol",
        "  podSelector: {}\n  ingress:\n  - ports:\n    - protocol: tcp\n      port: 80\n",
        "unknown-protocol",
        Severity::Error,
        10,
    ),
    (
        "invalid operator",
        "  podSelector:\n    matchExpressions:\n    - {key: app, operator: Equals, values: [a]}\n",
        "invalid-operator",
        Severity::Error,
        9,
    ),
    (
        "In without values",
        "  podSelector:\n    matchExpressions:\n    - key: app\n      operator: In\n",
        "invalid-selector",
        Severity::Error,
        10,
    ),
    (
        "Exists with values",
        "  podSelector:\n    matchExpressions:\n    - key: app\n      operator: Exists\n      values: [a]\n",
        "invalid-selector",
        Severity::Error,
        11,
    ),
    (
        "invalid label key",
        "  podSelector:\n    matchLabels:\n      \"bad key\": a\n",
        "invalid-label",
        Severity::Error,
        9,
    ),
    (
        "invalid label value",
        "  podSelector:\n    matchLabels:\n      app: \"-x-\"\n",
        "invalid-label",
        Severity::Error,
        9,
    ),
    (
        "label value too long",
        "  podSelector:\n    matchLabels:\n      app: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
        "invalid-label",
        Severity::Error,
        9,
    ),
    (
        "YAML 1.1 boolean as label value",
        "  podSelector:\n    matchLabels:\n      enabled: yes\n",
        "invalid-type",
        Severity::Error,
        9,
    ),
    (
        "spec podSelector of the wrong type",
        "  podSelector: [app]\n",
        "invalid-type",
        Severity::Error,
        7,
    ),
    (
        "unknown policy type",
        "  podSelector: {}\n  policyTypes: [Ingress, Outgress]\n",
        "invalid-policy-type",
        Severity::Error,
        8,
    ),
    (
        "egress rules ignored",
        "  podSelector: {}\n  policyTypes: [Ingress]\n  egress:\n  - {}\n",
        "ignored-rules",
        Severity::Warning,
        9,
    ),
    (
        "ingress rules ignored",
        "  podSelector: {}\n  policyTypes: [Egress]\n  ingress:\n  - {}\n",
        "ignored-rules",
        Severity::Warning,
        9,
    ),
    (
        "ipBlock with selector",
        "  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/8}\n      podSelector: {}\n",
        "invalid-peer",
        Severity::Error,
        10,
    ),
    (
        "empty peer",
        "  podSelector: {}\n  ingress:\n  - from:\n    - {}\n",
        "invalid-peer",
        Severity::Error,
        10,
    ),
    (
        "rule loses every peer",
        "  podSelector: {}\n  ingress:\n  - from:\n    - {}\n",
        "rule-dropped",
        Severity::Error,
        9,
    ),
    (
        "egress: [] without policyTypes",
        "  podSelector: {}\n  egress: []\n",
        "egress-not-isolated",
        Severity::Warning,
        8,
    ),
    (
        "ports inside a peer",
        "  podSelector: {}\n  ingress:\n  - from:\n    - podSelector: {}\n      ports: [{port: 80}]\n",
        "misplaced-field",
        Severity::Warning,
        11,
    ),
    (
        "bad pod IP",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nstatus:\n  podIP: 10.0.0.256\n",
        "invalid-ip",
        Severity::Warning,
        5,
    ),
    (
        "host network pod",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  hostNetwork: true\n",
        "host-network",
        Severity::Info,
        5,
    ),
    (
        "policy without podSelector",
        "  policyTypes: [Ingress]\n",
        "missing-field",
        Severity::Warning,
        7,
    ),
    (
        "repeated field",
        "  podSelector: {}\n  podSelector: {}\n",
        "duplicate-key",
        Severity::Warning,
        8,
    ),
    (
        "endPort out of range",
        "  podSelector: {}\n  ingress:\n  - ports:\n    - port: 80\n      endPort: 70000\n",
        "invalid-port",
        Severity::Error,
        11,
    ),
    (
        "ingress written as a mapping",
        "  podSelector: {}\n  ingress:\n    from: []\n",
        "invalid-type",
        Severity::Error,
        9,
    ),
    (
        "nesting too deep",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  labels: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
        "yaml-depth",
        Severity::Error,
        5,
    ),
];

#[test]
fn every_diagnostic_fires_at_its_line() {
    let mut failures = Vec::new();
    for (name, input, code, severity, line) in DIAGNOSTICS {
        // inputs starting with two spaces are spec bodies (line 7 onwards)
        let text = if input.starts_with("  ") {
            policy(input)
        } else {
            input.to_string()
        };
        let p = parse0(&text);
        let hit = p.diagnostics.iter().any(|d| {
            d.code == *code && d.severity == *severity && d.span.map(|s| s.line) == Some(*line)
        });
        if !hit {
            failures.push(format!(
                "{name}: want {code} ({severity:?}) at line {line}, got {:?}",
                p.diagnostics
                    .iter()
                    .map(|d| (d.code, d.span.map(|s| s.line), d.message.as_str()))
                    .collect::<Vec<_>>()
            ));
        }
        for d in &p.diagnostics {
            let help = d.help.as_deref().unwrap_or("");
            if d.message.is_empty()
                || d.message.ends_with('.')
                || d.message.chars().next().is_some_and(char::is_uppercase)
                || help.is_empty()
            {
                failures.push(format!("{name}: badly formed diagnostic {d:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn did_you_mean_hints() {
    let table = [
        ("  podSelecter: {}\n", "`podSelector`"),
        (
            "  podSelector: {}\n  ingress:\n  - from:\n    - namespaceselector: {}\n",
            "`namespaceSelector`",
        ),
        (
            "  podSelector: {}\n  policyType: [Ingress]\n",
            "`policyTypes`",
        ),
        ("  podSelector:\n    matchLabel: {a: b}\n", "`matchLabels`"),
        (
            "  podSelector:\n    matchExpressions: [{key: a, operator: in, values: [b]}]\n",
            "`In`",
        ),
    ];
    for (spec, want) in table {
        let p = parse0(&policy(spec));
        assert!(
            p.diagnostics
                .iter()
                .any(|d| d.help.as_deref().is_some_and(|h| h.contains(want))),
            "{spec}: {:?}",
            p.diagnostics
        );
    }
    let p = parse0(&policy(
        "  podSelector: {}\n  ingress:\n  - ports:\n    - {protocol: tcp, port: 80}\n",
    ));
    assert!(
        p.diagnostics[0].help.as_deref() == Some("write TCP"),
        "{:?}",
        p.diagnostics
    );
    assert_eq!(p.policies[0].ingress[0].ports[0].protocol, Protocol::TCP);
}

#[test]
fn unknown_field_in_metadata() {
    let text = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n  namspace: prod\nspec: {podSelector: {}}\n";
    let p = parse0(text);
    let d = &p.diagnostics[0];
    assert_eq!((d.code, d.span.unwrap().line), ("unknown-field", 5));
    assert_eq!(d.help.as_deref(), Some("did you mean `namespace`?"));
}

#[test]
fn bad_parts_drop_the_smallest_unit() {
    // one bad peer among good ones: the rule stays with the good peer
    let p = parse0(&policy(
        "  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: nonsense}\n    - podSelector: {matchLabels: {a: b}}\n  - ports: [{port: 80}]\n",
    ));
    let pol = &p.policies[0];
    assert_eq!(pol.ingress.len(), 2);
    assert_eq!(pol.ingress[0].peers.len(), 1);
    // all peers bad: the rule goes (it would otherwise allow every source)
    let p = parse0(&policy(
        "  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: nonsense}\n  - ports: [{port: 80}]\n",
    ));
    assert_eq!(p.policies[0].ingress.len(), 1);
    assert_eq!(p.policies[0].ingress[0].ports.len(), 1);
    // all ports bad: the rule goes too
    let p = parse0(&policy(
        "  podSelector: {}\n  ingress:\n  - ports: [{port: 0}]\n",
    ));
    assert!(p.policies[0].ingress.is_empty());
    assert!(p.diagnostics.iter().any(|d| d.code == "rule-dropped"));
    // a bad policy selector drops the policy, not the others in the stream
    let text = format!(
        "{}---\n{}",
        policy("  podSelector: {matchExpressions: [{key: a, operator: Bad}]}\n"),
        policy("  podSelector: {}\n")
    );
    let p = parse0(&text);
    assert_eq!(p.policies.len(), 1);
    assert!(p
        .diagnostics
        .iter()
        .any(|d| d.code == "selector-dropped" && d.message.contains("the policy `p` was dropped")));
}

#[test]
fn documents_before_a_syntax_error_are_kept() {
    let text = format!(
        "{}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: [\n",
        policy("  podSelector: {}\n")
    );
    let p = parse0(&text);
    assert_eq!(p.policies.len(), 1);
    assert_eq!(p.diagnostics.len(), 1);
    assert_eq!(p.diagnostics[0].code, "yaml-syntax");
    assert_eq!(p.diagnostics[0].span.unwrap().line, 12);
}

#[test]
fn duplicates_in_build() {
    let a = policy("  podSelector: {}\n");
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: prod}\n";
    let m = load(&[
        (FileId(0), &format!("{a}---\n{pod}")),
        (FileId(1), &format!("{pod}---\n{a}")),
    ]);
    let d: Vec<(&str, FileId, u32)> = m
        .diagnostics
        .iter()
        .map(|d| (d.code, d.span.unwrap().file, d.span.unwrap().line))
        .collect();
    assert_eq!(
        d,
        [
            ("duplicate-endpoint", FileId(1), 1),
            ("duplicate-policy", FileId(1), 5)
        ]
    );
    assert_eq!(m.policies.len(), 2, "both duplicates are evaluated");
    assert_eq!(m.cluster.pods.len(), 1);
}

#[test]
fn build_is_deterministic_and_sorted() {
    let a = "pod b/x app=1\npod a/y\nnamespace c\n";
    let b = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: z, namespace: a}\nspec: {podSelector: {}}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: m, namespace: a}\nspec: {podSelector: {}}\n";
    let m1 = load(&[(FileId(0), a), (FileId(1), b)]);
    let m2 = build(vec![parse(FileId(1), b), parse(FileId(0), a)]);
    assert_eq!(m1, m2);
    let ns: Vec<&str> = m1
        .cluster
        .namespaces
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(ns, ["a", "b", "c"]);
    let pols: Vec<&str> = m1.policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(pols, ["m", "z"]);
}

#[test]
fn kubectl_json_output() {
    // `kubectl get pods -o json`: a List, tab- or space-indented, numbers as JSON numbers
    let text = "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"List\",\n\t\"items\": [\n\t\t{\n\t\t\t\"apiVersion\": \"v1\",\n\t\t\t\"kind\": \"Pod\",\n\t\t\t\"metadata\": {\"name\": \"a\", \"namespace\": \"x\", \"labels\": {\"app\": \"a\"}},\n\t\t\t\"spec\": {\"containers\": [{\"name\": \"c\", \"ports\": [{\"containerPort\": 80, \"name\": \"http\", \"protocol\": \"TCP\"}]}]},\n\t\t\t\"status\": {\"podIP\": \"10.0.0.1\"}\n\t\t}\n\t],\n\t\"metadata\": {\"resourceVersion\": \"\"}\n}\n";
    let p = parse0(text);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(p.pods.len(), 1);
    assert_eq!(p.pods[0].id, "x/a");
    assert_eq!(
        p.pods[0].named_ports("http", Protocol::TCP).next(),
        Some(80)
    );
    assert_eq!(p.pods[0].span.map(|s| (s.line, s.column)), Some((5, 3)));
}

#[test]
fn yaml_features() {
    // anchors, merge keys, quoted keys, comments, flow style, CRLF, a BOM, `...`
    let text = "\u{feff}# c\r\napiVersion: networking.k8s.io/v1\r\nkind: NetworkPolicy\r\nmetadata: {\"name\": p, 'namespace': prod}  # trailing\r\nspec:\r\n  podSelector: &sel {matchLabels: {app: x}}\r\n  ingress:\r\n  - from: [{podSelector: *sel}]\r\n...\r\n";
    let p = parse0(text);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let pol = &p.policies[0];
    assert_eq!(pol.namespace, "prod");
    assert_eq!(
        pol.ingress[0].peers[0].pod_selector.as_ref(),
        Some(&pol.pod_selector)
    );
    assert_eq!(pol.ingress[0].span.line, 8);
    let merged = "base: &b {kind: Pod, apiVersion: v1}\n";
    let p = parse0(&format!("{merged}---\n<<: *b\nmetadata: {{name: m}}\n"));
    // anchors do not cross documents: the alias is an error, the document is still read
    assert!(
        p.diagnostics.iter().any(|d| d.code == "yaml-syntax"),
        "{:?}",
        p.diagnostics
    );
    let p = parse0(
        "- &b {kind: Pod, apiVersion: v1, metadata: {name: a}}\n- <<: *b\n  metadata: {name: c}\n",
    );
    let names: Vec<&str> = p.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["a", "c"], "{:?}", p.diagnostics);
}

// ---------------------------------------------------------------------------------------
// the compact form

#[test]
fn compact_form() {
    let text = "# comments with '#'\nnamespace prod team=payments env=prod\npod prod/api app=api,tier=web ip=10.1.0.5 ports=http:8080/TCP,metrics:9090\npod web app=web               # no namespace/ -> default\ndeployment prod/worker app=worker ports=8080\nsts prod/db app=db ports=pg:5432 node=n1\npod prod/v6 ips=10.1.0.6,fd00::6 ports=dns:53/udp,dns-tcp:53\n";
    let m = load1(text);
    assert!(m.diagnostics.is_empty(), "{:?}", m.diagnostics);
    let ids: Vec<&str> = m.cluster.pods.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "default/web",
            "prod/Deployment/worker",
            "prod/StatefulSet/db",
            "prod/api",
            "prod/v6"
        ]
    );
    let api = &m.cluster.pods[3];
    assert_eq!(api.labels.len(), 2);
    assert_eq!(api.ips, vec!["10.1.0.5".parse::<IpAddr>().unwrap()]);
    assert_eq!(api.named_ports("http", Protocol::TCP).next(), Some(8080));
    assert_eq!(api.named_ports("metrics", Protocol::TCP).next(), Some(9090));
    assert_eq!(api.span.map(|s| (s.line, s.column)), Some((3, 1)));
    let v6 = &m.cluster.pods[4];
    assert_eq!(v6.ips.len(), 2);
    assert_eq!(v6.named_ports("dns", Protocol::UDP).next(), Some(53));
    assert_eq!(m.cluster.pods[2].node.as_deref(), Some("n1"));
    assert_eq!(m.cluster.pods[1].ports[0].port, 8080);
    let prod = m.cluster.namespace("prod").unwrap();
    assert_eq!(
        prod.labels.get("team").map(String::as_str),
        Some("payments")
    );
    assert_eq!(prod.labels.len(), 3, "team, env and the name label");
    assert!(m.cluster.namespace("default").unwrap().span.is_none());
}

#[test]
fn compact_form_diagnostics() {
    // (input, code, line, column)
    let table: &[(&str, &str, u32, u32)] = &[
        ("pod a x=1\npdo b\n", "unknown-keyword", 2, 1),
        ("pod a app\n", "invalid-label", 1, 7),
        ("pod a app:web\n", "invalid-label", 1, 7),
        ("pod a ip=10.0.0.300\n", "invalid-ip", 1, 10),
        ("pod a ports=http:99999\n", "invalid-port", 1, 13),
        ("pod a ports=http:80/HTTP\n", "unknown-protocol", 1, 21),
        ("pod a ports=HTTP:80\n", "invalid-port", 1, 13),
        ("pod app=web\n", "missing-name", 1, 1),
        ("namespace Prod\n", "invalid-name", 1, 11),
        ("pod a -bad=1\n", "invalid-label", 1, 7),
        ("namespace x ip=1.2.3.4\n", "invalid-label", 1, 13),
        ("pod a x=1 x=2\n", "duplicate-key", 1, 11),
    ];
    for (input, code, line, column) in table {
        let p = parse0(input);
        assert!(
            p.diagnostics
                .iter()
                .any(|d| d.code == *code
                    && d.span.map(|s| (s.line, s.column)) == Some((*line, *column))),
            "{input:?}: want {code} at {line}:{column}, got {:?}",
            p.diagnostics
        );
    }
    let p = parse0("pod a x=1\npdo b\n");
    assert_eq!(
        p.diagnostics[0].help.as_deref(),
        Some("did you mean `pod`?")
    );
    assert_eq!(p.pods.len(), 1, "good lines are kept");
}

#[test]
fn compact_detection() {
    for (text, compact) in [
        ("pod a\n", true),
        ("# x\n\nnamespace prod\n", true),
        ("pdo a\n", true),
        ("apiVersion v1\nkind: Pod\n", false),
        ("pod a ports=http:80\n", true),
        ("kind: Pod\n", false),
        ("apiVersion : v1\n", false),
        ("---\npod: a\n", false),
        ("{\"kind\": \"Pod\"}", false),
        ("", false),
    ] {
        assert_eq!(netpol_core::is_compact(text), compact, "{text:?}");
    }
}

// ---------------------------------------------------------------------------------------
// robustness

/// Loads and evaluates a few flows, and asks the engine for a matrix: none may panic.
fn exercise(text: &str) {
    let m = load1(text);
    let n = m.cluster.pods.len();
    let mut flows = vec![Flow {
        src: Endpoint::Address("8.8.8.8".parse().unwrap()),
        dst: Endpoint::Address("10.0.0.1".parse().unwrap()),
        protocol: Protocol::UDP,
        port: 53,
    }];
    if n > 0 {
        flows.push(Flow {
            src: Endpoint::Pod(0),
            dst: Endpoint::Pod(n - 1),
            protocol: Protocol::TCP,
            port: 80,
        });
        flows.push(Flow {
            src: Endpoint::Address("fd00::1".parse().unwrap()),
            dst: Endpoint::Pod(0),
            protocol: Protocol::SCTP,
            port: 65535,
        });
    }
    for f in &flows {
        let _ = evaluate(&m, f);
    }
    let _ = Engine::new(&m).matrix(Protocol::TCP, &PortRef::Number(80));
}

#[test]
fn hostile_inputs_do_not_panic() {
    let bomb = {
        let mut t = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..15 {
            let p = i - 1;
            t.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        t
    };
    let inputs = [
        "[".repeat(100_000),
        "{".repeat(100_000),
        "- ".repeat(10_000),
        format!("{}x{}", "[".repeat(127), "]".repeat(127)),
        bomb,
        "kind: NetworkPolicy\nspec:\n  ingress:\n  - ports:\n    - port: 99999999999999999999999999999\n".into(),
        "\t\t\t".into(),
        "\u{0}\u{feff}\u{202e}".into(),
        "pod é/ü x=ÿ ports=:,/,:/ ips=,,".into(),
        "kind: List\nitems: [[[[[[{kind: List, items: [{kind: List, items: [{kind: List, items: [{kind: Pod}]}]}]}]]]]]]\n".into(),
        "---\n---\n...\n".into(),
        "&a [*a]".into(),
        "kind: Pod\nmetadata: {name: p}\nstatus: {podIPs: 5, podIP: [1]}\nspec: {containers: {ports: 1}}\n".into(),
    ];
    for text in &inputs {
        exercise(text);
    }
}

/// Inputs that would be quadratic with naive duplicate checks finish quickly.
#[test]
fn large_repetitive_inputs_stay_linear() {
    let n = 20_000;
    let dup_keys = policy(&"  podSelector: {}\n".repeat(n));
    let many_ips = format!(
        "kind: Pod\napiVersion: v1\nmetadata: {{name: a}}\nstatus:\n  podIPs:\n{}",
        (0..n)
            .map(|i| format!("  - ip: 10.{}.{}.1\n", i / 256, i % 256))
            .collect::<String>()
    );
    let many_ports = format!(
        "pod a ports={}\n",
        (1..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
    );
    let start = std::time::Instant::now();
    let p = parse0(&dup_keys);
    assert_eq!(
        p.diagnostics.len(),
        n - 1,
        "one duplicate-key warning per repeat"
    );
    assert_eq!(parse0(&many_ips).pods[0].ips.len(), n);
    assert_eq!(parse0(&many_ports).pods[0].ports.len(), n - 1);
    // generous: debug builds on a loaded machine; quadratic behaviour takes minutes
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
}

/// Valid manifests to mutate.
fn seeds() -> Vec<String> {
    vec![
        example("internal-policy.yaml"),
        example("internal-cluster.yaml"),
        example("allow-same-namespace.yaml"),
        "namespace prod team=a\npod prod/api app=api ip=10.1.0.5 ports=http:8080\n".into(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_does_not_panic(text in "\\PC{0,300}") {
        exercise(&text);
    }

    #[test]
    fn yaml_like_text_does_not_panic(text in "([-:{}\\[\\],&*!|>'\" \n\t#a-z0-9]|kind|Pod|List|ports|port){0,200}") {
        exercise(&text);
    }

    #[test]
    fn mutated_manifests_do_not_panic(
        seed in 0usize..4,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, "[-:\\[\\]{} \n\ta-zA-Z0-9./]{0,4}"), 1..6),
    ) {
        let mut text = seeds()[seed].clone();
        for (at, op, s) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) { i -= 1; }
            match op {
                0 => text.insert_str(i, &s),
                1 => { let end = (i + s.len()).min(text.len()); let mut e = end; while !text.is_char_boundary(e) { e -= 1; } text.replace_range(i..e, ""); }
                2 => { let mut e = (i + 1).min(text.len()); while !text.is_char_boundary(e) { e += 1; } text.replace_range(i..e, &s); }
                _ => { let line_start = text[..i].rfind('\n').map_or(0, |x| x + 1); text.insert(line_start, ' '); }
            }
        }
        exercise(&text);
    }
}

/// A pod as the compact-form property test writes it.
#[derive(Clone, Debug)]
struct CompactPod {
    namespace: Option<String>,
    name: String,
    labels: Vec<(String, String)>,
    ips: Vec<IpAddr>,
    ports: Vec<(Option<String>, u16, Protocol)>,
}

fn compact_pod() -> impl Strategy<Value = CompactPod> {
    // `ip`, `ips`, `ports` and `node` are reserved keys, not labels (documented)
    let key = "[a-z][a-z0-9]{0,5}".prop_filter("reserved key", |k| {
        !["ip", "ips", "ports", "node"].contains(&k.as_str())
    });
    let value = "([a-zA-Z0-9]([a-zA-Z0-9._-]{0,4}[a-zA-Z0-9])?)?";
    let ip = prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u16; 8]>().prop_map(IpAddr::from),
    ];
    let proto = prop_oneof![
        Just(Protocol::TCP),
        Just(Protocol::UDP),
        Just(Protocol::SCTP)
    ];
    let port = (
        proptest::option::of("[a-z][a-z0-9]{0,6}"),
        1u16..=65535,
        proto,
    );
    (
        proptest::option::of("[a-z][a-z0-9-]{0,6}[a-z0-9]"),
        "[a-z][a-z0-9]{0,8}",
        proptest::collection::btree_map(key, value, 0..4),
        proptest::collection::vec(ip, 0..3),
        proptest::collection::vec(port, 0..4),
    )
        .prop_map(|(namespace, name, labels, ips, ports)| CompactPod {
            namespace,
            name,
            labels: labels.into_iter().collect(),
            ips,
            ports,
        })
}

fn render_compact(p: &CompactPod, separator: &str) -> String {
    let mut line = String::from("pod ");
    if let Some(ns) = &p.namespace {
        line.push_str(ns);
        line.push('/');
    }
    line.push_str(&p.name);
    let labels: Vec<String> = p.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if !labels.is_empty() {
        line.push(' ');
        line.push_str(&labels.join(separator));
    }
    if !p.ips.is_empty() {
        let ips: Vec<String> = p.ips.iter().map(|ip| ip.to_string()).collect();
        line.push_str(&format!(" ips={}", ips.join(",")));
    }
    if !p.ports.is_empty() {
        let ports: Vec<String> = p
            .ports
            .iter()
            .map(|(n, port, proto)| match n {
                Some(n) => format!("{n}:{port}/{proto}"),
                None => format!("{port}/{proto}"),
            })
            .collect();
        line.push_str(&format!(" ports={}", ports.join(",")));
    }
    line
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Whatever a person writes in the documented syntax reads back as exactly that.
    #[test]
    fn compact_form_reads_back_what_was_written(pod in compact_pod(), comma in any::<bool>()) {
        let line = render_compact(&pod, if comma { "," } else { " " });
        let p = parse0(&format!("# generated\n{line}  # trailing comment\n"));
        prop_assert!(p.diagnostics.is_empty(), "{line}: {:?}", p.diagnostics);
        prop_assert_eq!(p.pods.len(), 1);
        let got = &p.pods[0];
        let ns = pod.namespace.clone().unwrap_or_else(|| "default".into());
        prop_assert_eq!(&got.id, &format!("{ns}/{}", pod.name));
        let want_labels: std::collections::BTreeMap<String, String> = pod.labels.iter().cloned().collect();
        prop_assert_eq!(&got.labels, &want_labels);
        let mut want_ips = pod.ips.clone();
        want_ips.dedup();
        let mut seen = std::collections::HashSet::new();
        want_ips.retain(|ip| seen.insert(*ip));
        prop_assert_eq!(&got.ips, &want_ips);
        for (name, port, proto) in &pod.ports {
            prop_assert!(got.ports.iter().any(|c| c.port == *port && c.protocol == *proto && c.name == *name));
        }
        prop_assert_eq!(got.span.map(|s| s.line), Some(2));
    }
}

/// Every file of the fuzz corpus goes through load and evaluate, so CI re-checks inputs that
/// once crashed without needing cargo-fuzz.
#[test]
fn fuzz_corpus_replays() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/parse"));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut n = 0;
    for entry in entries.flatten() {
        let bytes = std::fs::read(entry.path()).unwrap();
        exercise(&String::from_utf8_lossy(&bytes));
        n += 1;
    }
    assert!(n > 0, "the corpus directory exists but is empty");
}

/// The benchmark generator's output is real-looking YAML: it must parse without errors and
/// give the requested numbers of endpoints and policies.
#[test]
fn generated_clusters_parse_cleanly() {
    let text = netpol_core::generate::generate(100, 50, 7);
    let m = load1(&text);
    assert!(
        errors(&m.diagnostics).is_empty(),
        "{:?}",
        errors(&m.diagnostics)
    );
    assert_eq!(m.cluster.pods.len(), 100);
    assert_eq!(m.policies.len(), 50);
}
