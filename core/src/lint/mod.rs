//! Lint: policy mistakes that parse fine but do not do what the author meant.
//!
//! Why a separate pass: the parser only judges each object on its own. The mistakes that
//! cause outages (a default-deny egress without DNS, a selector with a typo that selects
//! nothing, the AND/OR trap) only show against the other policies and the cluster snapshot.
//!
//! Every finding is a [`Diagnostic`], the same plain data the parser produces: a stable
//! kebab-case `code`, a severity, a message naming the concrete values, the span to
//! highlight, a help text and related places. The CLI renders them with miette; the
//! playground lists them in its Problems panel. Parse diagnostics of the model are part of
//! the result too (same codes), so one list is all a front-end shows.
//!
//! Checks that need a cluster (selectors matching nothing, named ports, unprotected
//! endpoints, redundancy) only run when the model has at least one endpoint: linting policy
//! files alone must not call every selector empty. Redundancy is decided semantically with
//! the [`Engine`](crate::Engine) (the connectivity with and without the policy or rule); it
//! costs one engine compilation per policy and rule, so it runs only up to
//! [`REDUNDANCY_MAX_PODS`] endpoints and [`REDUNDANCY_MAX_VARIANTS`] policies plus rules, and
//! says so with a `redundancy-skipped` finding otherwise.
//!
//! Layout: this module holds the driver, [`Options`] and [`CODES`]; each code has its own
//! module with one `check` (named after the code), `common` holds the wording helpers they
//! share, and `redundancy` the engine comparisons behind the three redundancy codes.

mod and_or_trap;
mod banp_not_default;
mod cluster_guard;
mod cluster_rule_shadowed;
mod common;
mod egress_without_dns;
mod ipblock_contains_pods;
mod missing_default_deny;
mod named_port_not_exposed;
mod networks_contain_pods;
mod pass_allows;
mod peer_selects_nothing;
mod policy_selects_nothing;
mod redundancy;
mod redundancy_skipped;
mod redundant_policy;
mod redundant_rule;
mod same_priority_overlap;
mod service_port_mismatch;
mod shadowed_rule;
mod stale_peer_shape;
mod tiers;
mod unknown_namespace_label;
mod unprotected_endpoint;

use crate::diagnostic::{Diagnostic, Severity};
use crate::eval::{in_scope, peer_matches};
use crate::model::{Endpoint, Model, NetworkPolicy, NetworkPolicyPeer};

pub use common::selector_text;

/// Largest cluster (endpoints) for which redundancy is computed.
pub const REDUNDANCY_MAX_PODS: usize = 500;
/// Largest number of policies plus rules for which redundancy is computed.
pub const REDUNDANCY_MAX_VARIANTS: usize = 400;

/// Every code lint itself emits, with its severity and a one-line description (for docs and
/// front-ends). Parse diagnostics keep their own codes (`unknown-field`, `ignored-rules`,
/// `invalid-port`, ...).
pub const CODES: &[(&str, Severity, &str)] = &[
    ("policy-selects-nothing", Severity::Warning, "the policy's podSelector selects no endpoint of its namespace"),
    ("peer-selects-nothing", Severity::Warning, "a from/to peer's selectors match no endpoint"),
    ("unknown-namespace-label", Severity::Warning, "a namespaceSelector requires a label key no namespace has"),
    ("redundant-policy", Severity::Warning, "removing the policy changes no connection"),
    ("redundant-rule", Severity::Warning, "removing the rule changes no connection"),
    ("shadowed-rule", Severity::Warning, "everything the rule allows, another rule for the same endpoints (same policy, or same namespace and podSelector) allows too"),
    ("redundancy-skipped", Severity::Info, "the model is too large for the semantic redundancy checks"),
    ("egress-without-dns", Severity::Warning, "egress-isolated endpoints cannot reach port 53 (UDP and TCP) anywhere"),
    ("named-port-not-exposed", Severity::Warning, "no endpoint the port applies to exposes the named port with that protocol"),
    ("and-or-trap", Severity::Warning, "a namespaceSelector-only peer next to a podSelector-only peer: OR where AND was probably meant"),
    ("ipblock-contains-pods", Severity::Warning, "an ipBlock contains pod IPs (network plugins disagree on this)"),
    ("unprotected-endpoint", Severity::Warning, "endpoints no policy isolates for ingress, in a namespace where others are isolated for ingress"),
    ("unprotected-endpoint-egress", Severity::Info, "endpoints no policy isolates for egress, in a namespace where others are isolated for egress"),
    ("service-port-mismatch", Severity::Warning, "an ingress rule allows a Service's port on the pods behind it, but not the targetPort they receive its traffic on"),
    ("missing-default-deny", Severity::Info, "a namespace where no policy with an empty podSelector isolates ingress, so new pods there accept every connection"),
    ("missing-default-deny-egress", Severity::Info, "a namespace that isolates the egress of some pods, but where no policy with an empty podSelector isolates egress for new pods"),
    ("same-priority-overlap", Severity::Warning, "two cluster policies of one tier with the same priority decide a connection differently (shown with a pod pair)"),
    ("cluster-rule-shadowed", Severity::Warning, "a cluster policy rule that matches traffic but never decides any: an earlier rule or tier takes it first"),
    ("pass-allows", Severity::Warning, "a Pass that in effect allows: no NetworkPolicy or Baseline rule decides what it hands on (a Baseline Pass always allows)"),
    ("banp-not-default", Severity::Error, "a BaselineAdminNetworkPolicy not named `default`, which the API server refuses"),
    ("networks-contain-pods", Severity::Warning, "a cluster policy's `networks` contain pod IPs, so the rule decides pod traffic too"),
    ("stale-peer-shape", Severity::Warning, "a cluster policy peer in the v0.1.x shape (`namespaces: {namespaceSelector: ...}`) that current CRDs refuse or prune"),
    ("tier-checks-skipped", Severity::Info, "the model is too large for the semantic cluster policy checks"),
];

