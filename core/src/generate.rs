//! Deterministic synthetic clusters for benchmarks (`netpol generate`). Pure: the seed is an
//! argument and the PRNG is local. OWNER: cli helper (placeholder).

/// YAML for a cluster of `pods` endpoints and `policies` NetworkPolicies, from `seed`.
pub fn generate(_pods: usize, _policies: usize, _seed: u64) -> String {
    String::new()
}
