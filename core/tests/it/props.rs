//! Property tests on random clusters and policies, built directly as [`Model`]s (no parsing):
//! the bitset engine, the explaining evaluator and the nftables ruleset (read by a small
//! interpreter) all equal the reference evaluator, no policies allows everything, and
//! explanations agree with verdicts. Pods may be on the host network and may carry one port
//! name on several container ports (with different numbers).
//!
//! Alphabets are tiny on purpose (three namespaces, a few labels, IPs and ports), so random
//! selectors, blocks and port lists hit each other often and the corners get exercised.

use std::net::IpAddr;

use netpol_core::{
    AllowedPorts, Cidr, ClusterNetworkPolicy, ClusterPeerKind, ClusterPolicyKind,
    ClusterPolicyPeer, ClusterPolicyPort, ClusterPolicyRule, ClusterPort, ClusterSubject,
    ContainerPort, DecidingTier, DirectionVerdict, Endpoint, Engine, Flow, IpBlock, LabelSelector,
    LabelSelectorRequirement, Labels, Model, Namespace, NetworkPolicy, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicyRule, Node, Operator, Pod, PolicyType, PortRef, Protocol,
    RuleAction, RuleRef, Span, Tier, TierChain, TierStep, Verdict,
};
use proptest::prelude::*;
use proptest::sample::select;

use crate::nft_sim::{self, L4};
use crate::reference::{
    named_numbers, reference_admits, reference_allowed, reference_sides, Probe,
};

const NAMESPACES: [&str; 3] = ["a", "b", "c"];
const KEYS: [&str; 2] = ["app", "tier"];
const VALUES: [&str; 3] = ["x", "y", "z"];
const POD_IPS: [&str; 8] = [
    "10.0.0.1",
    "10.0.0.2",
    "10.0.1.7",
    "10.1.2.3",
    "10.1.0.9",
    "192.168.0.5",
    "fd00::1",
    "fd00::1:5",
];
const CIDRS: [&str; 10] = [
    "10.0.0.0/8",
    "10.0.0.0/16",
    "10.0.0.0/30",
    "10.1.0.0/16",
    "0.0.0.0/0",
    "192.168.0.0/24",
    "10.0.0.2/32",
    "fd00::/8",
    "fd00::1:0/112",
    "::/0",
];
const PORT_NAMES: [&str; 3] = ["http", "dns", "metrics"];
const NUMBERS: [u16; 6] = [53, 79, 80, 81, 8080, 65535];
/// Probe ports: the numbers above and their neighbours (range boundaries).
pub(crate) const PROBES: [u16; 12] = [1, 52, 53, 54, 79, 80, 81, 82, 8080, 8081, 9090, 65535];
const OUTSIDE: [&str; 8] = [
    "10.0.0.1",
    "10.0.0.3",
    "10.1.2.3",
    "8.8.8.8",
    "192.168.0.200",
    "fd00::1",
    "fd00::2:1",
    "2001:db8::1",
];

fn ip(s: &str) -> IpAddr {
    s.parse().expect("constant ip")
}

fn labels_strategy() -> impl Strategy<Value = Labels> {
    prop::collection::btree_map(select(&KEYS[..]), select(&VALUES[..]), 0..=2).prop_map(|m| {
        m.into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    })
}

fn protocol_strategy() -> impl Strategy<Value = Protocol> {
    prop_oneof![4 => Just(Protocol::TCP), 2 => Just(Protocol::UDP), 1 => Just(Protocol::SCTP)]
}

fn selector_strategy(keys: &'static [&'static str]) -> impl Strategy<Value = LabelSelector> {
    let requirement = (
        select(keys),
        prop_oneof![
            Just(Operator::In),
            Just(Operator::NotIn),
            Just(Operator::Exists),
            Just(Operator::DoesNotExist)
        ],
        prop::collection::vec(select(&VALUES[..]), 1..=2),
    )
        .prop_map(|(key, operator, values)| LabelSelectorRequirement {
            key: key.to_string(),
            operator,
            values: match operator {
                Operator::In | Operator::NotIn => values.into_iter().map(String::from).collect(),
                _ => Vec::new(),
            },
        });
    (
        prop::collection::btree_map(select(keys), select(&VALUES[..]), 0..=1),
        prop::collection::vec(requirement, 0..=1),
    )
        .prop_map(|(labels, match_expressions)| LabelSelector {
            match_labels: labels
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            match_expressions,
        })
}

