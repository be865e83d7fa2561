//! Exposure (`netpol_core::exposure`) is checked against the pair verdict: on every input
//! of the corpus and on generated clusters, for every endpoint and every existing pod (and
//! every outside-address class), the ports an endpoint's side admits for that peer must be
//! exactly the union of the exposures whose description covers it now. Exposure describes
//! peers by selectors, so this is the part of it that can be compared with the evaluator;
//! the cases below pin the descriptions of peers that do not exist yet.

use netpol_core::exposure::{exposure, exposures, EndpointExposure, Exposure, Namespaces, Peer};
use netpol_core::named_ports;
use netpol_core::render;
use netpol_core::{
    evaluate_pair, load, AllowedPorts, Endpoint, Engine, FileId, Model, PolicyType, PortSet,
};

use crate::corpus;

/// The union of what the exposures covering `peer` admit, named ports resolved on `named_on`.
fn union_for(
    model: &Model,
    list: &[Exposure],
    peer: Endpoint,
    named_on: Option<usize>,
) -> AllowedPorts {
    let mut out = AllowedPorts::default();
    for e in list {
        let covered = match (peer, &e.peer) {
            (Endpoint::Pod(q), _) => e.matches_now.contains(&q),
            (Endpoint::Address(_), Peer::AnyAddress) => true,
            (Endpoint::Address(ip), Peer::Addresses(block)) => block.contains(ip),
            (Endpoint::Address(_), Peer::Pods { .. }) => false,
        };
        if !covered {
            continue;
        }
        out = out.union(&e.ports);
        if let Some(pod) = named_on.and_then(|q| model.cluster.pods.get(q)) {
            for n in &e.named {
                let numbers = named_ports(pod, &n.name, n.protocol);
                let set = out.get_mut(n.protocol);
                *set = set.union(&PortSet::from_ranges(numbers.iter().map(|p| (*p, *p))));
            }
        }
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
            let ingress = evaluate_pair(model, peer, me).ingress.ports();
            let got = union_for(model, &e.ingress.exposures, peer, None);
            if got != ingress {
                failures.push(format!(
                    "{name}: ingress of {} from {}: exposure says {got}, the pair verdict {ingress}",
                    render::endpoint_name(model, &me),
                    render::endpoint_name(model, &peer)
                ));
            }
            let egress = evaluate_pair(model, me, peer).egress.ports();
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
        let text = netpol_core::generate::generate(60, 30, seed);
        let model = load(&[(FileId(0), &text)]);
        check(
            &format!("generated {seed}"),
            &model,
            &exposures(&model),
            &mut failures,
        );
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
