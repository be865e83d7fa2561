//! The authoring tools (`netpol_core::synth`) against independent judges.
//!
//! For every conformance cluster (`tests/cases/**`) and for generated clusters, random
//! required connections are synthesized, and the self-check's two promises are
//! recomputed here with the pair verdict (`evaluate_pair`, a different code path from
//! the engine the self-check uses) on the cluster with the written text parsed back:
//! 1. every expectation the self-check says holds does hold (and with only `expect:
//!    allowed` entries, all of them hold);
//! 2. every pair with an end in the spec's namespaces is allowed nothing beyond the
//!    required ports (DNS to kube-system's DNS pods tolerated), except exactly the pairs
//!    and ports the self-check reports.
//!
//! Freeze is held to "nothing loses a port, and every change is reported"; "allow this"
//! and "deny this" to "the pair changes as asked, and every other change is reported".

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use netpol_core::assert::{Expect, Expectation, NamespaceMatch, Selector, Spec};
use netpol_core::synth::{self, Options, PairChange, Synthesis, WRITTEN};
use netpol_core::{
    evaluate_pair, AllowedPorts, Endpoint, Engine, FileId, Model, PairStep, PortRef, PortSet,
    PortSpec, Protocol, RuleAction, Tier,
};
use proptest::prelude::*;
use serde::Deserialize;

const CASES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases");

/// The parts of a conformance case that make its model.
#[derive(Deserialize)]
struct CaseInput {
    #[serde(default)]
    fixture: Option<String>,
    #[serde(default)]
    cluster: Option<String>,
    #[serde(default)]
    policies: Option<String>,
}

fn case_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "fixtures") {
                case_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

/// Every conformance case's texts: (name, cluster, policies).
fn cases() -> Vec<(String, String, String)> {
    let mut files = Vec::new();
    case_files(Path::new(CASES_DIR), &mut files);
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let case: CaseInput = serde_yaml::from_str(&text).unwrap();
            let cluster = match (case.cluster, case.fixture) {
                (Some(c), _) => c,
                (None, Some(f)) => {
                    std::fs::read_to_string(format!("{CASES_DIR}/fixtures/{f}.yaml")).unwrap()
                }
                (None, None) => String::new(),
            };
            let name = path.strip_prefix(CASES_DIR).unwrap().display().to_string();
            (name, cluster, case.policies.unwrap_or_default())
        })
        .collect()
}

fn load(cluster: &str, policies: &str) -> Model {
    netpol_core::load(&[(FileId(0), cluster), (FileId(1), policies)])
}

/// A deterministic stream of choices (splitmix64).
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const OUTSIDE: [&str; 3] = ["8.8.8.8", "203.0.113.7", "10.99.0.1"];

