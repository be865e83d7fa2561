//! Exposure (`netpol_core::exposure`) is checked against the pair verdict through every
//! tier: on every input of the corpus (the cluster policy cases included) and on generated
//! clusters with and without Admin and Baseline policies, for every endpoint and every
//! existing pod (and every outside-address class), the ports an endpoint's side admits for
//! that peer must be exactly what the exposures covering it admit, less what their
//! exceptions take. Exposure describes peers by selectors, so this is the part of it that
//! can be compared with the evaluator; the cases below pin the descriptions of peers that
//! do not exist yet.

use netpol_core::exposure::{
    exposure, exposures, EndpointExposure, Exception, Exposure, Namespaces, Peer,
};
use netpol_core::named_ports;
use netpol_core::render;
use netpol_core::{
    evaluate_pair, load, AllowedPorts, Endpoint, Engine, FileId, Model, NamedPort, PolicyType,
    PortSet,
};

use crate::corpus;

/// Whether a description covers `peer`: a pod by "matches now", an address by the
/// description itself (node addresses by the input's nodes; domain names never).
fn covers(model: &Model, peer: Endpoint, description: &Peer, matches_now: &[usize]) -> bool {
    match (peer, description) {
        (Endpoint::Pod(q), _) => matches_now.contains(&q),
        (Endpoint::Address(_), Peer::AnyAddress) => true,
        (Endpoint::Address(ip), Peer::Addresses(block)) => block.contains(ip),
        (Endpoint::Address(ip), Peer::Nodes(selector)) => model
            .cluster
            .nodes
            .iter()
            .any(|n| selector.matches(&n.labels) && n.addresses.contains(&ip)),
        (Endpoint::Address(_), Peer::Pods { .. } | Peer::DomainNames(_)) => false,
    }
}

/// `ports` plus `named` resolved on `named_on`.
fn resolved(
    model: &Model,
    ports: &AllowedPorts,
    named: &[NamedPort],
    named_on: Option<usize>,
) -> AllowedPorts {
    let mut out = ports.clone();
    if let Some(pod) = named_on.and_then(|q| model.cluster.pods.get(q)) {
        for n in named {
            let numbers = named_ports(pod, &n.name, n.protocol);
            let set = out.get_mut(n.protocol);
            *set = set.union(&PortSet::from_ranges(numbers.iter().map(|p| (*p, *p))));
        }
    }
    out
}

/// What an exception takes from `peer`: its ports, less what its `unless` cover.
fn taken(model: &Model, x: &Exception, peer: Endpoint, named_on: Option<usize>) -> AllowedPorts {
    if !covers(model, peer, &x.peer, &x.matches_now) {
        return AllowedPorts::default();
    }
    let mut out = resolved(model, &x.ports, &x.named, named_on);
    for u in &x.unless {
        out = out.difference(&taken(model, u, peer, named_on));
    }
    out
}

/// The union of what the exposures covering `peer` admit, less their exceptions, named
/// ports resolved on `named_on`.
fn union_for(
    model: &Model,
    list: &[Exposure],
    peer: Endpoint,
    named_on: Option<usize>,
) -> AllowedPorts {
    let mut out = AllowedPorts::default();
    for e in list {
        if !covers(model, peer, &e.peer, &e.matches_now) {
            continue;
        }
        let mut admitted = resolved(model, &e.ports, &e.named, named_on);
        for x in &e.except {
            admitted = admitted.difference(&taken(model, x, peer, named_on));
        }
        out = out.union(&admitted);
    }
    out
}

