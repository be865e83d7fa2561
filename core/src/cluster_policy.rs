//! Cluster-scoped policies of the Admin and Baseline tiers, in the API's own words:
//! `AdminNetworkPolicy` and `BaselineAdminNetworkPolicy` (`policy.networking.k8s.io/v1alpha1`)
//! and `ClusterNetworkPolicy` (`policy.networking.k8s.io/v1alpha2` and `v1beta1`, which are
//! the same schema).
//!
//! The three kinds are one type here because they are one idea: a policy of a tier, with a
//! priority, a subject and ordered rules whose action (accept, deny, pass) is final for the
//! traffic it matches. [`ClusterPolicyKind`] keeps which object it was written as, so the
//! explanation can use the author's words (`Allow` in an AdminNetworkPolicy, `Accept` in a
//! ClusterNetworkPolicy). Defaulting (`protocol: TCP` of a port, a missing
//! `namespaceSelector` of a ClusterNetworkPolicy's `pods`) happens once, in `syntax`.

use serde::Serialize;

use crate::cidr::Cidr;
use crate::diagnostic::Span;
use crate::model::{LabelSelector, PolicyType, Protocol};

/// Which object a cluster policy was written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ClusterPolicyKind {
    /// `policy.networking.k8s.io/v1alpha1` `AdminNetworkPolicy`: the Admin tier.
    AdminNetworkPolicy,
    /// `policy.networking.k8s.io/v1alpha1` `BaselineAdminNetworkPolicy`: the Baseline tier, a
    /// singleton named `default`, without priority.
    BaselineAdminNetworkPolicy,
    /// `policy.networking.k8s.io/v1alpha2` or `v1beta1` `ClusterNetworkPolicy`: either tier.
    ClusterNetworkPolicy,
}

impl ClusterPolicyKind {
    /// The kind as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterPolicyKind::AdminNetworkPolicy => "AdminNetworkPolicy",
            ClusterPolicyKind::BaselineAdminNetworkPolicy => "BaselineAdminNetworkPolicy",
            ClusterPolicyKind::ClusterNetworkPolicy => "ClusterNetworkPolicy",
        }
    }

    /// The short name `kubectl` knows (`anp`, `banp`, `cnp`).
    pub fn short(self) -> &'static str {
        match self {
            ClusterPolicyKind::AdminNetworkPolicy => "anp",
            ClusterPolicyKind::BaselineAdminNetworkPolicy => "banp",
            ClusterPolicyKind::ClusterNetworkPolicy => "cnp",
        }
    }
}

/// The tier a cluster policy belongs to. NetworkPolicies are the tier between the two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Tier {
    /// Evaluated before NetworkPolicies; its Accept and Deny are final.
    Admin,
    /// Evaluated for pods no NetworkPolicy selects in that direction.
    Baseline,
}

impl Tier {
    /// `"Admin"` or `"Baseline"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Admin => "Admin",
            Tier::Baseline => "Baseline",
        }
    }
}

/// What a matching rule does with the traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum RuleAction {
    /// `Allow` (AdminNetworkPolicy, BaselineAdminNetworkPolicy) or `Accept`
    /// (ClusterNetworkPolicy): the traffic is allowed, no later rule or tier is consulted.
    Accept,
    /// `Deny`: the traffic is denied, no later rule or tier is consulted.
    Deny,
    /// `Pass`: the rest of the tier is skipped; the next tier decides.
    Pass,
}

impl RuleAction {
    /// The action as `kind` spells it: `Allow` for the v1alpha1 kinds, `Accept` for
    /// ClusterNetworkPolicy.
    pub fn word(self, kind: ClusterPolicyKind) -> &'static str {
        match (self, kind) {
            (RuleAction::Accept, ClusterPolicyKind::ClusterNetworkPolicy) => "Accept",
            (RuleAction::Accept, _) => "Allow",
            (RuleAction::Deny, _) => "Deny",
            (RuleAction::Pass, _) => "Pass",
        }
    }
}

/// `spec.subject`: the pods a cluster policy applies to (never host-network pods).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ClusterSubject {
    /// `namespaces`: every pod of the namespaces the selector matches.
    Namespaces(LabelSelector),
    /// `pods`: the pods `pod_selector` matches in the namespaces `namespace_selector` matches.
    Pods {
        /// `namespaceSelector`.
        namespace_selector: LabelSelector,
        /// `podSelector`.
        pod_selector: LabelSelector,
    },
}