fn namespace_selector_strategy() -> impl Strategy<Value = LabelSelector> {
    prop_oneof![
        selector_strategy(&["team", "env"]),
        select(&NAMESPACES[..]).prop_map(|n| LabelSelector {
            match_labels: [("kubernetes.io/metadata.name".to_string(), n.to_string())].into(),
            match_expressions: Vec::new(),
        }),
    ]
}

fn block_strategy() -> impl Strategy<Value = IpBlock> {
    (
        select(&CIDRS[..]),
        prop::collection::vec(select(&CIDRS[..]), 0..=2),
    )
        .prop_map(|(c, ex)| {
            let cidr: Cidr = c.parse().expect("constant cidr");
            // Kubernetes requires every except inside cidr (and strictly smaller).
            let except = ex
                .into_iter()
                .map(|e| e.parse::<Cidr>().expect("constant cidr"))
                .filter(|e| cidr.contains_cidr(e) && e.prefix > cidr.prefix)
                .collect();
            IpBlock { cidr, except }
        })
}

fn peer_strategy() -> impl Strategy<Value = NetworkPolicyPeer> {
    prop_oneof![
        3 => (
            prop::option::of(selector_strategy(&KEYS)),
            prop::option::of(namespace_selector_strategy()),
        )
            .prop_filter("a selector peer has a selector", |(p, n)| p.is_some() || n.is_some())
            .prop_map(|(pod_selector, namespace_selector)| NetworkPolicyPeer {
                pod_selector,
                namespace_selector,
                ip_block: None,
                span: Span::default(),
            }),
        1 => block_strategy().prop_map(|b| NetworkPolicyPeer {
            pod_selector: None,
            namespace_selector: None,
            ip_block: Some(b),
            span: Span::default(),
        }),
    ]
}

fn port_strategy() -> impl Strategy<Value = NetworkPolicyPort> {
    let port = prop_oneof![
        1 => Just((None, None)),
        3 => (select(&NUMBERS[..]), prop::option::of(0u16..=2)).prop_map(|(n, extra)| (
            Some(PortRef::Number(n)),
            extra.map(|e| n.saturating_add(e))
        )),
        2 => select(&PORT_NAMES[..]).prop_map(|n| (Some(PortRef::Name(n.to_string())), None)),
    ];
    (protocol_strategy(), port).prop_map(|(protocol, (port, end_port))| NetworkPolicyPort {
        protocol,
        port,
        end_port,
        span: Span::default(),
    })
}

fn rule_strategy() -> impl Strategy<Value = NetworkPolicyRule> {
    (
        prop::collection::vec(peer_strategy(), 0..=2),
        prop::collection::vec(port_strategy(), 0..=2),
    )
        .prop_map(|(peers, ports)| NetworkPolicyRule {
            peers,
            ports,
            span: Span::default(),
        })
}

fn policy_strategy() -> impl Strategy<Value = NetworkPolicy> {
    (
        select(&NAMESPACES[..]),
        selector_strategy(&KEYS),
        prop_oneof![
            Just(vec![PolicyType::Ingress]),
            Just(vec![PolicyType::Egress]),
            Just(vec![PolicyType::Ingress, PolicyType::Egress]),
        ],
        prop::collection::vec(rule_strategy(), 0..=2),
        prop::collection::vec(rule_strategy(), 0..=2),
    )
        .prop_map(
            |(namespace, pod_selector, policy_types, ingress, egress)| NetworkPolicy {
                name: String::new(),
                namespace: namespace.to_string(),
                pod_selector,
                policy_types,
                ingress,
                egress,
                span: Span::default(),
            },
        )
}

fn pod_strategy() -> impl Strategy<Value = Pod> {
    let container_port = (
        select(&PORT_NAMES[..]),
        select(&[80u16, 81, 53, 8080, 9090][..]),
        protocol_strategy(),
    )
        .prop_map(|(name, port, protocol)| ContainerPort {
            name: Some(name.to_string()),
            port,
            protocol,
        });
    (
        select(&NAMESPACES[..]),
        labels_strategy(),
        prop::collection::vec(select(&POD_IPS[..]), 0..=2),
        prop::collection::vec(container_port, 0..=3),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(namespace, labels, ips, ports, host_network)| Pod {
            id: String::new(),
            namespace: namespace.to_string(),
            name: String::new(),
            workload: None,
            labels,
            ips: ips.into_iter().map(ip).collect(),
            ports,
            node: None,
            host_network,
            span: None,
        })
}

