//! Why a flow was decided the way it was — plain data, rendered elsewhere.
//!
//! Verdict words are fixed: *not isolated*, *allowed* (by which rules), *denied* (isolated
//! by which policies, which rules missed and why).

use serde::Serialize;

use crate::chain::TierChain;
use crate::cidr::Cidr;
use crate::diagnostic::Span;
use crate::model::{PolicyType, Protocol};

/// A policy, by index into [`crate::Model::policies`], with its identity for display.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PolicyRef {
    /// Index into `Model::policies`.
    pub index: usize,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// The policy document's text.
    pub span: Span,
}

/// One rule of a policy: `spec.ingress[index]` or `spec.egress[index]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RuleRef {
    /// The policy.
    pub policy: PolicyRef,
    /// Which list the rule is in.
    pub direction: PolicyType,
    /// 0-based index in that list.
    pub index: usize,
    /// The rule's text (its line is `span.line`).
    pub span: Span,
}

/// Why one peer (`from`/`to` entry) did not match the other end of the flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum PeerMiss {
    /// A selector peer (pod and/or namespace selector) cannot match an address outside the cluster.
    SelectorVsAddress,
    /// No `namespaceSelector` and the other pod is not in the policy's namespace.
    NotInPolicyNamespace {
        /// The policy's namespace.
        policy_namespace: String,
        /// The pod's namespace.
        pod_namespace: String,
    },
    /// The `namespaceSelector` does not match the other pod's namespace labels.
    NamespaceSelector {
        /// The pod's namespace.
        namespace: String,
    },
    /// The `podSelector` does not match the other pod's labels.
    PodSelector,
    /// The address (or every IP of the pod) is outside the ipBlock's `cidr`.
    OutsideCidr {
        /// The block.
        cidr: Cidr,
    },
    /// The address is inside `cidr` but inside this `except`.
    Excepted {
        /// The exception that removed it.
        except: Cidr,
    },
    /// An ipBlock peer, and the pod has no known IP.
    NoIp,
    /// A selector peer, and the other pod is on the host network: selectors never match
    /// host-network pods (their traffic is the node's; only ipBlocks can match it).
    HostNetwork,
}

/// Why one rule did not admit the flow: the "near miss" a user needs to see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum MissReason {
    /// A peer matched but no `ports` entry matched the port/protocol.
    Port {
        /// The port that was asked for.
        port: u16,
        /// Its protocol.
        protocol: Protocol,
    },
    /// A `ports` entry names a port the destination pod does not expose with that protocol
    /// (and no other entry matched).
    NamedPortNotOnPod {
        /// The name in the policy.
        name: String,
    },
    /// The port matched (or the rule has no `ports`) but no peer matched; one reason per peer,
    /// in source order.
    Peers(Vec<PeerMiss>),
    /// Neither a peer nor a port matched.
    PeersAndPort {
        /// Per-peer reasons, in source order.
        peers: Vec<PeerMiss>,
        /// The port that was asked for.
        port: u16,
        /// Its protocol.
        protocol: Protocol,
    },
}

impl MissReason {
    /// Closeness for sorting near-misses: 1 = one part missed, 2 = both missed.
    pub fn distance(&self) -> u8 {
        match self {
            MissReason::PeersAndPort { .. } => 2,
            _ => 1,
        }
    }
}

/// A rule that did not admit the flow, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleMiss {
    /// The rule.
    pub rule: RuleRef,
    /// Why.
    pub reason: MissReason,
}

/// The decision for one direction (egress of the source, or ingress of the destination).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum DirectionVerdict {
    /// No policy selects this endpoint for this direction, or the endpoint is outside the cluster.
    NotIsolated,
    /// At least one rule of a selecting policy admits the flow; every such rule is listed.
    Allowed {
        /// Policies isolating the endpoint in this direction.
        isolated_by: Vec<PolicyRef>,
        /// Every rule admitting the flow, in policy order then rule order.
        by: Vec<RuleRef>,
    },
    /// Policies select the endpoint, and none of their rules admits the flow.
    Denied {
        /// Policies isolating the endpoint in this direction.
        isolated_by: Vec<PolicyRef>,
        /// Every rule of those policies with its miss reason, closest first. Empty when the
        /// policies have no rules in this direction (default deny).
        misses: Vec<RuleMiss>,
    },
}

impl DirectionVerdict {
    /// Whether this direction lets the flow through.
    pub fn is_allowed(&self) -> bool {
        !matches!(self, DirectionVerdict::Denied { .. })
    }

    /// Whether some policy isolates the endpoint in this direction.
    pub fn is_isolated(&self) -> bool {
        !matches!(self, DirectionVerdict::NotIsolated)
    }
}

/// The decision for one flow. A connection is allowed only when the source's egress and the
/// destination's ingress both allow it; `is_allowed` is derived, never stored.
///
/// Each side is decided through the tiers ([`TierChain`]): Admin cluster policies, then
/// NetworkPolicies, then Baseline cluster policies, then the default allow. `egress` and
/// `ingress` are the NetworkPolicy tier's verdict (what the NetworkPolicies say, whether
/// or not a cluster policy decided first); `egress_chain` and `ingress_chain` say which tier
/// decided. Without cluster policies the chain adds nothing: a side is allowed exactly when
/// its [`DirectionVerdict`] is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Egress of the source: the NetworkPolicy tier.
    pub egress: DirectionVerdict,
    /// Ingress of the destination: the NetworkPolicy tier.
    pub ingress: DirectionVerdict,
    /// Egress of the source through every tier.
    pub egress_chain: TierChain,
    /// Ingress of the destination through every tier.
    pub ingress_chain: TierChain,
}

impl Verdict {
    /// Both directions allow the flow.
    pub fn is_allowed(&self) -> bool {
        self.egress_allowed() && self.ingress_allowed()
    }

    /// Whether the source's egress lets the flow out, all tiers considered.
    pub fn egress_allowed(&self) -> bool {
        self.egress_chain.is_allowed()
    }

    /// Whether the destination's ingress lets the flow in, all tiers considered.
    pub fn ingress_allowed(&self) -> bool {
        self.ingress_chain.is_allowed()
    }

    /// The tier the flow is attributed to ([`crate::chain::connection_tier`]); `None` for
    /// Kubernetes' default.
    pub fn deciding_tier(&self) -> Option<crate::chain::DecidingTier> {
        crate::chain::connection_tier(&self.egress_chain, &self.ingress_chain)
    }
}