fn check(name: &str, model: &Model, all: &[EndpointExposure], failures: &mut Vec<String>) {
    let engine = Engine::new(model);
    let mut peers: Vec<Endpoint> = (0..model.cluster.pods.len()).map(Endpoint::Pod).collect();
    peers.extend(
        engine
            .address_classes()
            .iter()
            .map(|c| Endpoint::Address(c.representative)),
    );
    for e in all {
        let me = Endpoint::Pod(e.endpoint);
        for &peer in &peers {
            let named_on = match peer {
                Endpoint::Pod(q) => Some(q),
                Endpoint::Address(_) => None,
            };
            let ingress = evaluate_pair(model, peer, me).ingress_ports();
            let got = union_for(model, &e.ingress.exposures, peer, None);
            if got != ingress {
                failures.push(format!(
                    "{name}: ingress of {} from {}: exposure says {got}, the pair verdict {ingress}",
                    render::endpoint_name(model, &me),
                    render::endpoint_name(model, &peer)
                ));
            }
            let egress = evaluate_pair(model, me, peer).egress_ports();
            let got = union_for(model, &e.egress.exposures, peer, named_on);
            if got != egress {
                failures.push(format!(
                    "{name}: egress of {} to {}: exposure says {got}, the pair verdict {egress}",
                    render::endpoint_name(model, &me),
                    render::endpoint_name(model, &peer)
                ));
            }
        }
    }
}

#[test]
fn exposure_agrees_with_the_pair_verdict_on_every_input() {
    let mut failures = Vec::new();
    let mut endpoints = 0;
    for input in corpus::every_input() {
        let model = input.model();
        let all = exposures(&model);
        endpoints += all.len();
        check(&input.name, &model, &all, &mut failures);
    }
    for seed in 1..=3 {
        for (admin, baseline) in [(0, 0), (8, 3)] {
            let text = netpol_core::generate::generate_tiered(60, 30, admin, baseline, seed);
            let model = load(&[(FileId(0), &text)]);
            let all = exposures(&model);
            endpoints += all.len();
            let name = format!("generated {seed} with {admin} admin, {baseline} baseline");
            check(&name, &model, &all, &mut failures);
        }
    }
    assert!(endpoints > 500, "only {endpoints} endpoints checked");
    assert!(
        failures.is_empty(),
        "{} disagreements, first:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
}

const CLUSTER: &str = "namespace hello team=a\npod hello/a app=a ports=http:8050\npod hello/b app=b\nnamespace other\npod other/c app=c\n";

fn one(policies: &str) -> (Model, EndpointExposure) {
    let model = load(&[(FileId(0), CLUSTER), (FileId(1), policies)]);
    assert!(model.diagnostics.is_empty(), "{:?}", model.diagnostics);
    let a = model.cluster.pod_index("hello/a").unwrap();
    let e = exposure(&model, a).unwrap();
    (model, e)
}

fn lines(model: &Model, e: &EndpointExposure, direction: PolicyType) -> Vec<String> {
    let side = match direction {
        PolicyType::Ingress => &e.ingress,
        PolicyType::Egress => &e.egress,
    };
    side.exposures
        .iter()
        .map(|x| {
            format!(
                "{}: {}",
                render::exposure_peer(&x.peer),
                render::exposure_ports(&x.ports, &x.named)
            )
        })
        .chain(std::iter::once(format!(
            "now: {}",
            side.exposures
                .iter()
                .map(|x| x.matches_now.len().to_string())
                .collect::<Vec<_>>()
                .join(",")
        )))
        .filter(|_| !model.cluster.pods.is_empty())
        .collect()
}

/// The examples of netpol-analyzer's exposure documentation (docs/exposure_analysis.md),
/// in our words: a rule's selectors describe pods that need not exist.
#[test]
fn peers_that_do_not_exist_yet_are_described_by_their_selectors() {
    let head = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: hello}\nspec:\n  podSelector: {matchLabels: {app: a}}\n  policyTypes: [Ingress, Egress]\n";
    let table: &[(&str, &[&str], &[&str])] = &[
        (
            // exposure_test_conn_to_all_pods_in_a_new_ns
            "  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: backend}}\n      podSelector: {}\n    ports: [{port: 8050}]\n  egress:\n  - to:\n    - namespaceSelector: {}\n      podSelector: {}\n",
            &["any pod in namespace backend: TCP 8050", "now: 0"],
            &["any pod in any namespace: all ports", "now: 3"],
        ),
        (
            // exposure_test_conn_with_new_pod_selector_and_ns_selector, by name of the port
            "  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {effect: NoSchedule}}\n      podSelector: {matchLabels: {role: monitoring}}\n    ports: [{port: http}]\n",
            &["pods labelled role=monitoring in namespaces labelled effect=NoSchedule: TCP 8050", "now: 0"],
            &["now: "],
        ),
        (
            // exposure_matched_and_unmatched_rules_test: the wider rule makes the narrower
            // one with fewer ports say nothing more
            "  ingress:\n  - from:\n    - podSelector: {matchLabels: {app: b}}\n  - from:\n    - namespaceSelector: {matchLabels: {team: a}}\n    ports: [{port: 8050}]\n  - from:\n    - namespaceSelector: {}\n    ports: [{port: 8050}]\n",
            &["pods labelled app=b in namespace hello: all ports", "any pod in any namespace: TCP 8050", "now: 1,3"],
            &["now: "],
        ),
        (
            // egress by name: resolved on the (unknown) destination
            "  egress:\n  - to:\n    - podSelector: {matchLabels: {role: db}}\n      namespaceSelector: {}\n    ports: [{port: db, protocol: TCP}, {port: 53, protocol: UDP}]\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}\n",
            &["now: "],
            &[
                "pods labelled role=db in any namespace: UDP 53; named port db/TCP (resolved on the destination)",
                "addresses in 10.0.0.0/8 except 10.1.0.0/16: all ports",
                "now: 0,0",
            ],
        ),
    ];
    for (body, ingress, egress) in table {
        let (model, e) = one(&format!("{head}{body}"));
        assert_eq!(lines(&model, &e, PolicyType::Ingress), *ingress, "{body}");
        assert_eq!(lines(&model, &e, PolicyType::Egress), *egress, "{body}");
    }
}

