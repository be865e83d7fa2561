//! Least-privilege policies from a spec's required connections.
//!
//! The steps, each a named result: the spec's [`Intent`] (required connections and their
//! namespaces); the workloads ([`Groups`]); per requirement, its ends as [`Party`]s and
//! its ports; the [`Plan`] (a default deny per namespace in scope, DNS, one policy per
//! workload with one rule per peer); the text; the self-check. DNS that an `expect:
//! denied` entry forbids is found by the self-check and left out, then checked again.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::check::{self, Check};
use super::groups::{Group, Groups};
use super::plan::{self, Party, PolicyPlan, PortItem, Ports, RulePlan, Subject};
use super::{Options, Synthesis, Written};
use crate::assert::intent::{End, Intent, DNS_LABEL, DNS_NAMESPACE, DNS_PORT};
use crate::assert::{Selector, Spec};
use crate::cidr::Cidr;
use crate::model::{
    Endpoint, IpBlock, Labels, Model, NetworkPolicy, PolicyType, PortRef, Protocol,
};
use crate::ports::{AllowedPorts, PortSet};
use crate::portspec::PortSpec;

/// Which sides of a connection need a rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sides {
    pub ingress: bool,
    pub egress: bool,
}

impl Sides {
    const BOTH: Sides = Sides {
        ingress: true,
        egress: true,
    };
}

/// Per namespace, the directions a default deny isolates.
type Isolation = BTreeMap<String, BTreeSet<PolicyType>>;

/// Rules being collected: per policy, per direction, per peer: ports and reasons.
pub(crate) type Rules =
    BTreeMap<(String, Subject), [BTreeMap<Party, (Ports, BTreeSet<String>)>; 2]>;

/// Everything a synthesis works with.
pub(crate) struct Synth<'a> {
    pub model: &'a Model,
    pub spec: &'a Spec,
    pub intent: Intent,
    pub groups: Groups,
    /// The group DNS rules point at: kube-system's DNS pods, or the conventional
    /// `k8s-app: kube-dns` when the cluster has none.
    dns_group: usize,
    /// Whether kube-system's DNS pods exist in the cluster.
    dns_found: bool,
    /// Whether any pod has an IPv6 address (then "outside" includes `::/0`).
    v6: bool,
    /// Building on the policies in force (`--keep`).
    keep: bool,
    notes: BTreeSet<String>,
}

