//! What the authoring tools want to write, before it is YAML: per policy (a namespace and
//! the pods it selects), rules of peers and ports with the reasons they exist.
//!
//! Synthesis and freezing fill a [`Plan`]; [`Plan::documents`] turns it into model
//! policies with names and comments, rendered by [`super::yaml`].

use std::collections::{BTreeMap, BTreeSet};

use super::groups::Groups;
use super::yaml::{self, Notes};
use crate::diagnostic::Span;
use crate::model::{
    IpBlock, LabelSelector, LabelSelectorRequirement, Labels, Model, NetworkPolicy,
    NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicyRule, Operator, PolicyType, PortRef,
    Protocol, NAMESPACE_NAME_LABEL,
};
use crate::ports::AllowedPorts;

/// One peer of a rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Party {
    /// A workload: index into [`Groups::list`].
    Group(usize),
    /// Every pod of a namespace.
    Namespace(String),
    /// Every pod of every namespace.
    AllPods,
    /// Addresses.
    Block(IpBlock),
}

/// The pods a policy selects.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Subject {
    /// Every pod of the namespace, as isolation only (`default-deny`).
    DefaultDeny,
    /// DNS: egress for every pod of the namespace (`None`), or ingress to kube-system's
    /// DNS pods (their group).
    Dns(Option<usize>),
    /// Every pod of the namespace, with rules.
    Namespace,
    /// A workload.
    Group(usize),
}

/// One `ports` entry: a protocol alone (every port), a number or name, or a range.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct PortItem {
    pub protocol: Protocol,
    pub port: Option<PortRef>,
    pub end: Option<u16>,
}

/// A rule's ports: every port (no `ports` key), or entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ports {
    All,
    Some(BTreeSet<PortItem>),
}

impl Ports {
    /// Adds `other`'s ports; every port absorbs the rest.
    pub fn merge(&mut self, other: &Ports) {
        match (&mut *self, other) {
            (Ports::All, _) => {}
            (_, Ports::All) => *self = Ports::All,
            (Ports::Some(a), Ports::Some(b)) => a.extend(b.iter().cloned()),
        }
    }

    /// Exactly `allowed`, as entries: a protocol alone when it allows every port, single
    /// numbers (named when `name` says the destination calls them so) and ranges.
    pub fn from_allowed(
        allowed: &AllowedPorts,
        name: impl Fn(Protocol, u16) -> Option<String>,
    ) -> Ports {
        if *allowed == AllowedPorts::all() {
            return Ports::All;
        }
        let mut items = BTreeSet::new();
        for protocol in Protocol::ALL {
            let set = allowed.get(protocol);
            if *set == crate::ports::PortSet::all() {
                items.insert(PortItem {
                    protocol,
                    port: None,
                    end: None,
                });
                continue;
            }
            for &(a, b) in &set.ranges {
                let port = match name(protocol, a) {
                    Some(n) if a == b => PortRef::Name(n),
                    _ => PortRef::Number(a),
                };
                let end = (a != b).then_some(b);
                items.insert(PortItem {
                    protocol,
                    port: Some(port),
                    end,
                });
            }
        }
        Ports::Some(items)
    }
}

/// A rule to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RulePlan {
    /// Peers (empty: every peer).
    pub peers: Vec<Party>,
    /// Ports.
    pub ports: Ports,
    /// Comment lines above the rule.
    pub notes: Vec<String>,
}

/// A policy to write.
#[derive(Clone, Debug, Default)]
pub(crate) struct PolicyPlan {
    /// Comment lines above the document.
    pub header: Vec<String>,
    /// Ingress rules, in order.
    pub ingress: Vec<RulePlan>,
    /// Egress rules, in order.
    pub egress: Vec<RulePlan>,
    /// `policyTypes` beyond those with rules (a default deny lists both without rules).
    pub isolates: BTreeSet<PolicyType>,
}

/// Policies to write, keyed by namespace and subject (which also orders the output).
#[derive(Clone, Debug, Default)]
pub(crate) struct Plan {
    pub policies: BTreeMap<(String, Subject), PolicyPlan>,
}

