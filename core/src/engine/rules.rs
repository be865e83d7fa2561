//! Step 1, rules: every namespace, selector, ipBlock and port name the policies mention is
//! interned once, so the later steps compare small integers instead of selectors.

use super::hash::{intern, HashMap};
use super::ports::proto_index;
use crate::cidr::Cidr;
use crate::cluster_policy::{
    ClusterNetworkPolicy, ClusterPeerKind, ClusterPolicyPort, ClusterPolicyRule, ClusterPort,
    ClusterSubject, RuleAction, Tier,
};
use crate::model::{
    IpBlock, LabelSelector, Model, NetworkPolicyPeer, NetworkPolicyPort, PolicyType, PortRef,
    Protocol,
};
use crate::tiers::node_addresses;

/// Which pods a selector peer's namespace part covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum NamespacePart {
    /// The policy's own namespace (by index; `None` if nobody declared it and no pod is in it).
    Own(Option<usize>),
    /// A namespace selector (by id; [`EVERY_NAMESPACE`] for the empty selector).
    Selector(usize),
}

/// The empty `namespaceSelector`: every namespace (but never host-network pods).
pub(super) const EVERY_NAMESPACE: usize = usize::MAX;

/// A `from`/`to` entry, with selectors interned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum PeerKey {
    Block(usize),
    /// `pod`: pod selector id, `None` for "every pod".
    Selector {
        namespace: NamespacePart,
        pod: Option<usize>,
    },
}

/// A rule with its peers interned.
pub(super) struct Rule<'m> {
    /// `None`: the rule has no peers, so it admits every peer.
    pub(super) peers: Option<Vec<PeerKey>>,
    pub(super) ports: &'m [NetworkPolicyPort],
}

/// A policy with its namespace and selectors interned.
pub(super) struct Policy<'m> {
    pub(super) namespace: Option<usize>,
    /// `None`: the empty selector (every pod of the namespace).
    pub(super) pod_selector: Option<usize>,
    /// `[ingress, egress]`; `None` when the policy does not isolate that way.
    pub(super) rules: [Option<Vec<Rule<'m>>>; 2],
}

/// A cluster policy rule with its peers interned (Admin and Baseline tiers).
pub(super) struct TierRule<'m> {
    /// What it does with what it matches: a fail-closed Deny or Pass is a Deny.
    pub(super) action: RuleAction,
    /// `None`: every peer (a rule failing closed); `Some`: the keys, any of which matches
    /// (empty: nothing, e.g. `domainNames` only, or `nodes` selecting no node).
    pub(super) peers: Option<Vec<PeerKey>>,
    /// `None`: every port and protocol.
    pub(super) ports: Option<&'m [ClusterPolicyPort]>,
}

/// A cluster policy with its subject and rules interned.
pub(super) struct TierPolicy<'m> {
    pub(super) tier: Tier,
    /// The subject, as a selector peer (a namespace selector and an optional pod selector).
    pub(super) subject: PeerKey,
    /// `[ingress, egress]`, in precedence order; empty when the policy has no rules that
    /// way (it does not affect that direction). A fail-closed Accept, which matches
    /// nothing, is left out.
    pub(super) rules: [Vec<TierRule<'m>>; 2],
}