impl<'a> Synth<'a> {
    pub fn new(model: &'a Model, spec: &'a Spec) -> Synth<'a> {
        let intent = Intent::new(model, spec);
        let mut groups = Groups::new(model);
        let found = groups.add(model, intent.dns.clone());
        let dns_group = found.unwrap_or_else(|| {
            let (k, v) = DNS_LABEL;
            let mut selector = Labels::new();
            selector.insert(k.to_string(), v.to_string());
            groups.list.push(Group {
                namespace: DNS_NAMESPACE.to_string(),
                pods: Vec::new(),
                selector,
                exact: true,
                name: "kube-dns".to_string(),
            });
            groups.list.len() - 1
        });
        let v6 = model
            .cluster
            .pods
            .iter()
            .any(|p| p.ips.iter().any(IpAddr::is_ipv6));
        Synth {
            model,
            spec,
            intent,
            groups,
            dns_group,
            dns_found: found.is_some(),
            v6,
            keep: false,
            notes: BTreeSet::new(),
        }
    }

    /// Writes, checks, and writes again: without the DNS a failed check blames, and (with
    /// `--keep`) with the sides that the new policies themselves closed (a new policy
    /// isolates pods that relied on not being isolated), until nothing changes.
    pub fn run(mut self, options: &Options) -> Synthesis {
        self.keep = options.keep;
        let mut no_dns: BTreeSet<String> = BTreeSet::new();
        let mut carried = Rules::new();
        let mut probe: Option<Model> = None;
        loop {
            let (mut rules, isolation) = self.rules(options, &no_dns, probe.as_ref());
            merge(&mut rules, &carried);
            let text = self.text(&rules, &isolation);
            let (check, after) = check::synthesis(self.model, self.spec, &text);
            let blamed = self.dns_blamed(&check, &after, &no_dns);
            if !blamed.is_empty() {
                for ns in &blamed {
                    self.notes.insert(format!(
                        "no DNS egress for namespace {ns}: an expectation of the spec denies it"
                    ));
                }
                no_dns.extend(blamed);
                continue;
            }
            if options.keep && !check.passed() && rules != carried {
                carried = rules;
                probe = Some(after);
                continue;
            }
            return self.finish(text, check, &after);
        }
    }

    fn finish(mut self, text: String, check: Check, after: &Model) -> Synthesis {
        let denied_fails = self
            .spec
            .expectations
            .iter()
            .zip(&check.outcomes)
            .any(|(e, o)| e.expect == Some(crate::assert::Expect::Denied) && !o.passed);
        if denied_fails && self.keep && !self.spec.default_deny {
            self.notes.insert(
                "with --keep, only `default: deny` lets synthesize add isolation: rules that allow can never meet an `expect: denied` entry".to_string(),
            );
        }
        let policies = after
            .policies
            .iter()
            .filter(|p| p.span.file == check::WRITTEN)
            .map(|p| Written {
                namespace: p.namespace.clone(),
                name: p.name.clone(),
            })
            .collect();
        Synthesis {
            text,
            policies,
            check,
            notes: self.notes.into_iter().collect(),
        }
    }

    /// Namespaces whose DNS egress breaks an expectation (not yet left out).
    fn dns_blamed(
        &self,
        check: &Check,
        after: &Model,
        no_dns: &BTreeSet<String>,
    ) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for outcome in check.outcomes.iter().filter(|o| !o.passed) {
            for v in &outcome.violations {
                let (Endpoint::Pod(s), Endpoint::Pod(d)) = (v.flow.src, v.flow.dst) else {
                    continue;
                };
                let denied_dns = v.expected == crate::assert::Expect::Denied
                    && v.flow.port == DNS_PORT
                    && self.intent.dns.binary_search(&d).is_ok();
                let ns = &after.cluster.pods[s].namespace;
                if denied_dns && !no_dns.contains(ns) {
                    out.insert(ns.clone());
                }
            }
        }
        out
    }

    /// The rules for every requirement and DNS, and the isolation to add.
    /// `probe`: with `--keep`, the model to find the closed sides on (the last round's
    /// output on the cluster); else the policies in force plus the isolation to add.
    fn rules(
        &mut self,
        options: &Options,
        no_dns: &BTreeSet<String>,
        probe: Option<&Model>,
    ) -> (Rules, Isolation) {
        let mut rules = Rules::new();
        let isolation = self.isolation(options);
        let base = match probe {
            Some(model) => model.clone(),
            None => with_isolation(self.model, &isolation),
        };
        for r in 0..self.intent.requirements.len() {
            self.requirement(r, options, &base, &mut rules);
        }
        for ns in isolation.keys() {
            rules.entry((ns.clone(), Subject::DefaultDeny)).or_default();
        }
        self.dns(&mut rules, &isolation, no_dns);
        (rules, isolation)
    }

    /// Per namespace, the directions a default deny must isolate: both for every
    /// namespace in scope; with `--keep`, only under `default: deny` and only the
    /// directions in which some pod is not isolated yet.
    fn isolation(&self, options: &Options) -> Isolation {
        let mut out = BTreeMap::new();
        for ns in &self.intent.scope {
            let Some(pods) = self.groups.namespace_pods.get(ns) else {
                continue;
            };
            let directions: BTreeSet<PolicyType> = if !options.keep {
                [PolicyType::Ingress, PolicyType::Egress].into()
            } else if self.spec.default_deny {
                [PolicyType::Ingress, PolicyType::Egress]
                    .into_iter()
                    .filter(|d| !pods.iter().all(|p| self.isolated(*p, *d)))
                    .collect()
            } else {
                BTreeSet::new()
            };
            if !directions.is_empty() {
                out.insert(ns.clone(), directions);
            }
        }
        out
    }

    fn isolated(&self, pod: usize, direction: PolicyType) -> bool {
        let p = &self.model.cluster.pods[pod];
        self.model
            .policies
            .iter()
            .any(|policy| policy.affects(direction) && crate::in_scope(policy, p))
    }

    /// Grants one requirement: every (source party, destination party) with its ports.
    fn requirement(&mut self, r: usize, options: &Options, base: &Model, rules: &mut Rules) {
        let req = self.intent.requirements[r].clone();
        let expectation = &self.spec.expectations[req.expectation];
        let (from_sel, to_sel) = match &expectation.only_from {
            Some(only) => (Some(only), expectation.to.as_ref()),
            None => (expectation.from.as_ref(), expectation.to.as_ref()),
        };
        let sources = self.parties(&req.from, is_wide(from_sel));
        let destinations = self.parties(&req.to, is_wide(to_sel));
        let needed = if options.keep {
            self.needed_sides(
                base,
                &req.from,
                &req.to,
                req.port.as_ref(),
                &sources,
                &destinations,
            )
        } else {
            BTreeMap::new()
        };
        for src in &sources {
            for dst in &destinations {
                if matches!((src, dst), (Party::Block(_), Party::Block(_))) {
                    self.notes.insert(format!(
                        "expectation `{}`: a connection between two outside addresses cannot be written as a NetworkPolicy",
                        req.name
                    ));
                    continue;
                }
                let sides = if options.keep {
                    needed
                        .get(&(src.clone(), dst.clone()))
                        .copied()
                        .unwrap_or_default()
                } else {
                    Sides::BOTH
                };
                let ports = self.ports(req.port.as_ref(), dst);
                grant(rules, &self.groups, src, dst, &ports, &req.name, sides);
            }
        }
    }

    /// The parties a requirement's ends stand for. `wide`: the spec named whole
    /// namespaces (or everything), so whole namespaces become namespace peers.
    fn parties(&self, ends: &[End], wide: bool) -> Vec<Party> {
        let pods = &self.model.cluster.pods;
        let mut out = BTreeSet::new();
        let mut selectable: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for end in ends {
            match end {
                End::Pod(i) if pods[*i].host_network => {
                    out.extend(pods[*i].ips.iter().map(|ip| Party::Block(host_block(*ip))));
                }
                End::Pod(i) => selectable.entry(&pods[*i].namespace).or_default().push(*i),
                End::Address(ip) => {
                    out.insert(Party::Block(host_block(*ip)));
                }
                End::Outside => {
                    out.insert(Party::Block(everything(false)));
                    if self.v6 {
                        out.insert(Party::Block(everything(true)));
                    }
                }
            }
        }
        let whole =
            |ns: &str, members: &[usize]| wide && self.groups.is_whole_namespace(ns, members);
        let every_namespace = !selectable.is_empty()
            && selectable.len() == self.groups.namespace_pods.len()
            && selectable.iter().all(|(ns, m)| whole(ns, m));
        if every_namespace {
            out.insert(Party::AllPods);
            return out.into_iter().collect();
        }
        for (ns, mut members) in selectable {
            members.sort_unstable();
            members.dedup();
            if whole(ns, &members) {
                out.insert(Party::Namespace(ns.to_string()));
            } else {
                out.extend(
                    members
                        .iter()
                        .filter_map(|m| self.groups.of_pod[*m])
                        .map(Party::Group),
                );
            }
        }
        out.into_iter().collect()
    }

    /// The ports of a requirement towards one destination party: the spec's port (a
    /// number by the name the destination workload gives it, if it names it the same on
    /// every pod); without one, the ports the destination workload declares, or every port.
    fn ports(&self, port: Option<&PortSpec>, dst: &Party) -> Ports {
        let group = match dst {
            Party::Group(g) => Some(&self.groups.list[*g]),
            _ => None,
        };
        let Some(spec) = port else {
            return match group {
                Some(g) => declared(self.model, &g.pods),
                None => Ports::All,
            };
        };
        let port = match &spec.port {
            PortRef::Number(n) => group
                .and_then(|g| port_name(self.model, &g.pods, spec.protocol, *n))
                .map_or(PortRef::Number(*n), PortRef::Name),
            named => named.clone(),
        };
        Ports::Some(BTreeSet::from([PortItem {
            protocol: spec.protocol,
            port: Some(port),
            end: None,
        }]))
    }

    /// With `--keep`: which sides of each (source party, destination party) deny a pair
    /// of the requirement on a wanted port, on `base` (the policies in force plus the
    /// isolation being added).
    fn needed_sides(
        &self,
        base: &Model,
        from: &[End],
        to: &[End],
        port: Option<&PortSpec>,
        sources: &[Party],
        destinations: &[Party],
    ) -> BTreeMap<(Party, Party), Sides> {
        let mut out: BTreeMap<(Party, Party), Sides> = BTreeMap::new();
        for s in from.iter().flat_map(|e| self.probes(e)) {
            for d in to.iter().flat_map(|e| self.probes(e)) {
                if s == d || matches!((s, d), (Endpoint::Address(_), Endpoint::Address(_))) {
                    continue;
                }
                let wanted = self.wanted(port, d);
                let verdict = crate::evaluate_pair(base, s, d);
                // Each side as it decides through every tier: a side no NetworkPolicy
                // isolates may still be closed by a Baseline (or Admin) rule.
                let admits = |ports: AllowedPorts| !ports.intersection(&wanted).is_empty();
                let sides = Sides {
                    egress: !admits(verdict.egress_chain.ports()),
                    ingress: !admits(verdict.ingress_chain.ports()),
                };
                if sides == Sides::default() {
                    continue;
                }
                for sp in sources.iter().filter(|p| self.contains(p, s)) {
                    for dp in destinations.iter().filter(|p| self.contains(p, d)) {
                        let entry = out.entry((sp.clone(), dp.clone())).or_default();
                        entry.egress |= sides.egress;
                        entry.ingress |= sides.ingress;
                    }
                }
            }
        }
        out
    }

    /// The endpoints to probe for an end: a pod, an address, or for every outside
    /// address the representative of each class the policies in force distinguish.
    fn probes(&self, end: &End) -> Vec<Endpoint> {
        match end {
            End::Pod(i) => vec![Endpoint::Pod(*i)],
            End::Address(ip) => vec![Endpoint::Address(*ip)],
            End::Outside => crate::Engine::new(self.model)
                .address_classes()
                .into_iter()
                .map(|c| Endpoint::Address(c.representative))
                .collect(),
        }
    }

    /// What must pass for the requirement: its port's numbers on `dst`; without a port,
    /// what `dst` declares (or every port).
    fn wanted(&self, port: Option<&PortSpec>, dst: Endpoint) -> AllowedPorts {
        let mut out = AllowedPorts::default();
        match (port, dst) {
            (Some(spec), _) => {
                let numbers = spec.numbers(self.model, dst).into_iter().map(|n| (n, n));
                *out.get_mut(spec.protocol) = PortSet::from_ranges(numbers);
            }
            (None, Endpoint::Pod(d)) if !self.model.cluster.pods[d].ports.is_empty() => {
                for c in &self.model.cluster.pods[d].ports {
                    let set = out.get_mut(c.protocol);
                    *set = set.union(&PortSet::from_ranges([(c.port, c.port)]));
                }
            }
            (None, _) => out = AllowedPorts::all(),
        }
        out
    }

    /// Whether `party` stands for `endpoint`.
    fn contains(&self, party: &Party, endpoint: Endpoint) -> bool {
        let pods = &self.model.cluster.pods;
        match (party, endpoint) {
            (Party::Group(g), Endpoint::Pod(i)) => self.groups.of_pod[i] == Some(*g),
            (Party::Namespace(ns), Endpoint::Pod(i)) => {
                pods[i].namespace == *ns && !pods[i].host_network
            }
            (Party::AllPods, Endpoint::Pod(i)) => !pods[i].host_network,
            (Party::Block(b), Endpoint::Pod(i)) => {
                pods[i].host_network && pods[i].ips.iter().any(|ip| b.contains(*ip))
            }
            (Party::Block(b), Endpoint::Address(ip)) => b.contains(ip),
            _ => false,
        }
    }

    /// DNS egress for every namespace with egress rules (unless the spec forbids it), and
    /// DNS ingress to the DNS pods when kube-system is isolated for ingress here.
    fn dns(&mut self, rules: &mut Rules, isolation: &Isolation, no_dns: &BTreeSet<String>) {
        let dns_ports = Ports::Some(
            [Protocol::UDP, Protocol::TCP]
                .into_iter()
                .map(|protocol| PortItem {
                    protocol,
                    port: Some(PortRef::Number(DNS_PORT)),
                    end: None,
                })
                .collect(),
        );
        let why = "DNS: name lookups through kube-system's DNS pods".to_string();
        let needing: BTreeSet<String> = rules
            .iter()
            .filter(|(_, [_, egress])| !egress.is_empty())
            .map(|((ns, _), _)| ns.clone())
            .filter(|ns| {
                isolation
                    .get(ns)
                    .is_some_and(|d| d.contains(&PolicyType::Egress))
            })
            .filter(|ns| !no_dns.contains(ns))
            .collect();
        let dns_party = Party::Group(self.dns_group);
        for ns in &needing {
            let entry = rules.entry((ns.clone(), Subject::Dns(None))).or_default();
            entry[1].insert(
                dns_party.clone(),
                (dns_ports.clone(), BTreeSet::from([why.clone()])),
            );
        }
        if !needing.is_empty() && !self.dns_found {
            self.notes.insert(format!(
                "the cluster has no DNS pods in {DNS_NAMESPACE}; DNS egress selects the conventional label {}={}",
                DNS_LABEL.0, DNS_LABEL.1
            ));
        }
        let kube_system_isolated = isolation
            .get(DNS_NAMESPACE)
            .is_some_and(|d| d.contains(&PolicyType::Ingress));
        if self.dns_found && kube_system_isolated {
            let key = (
                DNS_NAMESPACE.to_string(),
                Subject::Dns(Some(self.dns_group)),
            );
            let entry = rules.entry(key).or_default();
            entry[0].insert(Party::AllPods, (dns_ports, BTreeSet::from([why])));
        }
    }

    /// The plan for `rules`, rendered.
    fn text(&self, rules: &Rules, isolation: &Isolation) -> String {
        let mut plan = plan::Plan::default();
        for ((ns, subject), [ingress, egress]) in rules {
            let mut policy = PolicyPlan {
                header: self.header(ns, subject),
                ..PolicyPlan::default()
            };
            if *subject == Subject::DefaultDeny {
                policy.isolates = isolation.get(ns).cloned().unwrap_or_default();
            }
            for (list, from) in [(&mut policy.ingress, ingress), (&mut policy.egress, egress)] {
                list.extend(from.iter().map(|(party, (ports, why))| RulePlan {
                    peers: vec![party.clone()],
                    ports: ports.clone(),
                    notes: why.iter().map(|w| format!("serves: {w}")).collect(),
                }));
            }
            plan.policies.insert((ns.clone(), subject.clone()), policy);
        }
        let documents = plan.documents(self.model, &self.groups);
        let required = self.intent.requirements.len();
        plan::join(
            &documents,
            &[
                format!(
                    "Least-privilege NetworkPolicies for {required} required connection{} of a netpol spec,",
                    if required == 1 { "" } else { "s" }
                ),
                "written by netpol. Apply with: kubectl apply -f <this file>".to_string(),
            ],
        )
    }

    fn header(&self, ns: &str, subject: &Subject) -> Vec<String> {
        match subject {
            Subject::DefaultDeny => vec![format!(
                "Default deny: pods in {ns} accept and open only what other policies allow."
            )],
            Subject::Dns(None) => vec![format!(
                "DNS: pods in {ns} may look up names through kube-system's DNS pods."
            )],
            Subject::Dns(Some(_)) => {
                vec!["DNS: every pod may look up names through these DNS pods.".to_string()]
            }
            Subject::Namespace => vec![format!("Every pod in {ns}.")],
            Subject::Group(g) => {
                let group = &self.groups.list[*g];
                let mut lines = vec![format!(
                    "{}: who may connect to it, and where it may connect.",
                    group.name
                )];
                if !group.exact {
                    lines.push(format!(
                        "note: its selector also selects {} (same labels), which get the same rules.",
                        self.also_selected(group)
                    ));
                }
                lines
            }
        }
    }

    /// The pods a group's selector selects besides its own, for a note.
    fn also_selected(&self, group: &Group) -> String {
        let pods = &self.model.cluster.pods;
        let others: Vec<&str> = self.groups.namespace_pods[&group.namespace]
            .iter()
            .filter(|p| group.pods.binary_search(p).is_err())
            .filter(|p| {
                group
                    .selector
                    .iter()
                    .all(|(k, v)| pods[**p].labels.get(k) == Some(v))
            })
            .map(|p| pods[*p].id.as_str())
            .collect();
        let shown: Vec<&str> = others.iter().take(5).copied().collect();
        let mut text = shown.join(", ");
        if others.len() > shown.len() {
            text.push_str(&format!(" and {} more", others.len() - shown.len()));
        }
        text
    }
}