/// One written policy's text.
#[derive(Clone, Debug)]
pub(crate) struct Document {
    pub text: String,
}

impl Plan {
    /// The policies as model objects with unique names (none taken by `model`'s
    /// policies in the same namespace) and their texts, in output order.
    pub fn documents(&self, model: &Model, groups: &Groups) -> Vec<Document> {
        let mut taken: BTreeSet<(String, String)> = model
            .policies
            .iter()
            .map(|p| (p.namespace.clone(), p.name.clone()))
            .collect();
        let mut out = Vec::new();
        for ((namespace, subject), plan) in &self.policies {
            if plan.ingress.is_empty() && plan.egress.is_empty() && plan.isolates.is_empty() {
                continue;
            }
            let name = unique(&mut taken, namespace, &base_name(subject, groups));
            let policy = model_policy(groups, namespace, subject, plan, name);
            let notes = Notes {
                header: plan.header.clone(),
                ingress: plan.ingress.iter().map(|r| r.notes.clone()).collect(),
                egress: plan.egress.iter().map(|r| r.notes.clone()).collect(),
            };
            let text = yaml::policy(&policy, &notes);
            out.push(Document { text });
        }
        out
    }
}

/// The whole output: documents separated by `---`.
pub(crate) fn join(documents: &[Document], preamble: &[String]) -> String {
    let mut out = String::new();
    for line in preamble {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    for d in documents {
        out.push_str("---\n");
        out.push_str(&d.text);
    }
    out
}

fn base_name(subject: &Subject, groups: &Groups) -> String {
    match subject {
        Subject::DefaultDeny => "default-deny".to_string(),
        Subject::Namespace => "all-pods".to_string(),
        Subject::Group(g) => groups.list[*g].name.clone(),
        Subject::Dns(Some(_)) => "allow-dns-ingress".to_string(),
        Subject::Dns(None) => "allow-dns".to_string(),
    }
}

fn unique(taken: &mut BTreeSet<(String, String)>, namespace: &str, base: &str) -> String {
    let mut name = base.to_string();
    let mut n = 2;
    while taken.contains(&(namespace.to_string(), name.clone())) {
        name = format!("{base}-{n}");
        n += 1;
    }
    taken.insert((namespace.to_string(), name.clone()));
    name
}

fn model_policy(
    groups: &Groups,
    namespace: &str,
    subject: &Subject,
    plan: &PolicyPlan,
    name: String,
) -> NetworkPolicy {
    let pod_selector = match subject {
        Subject::Group(g) | Subject::Dns(Some(g)) => labels_selector(&groups.list[*g].selector),
        _ => LabelSelector::default(),
    };
    let mut types = plan.isolates.clone();
    if !plan.ingress.is_empty() {
        types.insert(PolicyType::Ingress);
    }
    if !plan.egress.is_empty() {
        types.insert(PolicyType::Egress);
    }
    let rules = |list: &[RulePlan]| -> Vec<NetworkPolicyRule> {
        list.iter()
            .map(|r| NetworkPolicyRule {
                peers: peers(groups, namespace, &r.peers),
                ports: model_ports(&r.ports),
                span: Span::default(),
            })
            .collect()
    };
    NetworkPolicy {
        name,
        namespace: namespace.to_string(),
        pod_selector,
        policy_types: types.into_iter().collect(),
        ingress: rules(&plan.ingress),
        egress: rules(&plan.egress),
        span: Span::default(),
    }
}

pub(crate) fn labels_selector(labels: &Labels) -> LabelSelector {
    LabelSelector {
        match_labels: labels.clone(),
        match_expressions: Vec::new(),
    }
}

/// `kubernetes.io/metadata.name: <namespace>`.
pub(crate) fn namespace_named(namespace: &str) -> LabelSelector {
    let mut labels = Labels::new();
    labels.insert(NAMESPACE_NAME_LABEL.to_string(), namespace.to_string());
    labels_selector(&labels)
}

fn peer(pod: Option<LabelSelector>, namespace: Option<LabelSelector>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: pod,
        namespace_selector: namespace,
        ip_block: None,
        span: Span::default(),
    }
}

