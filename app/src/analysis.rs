//! One analysis of the two editors' texts: the core's model and engine plus the per-endpoint
//! facts every view reads (isolation, selecting policies, the engine's port sets). Built once per (debounced) edit
//! and shared through a `Memo`, so the graph, matrix and panels never recompute it.

use netpol_core::{in_scope, AddressClass, Engine, FileId, Model, PolicyType, Severity};

use crate::connectivity::Reach;

/// The editor a [`FileId`] belongs to: the Policies editor is `FileId(0)`.
pub const POLICIES: FileId = FileId(0);
/// The Cluster editor is `FileId(1)`.
pub const CLUSTER: FileId = FileId(1);

/// Which directions some policy isolates an endpoint in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isolation {
    /// No policy selects it: everything in and out is allowed.
    #[default]
    None,
    /// Selected for ingress only.
    Ingress,
    /// Selected for egress only.
    Egress,
    /// Selected in both directions.
    Both,
}

impl Isolation {
    /// From the two flags.
    pub fn from_flags(ingress: bool, egress: bool) -> Isolation {
        match (ingress, egress) {
            (false, false) => Isolation::None,
            (true, false) => Isolation::Ingress,
            (false, true) => Isolation::Egress,
            (true, true) => Isolation::Both,
        }
    }

    /// CSS modifier and legend key.
    pub fn class(self) -> &'static str {
        match self {
            Isolation::None => "none",
            Isolation::Ingress => "ingress",
            Isolation::Egress => "egress",
            Isolation::Both => "both",
        }
    }

    /// Words for the legend and the node panel.
    pub fn words(self) -> &'static str {
        match self {
            Isolation::None => "not isolated",
            Isolation::Ingress => "ingress-isolated",
            Isolation::Egress => "egress-isolated",
            Isolation::Both => "isolated both ways",
        }
    }
}

/// The result of analysing both editors.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// The merged model (cluster + policies + every diagnostic).
    pub model: Model,
    /// The core's bitset engine over `model`.
    pub engine: Engine,
    /// Outside-address classes the policies distinguish.
    pub classes: Vec<AddressClass>,
    /// Per pod index: how it is isolated.
    pub isolation: Vec<Isolation>,
    /// Per pod index: indices of the policies whose `podSelector` selects it (any direction).
    pub selecting: Vec<Vec<usize>>,
    /// The engine's exact port sets per pair of classes, which every view reads.
    pub reach: Reach,
    /// True when this is an older valid result kept on screen because the current text
    /// has errors that dropped objects (mid-edit).
    pub stale: bool,
}

impl Analysis {
    /// Parses both texts and computes everything the views need.
    pub fn new(policies: &str, cluster: &str) -> Analysis {
        let model = netpol_core::load(&[(POLICIES, policies), (CLUSTER, cluster)]);
        Analysis::from_model(model)
    }

    /// Everything the views need for an already built model.
    pub fn from_model(model: Model) -> Analysis {
        let engine = Engine::new(&model);
        let classes = engine.address_classes();
        let mut isolation = Vec::with_capacity(model.cluster.pods.len());
        let mut selecting = Vec::with_capacity(model.cluster.pods.len());
        for pod in &model.cluster.pods {
            let mut ingress = false;
            let mut egress = false;
            let mut by = Vec::new();
            for (index, policy) in model.policies.iter().enumerate() {
                // Which pods a policy applies to is the core's scope rule, the same one the
                // evaluator, the engine and lint use.
                if in_scope(policy, pod) {
                    by.push(index);
                    ingress |= policy.affects(PolicyType::Ingress);
                    egress |= policy.affects(PolicyType::Egress);
                }
            }
            isolation.push(Isolation::from_flags(ingress, egress));
            selecting.push(by);
        }
        let reach = Reach::new(&model, &engine, &classes, &isolation);
        Analysis {
            model,
            engine,
            classes,
            isolation,
            selecting,
            reach,
            stale: false,
        }
    }

    /// Number of error diagnostics.
    pub fn errors(&self) -> usize {
        self.model
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Whether `next` should be replaced by `self` marked stale: `next` has errors and lost
    /// objects that `self` had, which is what a half-typed line does to YAML.
    pub fn keeps_over(&self, next: &Analysis) -> bool {
        next.errors() > 0
            && (next.model.cluster.pods.len() < self.model.cluster.pods.len()
                || next.model.policies.len() < self.model.policies.len())
    }

    /// `self`'s results with `next`'s diagnostics, marked stale.
    pub fn stale_with(&self, next: &Analysis) -> Analysis {
        let mut kept = self.clone();
        kept.model.diagnostics = next.model.diagnostics.clone();
        kept.stale = true;
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolation_flags() {
        assert_eq!(Isolation::from_flags(true, true), Isolation::Both);
        assert_eq!(Isolation::from_flags(false, true).class(), "egress");
    }

    #[test]
    fn empty_input_is_empty_and_not_stale() {
        let a = Analysis::new("", "");
        assert!(a.model.cluster.pods.is_empty());
        assert!(!a.stale);
        assert!(!a.keeps_over(&Analysis::new("", "")));
    }
}