/// Adds `from`'s rules to `into`.
fn merge(into: &mut Rules, from: &Rules) {
    for (key, directions) in from {
        let slot = into.entry(key.clone()).or_default();
        for (d, rules) in directions.iter().enumerate() {
            for (party, (ports, reasons)) in rules {
                let (have, why) = slot[d]
                    .entry(party.clone())
                    .or_insert_with(|| (Ports::Some(BTreeSet::new()), BTreeSet::new()));
                have.merge(ports);
                why.extend(reasons.iter().cloned());
            }
        }
    }
}

/// Whether a selector names whole namespaces (or everything) rather than workloads.
fn is_wide(selector: Option<&Selector>) -> bool {
    matches!(selector, None | Some(Selector::Match { pod: None, .. }))
}

/// Adds the rules for one (source, destination) grant on the sides asked for: ingress on
/// the destination's policies, egress on the source's.
pub(crate) fn grant(
    rules: &mut Rules,
    groups: &Groups,
    src: &Party,
    dst: &Party,
    ports: &Ports,
    why: &str,
    sides: Sides,
) {
    let mut add = |subject: (String, Subject), direction: usize, peer: &Party| {
        let slot = rules.entry(subject).or_default();
        let (have, reasons) = slot[direction]
            .entry(peer.clone())
            .or_insert_with(|| (Ports::Some(BTreeSet::new()), BTreeSet::new()));
        have.merge(ports);
        reasons.insert(why.to_string());
    };
    if sides.ingress {
        for subject in subjects(groups, dst) {
            add(subject, 0, src);
        }
    }
    if sides.egress {
        for subject in subjects(groups, src) {
            add(subject, 1, dst);
        }
    }
}

