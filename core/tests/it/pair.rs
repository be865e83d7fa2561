//! The pair verdict on every port against the engine and the per-flow evaluator, on the
//! random models of `props.rs`: its ports are exactly `Engine::allowed_ports`, every port
//! it says a rule admits (or that nothing admits) is what `evaluate` says too, and each
//! side's tier chain lets through exactly the ports `evaluate` allows on that side.

use netpol_core::{
    DecidingTier, DirectionVerdict, Endpoint, Engine, PairDirection, PairVerdict, PolicyType,
    PortSet, Protocol, RuleRef,
};
use proptest::prelude::*;

use crate::props::{endpoints, flow, model_strategy, PROBES};

/// Ports to ask `evaluate` about: the fixed probes plus both ends of every range in `sets`
/// and their neighbours, so range boundaries are checked on both sides.
fn probes<'a>(sets: impl IntoIterator<Item = &'a PortSet>) -> Vec<u16> {
    let mut out: Vec<u16> = PROBES.to_vec();
    for set in sets {
        for (a, b) in &set.ranges {
            out.extend([*a, *b, a.saturating_sub(1).max(1), b.saturating_add(1)]);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The rules `evaluate` lists as admitting, for one side.
fn admitting(side: &DirectionVerdict) -> Vec<&RuleRef> {
    match side {
        DirectionVerdict::Allowed { by, .. } => by.iter().collect(),
        _ => Vec::new(),
    }
}

/// One side of the pair verdict against `evaluate`'s side on every probe port: the same
/// isolation, the same admitting rules, each admitting exactly the ports it claims.
fn check_side(
    pair: &PairDirection,
    flow_side: &DirectionVerdict,
    protocol: Protocol,
    port: u16,
) -> Result<(), TestCaseError> {
    match (pair, flow_side) {
        (PairDirection::NotIsolated, DirectionVerdict::NotIsolated) => {}
        (PairDirection::NotIsolated, other) | (_, other @ DirectionVerdict::NotIsolated) => {
            prop_assert!(false, "isolation differs: {:?} vs {:?}", pair, other);
        }
        (
            PairDirection::Allowed { isolated_by, by },
            DirectionVerdict::Allowed {
                isolated_by: want, ..
            }
            | DirectionVerdict::Denied {
                isolated_by: want, ..
            },
        ) => {
            prop_assert_eq!(isolated_by, want);
            let claimed: Vec<&RuleRef> = by
                .iter()
                .filter(|r| r.ports.get(protocol).contains(port))
                .map(|r| &r.rule)
                .collect();
            prop_assert_eq!(claimed, admitting(flow_side), "on {}/{}", port, protocol);
        }
        (
            PairDirection::Denied {
                isolated_by,
                misses,
            },
            DirectionVerdict::Denied {
                isolated_by: want,
                misses: flow_misses,
            },
        ) => {
            prop_assert_eq!(isolated_by, want);
            prop_assert_eq!(misses.len(), flow_misses.len(), "every rule is a miss");
        }
        (PairDirection::Denied { .. }, allowed) => {
            prop_assert!(
                false,
                "denied on every port, but {}/{} is {:?}",
                port,
                protocol,
                allowed
            );
        }
    }
    Ok(())
}

fn check_pair(
    model: &netpol_core::Model,
    engine: &Engine,
    src: Endpoint,
    dst: Endpoint,
) -> Result<(), TestCaseError> {
    let verdict: PairVerdict = netpol_core::evaluate_pair(model, src, dst);
    let ports = verdict.ports();
    prop_assert_eq!(
        &ports,
        &engine.allowed_ports(src, dst),
        "{:?} -> {:?}",
        src,
        dst
    );
    prop_assert_eq!(verdict.is_allowed(), !ports.is_empty());
    let rule_sets = [&verdict.egress, &verdict.ingress]
        .into_iter()
        .flat_map(|side| match side {
            PairDirection::Allowed { by, .. } => by.iter().map(|r| r.ports.clone()).collect(),
            _ => Vec::new(),
        })
        .collect::<Vec<_>>();
    for protocol in Protocol::ALL {
        let sets = rule_sets
            .iter()
            .map(|p| p.get(protocol))
            .chain([ports.get(protocol)]);
        for port in probes(sets) {
            let f = flow(src, dst, protocol, port);
            let want = netpol_core::evaluate(model, &f);
            prop_assert_eq!(
                ports.get(protocol).contains(port),
                want.is_allowed(),
                "{:?}",
                f
            );
            // The pair is attributed to a tier no later than any port it lets through.
            if want.is_allowed() {
                let order = |t: Option<DecidingTier>| t.map_or(u8::MAX, |t| t as u8);
                prop_assert!(
                    order(verdict.deciding_tier()) <= order(want.deciding_tier()),
                    "{:?}: pair {:?}, port {:?}",
                    f,
                    verdict.deciding_tier(),
                    want.deciding_tier()
                );
            }
            check_side(&verdict.egress, &want.egress, protocol, port)?;
            check_side(&verdict.ingress, &want.ingress, protocol, port)?;
            // Each side's chain, all tiers considered, answers like the flow's side.
            prop_assert_eq!(
                verdict.egress_ports().get(protocol).contains(port),
                want.egress_allowed(),
                "egress {:?}",
                f
            );
            prop_assert_eq!(
                verdict.ingress_ports().get(protocol).contains(port),
                want.ingress_allowed(),
                "ingress {:?}",
                f
            );
        }
    }
    // The disjoint case is exactly: both sides let something through, the pair nothing.
    let both = !verdict.egress_ports().is_empty() && !verdict.ingress_ports().is_empty();
    prop_assert_eq!(verdict.is_disjoint(), both && ports.is_empty());
    for side in [&verdict.egress, &verdict.ingress] {
        if let PairDirection::Allowed { by, .. } = side {
            prop_assert!(
                by.iter().all(|r| !r.ports.is_empty()),
                "an admitting rule admits something"
            );
        }
        if let PairDirection::Denied { misses, .. } = side {
            prop_assert!(misses
                .windows(2)
                .all(|w| w[0].reason.distance() <= w[1].reason.distance()));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn pair_verdict_equals_engine_and_evaluate(model in model_strategy()) {
        let engine = Engine::new(&model);
        let mut eps = endpoints(&model);
        // The engine's own address representatives too, and an unknown pod index.
        eps.extend(engine.address_classes().iter().map(|c| Endpoint::Address(c.representative)));
        eps.push(Endpoint::Pod(model.cluster.pods.len() + 3));
        for &src in &eps {
            for &dst in &eps {
                check_pair(&model, &engine, src, dst)?;
            }
        }
    }
}

/// The connectivity's "open" bit (neither side isolated in its direction nor the subject
/// of a cluster policy's rules in it, so no policy decided the pair) and its per-class isolation, against the pair verdict's sides: what
/// the playground uses to draw only the relations policies create.
fn check_open(model: &netpol_core::Model) -> Result<(), TestCaseError> {
    let connectivity = Engine::new(model).connectivity();
    let pods = model.cluster.pods.len();
    for src in 0..pods {
        for dst in 0..pods {
            let verdict = netpol_core::evaluate_pair(model, Endpoint::Pod(src), Endpoint::Pod(dst));
            // A side has a say when a NetworkPolicy isolates it, or a cluster policy with
            // rules in that direction has it as a subject. A fail-closed Accept (a rule whose
            // peers could not be read) matches nothing, so it has no say.
            let tiered = |pod: usize, direction: PolicyType| {
                model.cluster_policies.iter().any(|p| {
                    p.rules(direction)
                        .iter()
                        .any(|r| !(r.fail_closed && r.action == netpol_core::RuleAction::Accept))
                        && netpol_core::in_subject(&model.cluster, p, &model.cluster.pods[pod])
                })
            };
            let egress =
                verdict.egress != PairDirection::NotIsolated || tiered(src, PolicyType::Egress);
            let ingress =
                verdict.ingress != PairDirection::NotIsolated || tiered(dst, PolicyType::Ingress);
            let (s, d) = (
                connectivity.pod_class(src).unwrap(),
                connectivity.pod_class(dst).unwrap(),
            );
            prop_assert_eq!(connectivity.isolated(s, PolicyType::Egress), Some(egress));
            prop_assert_eq!(connectivity.isolated(d, PolicyType::Ingress), Some(ingress));
            prop_assert_eq!(
                connectivity.open(s, d),
                Some(!egress && !ingress),
                "{} -> {}",
                src,
                dst
            );
            if !egress && !ingress {
                prop_assert_eq!(verdict.ports(), netpol_core::AllowedPorts::all());
            }
            // Attribution: an open pair was decided by nobody (Kubernetes' default); without
            // cluster policies every other pair was decided by the NetworkPolicies — the
            // shortcut the playground takes for its edges.
            let tier = verdict.deciding_tier();
            if !egress && !ingress {
                prop_assert_eq!(tier, None, "{} -> {}", src, dst);
            } else if model.cluster_policies.is_empty() {
                prop_assert_eq!(
                    tier,
                    Some(DecidingTier::NetworkPolicy),
                    "{} -> {}",
                    src,
                    dst
                );
            }
        }
    }
    let unknown = connectivity.classes();
    prop_assert_eq!(connectivity.open(unknown, 0), None);
    prop_assert_eq!(connectivity.isolated(unknown, PolicyType::Ingress), None);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn open_pairs_are_exactly_those_no_side_isolates(model in model_strategy()) {
        check_open(&model)?;
    }
}

#[test]
fn open_pairs_of_every_input() {
    for input in crate::corpus::every_input() {
        let model = input.model();
        if let Err(e) = check_open(&model) {
            panic!("{}: {e}", input.name);
        }
    }
}
