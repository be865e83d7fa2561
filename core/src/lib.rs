//! Kubernetes NetworkPolicy semantics as a pure function, with the Admin and Baseline
//! tiers of the cluster-scoped policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
//! ClusterNetworkPolicy; `docs/tiers.md`).
//!
//! Input is text: Kubernetes manifests (YAML or JSON, multi-document, `List` wrappers) or the
//! compact cluster form (`pod prod/api app=api ip=10.1.0.5`). [`parse`] turns one text into a
//! [`Parsed`] — what it understood *and* diagnostics; [`build`] merges several into a
//! [`Model`]. [`evaluate`] decides one [`Flow`] and says why ([`Verdict`], with each side's
//! [`TierChain`]); [`evaluate_pair`] does the same for a pair on every port
//! ([`PairVerdict`], [`PairChain`]); [`Engine`] computes whole matrices with bitsets, every
//! tier included. [`convert`] rewrites the v1alpha1 kinds as ClusterNetworkPolicy.
//! The review tools build on both: [`lint`] finds policy mistakes, [`diff`] compares the
//! connectivity of two models, [`assert`](mod@assert) checks connectivity expectations for CI.
//!
//! Architecture invariants:
//! - No I/O, clocks, randomness, threads, logging or global state. Everything is a function
//!   of the arguments; sources are opaque [`FileId`]s, positions are [`Span`]s.
//! - Parsing never fails as a whole; evaluation is total and never panics on any input.
//! - Output order is deterministic, so renderings agree natively and in wasm.

// The façade: the model, the evaluators and their data are re-exported below; the review
// and enforcement tools are public namespaces of their own (`lint::lint`, `diff::diff`,
// `assert::check`, `nft::compile`, `render::explain`, `generate::generate`,
// `exposure::exposure`, `address_ranges::address_ranges`, `services::resolve`,
// `convert::convert`, the authoring tools `synth::synthesize`/`freeze`/`allow`/`deny`,
// `tutorial::check_step`). Everything else is private, so a front-end cannot reach past the
// chosen API into the machinery.
pub mod address_ranges;
mod addresses;
pub mod assert;
mod chain;
mod cidr;
mod cluster_policy;
pub mod convert;
mod diagnostic;
pub mod diff;
mod engine;
mod eval;
pub mod exposure;
pub mod generate;
pub mod lint;
mod model;
pub mod nft;
mod pair;
mod ports;
mod portspec;
pub mod render;
pub mod services;
mod syntax;
pub mod synth;
mod tiers;
pub mod tutorial;
mod verdict;

pub use crate::{
    addresses::AddressBook,
    chain::{
        ClusterPolicyRef, ClusterRuleMiss, ClusterRuleRef, DecidingTier, PairChain, PairStep,
        TierChain, TierStep,
    },
    cidr::Cidr,
    cluster_policy::{
        ClusterNetworkPolicy, ClusterPeerKind, ClusterPolicyKind, ClusterPolicyPeer,
        ClusterPolicyPort, ClusterPolicyRule, ClusterPort, ClusterSubject, RuleAction, Tier,
    },
    diagnostic::{Diagnostic, FileId, Related, Severity, Span},
    engine::{AddressClass, AddressConnectivity, Connectivity, Engine, Matrix},
    eval::{in_scope, probe_port},
    model::{
        Cluster, ContainerPort, Endpoint, Flow, IpBlock, LabelSelector, LabelSelectorRequirement,
        Labels, Model, Namespace, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort,
        NetworkPolicyRule, Node, Operator, Parsed, Pod, PolicyType, PortRef, Protocol, Service,
        ServicePort, NAMESPACE_NAME_LABEL,
    },
    pair::{
        named_ports, NamedPort, PairDirection, PairMiss, PairMissReason, PairVerdict, RulePorts,
    },
    ports::{AllowedPorts, PortSet},
    portspec::{PortSpec, PortSpecError},
    syntax::{is_compact, namespaces_named, tiers_named, ParseCache},
    tiers::in_subject,
    verdict::{DirectionVerdict, MissReason, PeerMiss, PolicyRef, RuleMiss, RuleRef, Verdict},
};

/// Parses one source text: YAML/JSON manifests, or the compact cluster form (detected from
/// the first meaningful line). Never fails: returns what it understood plus diagnostics.
pub fn parse(file: FileId, text: &str) -> Parsed {
    syntax::parse(file, text)
}

/// Merges parsed sources into one [`Model`]: creates namespaces that pods or policies
/// reference but nobody declared, adds the `kubernetes.io/metadata.name` label, sorts
/// everything, and diagnoses duplicates (policy names per namespace, endpoint ids).
pub fn build(sources: Vec<Parsed>) -> Model {
    syntax::build(sources)
}

/// [`parse`] each `(file, text)` then [`build`].
pub fn load(sources: &[(FileId, &str)]) -> Model {
    build(sources.iter().map(|(f, t)| parse(*f, t)).collect())
}

/// Decides whether `flow` is allowed: egress from its source *and* ingress to its
/// destination, with every reason. Walks rules one by one; whole matrices come from
/// [`Engine`], and property tests keep the two in agreement.
pub fn evaluate(model: &Model, flow: &Flow) -> Verdict {
    eval::evaluate(model, flow)
}

/// Decides the pair `src -> dst` on every port at once (the "any port" question): per
/// direction, which rules admit which ports, or why no rule admits anything; the pair's
/// ports are what both directions allow, exactly [`Engine::allowed_ports`].
pub fn evaluate_pair(model: &Model, src: Endpoint, dst: Endpoint) -> PairVerdict {
    pair::evaluate_pair(model, src, dst)
}