/// Node labels: a role and a zone, few values so selectors hit.
const NODE_KEYS: [&str; 2] = ["role", "zone"];
/// Node addresses: some are pod IPs (host-network pods share their node's), one is not.
const NODE_IPS: [&str; 4] = ["10.0.0.2", "10.1.0.9", "10.0.0.3", "fd00::1"];

fn node_strategy() -> impl Strategy<Value = Node> {
    (
        prop::collection::btree_map(select(&NODE_KEYS[..]), select(&VALUES[..]), 0..=2),
        prop::collection::vec(select(&NODE_IPS[..]), 0..=2),
    )
        .prop_map(|(labels, ips)| {
            let mut addresses: Vec<IpAddr> = ips.into_iter().map(ip).collect();
            addresses.dedup();
            Node {
                name: String::new(),
                labels: labels
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                addresses,
                span: None,
            }
        })
}

/// Masked CIDRs only (the API refuses host bits in `networks`).
const NETWORKS: [&str; 6] = [
    "10.0.0.0/16",
    "10.0.0.0/30",
    "0.0.0.0/0",
    "10.0.0.2/32",
    "192.168.0.0/24",
    "fd00::/8",
];

fn cluster_peer_strategy(egress: bool) -> impl Strategy<Value = ClusterPolicyPeer> {
    let selectors = prop_oneof![
        namespace_selector_strategy().prop_map(ClusterPeerKind::Namespaces),
        (namespace_selector_strategy(), selector_strategy(&KEYS)).prop_map(|(n, p)| {
            ClusterPeerKind::Pods {
                namespace_selector: n,
                pod_selector: p,
            }
        }),
    ];
    let addresses = prop_oneof![
        prop::collection::vec(select(&NETWORKS[..]), 1..=2).prop_map(|c| {
            ClusterPeerKind::Networks(c.into_iter().map(|c| c.parse().expect("cidr")).collect())
        }),
        selector_strategy(&NODE_KEYS).prop_map(ClusterPeerKind::Nodes),
        Just(ClusterPeerKind::DomainNames(vec!["example.com".into()])),
    ];
    let kind = if egress {
        prop_oneof![2 => selectors, 2 => addresses].boxed()
    } else {
        selectors.boxed()
    };
    kind.prop_map(|kind| ClusterPolicyPeer {
        kind,
        legacy_shape: false,
        span: Span::default(),
    })
}

fn cluster_port_strategy() -> impl Strategy<Value = ClusterPolicyPort> {
    let port = prop_oneof![
        3 => (protocol_strategy(), select(&NUMBERS[..]))
            .prop_map(|(protocol, port)| ClusterPort::Number { protocol, port }),
        2 => (protocol_strategy(), select(&NUMBERS[..]), 0u16..=2)
            .prop_map(|(protocol, start, extra)| ClusterPort::Range { protocol, start, end: start.saturating_add(extra) }),
        2 => select(&PORT_NAMES[..]).prop_map(|n| ClusterPort::Named(n.to_string())),
    ];
    port.prop_map(|port| ClusterPolicyPort {
        port,
        span: Span::default(),
    })
}

fn cluster_rule_strategy(egress: bool, baseline: bool) -> impl Strategy<Value = ClusterPolicyRule> {
    let action = if baseline {
        prop_oneof![
            Just(RuleAction::Accept),
            Just(RuleAction::Deny),
            Just(RuleAction::Pass)
        ]
        .boxed()
    } else {
        prop_oneof![2 => Just(RuleAction::Accept), 2 => Just(RuleAction::Deny), 2 => Just(RuleAction::Pass)].boxed()
    };
    (
        action,
        prop::collection::vec(cluster_peer_strategy(egress), 1..=2),
        prop::option::weighted(0.7, prop::collection::vec(cluster_port_strategy(), 1..=2)),
        prop::bool::weighted(0.08),
    )
        .prop_map(|(action, peers, ports, fail_closed)| ClusterPolicyRule {
            name: None,
            action,
            peers,
            ports,
            fail_closed,
            span: Span::default(),
        })
}

