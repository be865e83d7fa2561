//! Probe-independent connectivity, computed once per analysis from the engine: the exact
//! allowed ports for every pair of pod classes (`Engine::connectivity`) and between pod
//! classes and outside-address classes (`Engine::allowed_ports` on the class
//! representatives), which side of a pair some policy isolates (`Connectivity::isolated`,
//! `Connectivity::open`), and the families of classes a group node draws.

use std::collections::HashMap;

use netpol_core::{AddressConnectivity, AllowedPorts, Connectivity, Engine, Model, PolicyType};

use crate::analysis::Isolation;

/// Above this many endpoints, identical endpoints collapse into groups.
pub const GROUP_THRESHOLD: usize = 60;

/// One end of a pair as the engine's tables know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// A pod class of the engine.
    Class(usize),
    /// An outside-address class (index into `Analysis::classes`).
    Address(usize),
}

/// What a group node shows of a class besides its pod rows and columns: namespace,
/// isolation, and its port sets to and from every outside-address class.
type FamilyKey<'a> = (Option<&'a str>, Isolation, &'a [u32], &'a [u32]);

/// The engine's answers every view reads, with identical port sets stored once.
#[derive(Clone, Debug)]
pub struct Reach {
    connectivity: Connectivity,
    /// Between pod classes and outside-address classes (the core's table).
    outside: AddressConnectivity,
    /// Distinct port sets: the connectivity's results, then those only addresses reach.
    pub(crate) sets: Vec<AllowedPorts>,
    /// Per class: classes with the same namespace, isolation and port sets in every row
    /// and column share a family, which is what a group node draws.
    pub(crate) family: Vec<u32>,
}

impl Reach {
    /// Everything the graph reads, from the engine.
    pub fn new(model: &Model, engine: &Engine) -> Reach {
        let connectivity = engine.connectivity();
        let outside = engine.address_connectivity(&connectivity);
        let mut sets = connectivity.results().to_vec();
        sets.extend_from_slice(outside.results());
        let mut reach = Reach {
            connectivity,
            outside,
            sets,
            family: Vec::new(),
        };
        reach.family = if model.cluster.pods.len() > GROUP_THRESHOLD {
            reach.families(model)
        } else {
            (0..reach.connectivity.classes() as u32).collect()
        };
        reach
    }

    /// Per pod, how the engine's isolation groups isolate it.
    pub fn isolation(&self, pods: usize) -> Vec<Isolation> {
        (0..pods)
            .map(|pod| match self.class_of(pod) {
                Some(c) => self.class_isolation(c),
                None => Isolation::None,
            })
            .collect()
    }

    /// How the engine isolates pod class `class`.
    pub fn class_isolation(&self, class: usize) -> Isolation {
        let isolated = |d| self.connectivity.isolated(class, d).unwrap_or(false);
        Isolation::from_flags(isolated(PolicyType::Ingress), isolated(PolicyType::Egress))
    }

    /// Families of classes: same namespace, isolation and address sets, and the same port
    /// set in every row and column (the core's [`Connectivity::families`], keyed by what
    /// the graph also shows of a class).
    fn families(&self, model: &Model) -> Vec<u32> {
        let classes = self.connectivity.classes();
        let mut namespace: Vec<Option<&str>> = vec![None; classes];
        for (pod, p) in model.cluster.pods.iter().enumerate().rev() {
            if let Some(c) = self.class_of(pod).filter(|c| *c < classes) {
                namespace[c] = Some(p.namespace.as_str());
            }
        }
        let mut keys: HashMap<FamilyKey, u32> = HashMap::new();
        let key: Vec<u32> = (0..classes)
            .map(|c| {
                let (to, from) = self.outside.rows(c);
                let k = (namespace[c], self.class_isolation(c), to, from);
                let next = keys.len() as u32;
                *keys.entry(k).or_insert(next)
            })
            .collect();
        self.connectivity.families(&key)
    }

    /// The port set id for a pair of sides; `None` between two addresses (not a question
    /// the policies answer).
    pub(crate) fn set_between(&self, src: Side, dst: Side) -> Option<u32> {
        match (src, dst) {
            (Side::Class(s), Side::Class(d)) => {
                self.connectivity.class_pair(s, d).map(|r| r as u32)
            }
            (Side::Class(s), Side::Address(x)) => self.outside.to_address(s, x),
            (Side::Address(x), Side::Class(d)) => self.outside.from_address(d, x),
            (Side::Address(_), Side::Address(_)) => None,
        }
    }

    /// Whether a side is isolated for `direction` (an address never is).
    pub(crate) fn isolated(&self, side: Side, direction: PolicyType) -> bool {
        match side {
            Side::Class(c) => self.connectivity.isolated(c, direction).unwrap_or(false),
            Side::Address(_) => false,
        }
    }

    /// Whether no policy decided the pair: the source is not isolated for egress and the
    /// destination not for ingress (the core's [`Connectivity::open`] for classes).
    pub(crate) fn open(&self, src: Side, dst: Side) -> bool {
        match (src, dst) {
            (Side::Class(s), Side::Class(d)) => self.connectivity.open(s, d).unwrap_or(false),
            _ => {
                !self.isolated(src, PolicyType::Egress) && !self.isolated(dst, PolicyType::Ingress)
            }
        }
    }

    /// The engine class of pod `pod`.
    pub(crate) fn class_of(&self, pod: usize) -> Option<usize> {
        self.connectivity.pod_class(pod)
    }

    /// The port set with id `id`.
    pub(crate) fn set(&self, id: u32) -> Option<&AllowedPorts> {
        self.sets.get(id as usize)
    }
}
