//! Authoring: policies from intent, and the smallest edits to policy text.
//!
//! Everything netpol does elsewhere answers "what do these policies allow?"; this module
//! answers the other way round, with the same engine as the judge:
//! - [`synthesize`]: least-privilege policies for the required connections of a spec
//!   (the `netpol test` format, `default: deny`), self-checked;
//! - [`freeze`]: policies allowing exactly what is allowed now between pods (and to and
//!   from outside addresses), checked the same way;
//! - [`allow`] and [`deny`]: for one pair, the smallest change to the policy text that
//!   opens or closes it, as text edits, with every other pair it also opens or closes.
//!
//! All of them are pure functions of their arguments returning plain data, for the CLI
//! (`netpol synthesize`, `netpol freeze`) and the playground alike. Nothing written is
//! trusted: every text is parsed back, merged with the cluster and the policies in
//! force, and compared with the engine ([`Check`], [`PairChange`]).
//!
//! How policies are written (`groups`, `plan`, `yaml`): one default deny per namespace,
//! one policy per workload (pods sharing stable identity labels such as `app`, selected
//! by the fewest such labels that tell them from their neighbours; never by
//! `pod-template-hash` or a pod name), one rule per peer with the ports it needs (named
//! where the destination declares the name), namespaces by `kubernetes.io/metadata.name`,
//! block-style YAML with a comment on each rule naming what it serves.

mod check;
mod edit;
mod freeze;
mod groups;
mod narrow;
mod plan;
mod synthesize;
mod tiers;
mod yaml;

use serde::Serialize;

use crate::assert::Spec;
use crate::diagnostic::{Diagnostic, FileId};
use crate::model::{Endpoint, Model};
use crate::portspec::PortSpec;

pub use check::{Check, PairChange, WRITTEN};
pub use edit::{apply, Edit, EditError, Proposal};

/// How [`synthesize`] treats the policies already in the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Build on them: write only the rules needed on top (and, under `default: deny`,
    /// isolation for the directions in which pods of the spec's namespaces are not
    /// isolated yet). Without it the output is complete on its own: a default deny per
    /// namespace in scope and every rule the requirements need, whatever is in force.
    pub keep: bool,
}

/// A policy that was written.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Written {
    /// Its namespace.
    pub namespace: String,
    /// Its name (unique in the namespace, also among the policies in force).
    pub name: String,
}

/// What [`synthesize`] wrote and what its self-check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Synthesis {
    /// The policies as multi-document YAML, ready for `kubectl apply -f`.
    pub text: String,
    /// The policies in it, in order.
    pub policies: Vec<Written>,
    /// The self-check: the spec on the cluster with these policies and those in force.
    pub check: Check,
    /// Things worth knowing (DNS left out because the spec denies it, no DNS pods found,
    /// connections that cannot be written), sorted.
    pub notes: Vec<String>,
}

/// Least-privilege NetworkPolicies for the required connections of `spec` (its
/// `expect: allowed` entries and the allowed sources of `only_from`) in `model`, whose
/// policies stay in force; checked on the cluster with them before returning.
pub fn synthesize(model: &Model, spec: &Spec, options: &Options) -> Synthesis {
    synthesize::Synth::new(model, spec).run(options)
}

/// What [`freeze`] wrote and how it compares with today.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Freeze {
    /// The policies as multi-document YAML, ready for `kubectl apply -f`.
    pub text: String,
    /// The policies in it, in order.
    pub policies: Vec<Written>,
    /// Pairs whose allowed ports differ when these policies *replace* the ones in force
    /// (empty when the freeze is exact; a workload whose pods are treated differently
    /// today gets the union, and its pairs show here).
    pub changes: Vec<PairChange>,
    /// The same when these policies are applied *next to* the ones in force.
    pub changes_alongside: Vec<PairChange>,
    /// Problems parsing the written text back (none, unless netpol has a bug).
    pub diagnostics: Vec<Diagnostic>,
}

/// Policies that allow exactly what `model`'s policies allow now, between pods and
/// between pods and outside addresses: a default deny per namespace and one policy per
/// workload. Checked by comparing the connectivity with them (instead of, and next to,
/// the policies in force) with today's.
pub fn freeze(model: &Model) -> Freeze {
    freeze::freeze(model)
}

/// "Allow this": the smallest change to the policy texts that lets `src` reach `dst` on
/// `port` (without one: on the ports `dst` declares, or every port), for a pair the
/// policies deny. `sources` are the texts the model is built from, as for
/// [`crate::load`] (endpoint indices refer to that model); new policies are appended to
/// `target`. The proposal lists every other pair the change also opens.
pub fn allow(
    sources: &[(FileId, &str)],
    target: FileId,
    src: Endpoint,
    dst: Endpoint,
    port: Option<&PortSpec>,
) -> Result<Proposal, EditError> {
    edit::allow(sources, target, src, dst, port)
}

/// "Deny this": the smallest change to the policy texts that stops `src` reaching `dst`
/// on `port` (without one: on every port), for a pair the policies allow: the rules
/// admitting it narrowed, or the side nothing isolates isolated with a policy admitting
/// everything else. The proposal lists every other pair the change also closes (when
/// it cannot be closed alone, these say which).
pub fn deny(
    sources: &[(FileId, &str)],
    target: FileId,
    src: Endpoint,
    dst: Endpoint,
    port: Option<&PortSpec>,
) -> Result<Proposal, EditError> {
    edit::deny(sources, target, src, dst, port)
}