/// Everything the policies mention, interned.
pub(super) struct Interned<'m> {
    /// Namespace names, declared first (sorted), then undeclared ones pods use.
    pub(super) namespaces: Vec<&'m str>,
    pub(super) namespace_index: HashMap<&'m str, usize>,
    /// Interned non-empty selectors (pod and namespace selectors share the table).
    pub(super) selectors: Vec<&'m LabelSelector>,
    selector_index: HashMap<&'m LabelSelector, usize>,
    pub(super) blocks: Vec<IpBlock>,
    block_index: HashMap<&'m IpBlock, usize>,
    /// Blocks made from cluster policies' `networks` and `nodes`.
    owned_blocks: HashMap<IpBlock, usize>,
    /// (name, protocol) of the named ports the rules use.
    pub(super) names: Vec<(&'m str, Protocol)>,
    pub(super) name_index: HashMap<(&'m str, Protocol), usize>,
    /// The policies, in model order.
    pub(super) policies: Vec<Policy<'m>>,
    /// The cluster policies, in model (evaluation) order.
    pub(super) tiers: Vec<TierPolicy<'m>>,
    /// Per protocol: the numeric ranges the rules mention, sorted, without duplicates.
    pub(super) numeric_ranges: [Vec<(u16, u16)>; 3],
}

impl<'m> Interned<'m> {
    pub(super) fn new(model: &'m Model) -> Interned<'m> {
        let mut interned = Interned::namespaces(model);
        for policy in &model.policies {
            let namespace = interned
                .namespace_index
                .get(policy.namespace.as_str())
                .copied();
            let pod_selector = interned.selector(&policy.pod_selector);
            let mut rules: [Option<Vec<Rule>>; 2] = [None, None];
            for (slot, direction) in [(0, PolicyType::Ingress), (1, PolicyType::Egress)] {
                if policy.affects(direction) {
                    let list = policy.rules(direction);
                    rules[slot] = Some(list.iter().map(|r| interned.rule(namespace, r)).collect());
                }
            }
            interned.policies.push(Policy {
                namespace,
                pod_selector,
                rules,
            });
        }
        for policy in &model.cluster_policies {
            let tier = interned.tier_policy(model, policy);
            interned.tiers.push(tier);
        }
        for ranges in &mut interned.numeric_ranges {
            ranges.retain(|(a, b)| a <= b);
            ranges.sort_unstable();
            ranges.dedup();
        }
        interned
    }

    /// Namespaces: declared ones first, then the ones only pods mention.
    fn namespaces(model: &'m Model) -> Interned<'m> {
        let mut namespaces: Vec<&str> = Vec::new();
        let mut namespace_index = HashMap::default();
        for name in model
            .cluster
            .namespaces
            .iter()
            .map(|n| n.name.as_str())
            .chain(model.cluster.pods.iter().map(|p| p.namespace.as_str()))
        {
            intern(&mut namespace_index, &mut namespaces, name, || name);
        }
        Interned {
            namespaces,
            namespace_index,
            selectors: Vec::new(),
            selector_index: HashMap::default(),
            blocks: Vec::new(),
            block_index: HashMap::default(),
            owned_blocks: HashMap::default(),
            names: Vec::new(),
            name_index: HashMap::default(),
            policies: Vec::with_capacity(model.policies.len()),
            tiers: Vec::with_capacity(model.cluster_policies.len()),
            numeric_ranges: Default::default(),
        }
    }

    fn rule(
        &mut self,
        namespace: Option<usize>,
        rule: &'m crate::model::NetworkPolicyRule,
    ) -> Rule<'m> {
        let peers = if rule.peers.is_empty() {
            None
        } else {
            Some(rule.peers.iter().map(|p| self.peer(namespace, p)).collect())
        };
        for port in &rule.ports {
            match &port.port {
                Some(PortRef::Number(n)) => self.numeric_ranges[proto_index(port.protocol)]
                    .push((*n, port.end_port.unwrap_or(*n))),
                Some(PortRef::Name(name)) => {
                    self.name(name, port.protocol);
                }
                None => {}
            }
        }
        Rule {
            peers,
            ports: &rule.ports,
        }
    }

    /// The id of a non-empty selector; `None` for the empty one (it selects everything).
    fn selector(&mut self, selector: &'m LabelSelector) -> Option<usize> {
        if selector.is_empty() {
            return None;
        }
        Some(intern(
            &mut self.selector_index,
            &mut self.selectors,
            selector,
            || selector,
        ))
    }

    fn peer(&mut self, policy_namespace: Option<usize>, peer: &'m NetworkPolicyPeer) -> PeerKey {
        if let Some(block) = &peer.ip_block {
            let id = intern(&mut self.block_index, &mut self.blocks, block, || {
                block.clone()
            });
            return PeerKey::Block(id);
        }
        let namespace = match &peer.namespace_selector {
            None => NamespacePart::Own(policy_namespace),
            Some(selector) => {
                NamespacePart::Selector(self.selector(selector).unwrap_or(EVERY_NAMESPACE))
            }
        };
        let pod = peer.pod_selector.as_ref().and_then(|s| self.selector(s));
        PeerKey::Selector { namespace, pod }
    }

    fn tier_policy(
        &mut self,
        model: &'m Model,
        policy: &'m ClusterNetworkPolicy,
    ) -> TierPolicy<'m> {
        let subject = match &policy.subject {
            ClusterSubject::Namespaces(namespaces) => self.selector_peer(namespaces, None),
            ClusterSubject::Pods {
                namespace_selector,
                pod_selector,
            } => self.selector_peer(namespace_selector, Some(pod_selector)),
        };
        let mut rules: [Vec<TierRule>; 2] = Default::default();
        for (slot, direction) in [(0, PolicyType::Ingress), (1, PolicyType::Egress)] {
            rules[slot] = policy
                .rules(direction)
                .iter()
                .filter_map(|r| self.tier_rule(model, r, direction))
                .collect();
        }
        TierPolicy {
            tier: policy.tier,
            subject,
            rules,
        }
    }

    /// A cluster policy rule; `None` for a fail-closed Accept, which matches nothing. A
    /// fail-closed Deny or Pass denies everything it could have matched: every peer of an
    /// egress rule, every pod (not on the host network) of an ingress rule.
    fn tier_rule(
        &mut self,
        model: &'m Model,
        rule: &'m ClusterPolicyRule,
        direction: PolicyType,
    ) -> Option<TierRule<'m>> {
        if rule.fail_closed {
            let peers = match direction {
                PolicyType::Egress => None,
                PolicyType::Ingress => Some(vec![PeerKey::Selector {
                    namespace: NamespacePart::Selector(EVERY_NAMESPACE),
                    pod: None,
                }]),
            };
            return match rule.action {
                RuleAction::Accept => None,
                RuleAction::Deny | RuleAction::Pass => Some(TierRule {
                    action: RuleAction::Deny,
                    peers,
                    ports: None,
                }),
            };
        }
        let mut keys = Vec::new();
        for peer in &rule.peers {
            self.tier_peer(model, &peer.kind, &mut keys);
        }
        for entry in rule.ports.iter().flatten() {
            match &entry.port {
                ClusterPort::Number { protocol, port } => {
                    self.numeric_ranges[proto_index(*protocol)].push((*port, *port))
                }
                ClusterPort::Range {
                    protocol,
                    start,
                    end,
                } => self.numeric_ranges[proto_index(*protocol)].push((*start, *end)),
                ClusterPort::Named(name) => {
                    for protocol in Protocol::ALL {
                        self.name(name, protocol);
                    }
                }
            }
        }
        Some(TierRule {
            action: rule.action,
            peers: Some(keys),
            ports: rule.ports.as_deref(),
        })
    }

    /// The keys of one cluster policy peer: selector peers, or address blocks (`networks`
    /// as written, `nodes` as the selected nodes' addresses); `domainNames` has none.
    fn tier_peer(&mut self, model: &'m Model, kind: &'m ClusterPeerKind, keys: &mut Vec<PeerKey>) {
        match kind {
            ClusterPeerKind::Namespaces(namespaces) => {
                keys.push(self.selector_peer(namespaces, None))
            }
            ClusterPeerKind::Pods {
                namespace_selector,
                pod_selector,
            } => keys.push(self.selector_peer(namespace_selector, Some(pod_selector))),
            ClusterPeerKind::Networks(cidrs) => {
                for cidr in cidrs {
                    keys.push(self.block(IpBlock {
                        cidr: cidr.clone(),
                        except: Vec::new(),
                    }));
                }
            }
            ClusterPeerKind::Nodes(selector) => {
                for ip in node_addresses(&model.cluster, selector) {
                    let prefix = if ip.is_ipv4() { 32 } else { 128 };
                    if let Some(cidr) = Cidr::new(ip, prefix) {
                        keys.push(self.block(IpBlock {
                            cidr,
                            except: Vec::new(),
                        }));
                    }
                }
            }
            ClusterPeerKind::DomainNames(_) => {}
        }
    }

    /// A selector peer of a cluster policy: always with a namespace selector.
    fn selector_peer(
        &mut self,
        namespaces: &'m LabelSelector,
        pods: Option<&'m LabelSelector>,
    ) -> PeerKey {
        let namespace =
            NamespacePart::Selector(self.selector(namespaces).unwrap_or(EVERY_NAMESPACE));
        let pod = pods.and_then(|s| self.selector(s));
        PeerKey::Selector { namespace, pod }
    }

    /// An address block made here (not borrowed from the model), interned by value.
    fn block(&mut self, block: IpBlock) -> PeerKey {
        if let Some(id) = self.owned_blocks.get(&block) {
            return PeerKey::Block(*id);
        }
        let id = self.blocks.len();
        self.owned_blocks.insert(block.clone(), id);
        self.blocks.push(block);
        PeerKey::Block(id)
    }

    fn name(&mut self, name: &'m str, protocol: Protocol) -> usize {
        intern(
            &mut self.name_index,
            &mut self.names,
            (name, protocol),
            || (name, protocol),
        )
    }
}
