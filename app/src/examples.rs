//! The examples menu. Texts are embedded at build time so the page works offline and from
//! any static host; the first entry is what a new visitor sees.

/// One entry of the examples menu: a Policies text and a Cluster text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Example {
    /// Stable key (used in the menu's option values).
    pub key: &'static str,
    /// What the menu shows.
    pub title: &'static str,
    /// Policies editor text.
    pub policies: &'static str,
    /// Cluster editor text.
    pub cluster: &'static str,
}

/// Every example, in menu order. The first loads by default.
pub const EXAMPLES: &[Example] = &[
    Example {
        key: "allow-frontend",
        title: "Allow only frontend",
        policies: include_str!("../examples/allow-same-namespace.yaml"),
        cluster: include_str!("../examples/allow-frontend-cluster.yaml"),
    },
    Example {
        key: "internal-egress",
        title: "Internal egress + DNS",
        policies: include_str!("../examples/internal-policy.yaml"),
        cluster: include_str!("../examples/internal-cluster.yaml"),
    },
    Example {
        key: "default-deny",
        title: "Default deny",
        policies: include_str!("../examples/default-deny-policy.yaml"),
        cluster: include_str!("../examples/default-deny-cluster.yaml"),
    },
    Example {
        key: "cross-namespace",
        title: "Cross-namespace (AND vs OR)",
        policies: include_str!("../examples/cross-namespace-policy.yaml"),
        cluster: include_str!("../examples/cross-namespace-cluster.yaml"),
    },
    Example {
        key: "ipblock",
        title: "ipBlock with except",
        policies: include_str!("../examples/ipblock-policy.yaml"),
        cluster: include_str!("../examples/ipblock-cluster.yaml"),
    },
    Example {
        key: "named-port",
        title: "Named ports",
        policies: include_str!("../examples/named-port-policy.yaml"),
        cluster: include_str!("../examples/named-port-cluster.yaml"),
    },
    Example {
        key: "services",
        title: "Services (port vs targetPort)",
        policies: include_str!("../examples/service-policy.yaml"),
        cluster: include_str!("../examples/service-cluster.yaml"),
    },
    Example {
        key: "tiers-anp",
        title: "AdminNetworkPolicy (before NetworkPolicies)",
        policies: include_str!("../examples/tiers-anp.yaml"),
        cluster: include_str!("../examples/tiers-cluster.yaml"),
    },
    Example {
        key: "tiers-banp",
        title: "BaselineAdminNetworkPolicy (a default)",
        policies: include_str!("../examples/tiers-banp.yaml"),
        cluster: include_str!("../examples/tiers-cluster.yaml"),
    },
    Example {
        key: "tiers-cnp",
        title: "ClusterNetworkPolicy: Admin and Baseline",
        policies: include_str!("../examples/tiers-cnp.yaml"),
        cluster: include_str!("../examples/tiers-cluster.yaml"),
    },
    Example {
        key: "tiers-pass",
        title: "Admin Pass to a NetworkPolicy",
        policies: include_str!("../examples/tiers-pass.yaml"),
        cluster: include_str!("../examples/tiers-cluster.yaml"),
    },
];

/// The example with `key`.
pub fn find(key: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|e| e.key == key)
}

/// The example whose texts are exactly `policies` and `cluster`; `None` once anything was
/// edited (the menu then says "Custom").
pub fn matching(policies: &str, cluster: &str) -> Option<&'static Example> {
    EXAMPLES
        .iter()
        .find(|e| e.policies == policies && e.cluster == cluster)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_texts_non_empty() {
        let mut keys: Vec<&str> = EXAMPLES.iter().map(|e| e.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), EXAMPLES.len());
        for e in EXAMPLES {
            assert!(
                !e.policies.trim().is_empty() && !e.cluster.trim().is_empty(),
                "{}",
                e.key
            );
            assert_eq!(find(e.key), Some(e));
        }
        assert_eq!(EXAMPLES[0].title, "Allow only frontend");
    }

    #[test]
    fn an_edited_example_matches_none() {
        let e = &EXAMPLES[1];
        assert_eq!(matching(e.policies, e.cluster), Some(e));
        assert_eq!(matching(&format!("{}\n", e.policies), e.cluster), None);
        assert_eq!(matching(e.policies, EXAMPLES[0].cluster), None);
    }
}
