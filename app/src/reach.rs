//! Probe-independent connectivity, computed once per analysis from the engine: the exact
//! allowed ports for every pair of pod classes (`Engine::connectivity`) and between pod
//! classes and outside-address classes (`Engine::allowed_ports` on the class
//! representatives), which side of a pair some policy isolates (`Connectivity::isolated`,
//! `Connectivity::open`), and the families of classes a group node draws.

use std::collections::HashMap;

use netpol_core::{AddressClass, AllowedPorts, Connectivity, Endpoint, Engine, Model, PolicyType};

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

/// The engine's answers every view reads, with identical port sets stored once.
#[derive(Clone, Debug)]
pub struct Reach {
    connectivity: Connectivity,
    /// Distinct port sets: the connectivity's results, then those only addresses reach.
    pub(crate) sets: Vec<AllowedPorts>,
    addresses: usize,
    /// `[class * addresses + a]`: index into `sets` from the class to address class `a`.
    to_address: Vec<u32>,
    /// `[class * addresses + a]`: index into `sets` from address class `a` to the class.
    from_address: Vec<u32>,
    /// Per class: classes with the same namespace, isolation and port sets in every row
    /// and column share a family, which is what a group node draws.
    pub(crate) family: Vec<u32>,
}

impl Reach {
    /// Everything the graph reads, from the engine.
    pub fn new(model: &Model, engine: &Engine, classes: &[AddressClass]) -> Reach {
        let connectivity = engine.connectivity();
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); connectivity.classes()];
        for pod in 0..model.cluster.pods.len() {
            if let Some(c) = connectivity.pod_class(pod).filter(|c| *c < members.len()) {
                members[c].push(pod);
            }
        }
        let mut sets = connectivity.results().to_vec();
        let (to_address, from_address) = address_sets(engine, &members, classes, &mut sets);
        let mut reach = Reach {
            connectivity,
            sets,
            addresses: classes.len(),
            to_address,
            from_address,
            family: Vec::new(),
        };
        reach.family = if model.cluster.pods.len() > GROUP_THRESHOLD {
            reach.families(model, &members)
        } else {
            (0..members.len() as u32).collect()
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
    /// set in every row and column. Rows and columns are hashed first and then compared
    /// with the family's first class, so a hash collision splits a family instead of
    /// merging classes that differ (exact, and no per-class copies of whole rows).
    fn families(&self, model: &Model, members: &[Vec<usize>]) -> Vec<u32> {
        let classes = members.len();
        let a = self.addresses;
        let addresses = |c: usize| {
            (
                &self.to_address[c * a..(c + 1) * a],
                &self.from_address[c * a..(c + 1) * a],
            )
        };
        let key = |c: usize| {
            let namespace = members[c]
                .first()
                .and_then(|p| model.cluster.pods.get(*p))
                .map(|p| p.namespace.as_str());
            // A multiply-rotate mix, not SipHash: this runs classes² times per analysis
            // (8.8 million for 10,000 pods) in the worker, where a hasher call per cell
            // cost over a second; collisions only split a family (see above).
            let mut hash = 0u64;
            for d in 0..classes {
                let cell = u64::from(self.class_set(c, d)) | u64::from(self.class_set(d, c)) << 32;
                hash = (hash.rotate_left(5) ^ cell).wrapping_mul(0x517c_c1b7_2722_0a95);
            }
            (namespace, self.class_isolation(c), addresses(c), hash)
        };
        let same = |c: usize, r: usize| {
            (0..classes).all(|d| {
                self.class_set(c, d) == self.class_set(r, d)
                    && self.class_set(d, c) == self.class_set(d, r)
            })
        };
        // Per key, the first class of each family with that key (usually one).
        let mut firsts: HashMap<_, Vec<usize>> = HashMap::new();
        let mut family = vec![0u32; classes];
        let mut count = 0u32;
        for c in 0..classes {
            let candidates = firsts.entry(key(c)).or_default();
            match candidates.iter().find(|r| same(c, **r)) {
                Some(r) => family[c] = family[*r],
                None => {
                    candidates.push(c);
                    family[c] = count;
                    count += 1;
                }
            }
        }
        family
    }

    fn class_set(&self, src: usize, dst: usize) -> u32 {
        self.connectivity
            .class_pair(src, dst)
            .map_or(u32::MAX, |r| r as u32)
    }

    /// The port set id for a pair of sides; `None` between two addresses (not a question
    /// the policies answer).
    pub(crate) fn set_between(&self, src: Side, dst: Side) -> Option<u32> {
        let a = self.addresses;
        match (src, dst) {
            (Side::Class(s), Side::Class(d)) => {
                self.connectivity.class_pair(s, d).map(|r| r as u32)
            }
            (Side::Class(s), Side::Address(x)) => self.to_address.get(s * a + x).copied(),
            (Side::Address(x), Side::Class(d)) => self.from_address.get(d * a + x).copied(),
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

/// Per pod class and address class, the ports each way, as indices into `sets` (identical
/// sets stored once). A class answers like any of its pods: the engine is asked with the
/// first one and the class's representative address.
fn address_sets(
    engine: &Engine,
    members: &[Vec<usize>],
    classes: &[AddressClass],
    sets: &mut Vec<AllowedPorts>,
) -> (Vec<u32>, Vec<u32>) {
    let mut ids: HashMap<AllowedPorts, u32> = sets
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), i as u32))
        .collect();
    let mut intern = |ports: AllowedPorts| {
        *ids.entry(ports.clone()).or_insert_with(|| {
            sets.push(ports);
            sets.len() as u32 - 1
        })
    };
    let mut to_address = Vec::with_capacity(members.len() * classes.len());
    let mut from_address = Vec::with_capacity(members.len() * classes.len());
    for pods in members {
        for class in classes {
            let address = Endpoint::Address(class.representative);
            let (out, inn) = match pods.first() {
                Some(&pod) => (
                    engine.allowed_ports(Endpoint::Pod(pod), address),
                    engine.allowed_ports(address, Endpoint::Pod(pod)),
                ),
                None => (AllowedPorts::default(), AllowedPorts::default()),
            };
            to_address.push(intern(out));
            from_address.push(intern(inn));
        }
    }
    (to_address, from_address)
}
