//! What a spec asks for, as connections, and what is allowed beyond it.
//!
//! The *required* connections are the `expect: allowed` entries (every `from` × `to` pair
//! of distinct endpoints, on `port`, or without one on some port) and the allowed sources
//! of `only_from` entries (towards every `to`). Their *scope* is every namespace with a pod
//! at either end of one. Under `default: deny` every other connection with an end in the
//! scope must be denied: [`beyond`] lists, pair by pair, exactly the ports allowed beyond
//! the required ones. `netpol test` reports them as the `default: deny` outcome and
//! `netpol synthesize` checks its own output with them.
//!
//! One exception, because every pod that opens connections resolves names first: DNS —
//! TCP and UDP 53 to kube-system's DNS pods ([`dns_pods`]) — is tolerated from every pod.
//! A spec that forbids it says so with an `expect: denied` entry, checked like any other.
//!
//! Outside addresses are checked per address class of the model (one representative
//! each, as everywhere): a class is required when a requirement names its representative
//! (`{ip: ...}`) or every outside address (`{outside: true}`). A class wider than the
//! address a spec names (an ipBlock `8.8.0.0/16` for a required `8.8.8.8`) is reported:
//! it allows more than the spec asks for.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::Serialize;

use super::{select_pods, Expect, Selector, Spec};
use crate::engine::Engine;
use crate::model::{Endpoint, Model, Protocol};
use crate::ports::{AllowedPorts, PortSet};
use crate::portspec::PortSpec;
use crate::render;

/// The namespace whose DNS pods every pod may reach under `default: deny`.
pub const DNS_NAMESPACE: &str = "kube-system";
/// The label Kubernetes' DNS add-ons (CoreDNS, kube-dns) carry in kube-system.
pub const DNS_LABEL: (&str, &str) = ("k8s-app", "kube-dns");
/// The DNS port, on TCP and UDP.
pub const DNS_PORT: u16 = 53;

/// One end of a required connection, as the spec names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum End {
    /// A pod or workload, by index into [`crate::Cluster::pods`].
    Pod(usize),
    /// One address outside the cluster (`{ip: 8.8.8.8}`).
    Address(IpAddr),
    /// Every address outside the cluster (`{outside: true}`).
    Outside,
}

/// A required connection group: every `from` × `to` pair (an endpoint never with itself)
/// must be allowed on `port`, or on some port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// Index of the expectation in the spec.
    pub expectation: usize,
    /// Its name.
    pub name: String,
    /// Sources.
    pub from: Vec<End>,
    /// Destinations.
    pub to: Vec<End>,
    /// The port; `None`: some port.
    pub port: Option<PortSpec>,
}

/// The required connections of a spec against one model, with membership tables to ask
/// "which requirements cover this pair" quickly.
#[derive(Clone, Debug)]
pub struct Intent {
    /// In spec order; expectations whose selectors select nothing are left out (their own
    /// outcome reports the problem).
    pub requirements: Vec<Requirement>,
    /// Namespaces with a pod at either end of a requirement, sorted.
    pub scope: BTreeSet<String>,
    /// kube-system's DNS pods ([`dns_pods`]), in index order.
    pub dns: Vec<usize>,
    /// Words per membership bitset.
    words: usize,
    /// Per pod: the requirements it is a source of (`words` words each).
    src: Vec<u64>,
    /// Per pod: the requirements it is a destination of.
    dst: Vec<u64>,
    /// `[source, destination]`: requirements naming every outside address.
    outside: [Vec<u64>; 2],
    /// `[source, destination]`: requirements naming one address.
    addresses: [Vec<(IpAddr, usize)>; 2],
}

/// A pair allowed beyond what the spec requires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Beyond {
    /// Source (a pod, or an address class's representative).
    pub src: Endpoint,
    /// Destination.
    pub dst: Endpoint,
    /// The source in words: a pod id, or an address class label in brackets.
    pub from: String,
    /// The destination in words.
    pub to: String,
    /// Everything allowed between them.
    pub allowed: AllowedPorts,
    /// The part of it nothing requires.
    pub extra: AllowedPorts,
}