#[test]
fn a_side_no_policy_isolates_is_exposed_to_everything() {
    let (model, e) = one("");
    assert!(e.ingress.isolated_by.is_empty());
    assert_eq!(
        lines(&model, &e, PolicyType::Ingress),
        [
            "any pod in any namespace: all ports",
            "any address: all ports",
            "now: 3,0"
        ]
    );
    let text = render::exposure(&model, &e);
    assert!(text.starts_with("hello/a\n  ingress, not isolated:\n    from any pod in any namespace: all ports (now: hello/a, hello/b, other/c)\n"), "{text}");
}

/// The hypothetical peer's own side: a new pod in `hello` is egress-isolated by a
/// default-deny there, which is said with what it admits towards the endpoint.
#[test]
fn the_peers_own_policies_are_named_when_they_certainly_apply() {
    let policies = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: hello}\nspec:\n  podSelector: {matchLabels: {app: a}}\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {app: web}}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-egress, namespace: hello}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - podSelector: {matchLabels: {app: a}}\n    ports: [{port: http}]\n";
    let (model, e) = one(policies);
    let x = &e.ingress.exposures[0];
    assert!(matches!(&x.peer, Peer::Pods { namespaces: Namespaces::Named(n), .. } if n == "hello"));
    let side = x.peer_side.as_ref().expect("known");
    assert_eq!(side.isolated_by[0].name, "deny-egress");
    assert_eq!(render::ports_text(&side.allows), "TCP 8050");
    let text = render::exposure(&model, &e);
    assert!(
        text.contains("      such a pod is egress-isolated by hello/deny-egress, which admit TCP 8050 towards it at least\n"),
        "{text}"
    );
    // A namespace-selector peer may be in a namespace that does not exist yet: unknown.
    let other = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: hello}\nspec:\n  podSelector: {matchLabels: {app: a}}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {team: a}}\n";
    let (_, e) = one(&format!("{other}---\n{}", &policies[policies.find("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-egress").unwrap()..]));
    assert!(e.ingress.exposures[0].peer_side.is_none());
}

