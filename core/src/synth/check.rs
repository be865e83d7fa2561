//! The self-checks: every written text is parsed back, merged with the cluster and the
//! policies in force, and judged with the engine — never trusted because of how it was
//! made.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::assert::intent::{self, Beyond, Intent};
use crate::assert::{self, Outcome, Spec, DEFAULT_DENY};
use crate::diagnostic::{Diagnostic, FileId, Severity};
use crate::engine::{Connectivity, Engine};
use crate::model::{Endpoint, Model, Parsed};
use crate::ports::AllowedPorts;
use crate::render;

/// The id under which written text is parsed back: spans of written policies point into
/// the written text with this id.
pub const WRITTEN: FileId = FileId(u32::MAX);

/// What the self-check of a synthesis found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The spec's outcomes on the cluster with the written policies (and those in force);
    /// with `default: deny`, the last one is [`DEFAULT_DENY`].
    pub outcomes: Vec<Outcome>,
    /// Every pair with an end in the spec's scope allowed beyond the required connections
    /// (DNS to kube-system's DNS pods tolerated), with exactly the extra ports. Not empty
    /// when it cannot be avoided: policies in force allow more, a selector cannot tell a
    /// workload from pods with the same labels, a port-less requirement opens the ports
    /// the destination declares, host-network pods are never isolated.
    pub beyond: Vec<Beyond>,
    /// Problems parsing the written text back (none, unless netpol has a bug).
    pub diagnostics: Vec<Diagnostic>,
}

impl Check {
    /// Whether every expectation of the spec holds and the text parsed cleanly. Pairs
    /// beyond the spec (and so the `default: deny` outcome) are reported, not failed:
    /// they are what could not be avoided.
    pub fn passed(&self) -> bool {
        self.outcomes
            .iter()
            .filter(|o| o.name != DEFAULT_DENY)
            .all(|o| o.passed)
            && !self
                .diagnostics
                .iter()
                .any(|d| d.severity <= Severity::Warning)
    }
}

/// `model` with the policies of `text` added (its cluster and its own policies kept).
pub(crate) fn with_written(model: &Model, text: &str) -> Model {
    crate::build(vec![as_parsed(model, true), crate::parse(WRITTEN, text)])
}

/// `model`'s cluster, with or without its NetworkPolicies (its cluster policies always), as
/// one parsed source.
pub(crate) fn as_parsed(model: &Model, policies: bool) -> Parsed {
    Parsed {
        policies: if policies {
            model.policies.clone()
        } else {
            Vec::new()
        },
        namespaces: model.cluster.namespaces.clone(),
        pods: model.cluster.pods.clone(),
        services: model.cluster.services.clone(),
        ignored: model.cluster.ignored.clone(),
        nodes: model.cluster.nodes.clone(),
        // The cluster admins' tiers stay in force whatever NetworkPolicies are written.
        cluster_policies: model.cluster_policies.clone(),
        diagnostics: Vec::new(),
    }
}

/// The diagnostics of the written text alone.
fn written_diagnostics(after: &Model) -> Vec<Diagnostic> {
    after
        .diagnostics
        .iter()
        .filter(|d| d.span.is_some_and(|s| s.file == WRITTEN))
        .cloned()
        .collect()
}

/// Judges `text` written for `spec` on top of `model`.
pub(crate) fn synthesis(model: &Model, spec: &Spec, text: &str) -> (Check, Model) {
    let after = with_written(model, text);
    let outcomes = assert::check(&after, spec);
    let engine = Engine::new(&after);
    let intent = Intent::new(&after, spec);
    let beyond = intent::beyond(&after, &engine, &intent);
    let check = Check {
        outcomes,
        beyond,
        diagnostics: written_diagnostics(&after),
    };
    (check, after)
}

/// A pair whose allowed ports differ between two models with the same endpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PairChange {
    /// Source (a pod, or an address class's representative).
    pub src: Endpoint,
    /// Destination.
    pub dst: Endpoint,
    /// The source in words: a pod id, or an address class label in brackets.
    pub from: String,
    /// The destination in words.
    pub to: String,
    /// Allowed before.
    pub before: AllowedPorts,
    /// Allowed after.
    pub after: AllowedPorts,
}

impl PairChange {
    /// Ports allowed after and not before.
    pub fn opened(&self) -> AllowedPorts {
        self.after.difference(&self.before)
    }

