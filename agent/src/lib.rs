//! The netpol node agent: enforces Kubernetes NetworkPolicies on one Linux node with
//! nftables.
//!
//! Why it is shaped this way:
//! - **The agent decides nothing.** Cluster state becomes a [`netpol_core::Model`] at the
//!   boundary (manifest files, or Kubernetes objects serialized to JSON and fed to the same
//!   parser the CLI and the playground use), and [`netpol_core::nft::compile`] turns it into
//!   the ruleset. So what the playground shows is what the node enforces.
//! - **Replace, don't patch.** Each sync applies one `nft -f` transaction that swaps the
//!   whole `inet netpol` table; a failed apply leaves the previous table in place. The text
//!   is hashed, and an unchanged hash means no apply at all.
//! - **Established connections are kept** by default. The ruleset accepts `ct state
//!   established,related` first, so a policy change does not cut a connection that was
//!   admitted when it started (the behaviour of kube-network-policies); new connections
//!   follow the new rules as soon as the transaction commits. Strict mode ([`strict`]) cuts
//!   them instead.
//! - **Last good state wins.** A file or object with errors keeps its last good version
//!   ([`sources`]), as the API server keeps the last accepted object: "what parsing
//!   understood" of a broken policy would lift isolation. When the API server is
//!   unreachable the watchers retry with backoff, the stores keep their content and the
//!   kernel keeps the last applied table; a failed apply is retried, never fatal; nothing is
//!   applied before the state is complete.
//!
//! Only this crate knows nftables and watches Kubernetes (its objects reach the core through
//! `netpol-kube`, the boundary the CLI's `--cluster` shares); `netpol-core` stays pure.

pub mod enforce;
pub mod forbidden;
pub mod kube_source;
pub mod manifests;
pub mod metrics;
pub mod run;
pub mod sources;
pub mod strict;

/// FNV-1a 64 of `text`: stable across builds and platforms (unlike `DefaultHasher`), so a
/// test or an operator can compute the hash of an expected ruleset and compare it with the
/// one the agent reports.
pub fn ruleset_hash(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    #[test]
    fn hash_is_fnv1a() {
        assert_eq!(super::ruleset_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::ruleset_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