/// A cluster policy of a random kind and tier; priorities are few, so ties (broken by
/// name) are common.
fn cluster_policy_strategy() -> impl Strategy<Value = ClusterNetworkPolicy> {
    let kind = prop_oneof![
        Just((ClusterPolicyKind::AdminNetworkPolicy, Tier::Admin)),
        Just((
            ClusterPolicyKind::BaselineAdminNetworkPolicy,
            Tier::Baseline
        )),
        Just((ClusterPolicyKind::ClusterNetworkPolicy, Tier::Admin)),
        Just((ClusterPolicyKind::ClusterNetworkPolicy, Tier::Baseline)),
    ];
    let subject = prop_oneof![
        namespace_selector_strategy().prop_map(ClusterSubject::Namespaces),
        (namespace_selector_strategy(), selector_strategy(&KEYS)).prop_map(|(n, p)| {
            ClusterSubject::Pods {
                namespace_selector: n,
                pod_selector: p,
            }
        }),
    ];
    (kind, 0u32..=2, subject, any::<u64>()).prop_flat_map(
        |((kind, tier), priority, subject, seed)| {
            let baseline = kind == ClusterPolicyKind::BaselineAdminNetworkPolicy;
            (
                prop::collection::vec(cluster_rule_strategy(false, baseline), 0..=2),
                prop::collection::vec(cluster_rule_strategy(true, baseline), 0..=3),
            )
                .prop_map(move |(ingress, egress)| ClusterNetworkPolicy {
                    kind,
                    api_version: String::new(),
                    name: format!("t{}", seed % 4),
                    tier,
                    priority: (!baseline).then_some(priority),
                    subject: subject.clone(),
                    ingress,
                    egress,
                    span: Span::default(),
                })
        },
    )
}

pub(crate) fn model_strategy() -> impl Strategy<Value = Model> {
    (
        base_model_strategy(),
        prop::collection::vec(node_strategy(), 0..=2),
        prop::collection::vec(cluster_policy_strategy(), 0..=3),
    )
        .prop_map(|(mut model, mut nodes, mut cluster_policies)| {
            for (i, node) in nodes.iter_mut().enumerate() {
                node.name = format!("n{i}");
            }
            model.cluster.nodes = nodes;
            // The model's documented order: tier, priority (none last), name, kind.
            cluster_policies.sort_by_key(|p| {
                (
                    p.tier,
                    p.priority.unwrap_or(u32::MAX),
                    p.name.clone(),
                    p.kind,
                )
            });
            model.cluster_policies = cluster_policies;
            model
        })
}

fn base_model_strategy() -> impl Strategy<Value = Model> {
    let namespace_labels = prop::collection::vec(
        prop::collection::btree_map(select(&["team", "env"][..]), select(&VALUES[..]), 0..=2),
        3,
    );
    (
        namespace_labels,
        prop::collection::vec(pod_strategy(), 1..=7),
        prop::collection::vec(policy_strategy(), 0..=4),
    )
        .prop_map(|(ns_labels, mut pods, mut policies)| {
            let namespaces = NAMESPACES
                .iter()
                .zip(ns_labels)
                .map(|(name, extra)| {
                    let mut labels: Labels = extra
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    labels.insert("kubernetes.io/metadata.name".into(), name.to_string());
                    Namespace {
                        name: name.to_string(),
                        labels,
                        span: None,
                    }
                })
                .collect();
            for (i, pod) in pods.iter_mut().enumerate() {
                pod.name = format!("p{i}");
                pod.id = format!("{}/p{i}", pod.namespace);
            }
            pods.sort_by(|a, b| a.id.cmp(&b.id));
            for (i, policy) in policies.iter_mut().enumerate() {
                policy.name = format!("np{i}");
            }
            policies.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
            Model {
                cluster: netpol_core::Cluster {
                    namespaces,
                    pods,
                    ..Default::default()
                },
                policies,
                ..Model::default()
            }
        })
}

/// Every endpoint a test asks about: all pods, then the outside addresses.
pub(crate) fn endpoints(model: &Model) -> Vec<Endpoint> {
    (0..model.cluster.pods.len())
        .map(Endpoint::Pod)
        .chain(OUTSIDE.iter().map(|s| Endpoint::Address(ip(s))))
        .collect()
}

pub(crate) fn flow(src: Endpoint, dst: Endpoint, protocol: Protocol, port: u16) -> Flow {
    Flow {
        src,
        dst,
        protocol,
        port,
    }
}