/// The peers for `parties` as seen from a policy in `namespace`: a workload of the same
/// namespace by its pod selector alone; of another namespace by both selectors in one
/// peer (ANDed); whole namespaces by name, several in one `In` expression; workloads of
/// one namespace told apart by one label key, in one `In` expression.
pub(crate) fn peers(groups: &Groups, namespace: &str, parties: &[Party]) -> Vec<NetworkPolicyPeer> {
    let mut out = Vec::new();
    let mut whole: Vec<&str> = Vec::new();
    // (namespace, key) -> values, for workloads selected by one label.
    let mut by_key: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for party in parties {
        match party {
            Party::Group(g) => {
                let group = &groups.list[*g];
                match group.selector.iter().next() {
                    Some((k, v)) if group.selector.len() == 1 => by_key
                        .entry((group.namespace.as_str(), k.as_str()))
                        .or_default()
                        .push(v.as_str()),
                    _ => out.push(pods_peer(
                        namespace,
                        &group.namespace,
                        labels_selector(&group.selector),
                    )),
                }
            }
            Party::Namespace(n) if n == namespace => {
                out.push(peer(Some(LabelSelector::default()), None))
            }
            Party::Namespace(n) => whole.push(n),
            Party::AllPods => out.push(peer(None, Some(LabelSelector::default()))),
            Party::Block(block) => out.push(NetworkPolicyPeer {
                ip_block: Some(block.clone()),
                ..peer(None, None)
            }),
        }
    }
    for ((ns, key), mut values) in by_key {
        values.sort_unstable();
        values.dedup();
        let selector = if values.len() == 1 {
            let mut labels = Labels::new();
            labels.insert(key.to_string(), values[0].to_string());
            labels_selector(&labels)
        } else {
            in_selector(key, &values)
        };
        out.push(pods_peer(namespace, ns, selector));
    }
    match whole.len() {
        0 => {}
        1 => out.push(peer(None, Some(namespace_named(whole[0])))),
        _ => out.push(peer(None, Some(in_selector(NAMESPACE_NAME_LABEL, &whole)))),
    }
    sort_peers(&mut out);
    out
}

/// Selector peers first (own namespace, then others), address blocks last.
fn sort_peers(peers: &mut [NetworkPolicyPeer]) {
    peers.sort_by(|a, b| {
        let key = |p: &NetworkPolicyPeer| {
            (
                p.ip_block.is_some(),
                p.namespace_selector.is_some(),
                format!(
                    "{:?}{:?}{:?}",
                    p.namespace_selector, p.pod_selector, p.ip_block
                ),
            )
        };
        key(a).cmp(&key(b))
    });
}

fn in_selector(key: &str, values: &[&str]) -> LabelSelector {
    LabelSelector {
        match_labels: Labels::new(),
        match_expressions: vec![LabelSelectorRequirement {
            key: key.to_string(),
            operator: Operator::In,
            values: values.iter().map(|v| v.to_string()).collect(),
        }],
    }
}

/// Pods of `pods_namespace` selected by `selector`, from a policy in `namespace`.
fn pods_peer(namespace: &str, pods_namespace: &str, selector: LabelSelector) -> NetworkPolicyPeer {
    if pods_namespace == namespace {
        peer(Some(selector), None)
    } else {
        peer(Some(selector), Some(namespace_named(pods_namespace)))
    }
}

pub(crate) fn model_ports(ports: &Ports) -> Vec<NetworkPolicyPort> {
    match ports {
        Ports::All => Vec::new(),
        Ports::Some(items) => items
            .iter()
            .map(|i| NetworkPolicyPort {
                protocol: i.protocol,
                port: i.port.clone(),
                end_port: i.end,
                span: Span::default(),
            })
            .collect(),
    }
}
