//! Freezing: policies that allow exactly what is allowed now.
//!
//! Per workload and direction, from the engine's connectivity: when no pod of the
//! workload is isolated that way, one rule admitting everything (`{}`), as today;
//! otherwise one rule per distinct port set, listing the workloads (whole namespaces
//! where all their workloads get the same ports), host-network pods and outside address
//! classes (written back as ipBlocks) that get exactly those ports. The rule for a pair
//! is the pair's allowed ports on both sides, so egress ∩ ingress is today's answer
//! again; a workload whose pods are not all treated alike gets the union, which the
//! check reports.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::check::{self, WRITTEN};
use super::groups::Groups;
use super::plan::{self, Party, PolicyPlan, Ports, RulePlan, Subject};
use super::synthesize::{host_block, port_name};
use super::{Freeze, Written};
use crate::cidr::Cidr;
use crate::engine::{Connectivity, Engine};
use crate::model::{Endpoint, IpBlock, Model, PolicyType};
use crate::ports::AllowedPorts;

/// Everything freezing works with.
struct Freezer<'a> {
    model: &'a Model,
    engine: Engine,
    connectivity: Connectivity,
    groups: Groups,
    /// Per group: its pods per engine class (class, pods of the group in it).
    classes: Vec<BTreeMap<usize, Vec<usize>>>,
    /// Listed outside address classes: representative and the block(s) standing for it.
    addresses: Vec<(IpAddr, Vec<(u128, u128)>)>,
    /// Host-network pods (only their addresses can be matched).
    host: Vec<usize>,
}

/// See [`super::freeze`].
pub(crate) fn freeze(model: &Model) -> Freeze {
    let freezer = Freezer::new(model);
    let plan = freezer.plan();
    let documents = plan.documents(model, &freezer.groups);
    let text = plan::join(
        &documents,
        &[
            "NetworkPolicies that allow exactly what the policies in force allow now,".to_string(),
            "one per workload, written by netpol. Apply with: kubectl apply -f <this file>"
                .to_string(),
        ],
    );
    let replaced = crate::build(vec![
        check::as_parsed(model, false),
        crate::parse(WRITTEN, &text),
    ]);
    let alongside = check::with_written(model, &text);
    let policies = replaced
        .policies
        .iter()
        .map(|p| Written {
            namespace: p.namespace.clone(),
            name: p.name.clone(),
        })
        .collect();
    let diagnostics = replaced
        .diagnostics
        .iter()
        .filter(|d| d.span.is_some_and(|s| s.file == WRITTEN))
        .cloned()
        .collect();
    Freeze {
        changes: check::changes(model, &replaced),
        changes_alongside: check::changes(model, &alongside),
        text,
        policies,
        diagnostics,
    }
}