/// The same model with only `rule` left, in a copy of its policy that isolates only the
/// rule's direction: the reference then says whether that rule alone admits the flow.
fn rule_alone_admits(model: &Model, rule: &RuleRef, f: &Flow) -> bool {
    let mut policy = model.policies[rule.policy.index].clone();
    let kept = policy.rules(rule.direction)[rule.index].clone();
    policy.ingress.clear();
    policy.egress.clear();
    match rule.direction {
        PolicyType::Ingress => policy.ingress.push(kept),
        PolicyType::Egress => policy.egress.push(kept),
    }
    policy.policy_types = vec![rule.direction];
    let alone = Model {
        cluster: model.cluster.clone(),
        policies: vec![policy],
        ..Model::default()
    };
    reference_allowed(&alone, f)
}

fn check_explanation(model: &Model, f: &Flow, verdict: &Verdict) -> Result<(), TestCaseError> {
    for (direction, side) in [
        (PolicyType::Egress, &verdict.egress),
        (PolicyType::Ingress, &verdict.ingress),
    ] {
        match side {
            DirectionVerdict::NotIsolated => {}
            DirectionVerdict::Allowed { isolated_by, by } => {
                prop_assert!(!isolated_by.is_empty() && !by.is_empty());
                for rule in by {
                    prop_assert_eq!(rule.direction, direction);
                    prop_assert!(
                        rule_alone_admits(model, rule, f),
                        "{:?} does not admit {:?}",
                        rule,
                        f
                    );
                }
            }
            DirectionVerdict::Denied {
                isolated_by,
                misses,
            } => {
                prop_assert!(!isolated_by.is_empty());
                let rules: usize = isolated_by
                    .iter()
                    .map(|p| model.policies[p.index].rules(direction).len())
                    .sum();
                prop_assert_eq!(
                    misses.len(),
                    rules,
                    "every rule of the isolating policies is listed"
                );
                for miss in misses {
                    prop_assert!(
                        !rule_alone_admits(model, &miss.rule, f),
                        "{:?} admits {:?}",
                        miss,
                        f
                    );
                }
                prop_assert!(misses
                    .windows(2)
                    .all(|w| w[0].reason.distance() <= w[1].reason.distance()));
            }
        }
    }
    Ok(())
}