/// Random required connections over `model`'s pods (and a few outside addresses): ids,
/// whole namespaces and label selectors as ends; numbers, names the destination has, or
/// no port.
fn random_spec(model: &Model, dice: &mut Dice, count: usize) -> Spec {
    let pods = &model.cluster.pods;
    let mut expectations = Vec::new();
    for k in 0..count {
        let src = dice.below(pods.len());
        let dst = dice.below(pods.len());
        let from = match dice.below(8) {
            0 => Selector::Ip(OUTSIDE[dice.below(OUTSIDE.len())].parse().unwrap()),
            1 => Selector::Match {
                namespace: Some(NamespaceMatch::Name(pods[src].namespace.clone())),
                pod: None,
            },
            2 if !pods[src].labels.is_empty() => Selector::Match {
                namespace: None,
                pod: Some(
                    pods[src]
                        .labels
                        .iter()
                        .take(1)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
            },
            _ => Selector::Id(pods[src].id.clone()),
        };
        let to_outside = matches!(from, Selector::Id(_)) && dice.below(6) == 0;
        let to = if to_outside {
            Selector::Ip(OUTSIDE[dice.below(OUTSIDE.len())].parse().unwrap())
        } else if dice.below(6) == 0 {
            Selector::Match {
                namespace: Some(NamespaceMatch::Name(pods[dst].namespace.clone())),
                pod: None,
            }
        } else {
            Selector::Id(pods[dst].id.clone())
        };
        let named: Vec<(String, Protocol)> = pods[dst]
            .ports
            .iter()
            .filter_map(|c| c.name.clone().map(|n| (n, c.protocol)))
            .collect();
        let port = match dice.below(5) {
            0 => None,
            1 if !named.is_empty() && !to_outside && matches!(to, Selector::Id(_)) => {
                let (name, protocol) = named[dice.below(named.len())].clone();
                Some(PortSpec::new(PortRef::Name(name), protocol))
            }
            2 => Some(PortSpec::new(PortRef::Number(53), Protocol::UDP)),
            3 if !pods[dst].ports.is_empty() => {
                let c = &pods[dst].ports[dice.below(pods[dst].ports.len())];
                Some(PortSpec::new(PortRef::Number(c.port), c.protocol))
            }
            _ => Some(PortSpec::new(
                PortRef::Number([80, 443, 8080][dice.below(3)]),
                Protocol::TCP,
            )),
        };
        expectations.push(Expectation {
            name: format!("required {k}"),
            from: Some(from),
            to: Some(to),
            only_from: None,
            port,
            only_ports: None,
            expect: Some(Expect::Allowed),
            line: 0,
        });
    }
    Spec {
        default_deny: dice.below(2) == 0,
        expectations,
    }
}

/// The pods (or the address) a selector names, as the spec format means it.
fn ends(model: &Model, selector: &Selector) -> Vec<Endpoint> {
    let pods = &model.cluster.pods;
    match selector {
        Selector::Id(id) => model
            .cluster
            .pod_index(id)
            .map(Endpoint::Pod)
            .into_iter()
            .collect(),
        Selector::Ip(ip) => vec![Endpoint::Address(*ip)],
        Selector::Outside => unreachable!("not generated"),
        Selector::Match { namespace, pod } => (0..pods.len())
            .filter(|i| match namespace {
                Some(NamespaceMatch::Name(n)) => pods[*i].namespace == *n,
                Some(NamespaceMatch::Labels(_)) => unreachable!("not generated"),
                None => true,
            })
            .filter(|i| {
                pod.as_ref()
                    .is_none_or(|want| want.iter().all(|(k, v)| pods[*i].labels.get(k) == Some(v)))
            })
            .map(Endpoint::Pod)
            .collect(),
    }
}

/// What an expectation wants of one pair: the numbers of its port on `dst` (empty: the
/// destination lacks the name), or `None` for "some port".
fn wanted(model: &Model, e: &Expectation, dst: Endpoint) -> Option<AllowedPorts> {
    let spec = e.port.as_ref()?;
    let mut out = AllowedPorts::default();
    *out.get_mut(spec.protocol) =
        PortSet::from_ranges(spec.numbers(model, dst).into_iter().map(|n| (n, n)));
    Some(out)
}

/// Whether an `expect: allowed` entry holds on `after`, by the pair verdict.
fn holds(before: &Model, after: &Model, e: &Expectation) -> bool {
    let (from, to) = (
        ends(before, e.from.as_ref().unwrap()),
        ends(before, e.to.as_ref().unwrap()),
    );
    // A selector that selects nothing fails its expectation (the spec format's rule).
    if from.is_empty() || to.is_empty() {
        return false;
    }
    from.iter().all(|s| {
        to.iter().filter(|d| *d != s).all(|d| {
            if matches!((s, d), (Endpoint::Address(_), Endpoint::Address(_))) {
                return true;
            }
            let ports = evaluate_pair(after, *s, *d).ports();
            match wanted(before, e, *d) {
                None => !ports.is_empty(),
                Some(w) => !w.is_empty() && !w.intersection(&ports).is_empty(),
            }
        })
    })
}

/// kube-system's DNS pods, as the spec format tolerates them.
fn dns_pods(model: &Model) -> Vec<usize> {
    (0..model.cluster.pods.len())
        .filter(|i| {
            let p = &model.cluster.pods[*i];
            p.namespace == "kube-system"
                && !p.host_network
                && (p.labels.get("k8s-app").is_some_and(|v| v == "kube-dns")
                    || p.ports
                        .iter()
                        .any(|c| c.port == 53 && c.protocol != Protocol::SCTP))
        })
        .collect()
}

/// Every pair with an end in the spec's namespaces and what is allowed beyond the
/// required ports, recomputed with the pair verdict.
fn beyond(
    before: &Model,
    after: &Model,
    spec: &Spec,
) -> BTreeMap<(Endpoint, Endpoint), AllowedPorts> {
    let resolved: Vec<(Vec<Endpoint>, Vec<Endpoint>, &Expectation)> = spec
        .expectations
        .iter()
        .map(|e| {
            (
                ends(before, e.from.as_ref().unwrap()),
                ends(before, e.to.as_ref().unwrap()),
                e,
            )
        })
        .collect();
    let pods = before.cluster.pods.len();
    // The scope is the namespaces of the required connections' ends; an expectation with
    // an end that names nothing requires nothing (it fails on its own).
    let scope: Vec<bool> = (0..pods)
        .map(|i| {
            resolved
                .iter()
                .filter(|(f, t, _)| !f.is_empty() && !t.is_empty())
                .any(|(f, t, _)| {
                    f.iter().chain(t).any(|e| match e {
                        Endpoint::Pod(p) => {
                            before.cluster.pods[*p].namespace == before.cluster.pods[i].namespace
                        }
                        Endpoint::Address(_) => false,
                    })
                })
        })
        .collect();
    let dns = dns_pods(before);
    let addresses: Vec<Endpoint> = Engine::new(after)
        .address_classes()
        .into_iter()
        .map(|c| Endpoint::Address(c.representative))
        .collect();
    let mut pairs = Vec::new();
    for s in 0..pods {
        for d in 0..pods {
            if s != d && (scope[s] || scope[d]) {
                pairs.push((Endpoint::Pod(s), Endpoint::Pod(d)));
            }
        }
        if scope[s] {
            for a in &addresses {
                pairs.push((Endpoint::Pod(s), *a));
                pairs.push((*a, Endpoint::Pod(s)));
            }
        }
    }
    let mut out = BTreeMap::new();
    for (s, d) in pairs {
        let allowed = evaluate_pair(after, s, d).ports();
        let mut permitted = AllowedPorts::default();
        for (from, to, e) in &resolved {
            if from.contains(&s) && to.contains(&d) {
                match wanted(before, e, d) {
                    None => permitted = AllowedPorts::all(),
                    Some(w) => permitted = permitted.union(&w),
                }
            }
        }
        if matches!((s, d), (Endpoint::Pod(_), Endpoint::Pod(x)) if dns.contains(&x)) {
            let dns_ports = AllowedPorts {
                tcp: PortSet::from_ranges([(53, 53)]),
                udp: PortSet::from_ranges([(53, 53)]),
                sctp: PortSet::empty(),
            };
            permitted = permitted.union(&dns_ports);
        }
        let extra = minus(&allowed, &permitted);
        if !extra.is_empty() {
            out.insert((s, d), extra);
        }
    }
    out
}

fn minus(a: &AllowedPorts, b: &AllowedPorts) -> AllowedPorts {
    // `x` ∩ (every port not in `y`), the gaps of `y` found by walking its ranges.
    let set = |x: &PortSet, y: &PortSet| {
        let mut gaps = Vec::new();
        let mut from: u32 = 1;
        for (lo, hi) in &y.ranges {
            if u32::from(*lo) > from {
                gaps.push((from as u16, lo - 1));
            }
            from = u32::from(*hi) + 1;
        }
        if from <= 65535 {
            gaps.push((from as u16, 65535));
        }
        x.intersection(&PortSet::from_ranges(gaps))
    };
    AllowedPorts {
        tcp: set(&a.tcp, &b.tcp),
        udp: set(&a.udp, &b.udp),
        sctp: set(&a.sctp, &b.sctp),
    }
}

/// Host-network pods without an IP cannot be matched by any peer: a requirement from
/// one towards an isolated pod cannot be met.
/// The ports of `src → dst` an Admin-tier rule denies on either side, from the pair
/// verdict's chains: no NetworkPolicy can open them.
fn admin_denied(model: &Model, src: Endpoint, dst: Endpoint) -> AllowedPorts {
    let verdict = evaluate_pair(model, src, dst);
    let mut denied = AllowedPorts::default();
    for chain in [&verdict.egress_chain, &verdict.ingress_chain] {
        for step in &chain.steps {
            if let PairStep::Rule { rule, ports } = step {
                if rule.policy.tier == Tier::Admin
                    && (rule.action == RuleAction::Deny || rule.fail_closed)
                {
                    denied = denied.union(ports);
                }
            }
        }
    }
    denied
}

/// The ports of `src → dst` Admin-tier rules accept on both sides: no NetworkPolicy can
/// close them.
fn admin_accepted(model: &Model, src: Endpoint, dst: Endpoint) -> AllowedPorts {
    let verdict = evaluate_pair(model, src, dst);
    let side = |chain: &netpol_core::PairChain, pod: bool| {
        if !pod {
            return AllowedPorts::all();
        }
        let mut accepted = AllowedPorts::default();
        for step in &chain.steps {
            if let PairStep::Rule { rule, ports } = step {
                if rule.policy.tier == Tier::Admin
                    && rule.action == RuleAction::Accept
                    && !rule.fail_closed
                {
                    accepted = accepted.union(ports);
                }
            }
        }
        accepted
    };
    let is_pod = |e: Endpoint| matches!(e, Endpoint::Pod(_));
    side(&verdict.egress_chain, is_pod(src))
        .intersection(&side(&verdict.ingress_chain, is_pod(dst)))
}

fn satisfiable(model: &Model, spec: &Spec) -> bool {
    spec.expectations.iter().all(|e| {
        // An Admin-tier Deny of every port asked for cannot be undone by NetworkPolicies.
        let from = ends(model, e.from.as_ref().unwrap());
        let to = ends(model, e.to.as_ref().unwrap());
        let open_to_policies = from.iter().all(|s| {
            to.iter().filter(|d| *d != s).all(|d| {
                let want = wanted(model, e, *d).unwrap_or_else(AllowedPorts::all);
                !want.difference(&admin_denied(model, *s, *d)).is_empty()
            })
        });
        let named = |sel: &Option<Selector>| !ends(model, sel.as_ref().unwrap()).is_empty();
        open_to_policies
            && named(&e.from)
            && named(&e.to)
            && ends(model, e.from.as_ref().unwrap())
                .iter()
                .all(|s| match s {
                    Endpoint::Pod(i) => {
                        let p = &model.cluster.pods[*i];
                        !(p.host_network && p.ips.is_empty())
                    }
                    Endpoint::Address(_) => true,
                })
            && ends(model, e.to.as_ref().unwrap())
                .iter()
                .all(|d| match (d, &e.port) {
                    (Endpoint::Pod(_), Some(p)) => !p.numbers(model, *d).is_empty(),
                    _ => true,
                })
    })
}

/// Synthesizes `spec` on `model` and holds the self-check to the independent judges.
fn judge(label: &str, cluster: &str, policies: &str, spec: &Spec, keep: bool) -> Synthesis {
    let model = load(cluster, policies);
    let synthesis = synth::synthesize(&model, spec, &Options { keep });
    let after = netpol_core::load(&[
        (FileId(0), cluster),
        (FileId(1), policies),
        (WRITTEN, &synthesis.text),
    ]);
    assert!(
        synthesis.check.diagnostics.is_empty(),
        "{label}: the written text does not parse cleanly: {:?}\n{}",
        synthesis.check.diagnostics,
        synthesis.text
    );
    // 1. The expectations: the self-check's verdicts are the pair verdict's.
    for (e, outcome) in spec.expectations.iter().zip(&synthesis.check.outcomes) {
        let ok = holds(&model, &after, e);
        assert_eq!(
            outcome.passed, ok,
            "{label}: `{}` self-check {} but the pair verdict says {ok}\n{}",
            e.name, outcome.passed, synthesis.text
        );
    }
    if satisfiable(&model, spec) {
        assert!(
            synthesis.check.passed(),
            "{label}: a satisfiable spec failed: {:?}\n{}",
            synthesis.check.outcomes,
            synthesis.text
        );
    }
    // 2. Nothing beyond the spec, except exactly what is reported.
    let reported: BTreeMap<(Endpoint, Endpoint), AllowedPorts> = synthesis
        .check
        .beyond
        .iter()
        .map(|b| ((b.src, b.dst), b.extra.clone()))
        .collect();
    let recomputed = beyond(&model, &after, spec);
    if reported != recomputed {
        let show = |m: &BTreeMap<(Endpoint, Endpoint), AllowedPorts>| -> Vec<String> {
            m.iter()
                .map(|((s, d), p)| format!("{s:?}->{d:?}: {p}"))
                .collect()
        };
        panic!(
            "{label}: pairs beyond the spec differ\nreported:   {:?}\nrecomputed: {:?}\n{}\nspec: {:?}",
            show(&reported),
            show(&recomputed),
            synthesis.text,
            spec.expectations
        );
    }
    // Without policies in force, written from scratch, only what a selector cannot tell
    // apart (or a port-less requirement, or a host-network pod) is ever beyond.
    synthesis
}

fn is_usable(model: &Model) -> bool {
    !model.cluster.pods.is_empty()
}

#[test]
fn synthesis_on_every_conformance_cluster_keeps_both_promises() {
    let mut judged = 0;
    for (i, (name, cluster, policies)) in cases().into_iter().enumerate() {
        let model = load(&cluster, &policies);
        if !is_usable(&model) {
            continue;
        }
        let mut dice = Dice(i as u64 * 7919 + 1);
        for round in 0..3 {
            let count = 1 + dice.below(5);
            let spec = random_spec(&model, &mut dice, count);
            let keep = round == 2;
            judge(
                &format!("{name} round {round}"),
                &cluster,
                &policies,
                &spec,
                keep,
            );
            // Written from scratch on the bare cluster, too.
            judge(
                &format!("{name} round {round}, no policies"),
                &cluster,
                "",
                &spec,
                false,
            );
            judged += 1;
        }
    }
    assert!(judged >= 300, "only {judged} syntheses judged");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn synthesis_on_generated_clusters_keeps_both_promises(seed in 1u64..1000, count in 1usize..12, keep: bool) {
        let text = netpol_core::generate::generate(60, 30, seed);
        let model = load(&text, "");
        let mut dice = Dice(seed);
        let spec = random_spec(&model, &mut dice, count);
        judge(&format!("generated seed {seed}"), &text, "", &spec, keep);
    }
}

/// The pairs whose pair verdict differs between two models (pods, and the given
/// addresses both ways).
fn differences(
    before: &Model,
    after: &Model,
    addresses: &[IpAddr],
) -> BTreeMap<(Endpoint, Endpoint), (AllowedPorts, AllowedPorts)> {
    let pods = before.cluster.pods.len();
    let mut out = BTreeMap::new();
    let mut pairs = Vec::new();
    for s in 0..pods {
        for d in (0..pods).filter(|d| *d != s) {
            pairs.push((Endpoint::Pod(s), Endpoint::Pod(d)));
        }
        for a in addresses {
            pairs.push((Endpoint::Pod(s), Endpoint::Address(*a)));
            pairs.push((Endpoint::Address(*a), Endpoint::Pod(s)));
        }
    }
    for (s, d) in pairs {
        let (b, a) = (
            evaluate_pair(before, s, d).ports(),
            evaluate_pair(after, s, d).ports(),
        );
        if a != b {
            out.insert((s, d), (b, a));
        }
    }
    out
}

fn reported(
    changes: &[PairChange],
) -> BTreeMap<(Endpoint, Endpoint), (AllowedPorts, AllowedPorts)> {
    changes
        .iter()
        .map(|c| ((c.src, c.dst), (c.before.clone(), c.after.clone())))
        .collect()
}

fn representatives(models: &[&Model]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = models
        .iter()
        .flat_map(|m| Engine::new(m).address_classes())
        .map(|c| c.representative)
        .collect();
    out.sort();
    out.dedup();
    out
}

fn judge_freeze(label: &str, cluster: &str, policies: &str) {
    let model = load(cluster, policies);
    let frozen = synth::freeze(&model);
    assert!(
        frozen.diagnostics.is_empty(),
        "{label}: {:?}\n{}",
        frozen.diagnostics,
        frozen.text
    );
    // The cluster's objects without any policy, wherever they were written.
    let bare = |file: u32, text: &str| {
        let mut parsed = netpol_core::parse(FileId(file), text);
        parsed.policies.clear();
        parsed
    };
    let replaced = netpol_core::build(vec![
        bare(0, cluster),
        bare(1, policies),
        netpol_core::parse(WRITTEN, &frozen.text),
    ]);
    let alongside = netpol_core::load(&[
        (FileId(0), cluster),
        (FileId(1), policies),
        (WRITTEN, &frozen.text),
    ]);
    for (after, changes, how) in [
        (&replaced, &frozen.changes, "instead"),
        (&alongside, &frozen.changes_alongside, "alongside"),
    ] {
        let reps = representatives(&[&model, after]);
        let recomputed = differences(&model, after, &reps);
        assert_eq!(
            reported(changes),
            recomputed,
            "{label} ({how}): changes differ\n{}",
            frozen.text
        );
        for ((s, d), (b, a)) in &recomputed {
            assert_eq!(
                a.intersection(b),
                *b,
                "{label} ({how}): {s:?}->{d:?} loses ports: {b} -> {a}\n{}",
                frozen.text
            );
        }
    }
}

#[test]
fn freeze_on_every_conformance_cluster_loses_nothing_and_reports_every_change() {
    for (name, cluster, policies) in cases() {
        if is_usable(&load(&cluster, &policies)) {
            judge_freeze(&name, &cluster, &policies);
        }
    }
}

#[test]
fn freeze_of_a_generated_cluster_loses_nothing_and_reports_every_change() {
    for seed in [1, 2] {
        let text = netpol_core::generate::generate(80, 40, seed);
        judge_freeze(&format!("generated seed {seed}"), &text, "");
    }
}

/// "Allow this" and "deny this" on random pairs: the pair changes as asked, the text
/// parses back to exactly the reported changes.
/// Returns how many (allow, deny) proposals were judged.
fn judge_edits(
    label: &str,
    cluster: &str,
    policies: &str,
    dice: &mut Dice,
    rounds: usize,
) -> (usize, usize) {
    let mut judged = (0, 0);
    let sources = [(FileId(1), policies), (FileId(0), cluster)];
    let model = netpol_core::load(&sources);
    let pods = model.cluster.pods.len();
    for _ in 0..rounds {
        let (s, d) = (dice.below(pods), dice.below(pods));
        let src = if dice.below(6) == 0 {
            Endpoint::Address("8.8.8.8".parse().unwrap())
        } else {
            Endpoint::Pod(s)
        };
        let dst = Endpoint::Pod(d);
        if src == dst {
            continue;
        }
        let port = match dice.below(3) {
            0 => None,
            _ => Some(PortSpec::new(
                PortRef::Number([80, 443, 5432][dice.below(3)]),
                Protocol::TCP,
            )),
        };
        let allowed = Engine::new(&model).allowed_ports(src, dst);
        // Mostly the useful question (open what is closed, close what is open), sometimes
        // the other one, which must be refused.
        let open_now = match &port {
            Some(p) => p
                .numbers(&model, dst)
                .iter()
                .any(|n| allowed.get(p.protocol).contains(*n)),
            None => !allowed.is_empty(),
        };
        let allowing = open_now == (dice.below(8) == 0);
        let result = if allowing {
            synth::allow(&sources, FileId(1), src, dst, port.as_ref())
        } else {
            synth::deny(&sources, FileId(1), src, dst, port.as_ref())
        };
        let proposal = match result {
            Ok(p) => p,
            Err(e @ synth::EditError::DecidedByTiers { .. }) => {
                // Judged with the pair verdict's chains: the Admin tier decides every port
                // that the edit could have changed.
                let asked = match &port {
                    Some(p) => {
                        let mut a = AllowedPorts::default();
                        for n in p.numbers(&model, dst) {
                            *a.get_mut(p.protocol) =
                                a.get(p.protocol).union(&PortSet::from_ranges([(n, n)]));
                        }
                        a
                    }
                    None => AllowedPorts::all(),
                };
                let changeable = if allowing {
                    asked
                        .difference(&allowed)
                        .difference(&admin_denied(&model, src, dst))
                } else {
                    asked
                        .intersection(&allowed)
                        .difference(&admin_accepted(&model, src, dst))
                };
                // With no port given, "allow" asks for the destination's declared ports.
                assert!(
                    changeable.is_empty() || port.is_none(),
                    "{label}: {src:?} -> {dst:?} on {port:?}: {e}, but {changeable} could change"
                );
                continue;
            }
            Err(e) => {
                let refused = matches!(
                    e,
                    synth::EditError::AlreadyAllowed { .. }
                        | synth::EditError::AlreadyDenied { .. }
                );
                assert_eq!(
                    refused,
                    open_now == allowing,
                    "{label}: {src:?} -> {dst:?} on {port:?}: {e}"
                );
                continue;
            }
        };
        if allowing {
            judged.0 += 1;
        } else {
            judged.1 += 1;
        }
        let texts: Vec<(FileId, String)> = sources
            .iter()
            .map(|(f, t)| (*f, synth::apply(*f, t, &proposal.edits)))
            .collect();
        let borrowed: Vec<(FileId, &str)> = texts.iter().map(|(f, t)| (*f, t.as_str())).collect();
        let after = netpol_core::load(&borrowed);
        let errors: Vec<_> = after
            .diagnostics
            .iter()
            .filter(|d| d.severity != netpol_core::Severity::Info && !model.diagnostics.contains(d))
            .collect();
        let context = format!(
            "{label}: {:?} -> {:?} on {port:?}: {}\n{}",
            src, dst, proposal.summary, texts[0].1
        );
        assert!(
            errors.is_empty() || !model.diagnostics.is_empty(),
            "{context}\nnew diagnostics: {errors:?}"
        );
        let reps = representatives(&[&model, &after]);
        let mut recomputed = differences(&model, &after, &reps);
        let target = recomputed
            .remove(&(src, dst))
            .unwrap_or_else(|| (allowed.clone(), allowed.clone()));
        assert_eq!(
            (
                proposal.target.before.clone(),
                proposal.target.after.clone()
            ),
            target,
            "{context}"
        );
        // Addresses as sources are asked through their representative in `differences`.
        let others: BTreeMap<_, _> = reported(&proposal.others)
            .into_iter()
            .filter(|((s, _), _)| *s != src)
            .collect();
        let recomputed: BTreeMap<_, _> = recomputed
            .into_iter()
            .filter(|((s, _), _)| *s != src)
            .collect();
        assert_eq!(others, recomputed, "{context}");
        // The pair itself changed as asked.
        let (before, after) = (&proposal.target.before, &proposal.target.after);
        if allowing {
            assert!(
                after.intersection(before) == *before && after != before,
                "{context}: not opened"
            );
        } else {
            assert!(
                after.intersection(before) == *after && after != before,
                "{context}: not closed"
            );
        }
    }
    judged
}

#[test]
fn allow_and_deny_on_every_conformance_cluster_report_exactly_what_the_text_does() {
    let mut judged = (0, 0);
    for (i, (name, cluster, policies)) in cases().into_iter().enumerate() {
        if is_usable(&load(&cluster, &policies)) {
            let (a, d) = judge_edits(&name, &cluster, &policies, &mut Dice(i as u64 + 11), 6);
            judged = (judged.0 + a, judged.1 + d);
        }
    }
    assert!(
        judged.0 >= 150 && judged.1 >= 150,
        "too few proposals judged: {judged:?}"
    );
}

const TIERED_CLUSTER: &str = "namespace prod team=a\nnamespace dev team=b\npod prod/db app=db ip=10.0.0.2 ports=pg:5432,http:8080\npod dev/tool app=tool ip=10.1.0.1\n";

fn pod(model: &Model, name: &str) -> Endpoint {
    let i = model
        .cluster
        .pods
        .iter()
        .position(|p| format!("{}/{}", p.namespace, p.name) == name)
        .expect("pod");
    Endpoint::Pod(i)
}

#[test]
fn allow_refuses_what_an_admin_deny_decides_and_names_the_tiers() {
    let policies = "apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: no-dev-to-db}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: a}}}
  ingress:
  - name: deny-dev
    action: Deny
    from: [{namespaces: {namespaceSelector: {matchLabels: {team: b}}}}]
    ports: [{portNumber: {protocol: TCP, port: 5432}}]
";
    let sources = [(FileId(0), TIERED_CLUSTER), (FileId(1), policies)];
    let model = netpol_core::load(&sources);
    let (tool, db) = (pod(&model, "dev/tool"), pod(&model, "prod/db"));
    let pg = PortSpec::new(PortRef::Number(5432), Protocol::TCP);
    let refused = synth::allow(&sources, FileId(1), tool, db, Some(&pg));
    match refused {
        Err(e @ synth::EditError::DecidedByTiers { .. }) => {
            assert!(e.to_string().contains("TCP 5432"), "{e}");
        }
        other => panic!("expected a refusal naming the tiers, got {other:?}"),
    }
    // 8080 is left to the NetworkPolicies (none isolates: allowed already); deny can
    // close it with a NetworkPolicy.
    let http = PortSpec::new(PortRef::Number(8080), Protocol::TCP);
    let closed = synth::deny(&sources, FileId(1), tool, db, Some(&http)).expect("a proposal");
    assert!(
        !closed.target.after.get(Protocol::TCP).contains(8080),
        "{closed:?}"
    );
}

#[test]
fn allow_keeps_the_ports_a_baseline_allow_gave_the_pair() {
    let policies = "apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {matchLabels: {team: a}}}
  ingress:
  - name: allow-8080
    action: Allow
    from: [{namespaces: {namespaceSelector: {matchLabels: {team: b}}}}]
    ports: [{portNumber: {protocol: TCP, port: 8080}}]
  - name: deny-dev
    action: Deny
    from: [{namespaces: {namespaceSelector: {matchLabels: {team: b}}}}]
";
    let sources = [(FileId(0), TIERED_CLUSTER), (FileId(1), policies)];
    let model = netpol_core::load(&sources);
    let (tool, db) = (pod(&model, "dev/tool"), pod(&model, "prod/db"));
    let pg = PortSpec::new(PortRef::Number(5432), Protocol::TCP);
    let proposal = synth::allow(&sources, FileId(1), tool, db, Some(&pg)).expect("a proposal");
    // The new policy isolates db for ingress, which ends the Baseline's say: 8080 is
    // written into the rule too, so the pair keeps it.
    let after = proposal.target.after.get(Protocol::TCP);
    assert!(after.contains(5432) && after.contains(8080), "{proposal:?}");
    assert!(
        proposal.summary.contains("keeping TCP 8080 open")
            || proposal.edits.iter().any(|e| e.text.contains("8080")),
        "{proposal:?}"
    );
}

#[test]
fn deny_never_writes_a_peer_that_selects_nothing() {
    let cluster = "namespace shop\npod shop/web app=web ip=10.0.0.1\npod shop/api app=api ip=10.0.0.2 ports=http:8080\npod shop/jobs app=jobs ip=10.0.0.3\n";
    let policies = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  podSelector:
    matchLabels: {app: api}
  ingress:
  - from:
    - podSelector:
        matchLabels: {app: web}
    - podSelector:
        matchLabels: {app: jobs}
";
    let sources = [(FileId(0), cluster), (FileId(1), policies)];
    let model = netpol_core::load(&sources);
    let (web, api) = (pod(&model, "shop/web"), pod(&model, "shop/api"));
    let proposal = synth::deny(&sources, FileId(1), web, api, None).expect("a proposal");
    let written: String = proposal.edits.iter().map(|e| e.text.as_str()).collect();
    assert!(
        !written.contains("NotIn"),
        "a peer that can never match:\n{written}"
    );
    assert!(proposal.target.after.is_empty(), "{proposal:?}");
    assert!(
        proposal.others.is_empty(),
        "jobs keeps its access: {proposal:?}"
    );
}
