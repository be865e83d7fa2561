//! One analysis of the two editors' texts: the core's model and engine plus the per-endpoint
//! facts every view reads (isolation, the engine's port sets). Built once per (debounced)
//! edit — in the worker, which keeps a parse cache per editor — and shared through a
//! `Memo`, so the graph, matrix and panels never recompute it.

use std::sync::OnceLock;

use netpol_core::{in_scope, AddressClass, Engine, FileId, Model, ParseCache, Severity};
use serde::{Deserialize, Serialize};

use crate::connectivity::Reach;

/// The editor a [`FileId`] belongs to: the Policies editor is `FileId(0)`.
pub const POLICIES: FileId = FileId(0);
/// The Cluster editor is `FileId(1)`.
pub const CLUSTER: FileId = FileId(1);

/// Which directions some policy isolates an endpoint in.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
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
///
/// The worker builds it from the texts; the page receives the model, the address classes
/// and the isolation of every pod ([`Analysis::from_parts`]) and never builds the engine
/// unless asked for it ([`Analysis::engine`]), so a 10,000-pod cluster costs the page no
/// more than copying its model.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// The merged model (cluster + policies + every diagnostic).
    pub model: Model,
    /// Outside-address classes the policies distinguish.
    pub classes: Vec<AddressClass>,
    /// Per pod index: how it is isolated (the engine's isolation groups).
    pub isolation: Vec<Isolation>,
    /// True when this is an older valid result kept on screen because the current text
    /// has errors that dropped objects (mid-edit).
    pub stale: bool,
    /// The engine and the port sets every view reads, built on first use.
    compiled: OnceLock<Compiled>,
}

/// The engine over the model and the class-pair port sets read from it.
#[derive(Clone, Debug)]
struct Compiled {
    engine: Engine,
    reach: Reach,
}

/// One parse cache per editor, so an edit re-parses only the YAML documents it touched.
#[derive(Debug, Default)]
pub struct Caches {
    policies: ParseCache,
    cluster: ParseCache,
}

impl Analysis {
    /// Parses both texts and computes everything the views need.
    pub fn new(policies: &str, cluster: &str) -> Analysis {
        let model = netpol_core::load(&[(POLICIES, policies), (CLUSTER, cluster)]);
        Analysis::from_model(model)
    }

    /// [`Analysis::new`] through `caches`: the same result, re-parsing only what changed.
    pub fn cached(caches: &mut Caches, policies: &str, cluster: &str) -> Analysis {
        Analysis::from_model(Analysis::cached_model(caches, policies, cluster))
    }

    /// The model of both texts through `caches` (see [`Analysis::cached`]).
    pub fn cached_model(caches: &mut Caches, policies: &str, cluster: &str) -> Model {
        netpol_core::build(vec![
            caches.policies.parse(POLICIES, policies),
            caches.cluster.parse(CLUSTER, cluster),
        ])
    }

    /// Everything the views need for an already built model.
    pub fn from_model(model: Model) -> Analysis {
        let engine = Engine::new(&model);
        let classes = engine.address_classes();
        let reach = Reach::new(&model, &engine);
        // The engine's isolation groups also count cluster-policy subjects (they have a
        // say in a pair, see `Connectivity::open`); a pod is *isolated* only by
        // NetworkPolicies, which is what the node's bars and the legend say.
        let isolation = if model.cluster_policies.is_empty() {
            reach.isolation(model.cluster.pods.len())
        } else {
            network_policy_isolation(&model)
        };
        let compiled = OnceLock::new();
        let _ = compiled.set(Compiled { engine, reach });
        Analysis {
            model,
            classes,
            isolation,
            stale: false,
            compiled,
        }
    }

    /// An analysis received from the worker: the engine is built only if something asks.
    pub fn from_parts(
        model: Model,
        classes: Vec<AddressClass>,
        isolation: Vec<Isolation>,
        stale: bool,
    ) -> Analysis {
        Analysis {
            model,
            classes,
            isolation,
            stale,
            compiled: OnceLock::new(),
        }
    }

    fn compiled(&self) -> &Compiled {
        self.compiled.get_or_init(|| {
            let engine = Engine::new(&self.model);
            let reach = Reach::new(&self.model, &engine);
            Compiled { engine, reach }
        })
    }

    /// The core's bitset engine over `model`.
    pub fn engine(&self) -> &Engine {
        &self.compiled().engine
    }

    /// The engine's exact port sets per pair of classes, which every view reads.
    pub fn reach(&self) -> &Reach {
        &self.compiled().reach
    }

    /// Indices of the policies whose `podSelector` selects pod `pod` (any direction), by
    /// the core's scope rule, the same one the evaluator, the engine and lint use.
    pub fn selecting(&self, pod: usize) -> Vec<usize> {
        let Some(pod) = self.model.cluster.pods.get(pod) else {
            return Vec::new();
        };
        self.model
            .policies
            .iter()
            .enumerate()
            .filter(|(_, policy)| in_scope(policy, pod))
            .map(|(index, _)| index)
            .collect()
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

/// Per pod, the directions in which NetworkPolicies isolate it (the core's scope rule).
fn network_policy_isolation(model: &Model) -> Vec<Isolation> {
    use netpol_core::PolicyType;
    model
        .cluster
        .pods
        .iter()
        .map(|pod| {
            let (mut ingress, mut egress) = (false, false);
            for policy in model.policies.iter().filter(|p| in_scope(p, pod)) {
                ingress |= policy.affects(PolicyType::Ingress);
                egress |= policy.affects(PolicyType::Egress);
            }
            Isolation::from_flags(ingress, egress)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolation_flags() {
        assert_eq!(Isolation::from_flags(true, true), Isolation::Both);
        assert_eq!(Isolation::from_flags(false, true).class(), "egress");
    }

    /// Isolation comes from the engine's isolation groups; it is what the scope rule says.
    #[test]
    fn isolation_is_the_scope_rule() {
        for ex in crate::examples::EXAMPLES {
            let a = Analysis::new(ex.policies, ex.cluster);
            for (i, pod) in a.model.cluster.pods.iter().enumerate() {
                let (mut ingress, mut egress) = (false, false);
                for policy in a.selecting(i).iter().map(|p| &a.model.policies[*p]) {
                    ingress |= policy.affects(netpol_core::PolicyType::Ingress);
                    egress |= policy.affects(netpol_core::PolicyType::Egress);
                }
                assert_eq!(
                    a.isolation[i],
                    Isolation::from_flags(ingress, egress),
                    "{}",
                    pod.id
                );
            }
        }
    }

    #[test]
    fn cached_analysis_equals_a_fresh_one() {
        let mut caches = Caches::default();
        for ex in crate::examples::EXAMPLES {
            let a = Analysis::cached(&mut caches, ex.policies, ex.cluster);
            assert_eq!(
                a.model,
                Analysis::new(ex.policies, ex.cluster).model,
                "{}",
                ex.key
            );
        }
    }

    #[test]
    fn empty_input_is_empty_and_not_stale() {
        let a = Analysis::new("", "");
        assert!(a.model.cluster.pods.is_empty());
        assert!(!a.stale);
        assert!(!a.keeps_over(&Analysis::new("", "")));
    }
}