/// The policies a party's own rules go in: its workload's, or its namespaces'.
fn subjects(groups: &Groups, party: &Party) -> Vec<(String, Subject)> {
    match party {
        Party::Group(g) => vec![(groups.list[*g].namespace.clone(), Subject::Group(*g))],
        Party::Namespace(ns) => vec![(ns.clone(), Subject::Namespace)],
        Party::AllPods => groups
            .namespace_pods
            .keys()
            .map(|ns| (ns.clone(), Subject::Namespace))
            .collect(),
        Party::Block(_) => Vec::new(),
    }
}

/// `model` with default-deny policies for `isolation` (model objects, for probing).
fn with_isolation(model: &Model, isolation: &Isolation) -> Model {
    let mut out = model.clone();
    for (ns, directions) in isolation {
        out.policies.push(NetworkPolicy {
            name: "netpol-synthesize-isolation".to_string(),
            namespace: ns.clone(),
            pod_selector: Default::default(),
            policy_types: directions.iter().copied().collect(),
            ingress: Vec::new(),
            egress: Vec::new(),
            span: Default::default(),
        });
    }
    out
}

/// One address as a block: `/32` or `/128`.
pub(crate) fn host_block(ip: IpAddr) -> IpBlock {
    let prefix = if ip.is_ipv6() { 128 } else { 32 };
    IpBlock {
        cidr: Cidr::new(ip, prefix).unwrap_or(Cidr { addr: ip, prefix }),
        except: Vec::new(),
    }
}

