//! Which tier decided an edge: the Admin tier, the NetworkPolicies, the Baseline tier or
//! Kubernetes' default — read from the core's tier chains, never decided here. The graph
//! styles an edge by it (`data-decided-by`), so an edge an Admin rule denies looks different
//! from one a NetworkPolicy's isolation denies.
//!
//! The attribution rule is the core's (`Verdict::deciding_tier`,
//! `PairVerdict::deciding_tier`): a denied edge is the tier's that denied it, an allowed one
//! the earliest tier's that allowed it on either side. This module only names the answer
//! and takes the shortcut below when there are no cluster policies.

use netpol_core::{DecidingTier, Endpoint, PairVerdict, PortRef, Protocol, Verdict};

use crate::analysis::Analysis;
use crate::connectivity::{self, Graph};
use crate::probe::Probe;
use crate::words;

/// The tier an edge is attributed to, in evaluation order.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum DecidedBy {
    /// A rule of an Admin-tier cluster policy.
    Admin,
    /// The NetworkPolicies isolating an end.
    NetworkPolicy,
    /// A rule of a Baseline-tier cluster policy.
    Baseline,
    /// Nothing decided: Kubernetes' default, allow.
    Default,
}

impl DecidedBy {
    /// `admin`, `networkpolicy`, `baseline`, `default`: the `data-decided-by` value and the
    /// CSS class suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            DecidedBy::Admin => "admin",
            DecidedBy::NetworkPolicy => "networkpolicy",
            DecidedBy::Baseline => "baseline",
            DecidedBy::Default => "default",
        }
    }

    fn of(tier: Option<DecidingTier>) -> DecidedBy {
        match tier {
            Some(DecidingTier::Admin) => DecidedBy::Admin,
            Some(DecidingTier::NetworkPolicy) => DecidedBy::NetworkPolicy,
            Some(DecidingTier::Baseline) => DecidedBy::Baseline,
            None => DecidedBy::Default,
        }
    }
}

/// One port: the core's attribution of the flow ([`Verdict::deciding_tier`]).
pub fn one_port(verdict: &Verdict) -> DecidedBy {
    DecidedBy::of(verdict.deciding_tier())
}

/// Every port: the core's attribution of the pair ([`PairVerdict::deciding_tier`]).
pub fn any_port(verdict: &PairVerdict) -> DecidedBy {
    DecidedBy::of(verdict.deciding_tier())
}

/// The probe as [`for_pair`] takes it: `None` for "any port".
pub fn probe_parts(probe: &Probe) -> Option<(Protocol, &PortRef)> {
    match probe {
        Probe::Any => None,
        Probe::Port(protocol, port) => Some((*protocol, port)),
    }
}

/// The tier of the edge between two endpoints for the current probe; `None` when a named
/// port does not exist at the destination (nothing to decide).
pub fn for_pair(
    analysis: &Analysis,
    probe: Option<(Protocol, &PortRef)>,
    src: Endpoint,
    dst: Endpoint,
) -> Option<DecidedBy> {
    match probe {
        None => Some(any_port(&netpol_core::evaluate_pair(
            &analysis.model,
            src,
            dst,
        ))),
        Some((protocol, port)) => {
            let flow = words::flow_for(analysis, protocol, port, src, dst).ok()?;
            Some(one_port(&netpol_core::evaluate(&analysis.model, &flow)))
        }
    }
}

/// The tier of every edge of `graph` (in `graph.edges` order, at most `limit` of them) for
/// the current probe. Without cluster policies every chain is the NetworkPolicy tier then
/// the default, so the tier follows from whether a policy decided the pair at all (the
/// core's `Connectivity::open`, carried by the edge): the NetworkPolicies' unless the edge
/// is open, then the default's.
pub fn for_graph(
    analysis: &Analysis,
    graph: &Graph,
    probe: Option<(Protocol, &PortRef)>,
    limit: usize,
) -> Vec<Option<DecidedBy>> {
    let tiered = !analysis.model.cluster_policies.is_empty();
    graph
        .edges
        .iter()
        .take(limit)
        .map(|edge| {
            let (from, to) = (graph.nodes.get(edge.from)?, graph.nodes.get(edge.to)?);
            if !tiered {
                return Some(if edge.allowed && edge.open {
                    DecidedBy::Default
                } else {
                    DecidedBy::NetworkPolicy
                });
            }
            let src = connectivity::representative(analysis, from)?;
            let dst = connectivity::representative(analysis, to)?;
            for_pair(analysis, probe, src, dst)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLUSTER: &str = "namespace prod env=prod\nnamespace dev env=dev\npod prod/web app=web ip=10.0.0.1\npod prod/db app=db ip=10.0.0.2\npod dev/tool app=tool ip=10.1.0.1\n";
    const POLICIES: &str = "apiVersion: policy.networking.k8s.io/v1beta1\nkind: ClusterNetworkPolicy\nmetadata: {name: guard}\nspec:\n  tier: Admin\n  priority: 10\n  subject: {namespaces: {matchLabels: {env: prod}}}\n  ingress:\n  - {name: delegate-dev, action: Pass, from: [{namespaces: {matchLabels: {env: dev}}}]}\n  - {name: no-db, action: Deny, from: [{namespaces: {}}], protocols: [{tcp: {destinationPort: {number: 5432}}}]}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: prod}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {env: dev}}}], ports: [{port: 80}]}]\n---\napiVersion: policy.networking.k8s.io/v1beta1\nkind: ClusterNetworkPolicy\nmetadata: {name: base}\nspec:\n  tier: Baseline\n  priority: 10\n  subject: {namespaces: {matchLabels: {env: dev}}}\n  ingress:\n  - {name: no-prod, action: Deny, from: [{namespaces: {matchLabels: {env: prod}}}]}\n";

    fn pod(a: &Analysis, id: &str) -> Endpoint {
        Endpoint::Pod(a.model.cluster.pod_index(id).expect(id))
    }

    fn at(a: &Analysis, port: u16, from: &str, to: &str) -> Option<DecidedBy> {
        let port = PortRef::Number(port);
        for_pair(a, Some((Protocol::TCP, &port)), pod(a, from), pod(a, to))
    }

    #[test]
    fn each_tier_is_named_by_the_chain_that_decided() {
        let a = Analysis::new(POLICIES, CLUSTER);
        assert_eq!(at(&a, 5432, "prod/web", "prod/db"), Some(DecidedBy::Admin));
        // dev is passed on to prod/web's NetworkPolicy: allowed on 80, denied on 81.
        assert_eq!(
            at(&a, 80, "dev/tool", "prod/web"),
            Some(DecidedBy::NetworkPolicy)
        );
        assert_eq!(
            at(&a, 81, "dev/tool", "prod/web"),
            Some(DecidedBy::NetworkPolicy)
        );
        assert_eq!(
            at(&a, 80, "prod/web", "dev/tool"),
            Some(DecidedBy::Baseline)
        );
        assert_eq!(at(&a, 80, "dev/tool", "prod/db"), Some(DecidedBy::Default));
        let any = |from, to| for_pair(&a, None, pod(&a, from), pod(&a, to));
        assert_eq!(any("prod/web", "dev/tool"), Some(DecidedBy::Baseline));
        assert_eq!(any("dev/tool", "prod/web"), Some(DecidedBy::NetworkPolicy));
        // Allowed on every port but 5432, which the Admin rule denies: allowed by default.
        assert_eq!(any("prod/web", "prod/db"), Some(DecidedBy::Default));
        assert_eq!(DecidedBy::Admin.as_str(), "admin");
    }
}