const TIERED_CLUSTER: &str = "namespace prod env=prod\nnamespace dev env=dev\nnamespace ops team=ops\npod prod/api app=api ip=10.0.0.1 ports=http:8080\npod dev/web app=web ip=10.1.0.1\npod dev/tool app=tool ip=10.1.0.2\npod ops/prom app=prom ip=10.2.0.1\n";

const TIERED_POLICIES: &str = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from:
    - namespaceSelector: {}
      podSelector: {matchLabels: {app: web}}
    ports: [{port: 8080}]
---
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: guardrails}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {}}
  ingress:
  - name: dev-web
    action: Pass
    from: [{pods: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: dev}}, podSelector: {matchLabels: {app: web}}}}]
  - name: no-dev
    action: Deny
    from: [{namespaces: {matchLabels: {env: dev}}}]
  - name: monitoring
    action: Accept
    from: [{namespaces: {matchLabels: {team: ops}}}]
    protocols: [{tcp: {destinationPort: {number: 9100}}}]
---
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: base}
spec:
  tier: Baseline
  priority: 10
  subject: {namespaces: {matchLabels: {env: dev}}}
  egress:
  - name: no-internet
    action: Deny
    to: [{networks: [0.0.0.0/0]}]
";

/// The tiers in exposure: an Admin Accept admits its peers; an Admin Deny is an exception
/// of what the NetworkPolicies admit, except where an earlier Pass hands it on; where no
/// NetworkPolicy isolates, the Baseline's Deny is an exception of the default.
#[test]
fn cluster_policies_admit_peers_and_take_exceptions() {
    let model = load(&[(FileId(0), TIERED_CLUSTER), (FileId(1), TIERED_POLICIES)]);
    assert!(model.diagnostics.is_empty(), "{:?}", model.diagnostics);
    let api = model.cluster.pod_index("prod/api").unwrap();
    let e = exposure(&model, api).unwrap();
    assert!(!e.ingress.is_open() && e.egress.is_open());
    assert_eq!(
        render::exposure(&model, &e),
        "prod/api
  ingress, isolated by prod/api; cluster policies: [Admin] ClusterNetworkPolicy guardrails (priority 10):
    from pods labelled app=web in any namespace: TCP 8080 (now: dev/web)
      admitted by prod/api spec.ingress[0] (line 7)
      except any pod in namespaces labelled env=dev on all ports (now: dev/tool, dev/web), denied first by [Admin] ClusterNetworkPolicy guardrails (priority 10): Deny, rule no-dev (spec.ingress[1], line 23)
        but not pods labelled app=web in namespace dev on all ports (now: dev/web), passed on first by [Admin] ClusterNetworkPolicy guardrails (priority 10): Pass, rule dev-web (spec.ingress[0], line 20)
    from any pod in namespaces labelled team=ops: TCP 9100 (now: ops/prom)
      admitted by [Admin] ClusterNetworkPolicy guardrails (priority 10): Accept, rule monitoring (spec.ingress[2], line 26)
      except any pod in namespaces labelled env=dev on all ports (now: dev/tool, dev/web), denied first by [Admin] ClusterNetworkPolicy guardrails (priority 10): Deny, rule no-dev (spec.ingress[1], line 23)
  egress, not isolated:
    to any pod in any namespace: all ports (now: 4 endpoints)
    to any address: all ports
"
    );
    let tool = model.cluster.pod_index("dev/tool").unwrap();
    let e = exposure(&model, tool).unwrap();
    let lines = lines(&model, &e, PolicyType::Egress);
    assert_eq!(
        lines,
        [
            "any pod in any namespace: all ports",
            "any address: all ports",
            "now: 4,0"
        ]
    );
    let except = &e.egress.exposures[1].except[0];
    assert_eq!(
        render::exposure_peer(&except.peer),
        "addresses in 0.0.0.0/0"
    );
    assert_eq!(except.rule.name.as_deref(), Some("no-internet"));
    assert_eq!(
        render::exposure_label(&e.egress.exposures[1]),
        "all ports, with exceptions"
    );
}