/// Every address of a family: `0.0.0.0/0` or `::/0`.
pub(crate) fn everything(v6: bool) -> IpBlock {
    let addr: IpAddr = if v6 {
        std::net::Ipv6Addr::UNSPECIFIED.into()
    } else {
        std::net::Ipv4Addr::UNSPECIFIED.into()
    };
    IpBlock {
        cidr: Cidr { addr, prefix: 0 },
        except: Vec::new(),
    }
}

/// The container ports `pods` declare, named where every one of them names the number
/// the same way; every port when they declare none.
pub(crate) fn declared(model: &Model, pods: &[usize]) -> Ports {
    let numbers: BTreeSet<(Protocol, u16)> = pods
        .iter()
        .flat_map(|p| model.cluster.pods[*p].ports.iter())
        .map(|c| (c.protocol, c.port))
        .collect();
    if numbers.is_empty() {
        return Ports::All;
    }
    Ports::Some(
        numbers
            .into_iter()
            .map(|(protocol, n)| PortItem {
                protocol,
                port: Some(
                    port_name(model, pods, protocol, n).map_or(PortRef::Number(n), PortRef::Name),
                ),
                end: None,
            })
            .collect(),
    )
}

/// The name every pod of `pods` gives port `number` for `protocol`, if one name does on
/// all of them and means exactly that number on each (the named-port rule would
/// otherwise admit other numbers too).
pub(crate) fn port_name(
    model: &Model,
    pods: &[usize],
    protocol: Protocol,
    number: u16,
) -> Option<String> {
    let first = model.cluster.pods.get(*pods.first()?)?;
    let mut names: Vec<&str> = first
        .ports
        .iter()
        .filter(|c| c.protocol == protocol && c.port == number)
        .filter_map(|c| c.name.as_deref())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .find(|name| {
            pods.iter().all(|p| {
                model.cluster.pods[*p]
                    .named_ports(name, protocol)
                    .eq([number])
            })
        })
        .map(str::to_string)
}