impl Intent {
    /// The required connections of `spec` in `model`.
    pub fn new(model: &Model, spec: &Spec) -> Intent {
        let requirements: Vec<Requirement> = spec
            .expectations
            .iter()
            .enumerate()
            .filter_map(|(index, e)| {
                let (from, to) = if let Some(only) = &e.only_from {
                    (ends(model, &Some(only.clone()))?, ends(model, &e.to)?)
                } else if e.expect == Some(Expect::Allowed) {
                    (ends(model, &e.from)?, ends(model, &e.to)?)
                } else {
                    return None;
                };
                Some(Requirement {
                    expectation: index,
                    name: e.name.clone(),
                    from,
                    to,
                    port: e.port.clone(),
                })
            })
            .collect();
        Intent::from_requirements(model, requirements)
    }

    /// An intent from requirements made elsewhere (the playground's chosen pairs).
    pub fn from_requirements(model: &Model, requirements: Vec<Requirement>) -> Intent {
        let pods = model.cluster.pods.len();
        let words = requirements.len().div_ceil(64).max(1);
        let mut intent = Intent {
            scope: BTreeSet::new(),
            dns: dns_pods(model),
            words,
            src: vec![0; pods * words],
            dst: vec![0; pods * words],
            outside: [vec![0; words], vec![0; words]],
            addresses: [Vec::new(), Vec::new()],
            requirements: Vec::new(),
        };
        for (r, req) in requirements.iter().enumerate() {
            for (side, list) in [(0, &req.from), (1, &req.to)] {
                for end in list {
                    intent.mark(model, side, end, r);
                }
            }
        }
        intent.requirements = requirements;
        intent
    }

    fn mark(&mut self, model: &Model, side: usize, end: &End, r: usize) {
        let bit = |words: &mut [u64]| words[r / 64] |= 1 << (r % 64);
        match end {
            End::Pod(i) => {
                if let Some(pod) = model.cluster.pods.get(*i) {
                    self.scope.insert(pod.namespace.clone());
                    let table = if side == 0 {
                        &mut self.src
                    } else {
                        &mut self.dst
                    };
                    bit(&mut table[i * self.words..(i + 1) * self.words]);
                }
            }
            End::Address(ip) => self.addresses[side].push((*ip, r)),
            End::Outside => bit(&mut self.outside[side]),
        }
    }

    /// Whether pod `pod` is in a namespace of the scope.
    pub fn in_scope(&self, model: &Model, pod: usize) -> bool {
        model
            .cluster
            .pods
            .get(pod)
            .is_some_and(|p| self.scope.contains(&p.namespace))
    }

    /// The requirements covering `endpoint` on one side, as a bitset.
    fn covering(&self, side: usize, endpoint: Endpoint) -> Vec<u64> {
        match endpoint {
            Endpoint::Pod(i) => {
                let table = if side == 0 { &self.src } else { &self.dst };
                table
                    .get(i * self.words..(i + 1) * self.words)
                    .map_or_else(|| vec![0; self.words], <[u64]>::to_vec)
            }
            Endpoint::Address(ip) => {
                let mut bits = self.outside[side].clone();
                for (at, r) in &self.addresses[side] {
                    if *at == ip {
                        bits[r / 64] |= 1 << (r % 64);
                    }
                }
                bits
            }
        }
    }

    /// Every port the spec allows from `src` to `dst`: what the requirements covering the
    /// pair ask for (named ports resolved on `dst`; no port: every port), plus DNS from a
    /// pod to a DNS pod.
    pub fn permitted(&self, model: &Model, src: Endpoint, dst: Endpoint) -> AllowedPorts {
        let src_bits = self.covering(0, src);
        let dst_bits = self.covering(1, dst);
        let mut ranges: [Vec<(u16, u16)>; 3] = Default::default();
        for (w, (a, b)) in src_bits.iter().zip(&dst_bits).enumerate() {
            let mut both = a & b;
            while both != 0 {
                let r = w * 64 + both.trailing_zeros() as usize;
                both &= both - 1;
                let Some(spec) = &self.requirements[r].port else {
                    return AllowedPorts::all();
                };
                let at = protocol_index(spec.protocol);
                ranges[at].extend(spec.numbers(model, dst).into_iter().map(|n| (n, n)));
            }
        }
        let dns = matches!((src, dst), (Endpoint::Pod(_), Endpoint::Pod(d)) if self.dns.binary_search(&d).is_ok());
        if dns {
            for protocol in [Protocol::TCP, Protocol::UDP] {
                ranges[protocol_index(protocol)].push((DNS_PORT, DNS_PORT));
            }
        }
        let [tcp, udp, sctp] = ranges;
        AllowedPorts {
            tcp: PortSet::from_ranges(tcp),
            udp: PortSet::from_ranges(udp),
            sctp: PortSet::from_ranges(sctp),
        }
    }

