//! What the cluster admins' tiers leave to NetworkPolicies for one pair.
//!
//! An Admin-tier Deny (or Accept) is decided before any NetworkPolicy is looked at, so no
//! edit of NetworkPolicy text can open (or close) what it decides; a Baseline decision only
//! holds where no NetworkPolicy isolates. Rather than re-deriving the tier chain here, the
//! limits are measured with the engine on two variants of the cluster: every pod isolated
//! by NetworkPolicies that allow everything (the most NetworkPolicies can ever open: the
//! *ceiling*) and every pod isolated by NetworkPolicies that allow nothing (what stays open
//! whatever they say: the *floor*).

use std::collections::BTreeSet;

use super::check::as_parsed;
use crate::diagnostic::FileId;
use crate::engine::Engine;
use crate::model::{Endpoint, Model};
use crate::ports::AllowedPorts;

/// The text of the variants: not a file of the user's.
const VARIANT: FileId = FileId(u32::MAX - 1);

/// What NetworkPolicies can do for `src → dst`: at most open `ceiling`, never close
/// `floor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// The most any NetworkPolicies could allow.
    pub ceiling: AllowedPorts,
    /// What stays allowed whatever NetworkPolicies say.
    pub floor: AllowedPorts,
}

/// The limits for `src → dst`, or `None` when no cluster policy is in force (then
/// NetworkPolicies decide everything: ceiling all, floor nothing). The floor of a pair
/// with a host-network pod or an address at one end also holds what no policy of any tier
/// selects; callers that blame the tiers for the floor leave such pairs out.
pub(crate) fn limits(model: &Model, src: Endpoint, dst: Endpoint) -> Option<Limits> {
    if model.cluster_policies.is_empty() {
        return None;
    }
    let with = |allow: bool| {
        let variant = crate::build(vec![
            as_parsed(model, false),
            crate::parse(VARIANT, &isolating_text(model, allow)),
        ]);
        Engine::new(&variant).allowed_ports(src, dst)
    };
    Some(Limits {
        ceiling: with(true),
        floor: with(false),
    })
}

/// One NetworkPolicy per namespace selecting every pod in both directions, allowing
/// everything (`allow`) or nothing.
fn isolating_text(model: &Model, allow: bool) -> String {
    let namespaces: BTreeSet<&str> = model
        .cluster
        .namespaces
        .iter()
        .map(|n| n.name.as_str())
        .chain(model.cluster.pods.iter().map(|p| p.namespace.as_str()))
        .collect();
    let rules = if allow {
        "  ingress: [{}]\n  egress: [{}]\n"
    } else {
        ""
    };
    namespaces
        .iter()
        .map(|ns| {
            format!(
                "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: netpol-limit, namespace: {ns}}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n{rules}"
            )
        })
        .collect()
}