    /// Ports allowed before and not after.
    pub fn closed(&self) -> AllowedPorts {
        self.before.difference(&self.after)
    }
}

/// Every ordered pair of distinct pods, and every pod with every outside address class
/// (a representative of each class of either model), whose allowed ports differ. Both
/// models must have the same pods.
pub(crate) fn changes(before: &Model, after: &Model) -> Vec<PairChange> {
    Baseline::new(before).changes(after)
}

/// A model compiled once, to compare many candidate models with.
pub(crate) struct Baseline<'m> {
    model: &'m Model,
    pub engine: Engine,
    connectivity: Connectivity,
    /// Per (pod class, address): what the baseline allows out to it and in from it.
    addresses: RefCell<BTreeMap<(usize, IpAddr), [AllowedPorts; 2]>>,
}

impl<'m> Baseline<'m> {
    pub fn new(model: &'m Model) -> Baseline<'m> {
        let engine = Engine::new(model);
        let connectivity = engine.connectivity();
        Baseline {
            model,
            engine,
            connectivity,
            addresses: RefCell::new(BTreeMap::new()),
        }
    }

    /// See [`changes`].
    pub fn changes(&self, after: &Model) -> Vec<PairChange> {
        self.compare(after).0
    }

    /// [`Baseline::changes`], and the engine of `after` for further questions.
    pub fn compare(&self, after: &Model) -> (Vec<PairChange>, Engine) {
        let (eb, cb) = (&self.engine, &self.connectivity);
        let ea = Engine::new(after);
        let ca = ea.connectivity();
        // The address classes of both sides: a rewritten ipBlock may merge classes of
        // `before` in `after`, so each side's representatives are asked on both.
        let mut classes = ea.address_classes();
        for c in eb.address_classes() {
            if !classes.iter().any(|a| a.representative == c.representative) {
                classes.push(c);
            }
        }
        let label = |e: Endpoint| match e {
            Endpoint::Pod(_) => render::endpoint_name(after, &e),
            Endpoint::Address(ip) => classes
                .iter()
                .find(|c| c.representative == ip)
                .map_or_else(|| ip.to_string(), |c| format!("[{}]", c.label)),
        };
        let mut out = Vec::new();
        let mut push = |src: Endpoint, dst: Endpoint, b: AllowedPorts, a: AllowedPorts| {
            out.push(PairChange {
                src,
                dst,
                from: label(src),
                to: label(dst),
                before: b,
                after: a,
            });
        };
        let pods = after.cluster.pods.len().min(self.model.cluster.pods.len());
        let none = AllowedPorts::default();
        for s in 0..pods {
            for d in (0..pods).filter(|d| *d != s) {
                let b = cb.ports(s, d).unwrap_or(&none);
                let a = ca.ports(s, d).unwrap_or(&none);
                if a != b {
                    push(Endpoint::Pod(s), Endpoint::Pod(d), b.clone(), a.clone());
                }
            }
        }
        // Pods of one engine class answer alike for an address: each side is asked once
        // per (class, address), the baseline's answers kept for the next comparison.
        let mut after_answers: BTreeMap<(usize, usize), [AllowedPorts; 2]> = BTreeMap::new();
        let mut before_answers = self.addresses.borrow_mut();
        for s in 0..pods {
            let p = Endpoint::Pod(s);
            let (Some(class_b), Some(class_a)) = (cb.pod_class(s), ca.pod_class(s)) else {
                continue;
            };
            for (k, c) in classes.iter().enumerate() {
                let x = Endpoint::Address(c.representative);
                let [out_b, in_b] = before_answers
                    .entry((class_b, c.representative))
                    .or_insert_with(|| [eb.allowed_ports(p, x), eb.allowed_ports(x, p)])
                    .clone();
                let [out_a, in_a] = after_answers
                    .entry((class_a, k))
                    .or_insert_with(|| [ea.allowed_ports(p, x), ea.allowed_ports(x, p)]);
                if *out_a != out_b {
                    push(p, x, out_b, out_a.clone());
                }
                if *in_a != in_b {
                    push(x, p, in_b, in_a.clone());
                }
            }
        }
        out.sort_by_key(|c| (c.src, c.dst));
        (out, ea)
    }
}