/// A cluster policy's `from`/`to` entry: exactly one field, as the API requires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ClusterPeerKind {
    /// `namespaces`: every pod of the selected namespaces (never host-network pods).
    Namespaces(LabelSelector),
    /// `pods`: the selected pods of the selected namespaces (never host-network pods).
    Pods {
        /// `namespaceSelector`.
        namespace_selector: LabelSelector,
        /// `podSelector`.
        pod_selector: LabelSelector,
    },
    /// `nodes` (egress only): the `InternalIP`/`ExternalIP` addresses of the selected
    /// nodes; host-network pods share them.
    Nodes(LabelSelector),
    /// `networks` (egress only): CIDRs; they match pod and node IPs too.
    Networks(Vec<Cidr>),
    /// `domainNames` (egress only): cannot be decided from manifests, see
    /// [`crate::TierChain::unknown`].
    DomainNames(Vec<String>),
}

/// One `from`/`to` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterPolicyPeer {
    /// What it selects.
    pub kind: ClusterPeerKind,
    /// Written in the v0.1.x shape (`namespaces: {namespaceSelector: ...}`,
    /// `pods: {namespaces: {namespaceSelector: ...}, podSelector: ...}`) and read as that
    /// version meant; lint `stale-peer-shape` says what current CRDs make of it.
    pub legacy_shape: bool,
    /// The entry's text.
    pub span: Span,
}

/// What a port entry matches: AdminNetworkPolicy `portNumber`/`portRange`/`namedPort`,
/// ClusterNetworkPolicy `protocols[].tcp|udp|sctp.destinationPort` and
/// `destinationNamedPort`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ClusterPort {
    /// One port of one protocol.
    Number {
        /// Protocol (AdminNetworkPolicy defaults it to TCP).
        protocol: Protocol,
        /// The port, 1-65535.
        port: u16,
    },
    /// An inclusive range of one protocol (empty when `start > end`).
    Range {
        /// Protocol (AdminNetworkPolicy defaults it to TCP).
        protocol: Protocol,
        /// First port.
        start: u16,
        /// Last port.
        end: u16,
    },
    /// A container port name of the destination pod, of whatever protocol the container
    /// port has ([`crate::Pod::named_ports`] for each protocol); never an address's.
    Named(String),
}

/// One `ports`/`protocols` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterPolicyPort {
    /// What it matches.
    pub port: ClusterPort,
    /// The entry's text.
    pub span: Span,
}

/// One ingress or egress rule. Rules of a policy are evaluated in order; the first one that
/// matches decides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterPolicyRule {
    /// `name`, if given.
    pub name: Option<String>,
    /// `action`.
    pub action: RuleAction,
    /// `from` (ingress) or `to` (egress): the rule matches a peer any entry matches.
    pub peers: Vec<ClusterPolicyPeer>,
    /// `ports` / `protocols`; `None` when absent: every port of every protocol (ICMP too).
    pub ports: Option<Vec<ClusterPolicyPort>>,
    /// Part of the rule could not be read (an error says which): it is evaluated the way
    /// the API asks implementations to fail closed, an Accept rule matching nothing and a
    /// Deny or Pass rule denying everything that reaches it on every port — every peer of
    /// an egress rule, and every pod an ingress rule could match (ingress peers are pods,
    /// never host-network ones).
    pub fail_closed: bool,
    /// The rule's text (the list item).
    pub span: Span,
}

impl ClusterPolicyRule {
    /// The action the rule takes when it matches: a fail-closed Pass denies.
    pub fn effective_action(&self) -> RuleAction {
        match (self.fail_closed, self.action) {
            (true, RuleAction::Pass) => RuleAction::Deny,
            (_, action) => action,
        }
    }
}

/// An AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterNetworkPolicy {
    /// Which object it was written as.
    pub kind: ClusterPolicyKind,
    /// `apiVersion` as written.
    pub api_version: String,
    /// `metadata.name` (cluster-scoped: no namespace).
    pub name: String,
    /// The tier: Admin for AdminNetworkPolicy, Baseline for BaselineAdminNetworkPolicy,
    /// `spec.tier` for ClusterNetworkPolicy.
    pub tier: Tier,
    /// `spec.priority` (0 = first); `None` for a BaselineAdminNetworkPolicy.
    pub priority: Option<u32>,
    /// `spec.subject`.
    pub subject: ClusterSubject,
    /// `spec.ingress`, in precedence order.
    pub ingress: Vec<ClusterPolicyRule>,
    /// `spec.egress`, in precedence order.
    pub egress: Vec<ClusterPolicyRule>,
    /// The whole document's text.
    pub span: Span,
}

impl ClusterNetworkPolicy {
    /// The rules of `direction`. A policy without rules in a direction does not affect it.
    pub fn rules(&self, direction: PolicyType) -> &[ClusterPolicyRule] {
        match direction {
            PolicyType::Ingress => &self.ingress,
            PolicyType::Egress => &self.egress,
        }
    }

    /// The evaluation order within a model: tier, priority (none last), name, kind.
    pub(crate) fn order_key(&self) -> (Tier, u32, &str, ClusterPolicyKind) {
        (
            self.tier,
            self.priority.unwrap_or(u32::MAX),
            self.name.as_str(),
            self.kind,
        )
    }
}
