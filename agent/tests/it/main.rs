//! Integration tests of netpol-agent, one binary (root needed; nothing is skipped):
//! - `packets`: hand-made scenarios through real agents, every probe against the engine,
//!   and a policy update with an open connection;
//! - `upstream`: every upstream e2e case through real agents, every truth table probed;
//! - `kernel`: every conformance case's compiled rulesets, checked with real packets;
//! - `rulesets`: generated rulesets pass `nft -c` (the kernel's own parser and validator);
//! - `watch`: the Kubernetes watch path against a fake API server on loopback.
//!
//! The simulated cluster: `netns.rs` (namespaces, processes), `fabric.rs` (the routed
//! topology), `reach.rs` (probes), `agents.rs` (real agents on it), `cases.rs` (the core's
//! conformance case files).

mod agents;
mod cases;
mod fabric;
mod kernel;
mod netns;
mod packets;
mod reach;
mod rulesets;
mod upstream;
mod watch;