/// A side's tier chain is well formed: Admin steps, then the NetworkPolicy tier (unless an
/// Admin Accept or Deny decided), then (when not isolated) Baseline steps and the default;
/// only the last step decides; and the NetworkPolicy step agrees with the side's
/// [`DirectionVerdict`].
fn check_chain(
    model: &Model,
    chain: &TierChain,
    np: &DirectionVerdict,
) -> Result<(), TestCaseError> {
    let last = chain.steps.len().saturating_sub(1);
    let mut seen_np = false;
    for (i, step) in chain.steps.iter().enumerate() {
        match step {
            TierStep::Rule { rule } => {
                let policy = &model.cluster_policies[rule.policy.index];
                prop_assert_eq!(
                    policy.tier == Tier::Admin,
                    !seen_np,
                    "admin before, baseline after: {:?}",
                    chain
                );
                let passes = rule.decides().is_none();
                prop_assert_eq!(
                    i == last,
                    !passes,
                    "only the deciding rule ends the chain: {:?}",
                    chain
                );
            }
            TierStep::NoRuleMatched { policy, misses } => {
                // Listed only with rules in this direction, every one of them a miss.
                let direction = misses.first().map(|m| m.rule.direction);
                prop_assert!(
                    direction.is_some(),
                    "a listed policy has rules: {:?}",
                    chain
                );
                let rules =
                    direction.map_or(0, |d| model.cluster_policies[policy.index].rules(d).len());
                prop_assert_eq!(misses.len(), rules);
                prop_assert!(
                    i != last,
                    "something decides after a policy without a match: {:?}",
                    chain
                );
            }
            TierStep::NetworkPolicy { isolated, allowed } => {
                seen_np = true;
                prop_assert_eq!(*isolated, np.is_isolated());
                prop_assert_eq!(*allowed, np.is_allowed());
                prop_assert_eq!(
                    *isolated,
                    i == last,
                    "an isolating NetworkPolicy tier decides: {:?}",
                    chain
                );
            }
            TierStep::Default => prop_assert_eq!(i, last),
        }
    }
    prop_assert!(
        seen_np || chain.decided_by() == Some(DecidingTier::Admin),
        "the NetworkPolicy tier is skipped only by an Admin decision: {:?}",
        chain
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn evaluate_equals_reference_and_explains_itself(model in model_strategy()) {
        let eps = endpoints(&model);
        for &src in &eps {
            for &dst in &eps {
                for protocol in Protocol::ALL {
                    for port in [80u16, 81, 8080, 53] {
                        let f = flow(src, dst, protocol, port);
                        let verdict = netpol_core::evaluate(&model, &f);
                        prop_assert_eq!(verdict.is_allowed(), reference_allowed(&model, &f), "{:?}: {:?}", f, verdict);
                        let (egress, ingress) = reference_sides(&model, src, dst, Probe::Port(protocol, port));
                        prop_assert_eq!((verdict.egress_allowed(), verdict.ingress_allowed()), (egress, ingress), "{:?}: {:?}", f, verdict);
                        check_chain(&model, &verdict.egress_chain, &verdict.egress)?;
                        check_chain(&model, &verdict.ingress_chain, &verdict.ingress)?;
                        check_explanation(&model, &f, &verdict)?;
                    }
                }
            }
        }
    }

    #[test]
    fn matrix_equals_reference(model in model_strategy()) {
        let engine = Engine::new(&model);
        let pods = model.cluster.pods.len();
        let mut probes: Vec<(Protocol, PortRef)> = Vec::new();
        for protocol in Protocol::ALL {
            probes.extend(PROBES.iter().map(|p| (protocol, PortRef::Number(*p))));
            probes.extend(PORT_NAMES.iter().map(|n| (protocol, PortRef::Name(n.to_string()))));
        }
        for (protocol, port) in probes {
            let matrix = engine.matrix(protocol, &port);
            for src in 0..pods {
                for dst in 0..pods {
                    // A name stands for each of its numbers: allowed when one is.
                    let numbers = match &port {
                        PortRef::Number(n) => vec![*n],
                        PortRef::Name(name) => named_numbers(&model.cluster.pods[dst], name, protocol),
                    };
                    let want = numbers.iter().any(|n| {
                        reference_allowed(&model, &flow(Endpoint::Pod(src), Endpoint::Pod(dst), protocol, *n))
                    });
                    prop_assert_eq!(matrix.allowed(src, dst), want, "{} -> {} on {}/{}", src, dst, port, protocol);
                }
            }
        }
    }

    #[test]
    fn allowed_ports_equal_reference(model in model_strategy()) {
        let engine = Engine::new(&model);
        let eps = endpoints(&model);
        let connectivity = engine.connectivity();
        for &src in &eps {
            for &dst in &eps {
                let ports = engine.allowed_ports(src, dst);
                for protocol in Protocol::ALL {
                    // Probe every range boundary the engine reports too, not just the fixed list.
                    let mut probe: Vec<u16> = PROBES.to_vec();
                    for (a, b) in &ports.get(protocol).ranges {
                        probe.extend([*a, *b, a.saturating_sub(1).max(1), b.saturating_add(1)]);
                    }
                    for port in probe {
                        let want = reference_allowed(&model, &flow(src, dst, protocol, port));
                        prop_assert_eq!(ports.get(protocol).contains(port), want, "{:?} -> {:?} {}/{}: {}", src, dst, port, protocol, ports.get(protocol));
                    }
                }
                if let (Endpoint::Pod(s), Endpoint::Pod(d)) = (src, dst) {
                    prop_assert_eq!(connectivity.ports(s, d), Some(&ports));
                }
            }
        }
        // Every address class's representative is an outside address answering like the
        // class: compare it with the reference too.
        for class in engine.address_classes() {
            prop_assert!(!model.cluster.pods.iter().any(|p| p.ips.contains(&class.representative)));
            for pod in 0..model.cluster.pods.len() {
                for (s, d) in [(Endpoint::Pod(pod), Endpoint::Address(class.representative)), (Endpoint::Address(class.representative), Endpoint::Pod(pod))] {
                    let ports = engine.allowed_ports(s, d);
                    for port in PROBES {
                        prop_assert_eq!(ports.tcp.contains(port), reference_allowed(&model, &flow(s, d, Protocol::TCP, port)));
                    }
                }
            }
        }
    }

    /// The pod-class × address-class table is `allowed_ports` on each class's pods and each
    /// address class's representative, and families group exactly the classes whose rows
    /// and columns agree (under the caller's key).
    #[test]
    fn address_table_and_families_agree_with_the_engine(model in model_strategy()) {
        let engine = Engine::new(&model);
        let connectivity = engine.connectivity();
        let outside = engine.address_connectivity(&connectivity);
        let results: Vec<_> = connectivity.results().iter().chain(outside.results()).collect();
        let classes = engine.address_classes();
        for pod in 0..model.cluster.pods.len() {
            let class = connectivity.pod_class(pod).unwrap();
            for (a, address) in classes.iter().enumerate() {
                let to = outside.to_address(class, a).unwrap() as usize;
                let from = outside.from_address(class, a).unwrap() as usize;
                let here = Endpoint::Address(address.representative);
                prop_assert_eq!(results[to], &engine.allowed_ports(Endpoint::Pod(pod), here));
                prop_assert_eq!(results[from], &engine.allowed_ports(here, Endpoint::Pod(pod)));
            }
        }
        // Distinct results stay distinct across the two tables.
        for (i, r) in results.iter().enumerate() {
            prop_assert!(!results[..i].contains(r));
        }
        let n = connectivity.classes();
        let key: Vec<u32> = (0..n as u32).map(|c| c % 2).collect();
        let families = connectivity.families(&key);
        for c in 0..n {
            for d in 0..n {
                let alike = key[c] == key[d]
                    && (0..n).all(|x| connectivity.class_pair(c, x) == connectivity.class_pair(d, x)
                        && connectivity.class_pair(x, c) == connectivity.class_pair(x, d));
                prop_assert_eq!(families[c] == families[d], alike, "classes {} and {}", c, d);
            }
        }
    }

    /// Every packet between two addresses (pod IPs and outside addresses) of one family,
    /// through the ruleset of a node holding every pod: accepted exactly when the reference
    /// allows the connection for every endpoint behind both addresses (an address shared
    /// by several pods fails closed), on TCP, UDP and SCTP ports and on ICMP.
    #[test]
    fn nft_ruleset_equals_reference(model in model_strategy()) {
        let engine = Engine::new(&model);
        let local: Vec<usize> = (0..model.cluster.pods.len()).collect();
        let text = netpol_core::nft::compile(&model, &engine, &local).text;
        let ruleset = nft_sim::Ruleset::parse(&text);
        let behind = |ip: IpAddr| -> Vec<Endpoint> {
            let pods: Vec<Endpoint> = (0..model.cluster.pods.len())
                .filter(|i| model.cluster.pods[*i].ips.contains(&ip))
                .map(Endpoint::Pod)
                .collect();
            if pods.is_empty() { vec![Endpoint::Address(ip)] } else { pods }
        };
        let mut addresses: Vec<IpAddr> = model.cluster.pods.iter().flat_map(|p| p.ips.iter().copied()).collect();
        addresses.extend(OUTSIDE.iter().map(|s| ip(s)));
        addresses.sort();
        addresses.dedup();
        let mut probes: Vec<(Probe, L4)> = vec![(Probe::OtherProtocol, L4::Other)];
        for (protocol, word) in [(Protocol::TCP, "tcp"), (Protocol::UDP, "udp"), (Protocol::SCTP, "sctp")] {
            probes.extend(PROBES.iter().map(|n| (Probe::Port(protocol, *n), L4::Port(word, *n))));
        }
        for &a in &addresses {
            for &b in addresses.iter().filter(|b| **b != a && b.is_ipv6() == a.is_ipv6()) {
                for &(probe, l4) in &probes {
                    let want = behind(a).iter().all(|s| behind(b).iter().all(|d| reference_admits(&model, *s, *d, probe)));
                    let got = ruleset.admits(&nft_sim::Packet { src: a, dst: b, l4 });
                    prop_assert_eq!(got, want, "{} -> {} {:?}\n{}", a, b, l4, text);
                }
            }
        }
    }

    #[test]
    fn no_policies_allows_everything(mut model in model_strategy()) {
        model.policies.clear();
        model.cluster_policies.clear();
        let engine = Engine::new(&model);
        let eps = endpoints(&model);
        for &src in &eps {
            for &dst in &eps {
                prop_assert_eq!(engine.allowed_ports(src, dst), AllowedPorts::all());
                for protocol in Protocol::ALL {
                    let verdict = netpol_core::evaluate(&model, &flow(src, dst, protocol, 80));
                    prop_assert_eq!(verdict.egress, DirectionVerdict::NotIsolated);
                    prop_assert_eq!(verdict.ingress, DirectionVerdict::NotIsolated);
                }
            }
        }
    }
}