    /// How many ordered pairs [`beyond`] looks at: pairs of distinct pods with one in the
    /// scope, and each scoped pod with each of `address_classes`, both ways.
    pub fn scope_pairs(&self, model: &Model, address_classes: usize) -> usize {
        let n = model.cluster.pods.len();
        let k = (0..n).filter(|i| self.in_scope(model, *i)).count();
        let out = n - k;
        n * n.saturating_sub(1) - out * out.saturating_sub(1) + 2 * k * address_classes
    }
}

fn protocol_index(protocol: Protocol) -> usize {
    match protocol {
        Protocol::TCP => 0,
        Protocol::UDP => 1,
        Protocol::SCTP => 2,
    }
}

/// The ends a selector names, keeping addresses as the spec wrote them; `None` (no
/// selector) is every pod. `None` when the selector names nothing.
fn ends(model: &Model, selector: &Option<Selector>) -> Option<Vec<End>> {
    let found = match selector {
        None => (0..model.cluster.pods.len()).map(End::Pod).collect(),
        Some(Selector::Id(id)) => vec![End::Pod(model.cluster.pod_index(id)?)],
        Some(Selector::Ip(ip)) => vec![End::Address(*ip)],
        Some(Selector::Outside) => vec![End::Outside],
        Some(Selector::Match { namespace, pod }) => select_pods(model, namespace, pod)
            .into_iter()
            .map(End::Pod)
            .collect(),
    };
    (!found.is_empty()).then_some(found)
}

/// kube-system's DNS pods: labelled `k8s-app: kube-dns`, or exposing port 53 on TCP or
/// UDP; never on the host network (no policy can select or match those).
pub fn dns_pods(model: &Model) -> Vec<usize> {
    let (key, value) = DNS_LABEL;
    model
        .cluster
        .pods
        .iter()
        .enumerate()
        .filter(|(_, p)| p.namespace == DNS_NAMESPACE && !p.host_network)
        .filter(|(_, p)| {
            p.labels.get(key).is_some_and(|v| v == value)
                || p.ports.iter().any(|c| {
                    c.port == DNS_PORT && matches!(c.protocol, Protocol::TCP | Protocol::UDP)
                })
        })
        .map(|(i, _)| i)
        .collect()
}

/// Every pair with an end in the scope that is allowed more than `intent` permits, with
/// exactly the extra ports, sorted by (source, destination). Pods are compared with the
/// engine's connectivity; outside addresses per address class.
pub fn beyond(model: &Model, engine: &Engine, intent: &Intent) -> Vec<Beyond> {
    let pods = model.cluster.pods.len();
    let scoped: Vec<bool> = (0..pods).map(|i| intent.in_scope(model, i)).collect();
    let connectivity = engine.connectivity();
    let classes = engine.address_classes();
    let label = |e: Endpoint| match e {
        Endpoint::Pod(_) => render::endpoint_name(model, &e),
        Endpoint::Address(ip) => classes
            .iter()
            .find(|c| c.representative == ip)
            .map_or_else(|| ip.to_string(), |c| format!("[{}]", c.label)),
    };
    let mut out = Vec::new();
    let mut judge = |src: Endpoint, dst: Endpoint, allowed: AllowedPorts| {
        if allowed.is_empty() {
            return;
        }
        let extra = allowed.difference(&intent.permitted(model, src, dst));
        if !extra.is_empty() {
            out.push(Beyond {
                src,
                dst,
                from: label(src),
                to: label(dst),
                allowed,
                extra,
            });
        }
    };
    for s in 0..pods {
        for c in &classes {
            if scoped[s] {
                let (src, dst) = (Endpoint::Pod(s), Endpoint::Address(c.representative));
                judge(src, dst, engine.allowed_ports(src, dst));
            }
        }
        for d in (0..pods).filter(|d| *d != s && (scoped[s] || scoped[*d])) {
            let allowed = connectivity.ports(s, d).cloned().unwrap_or_default();
            judge(Endpoint::Pod(s), Endpoint::Pod(d), allowed);
        }
    }
    for c in &classes {
        for d in (0..pods).filter(|d| scoped[*d]) {
            let (src, dst) = (Endpoint::Address(c.representative), Endpoint::Pod(d));
            judge(src, dst, engine.allowed_ports(src, dst));
        }
    }
    out.sort_by_key(|b| (b.src, b.dst));
    out
}