/// Tunable bounds of the expensive checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Largest number of endpoints for the redundancy checks.
    pub max_pods: usize,
    /// Largest number of policies plus rules for the redundancy checks.
    pub max_variants: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_pods: REDUNDANCY_MAX_PODS,
            max_variants: REDUNDANCY_MAX_VARIANTS,
        }
    }
}

/// Lints `model` with the default [`Options`]: its parse diagnostics plus every check of
/// [`CODES`], sorted by position (file, offset; findings without a position first), then code.
pub fn lint(model: &Model) -> Vec<Diagnostic> {
    lint_with(model, &Options::default())
}

/// [`lint`] with explicit bounds.
pub fn lint_with(model: &Model, options: &Options) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = model.diagnostics.clone();
    let cx = Cx { model, options };
    and_or_trap::check(&cx, &mut out);
    egress_without_dns::check(&cx, &mut out);
    missing_default_deny::check(&cx, &mut out);
    banp_not_default::check(&cx, &mut out);
    stale_peer_shape::check(&cx, &mut out);
    if !model.cluster.pods.is_empty() {
        policy_selects_nothing::check(&cx, &mut out);
        unknown_namespace_label::check(&cx, &mut out);
        peer_selects_nothing::check(&cx, &mut out);
        named_port_not_exposed::check(&cx, &mut out);
        ipblock_contains_pods::check(&cx, &mut out);
        unprotected_endpoint::check(&cx, &mut out);
        service_port_mismatch::check(&cx, &mut out);
        redundancy::check(&cx, &mut out);
        networks_contain_pods::check(&cx, &mut out);
        tiers::check(&cx, &mut out);
    }
    out.sort_by(|a, b| {
        let ka = a.span.map(|s| (s.file, s.start, s.end));
        let kb = b.span.map(|s| (s.file, s.start, s.end));
        ka.cmp(&kb)
            .then(a.severity.cmp(&b.severity))
            .then(a.code.cmp(b.code))
            .then(a.message.cmp(&b.message))
    });
    out
}

/// What every check reads: the model and the bounds.
struct Cx<'m> {
    model: &'m Model,
    options: &'m Options,
}

impl Cx<'_> {
    /// Pods `policy` selects (in its namespace, by podSelector), whatever its policyTypes.
    fn targets(&self, policy: &NetworkPolicy) -> Vec<usize> {
        self.model
            .cluster
            .pods
            .iter()
            .enumerate()
            .filter(|(_, p)| in_scope(policy, p))
            .map(|(i, _)| i)
            .collect()
    }

    /// Pods a selector peer matches (empty for ipBlock peers).
    fn peer_pods(&self, policy: &NetworkPolicy, peer: &NetworkPolicyPeer) -> Vec<usize> {
        (0..self.model.cluster.pods.len())
            .filter(|i| peer_matches(self.model, policy, peer, &Endpoint::Pod(*i)).is_ok())
            .collect()
    }
}