impl<'a> Freezer<'a> {
    fn new(model: &'a Model) -> Freezer<'a> {
        let engine = Engine::new(model);
        let connectivity = engine.connectivity();
        let groups = Groups::new(model);
        let classes = groups
            .list
            .iter()
            .map(|g| {
                let mut by_class: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
                for &p in &g.pods {
                    if let Some(c) = connectivity.pod_class(p) {
                        by_class.entry(c).or_default().push(p);
                    }
                }
                by_class
            })
            .collect();
        let addresses = engine
            .address_classes()
            .into_iter()
            .map(|c| (c.representative, engine.address_ranges(c.representative)))
            .collect();
        let host = (0..model.cluster.pods.len())
            .filter(|p| model.cluster.pods[*p].host_network)
            .collect();
        Freezer {
            model,
            engine,
            connectivity,
            groups,
            classes,
            addresses,
            host,
        }
    }

    fn plan(&self) -> plan::Plan {
        let mut plan = plan::Plan::default();
        for ns in self.groups.namespace_pods.keys() {
            let deny = PolicyPlan {
                header: vec![format!(
                    "Default deny: pods in {ns} accept and open only what other policies allow."
                )],
                isolates: [PolicyType::Ingress, PolicyType::Egress].into(),
                ..PolicyPlan::default()
            };
            plan.policies
                .insert((ns.clone(), Subject::DefaultDeny), deny);
        }
        for (g, group) in self.groups.list.iter().enumerate() {
            let policy = PolicyPlan {
                header: vec![format!(
                    "{}: accepts and opens exactly what it does with the policies in force.",
                    group.name
                )],
                ingress: self.rules(g, PolicyType::Ingress),
                egress: self.rules(g, PolicyType::Egress),
                isolates: BTreeSet::new(),
            };
            plan.policies
                .insert((group.namespace.clone(), Subject::Group(g)), policy);
        }
        plan
    }

    /// The rules of group `g` in `direction`: `{}` when none of its pods is isolated
    /// that way, else one rule per distinct port set.
    fn rules(&self, g: usize, direction: PolicyType) -> Vec<RulePlan> {
        let pods = &self.groups.list[g].pods;
        let isolated = pods.iter().any(|p| {
            let pod = &self.model.cluster.pods[*p];
            self.model
                .policies
                .iter()
                .any(|policy| policy.affects(direction) && crate::in_scope(policy, pod))
        });
        if !isolated {
            return vec![RulePlan {
                peers: Vec::new(),
                ports: Ports::All,
                notes: vec!["not isolated today: everything".to_string()],
            }];
        }
        let mut by_ports: BTreeMap<AllowedPorts, Vec<Party>> = BTreeMap::new();
        for (peer, ports) in self.peers(g, direction) {
            if !ports.is_empty() {
                by_ports.entry(ports).or_default().push(peer);
            }
        }
        by_ports
            .into_iter()
            .map(|(ports, parties)| {
                // A port by the name the destination gives it, when the destination is
                // one workload that names it the same way on every pod.
                let destination = match (direction, parties.as_slice()) {
                    (PolicyType::Ingress, _) => Some(g),
                    (PolicyType::Egress, [Party::Group(d)]) => Some(*d),
                    _ => None,
                };
                let name = |protocol, n| {
                    let d = destination?;
                    port_name(self.model, &self.groups.list[d].pods, protocol, n)
                };
                RulePlan {
                    peers: self.compress(parties),
                    ports: Ports::from_allowed(&ports, name),
                    notes: Vec::new(),
                }
            })
            .collect()
    }

    /// Every peer of group `g` in `direction` with the ports allowed today: other
    /// groups, host-network pods (by address) and outside address classes.
    fn peers(&self, g: usize, direction: PolicyType) -> Vec<(Party, AllowedPorts)> {
        let ingress = direction == PolicyType::Ingress;
        let mut out = Vec::new();
        for (other, _) in self.groups.list.iter().enumerate() {
            let ports = if ingress {
                self.between(other, g)
            } else {
                self.between(g, other)
            };
            out.push((Party::Group(other), ports));
        }
        let mine = &self.groups.list[g].pods;
        for &h in &self.host {
            let ports = union(mine.iter().filter_map(|p| {
                let (s, d) = if ingress { (h, *p) } else { (*p, h) };
                self.connectivity.ports(s, d).cloned()
            }));
            for ip in &self.model.cluster.pods[h].ips {
                out.push((Party::Block(host_block(*ip)), ports.clone()));
            }
        }
        for (rep, ranges) in &self.addresses {
            let ports = union(self.classes[g].values().map(|members| {
                let (pod, address) = (Endpoint::Pod(members[0]), Endpoint::Address(*rep));
                if ingress {
                    self.engine.allowed_ports(address, pod)
                } else {
                    self.engine.allowed_ports(pod, address)
                }
            }));
            out.push((Party::Block(block_of(rep.is_ipv6(), ranges)), ports));
        }
        out
    }

    /// What group `s` may open to group `d`, over every pair of distinct pods.
    fn between(&self, s: usize, d: usize) -> AllowedPorts {
        let mut out = AllowedPorts::default();
        for (cs, s_pods) in &self.classes[s] {
            for (cd, d_pods) in &self.classes[d] {
                let only_self = cs == cd && s_pods.len() == 1 && s_pods == d_pods;
                if only_self {
                    continue;
                }
                if let Some(ports) = self.connectivity.class_pair_ports(*cs, *cd) {
                    out = out.union(ports);
                }
            }
        }
        out
    }

    /// Parties with the same ports, shortened: every workload of a namespace becomes the
    /// namespace, every namespace every pod, address classes of a family one block.
    fn compress(&self, parties: Vec<Party>) -> Vec<Party> {
        let mut groups: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
        let mut ranges: [Vec<(u128, u128)>; 2] = Default::default();
        let mut out = Vec::new();
        for party in parties {
            match party {
                Party::Group(g) => {
                    groups
                        .entry(self.groups.list[g].namespace.as_str())
                        .or_default()
                        .insert(g);
                }
                Party::Block(b) if b.except.is_empty() && !self.is_host(&b) => {
                    ranges[usize::from(b.cidr.is_v6())].push(b.cidr.range());
                }
                other => out.push(other),
            }
        }
        let whole: Vec<&str> = groups
            .iter()
            .filter(|(ns, members)| self.namespace_groups(ns) == **members)
            .map(|(ns, _)| *ns)
            .collect();
        if whole.len() == self.groups.namespace_pods.len() && !whole.is_empty() {
            out.push(Party::AllPods);
        } else {
            for (ns, members) in groups {
                if whole.contains(&ns) {
                    out.push(Party::Namespace(ns.to_string()));
                } else {
                    out.extend(members.into_iter().map(Party::Group));
                }
            }
        }
        for (v6, list) in ranges.into_iter().enumerate() {
            if !list.is_empty() {
                out.push(Party::Block(block_of(v6 == 1, &list)));
            }
        }
        out
    }

    fn is_host(&self, block: &IpBlock) -> bool {
        self.host.iter().any(|h| {
            self.model.cluster.pods[*h]
                .ips
                .iter()
                .any(|ip| host_block(*ip) == *block)
        })
    }

    /// The workload groups of a namespace (not ad-hoc ones).
    fn namespace_groups(&self, ns: &str) -> BTreeSet<usize> {
        self.groups
            .list
            .iter()
            .enumerate()
            .filter(|(_, g)| g.namespace == ns)
            .map(|(i, _)| i)
            .collect()
    }
}

fn union(sets: impl Iterator<Item = AllowedPorts>) -> AllowedPorts {
    sets.fold(AllowedPorts::default(), |all, s| all.union(&s))
}

/// The smallest CIDR covering `ranges`, minus what they leave out of it.
pub(crate) fn block_of(v6: bool, ranges: &[(u128, u128)]) -> IpBlock {
    let width: u32 = if v6 { 128 } else { 32 };
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    let lo = sorted.first().map_or(0, |r| r.0);
    let hi = sorted.iter().map(|r| r.1).max().unwrap_or(0);
    let differing = 128 - (lo ^ hi).leading_zeros(); // bits that differ, counted from the right
    let prefix = width.saturating_sub(differing);
    let cidr = cidr(v6, lo, prefix);
    let (first, last) = cidr.range();
    let mut except = Vec::new();
    let mut next = first;
    let mut covered_to_end = false;
    for (a, z) in sorted {
        if a > next {
            except.extend(cidrs(v6, next, a - 1));
        }
        if z >= last {
            covered_to_end = true;
            break;
        }
        next = next.max(z + 1);
    }
    if !covered_to_end && next <= last {
        except.extend(cidrs(v6, next, last));
    }
    IpBlock { cidr, except }
}

fn cidr(v6: bool, bits: u128, prefix: u32) -> Cidr {
    let width: u32 = if v6 { 128 } else { 32 };
    let host = width - prefix;
    let network = if host >= 128 { 0 } else { bits >> host << host };
    let addr: IpAddr = if v6 {
        std::net::Ipv6Addr::from(network).into()
    } else {
        std::net::Ipv4Addr::from(network as u32).into()
    };
    Cidr {
        addr,
        prefix: prefix as u8,
    }
}

/// The fewest CIDRs covering exactly `first..=last` (`first <= last`).
fn cidrs(v6: bool, first: u128, last: u128) -> Vec<Cidr> {
    let width: u32 = if v6 { 128 } else { 32 };
    let mut out = Vec::new();
    let mut at = first;
    loop {
        // The largest block of 2^k addresses aligned at `at` that ends by `last`.
        let mut k = if at == 0 {
            width
        } else {
            at.trailing_zeros().min(width)
        };
        while k > 0 {
            let fits = if k == 128 {
                last == u128::MAX
            } else {
                last - at >= (1u128 << k) - 1
            };
            if fits {
                break;
            }
            k -= 1;
        }
        out.push(cidr(v6, at, width - k));
        if k == 128 {
            return out;
        }
        let end = at + ((1u128 << k) - 1);
        if end >= last {
            return out;
        }
        at = end + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: &str) -> u128 {
        u32::from(a.parse::<std::net::Ipv4Addr>().unwrap()) as u128
    }

    fn text(block: &IpBlock) -> String {
        let except: Vec<String> = block.except.iter().map(|e| e.to_string()).collect();
        format!("{} except [{}]", block.cidr, except.join(", "))
    }

    #[test]
    fn classes_become_blocks_with_holes() {
        let table: &[(&[(&str, &str)], &str)] = &[
            (
                &[("10.0.0.0", "10.0.255.255"), ("10.2.0.0", "10.255.255.255")],
                "10.0.0.0/8 except [10.1.0.0/16]",
            ),
            (
                &[
                    ("0.0.0.0", "9.255.255.255"),
                    ("11.0.0.0", "255.255.255.255"),
                ],
                "0.0.0.0/0 except [10.0.0.0/8]",
            ),
            (&[("0.0.0.0", "255.255.255.255")], "0.0.0.0/0 except []"),
            (&[("8.8.8.8", "8.8.8.8")], "8.8.8.8/32 except []"),
            (
                &[("10.0.0.1", "10.0.0.2")],
                "10.0.0.0/30 except [10.0.0.0/32, 10.0.0.3/32]",
            ),
        ];
        for (ranges, want) in table {
            let ranges: Vec<(u128, u128)> = ranges.iter().map(|(a, b)| (v4(a), v4(b))).collect();
            assert_eq!(text(&block_of(false, &ranges)), *want);
        }
        let all_v6 = block_of(true, &[(0, u128::MAX)]);
        assert_eq!(text(&all_v6), "::/0 except []");
    }
}
