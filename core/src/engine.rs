//! The bitset engine: whole matrices and connectivity. OWNER: engine helper (placeholder).

use std::net::IpAddr;

use serde::Serialize;

use crate::model::{Endpoint, Model, PortRef, Protocol};
use crate::ports::AllowedPorts;

/// Policies compiled against one cluster, ready to answer many questions fast.
#[derive(Clone, Debug)]
pub struct Engine {
    pods: usize,
}

/// `allowed[src][dst]` for one probe (port/protocol), over [`crate::Cluster::pods`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matrix {
    /// Number of pods (rows and columns).
    pub size: usize,
    words: usize,
    bits: Vec<u64>,
}

impl Matrix {
    /// Whether pod `src` may open a connection to pod `dst`.
    pub fn allowed(&self, src: usize, dst: usize) -> bool {
        src < self.size
            && dst < self.size
            && self.bits[src * self.words + dst / 64] >> (dst % 64) & 1 == 1
    }
}

/// An outside address class: a region of the address space that every policy treats the
/// same way (from the ipBlocks the policies mention), with one representative address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AddressClass {
    /// Human label, e.g. `10.0.0.0/8 except 10.1.0.0/16`, or `any other address`.
    pub label: String,
    /// An address inside the class (not a pod IP), to ask questions with.
    pub representative: IpAddr,
}

impl Engine {
    /// Compiles `model`'s policies against its cluster.
    pub fn new(model: &Model) -> Engine {
        Engine { pods: model.cluster.pods.len() }
    }

    /// The truth table for one probe. A named port is resolved per destination pod; a pod
    /// without that name gets `false` in its column.
    pub fn matrix(&self, _protocol: Protocol, _port: &PortRef) -> Matrix {
        let words = self.pods.div_ceil(64);
        Matrix { size: self.pods, words, bits: vec![0; self.pods * words] }
    }

    /// Every allowed port per protocol from `src` to `dst` (pods or addresses).
    pub fn allowed_ports(&self, _src: Endpoint, _dst: Endpoint) -> AllowedPorts {
        AllowedPorts::default()
    }

    /// The outside-address classes the policies distinguish, sorted, ending with
    /// "any other address" (v4 and, if any policy mentions v6, v6).
    pub fn address_classes(&self) -> Vec<AddressClass> {
        Vec::new()
    }
}
