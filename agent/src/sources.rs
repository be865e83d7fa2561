//! Cluster state from many sources (manifest files, Kubernetes objects), each with its last
//! good version.
//!
//! The API server rejects a broken object and keeps the last accepted version. An agent that
//! enforced "what parsing understood" of a broken file would do the opposite, and for
//! NetworkPolicies that fails open: a dropped policy is a pod that is no longer isolated. So
//! a source whose text has error diagnostics is *not taken*:
//!
//! - it keeps its **last good version** (the last text that parsed without errors), like the
//!   API server keeps the last accepted object;
//! - a source that has **never parsed** is enforced as nothing, and [`OnError`] decides what
//!   happens to the pods its policies might have selected: `fail-closed` (the default)
//!   isolates, in both directions, every namespace the source names (a NetworkPolicy only
//!   ever selects pods of its own namespace, so that covers every pod it could have
//!   isolated); `ignore` enforces the other sources as if it did not exist.
//! - a cluster-scoped policy (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
//!   ClusterNetworkPolicy) may select pods of every namespace, so under `fail-closed` one
//!   that never parsed puts a stand-in policy of its tier in force: priority 0, every pod
//!   its subject, a Deny of ingress from every pod and of egress to every address
//!   ([`fail_closed_tier_policy`]). That is exactly the most a policy of that tier could
//!   deny (ingress peers of cluster policies are pods only; `networks` cover every
//!   address, pods and nodes included), so nothing it could have denied gets through: in
//!   the Admin tier it denies all pod traffic but what an Admin Accept ordered before it
//!   allows (a priority-0 policy whose name sorts first); in the Baseline tier, all that no
//!   NetworkPolicy decides. A ClusterNetworkPolicy counts as Admin, since its `tier` may be
//!   what is broken.
//!
//! Every rejected version is logged once (file, line, message), counted, and carried in the
//! [`Snapshot`] so `/healthz`, `--dry-run` and `--once` can report it. Problems found when
//! sources are merged (the same policy name in two files) are reported, not rejected: no
//! single source is to blame.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;
use std::sync::Arc;

use netpol_core::{Diagnostic, FileId, Model, Parsed, Severity, Tier};

/// What to enforce for a source that has errors and no earlier good version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OnError {
    /// Isolate (ingress and egress) every namespace the source names.
    #[default]
    FailClosed,
    /// Enforce the other sources as if this one did not exist.
    Ignore,
}

/// Which namespaces a source's policies can affect, for [`OnError::FailClosed`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// A manifest file: the namespaces its text names (it may hold policies anywhere).
    Text,
    /// A NetworkPolicy object of this namespace.
    Namespace(String),
    /// A cluster-scoped policy object that may hold policies of this tier.
    Tier(Tier),
    /// An object that holds no policy (a Pod, a Namespace): nothing to fail closed.
    Nothing,
}

/// One version of a source, as read.
#[derive(Clone, Debug)]
pub enum Content {
    /// The text.
    Text(String),
    /// The source exists but could not be read as text; `lossy` is what could be salvaged
    /// (for the namespace scan), if anything.
    Unreadable {
        /// Why, naming the source.
        message: String,
        /// The bytes decoded with replacement characters.
        lossy: Option<String>,
    },
}

/// A version that parsed without errors.
#[derive(Clone, Debug)]
struct Good {
    parsed: Parsed,
    text: Arc<str>,
}

#[derive(Clone, Debug)]
struct Entry {
    file: FileId,
    version: String,
    scope: Scope,
    good: Option<Good>,
    rejected: Option<Rejected>,
}

/// What the agent enforces for a rejected source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kept {
    /// Its last good version.
    LastGood,
    /// Nothing from it; these namespaces are isolated and these tiers denied by a stand-in
    /// policy ([`OnError::FailClosed`]).
    FailClosed {
        /// Namespaces isolated by a deny-all NetworkPolicy.
        namespaces: Vec<String>,
        /// Tiers with a deny-all stand-in cluster policy.
        tiers: Vec<Tier>,
    },
    /// Nothing from it ([`OnError::Ignore`], or nothing to fail closed).
    Nothing,
}

/// A source's current version that was not taken.
#[derive(Clone, Debug)]
pub struct Rejected {
    /// The path, or `kind/namespace/name`.
    pub name: String,
    /// The rejected text (empty when unreadable).
    pub text: Arc<str>,
    /// Its problems, errors first.
    pub diagnostics: Vec<Diagnostic>,
    /// What is enforced instead.
    pub kept: Kept,
}

impl Rejected {
    /// One line for logs and `/healthz`: the source, its first error, what is enforced.
    pub fn summary(&self) -> String {
        let first = self
            .diagnostics
            .iter()
            .find(|d| d.severity == Severity::Error);
        let at = first
            .and_then(|d| d.span)
            .map(|s| format!(":{}:{}", s.line, s.column))
            .unwrap_or_default();
        let message = first.map_or("unreadable", |d| d.message.as_str());
        format!("{}{at}: {message}; {}", self.name, self.kept_text())
    }

    fn kept_text(&self) -> String {
        match &self.kept {
            Kept::LastGood => "its last good version stays in force".into(),
            Kept::FailClosed { namespaces, tiers } => {
                let mut closed = Vec::new();
                if !namespaces.is_empty() {
                    closed.push(format!(
                        "namespace{} {}",
                        if namespaces.len() == 1 { "" } else { "s" },
                        namespaces.join(", ")
                    ));
                }
                if !tiers.is_empty() {
                    let words: Vec<&str> = tiers.iter().map(|t| t.as_str()).collect();
                    closed.push(format!(
                        "the {} tier{} (every pod)",
                        words.join(" and "),
                        if tiers.len() == 1 { "" } else { "s" }
                    ));
                }
                format!("it never parsed: {} fail closed", closed.join(" and "))
            }
            Kept::Nothing => "it never parsed: nothing of it is enforced".into(),
        }
    }
}

/// The state to enforce: the model built from every source's version in force, and what
/// was rejected on the way. Dereferences to the [`Model`].
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Good versions, plus a deny-all policy per fail-closed namespace.
    pub model: Model,
    /// Sources whose current version is rejected, by name.
    pub rejected: Vec<Rejected>,
    /// Namespaces isolated by [`OnError::FailClosed`], sorted.
    pub fail_closed: Vec<String>,
    /// Tiers denied by a stand-in policy under [`OnError::FailClosed`], sorted.
    pub fail_closed_tiers: Vec<Tier>,
    /// Rejected versions seen so far by the source.
    pub rejections: u64,
    texts: BTreeMap<FileId, (String, Arc<str>)>,
}

impl Deref for Snapshot {
    type Target = Model;

    /// A snapshot is used where a model is: compiling rulesets, comparing with the engine.
    fn deref(&self) -> &Model {
        &self.model
    }
}

impl Snapshot {
    /// A snapshot of a model that has no sources to reject (tests, benchmarks).
    pub fn of_model(model: Model) -> Snapshot {
        Snapshot {
            model,
            ..Snapshot::default()
        }
    }

    /// Error diagnostics: of rejected sources, and of the merge.
    pub fn errors(&self) -> usize {
        let rejected: usize = self
            .rejected
            .iter()
            .map(|r| {
                let errors = r
                    .diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .count();
                errors.max(1)
            })
            .sum();
        rejected + self.merge_errors().count()
    }

    fn merge_errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.model
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    /// One line per reason the enforced state differs from the sources' (empty when it
    /// does not).
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self.rejected.iter().map(Rejected::summary).collect();
        for d in self.merge_errors() {
            let at = d
                .span
                .and_then(|s| self.texts.get(&s.file).map(|(name, _)| (name, s)))
                .map(|(name, s)| format!("{name}:{}:{}: ", s.line, s.column))
                .unwrap_or_default();
            out.push(format!("{at}{}", d.message));
        }
        out
    }

    /// Every error rendered as the CLI renders it (code, file, line, source excerpt, help),
    /// followed by a summary line of what is enforced instead; empty without errors.
    pub fn render_errors(&self) -> String {
        let mut out = String::new();
        for rejected in &self.rejected {
            let source = netpol_report::Source {
                name: &rejected.name,
                text: &rejected.text,
            };
            for d in rejected
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
            {
                out.push_str(&netpol_report::render(d, d.span.map(|_| source)));
                out.push('\n');
            }
            out.push_str(&format!(
                "netpol-agent: {} was rejected; {}\n\n",
                rejected.name,
                rejected.kept_text()
            ));
        }
        for d in self.merge_errors() {
            let source = d
                .span
                .and_then(|s| self.texts.get(&s.file))
                .map(|(name, text)| netpol_report::Source { name, text });
            out.push_str(&netpol_report::render(d, source));
            out.push('\n');
        }
        out
    }
}

/// The sources of one agent, each with its version in force.
#[derive(Debug, Default)]
pub struct Sources {
    on_error: OnError,
    entries: BTreeMap<String, Entry>,
    next_file: u32,
    rejections: u64,
}

/// The file id of the fail-closed stand-in policies (never a source's).
const FAIL_CLOSED_FILE: FileId = FileId(u32::MAX);

/// The name of the stand-in policy in each fail-closed namespace: a DNS subdomain (valid
/// for policies) that no hand-written policy is likely to use.
pub const FAIL_CLOSED_POLICY: &str = "netpol-agent.fail-closed";

/// The name of the stand-in cluster policy of a fail-closed tier (`-admin`, `-baseline`
/// appended). Equal priorities are ordered by name, so only a priority-0 policy whose name
/// sorts before it decides earlier.
pub const FAIL_CLOSED_CLUSTER_POLICY: &str = "netpol-agent.fail-closed";

impl Sources {
    /// No sources yet.
    pub fn new(on_error: OnError) -> Sources {
        Sources {
            on_error,
            ..Sources::default()
        }
    }

    /// Offers `version` of source `name` (a path or `kind/namespace/name`). Nothing happens
    /// when that version is already held; otherwise `read` gives its content, which is
    /// parsed and taken, or rejected (and logged, once).
    pub fn offer(
        &mut self,
        name: &str,
        version: &str,
        scope: Scope,
        read: impl FnOnce() -> Content,
    ) {
        if let Some(entry) = self.entries.get(name) {
            if entry.version == version {
                return;
            }
        }
        let file = match self.entries.get(name) {
            Some(entry) => entry.file,
            None => {
                let id = self.next_file;
                self.next_file = self.next_file.wrapping_add(1);
                FileId(id)
            }
        };
        let (text, parsed, unreadable) = match read() {
            Content::Text(text) => {
                let parsed = netpol_core::parse(file, &text);
                (text, Some(parsed), None)
            }
            Content::Unreadable { message, lossy } => {
                (lossy.unwrap_or_default(), None, Some(message))
            }
        };
        let text: Arc<str> = Arc::from(text);
        let entry = self.entries.entry(name.to_string()).or_insert(Entry {
            file,
            version: String::new(),
            scope: scope.clone(),
            good: None,
            rejected: None,
        });
        entry.version = version.to_string();
        entry.scope = scope;
        match (parsed, unreadable) {
            (Some(parsed), None) if !has_errors(&parsed) => {
                if entry.rejected.take().is_some() {
                    tracing::info!(source = name, "accepted again");
                }
                entry.good = Some(Good { parsed, text });
            }
            (parsed, unreadable) => {
                let mut diagnostics = parsed.map(|p| p.diagnostics).unwrap_or_default();
                if let Some(message) = unreadable {
                    diagnostics.push(
                        Diagnostic::error("unreadable-source", None, message)
                            .with_help("make the file readable UTF-8 text"),
                    );
                }
                diagnostics.sort_by_key(|d| d.severity);
                let rejected = Rejected {
                    name: name.to_string(),
                    kept: kept(self.on_error, entry, &text),
                    text,
                    diagnostics,
                };
                log_rejected(&rejected);
                self.rejections += 1;
                entry.rejected = Some(rejected);
            }
        }
    }

    /// Forgets the sources `keep` says are gone (deleted files, deleted objects).
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.entries.retain(|name, _| keep(name));
    }

    /// The state to enforce now.
    pub fn snapshot(&self) -> Snapshot {
        let mut parsed = Vec::with_capacity(self.entries.len() + 1);
        let mut texts = BTreeMap::new();
        let mut rejected = Vec::new();
        let mut fail_closed = BTreeSet::new();
        let mut fail_closed_tiers = BTreeSet::new();
        for (name, entry) in &self.entries {
            if let Some(good) = &entry.good {
                parsed.push(good.parsed.clone());
                texts.insert(entry.file, (name.clone(), good.text.clone()));
            }
            if let Some(r) = &entry.rejected {
                if let Kept::FailClosed { namespaces, tiers } = &r.kept {
                    fail_closed.extend(namespaces.iter().cloned());
                    fail_closed_tiers.extend(tiers.iter().copied());
                }
                rejected.push(r.clone());
            }
        }
        let fail_closed: Vec<String> = fail_closed.into_iter().collect();
        let fail_closed_tiers: Vec<Tier> = fail_closed_tiers.into_iter().collect();
        let mut stand_ins: Vec<String> = fail_closed
            .iter()
            .map(|ns| fail_closed_policy(ns))
            .collect();
        stand_ins.extend(
            fail_closed_tiers
                .iter()
                .map(|t| fail_closed_tier_policy(*t)),
        );
        if !stand_ins.is_empty() {
            parsed.push(netpol_core::parse(
                FAIL_CLOSED_FILE,
                &stand_ins.join("---\n"),
            ));
        }
        Snapshot {
            model: netpol_core::build(parsed),
            rejected,
            fail_closed,
            fail_closed_tiers,
            rejections: self.rejections,
            texts,
        }
    }
}

fn has_errors(parsed: &Parsed) -> bool {
    parsed
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error)
}

/// What stays in force for a source whose new version is rejected.
fn kept(on_error: OnError, entry: &Entry, text: &str) -> Kept {
    if entry.good.is_some() {
        return Kept::LastGood;
    }
    let (namespaces, tiers) = match (&entry.scope, on_error) {
        (_, OnError::Ignore) | (Scope::Nothing, _) => (Vec::new(), Vec::new()),
        (Scope::Namespace(ns), OnError::FailClosed) => (vec![ns.clone()], Vec::new()),
        (Scope::Tier(tier), OnError::FailClosed) => (Vec::new(), vec![*tier]),
        (Scope::Text, OnError::FailClosed) => (
            netpol_core::namespaces_named(text),
            netpol_core::tiers_named(text),
        ),
    };
    if namespaces.is_empty() && tiers.is_empty() {
        Kept::Nothing
    } else {
        Kept::FailClosed { namespaces, tiers }
    }
}

fn log_rejected(rejected: &Rejected) {
    let first = rejected
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error);
    let errors = rejected
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    tracing::warn!(
        source = rejected.name,
        line = first.and_then(|d| d.span).map(|s| s.line),
        column = first.and_then(|d| d.span).map(|s| s.column),
        code = first.map(|d| d.code),
        error = first.map(|d| d.message.as_str()),
        errors,
        "rejected: {}",
        rejected.kept_text()
    );
}

/// A deny-all policy (both directions) for one namespace: what fail-closed enforces,
/// written as a manifest so the core builds and compiles it like any other policy.
fn fail_closed_policy(ns: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {FAIL_CLOSED_POLICY}\n  namespace: {ns}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n"
    )
}

/// The stand-in of a fail-closed tier, as a manifest: a ClusterNetworkPolicy of that tier at
/// priority 0 whose subject is every pod, denying ingress from every pod and egress to every
/// address — the most any policy of the tier could deny.
pub fn fail_closed_tier_policy(tier: Tier) -> String {
    let word = tier.as_str();
    let suffix = word.to_lowercase();
    format!(
        "apiVersion: policy.networking.k8s.io/v1beta1\nkind: ClusterNetworkPolicy\nmetadata:\n  name: {FAIL_CLOSED_CLUSTER_POLICY}-{suffix}\nspec:\n  tier: {word}\n  priority: 0\n  subject:\n    namespaces: {{}}\n  ingress:\n  - name: fail-closed\n    action: Deny\n    from: [{{namespaces: {{}}}}]\n  egress:\n  - name: fail-closed\n    action: Deny\n    to: [{{networks: [0.0.0.0/0, \"::/0\"]}}]\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const POD: &str =
        "pod prod/web app=web ip=10.0.0.1 node=n1\npod dev/api app=api ip=10.0.0.2 node=n1\n";
    const DENY: &str = "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: deny, namespace: prod}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n";

    fn text(s: &str) -> impl FnOnce() -> Content + '_ {
        move || Content::Text(s.to_string())
    }

    fn policies(snapshot: &Snapshot) -> Vec<String> {
        snapshot
            .policies
            .iter()
            .map(|p| format!("{}/{}", p.namespace, p.name))
            .collect()
    }

    #[test]
    fn a_rejected_version_keeps_the_last_good_one_until_a_good_one_comes() {
        let mut sources = Sources::new(OnError::FailClosed);
        sources.offer("pods", "1", Scope::Text, text(POD));
        sources.offer("deny.yaml", "1", Scope::Text, text(DENY));
        assert_eq!(policies(&sources.snapshot()), ["prod/deny"]);

        let broken = DENY.replace("Egress]", "Egress");
        sources.offer("deny.yaml", "2", Scope::Text, text(&broken));
        let snapshot = sources.snapshot();
        assert_eq!(policies(&snapshot), ["prod/deny"], "last good version");
        assert_eq!(snapshot.rejected.len(), 1);
        assert_eq!(snapshot.rejected[0].kept, Kept::LastGood);
        assert!(snapshot.errors() >= 1);
        assert!(
            snapshot.problems()[0].starts_with("deny.yaml:"),
            "{:?}",
            snapshot.problems()
        );
        // The same version again: not parsed or counted again.
        sources.offer("deny.yaml", "2", Scope::Text, || unreachable!("cached"));
        assert_eq!(sources.snapshot().rejections, 1);

        sources.offer("deny.yaml", "3", Scope::Text, text(""));
        let snapshot = sources.snapshot();
        assert!(policies(&snapshot).is_empty(), "an empty file is good");
        assert!(snapshot.rejected.is_empty());
    }

    #[test]
    fn a_source_that_never_parsed_fails_closed_or_is_ignored() {
        let broken = DENY.replace("Egress]", "Egress").replace("prod", "dev");
        let mut closed = Sources::new(OnError::FailClosed);
        let mut ignored = Sources::new(OnError::Ignore);
        for sources in [&mut closed, &mut ignored] {
            sources.offer("pods", "1", Scope::Text, text(POD));
            sources.offer("dev.yaml", "1", Scope::Text, text(&broken));
        }
        let snapshot = closed.snapshot();
        assert_eq!(snapshot.fail_closed, ["dev"]);
        assert_eq!(policies(&snapshot), [format!("dev/{FAIL_CLOSED_POLICY}")]);
        assert!(snapshot
            .model
            .diagnostics
            .iter()
            .all(|d| d.severity != Severity::Error));
        let snapshot = ignored.snapshot();
        assert!(snapshot.fail_closed.is_empty());
        assert!(policies(&snapshot).is_empty());
        assert_eq!(snapshot.rejected[0].kept, Kept::Nothing);
    }

    #[test]
    fn objects_fail_closed_in_their_namespace_and_unreadable_sources_are_rejected() {
        let mut sources = Sources::new(OnError::FailClosed);
        sources.offer(
            "networkpolicies/prod/x",
            "7",
            Scope::Namespace("prod".into()),
            text("{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"x\",\"namespace\":\"prod\"},\"spec\":{\"podSelector\":\"all\"}}"),
        );
        sources.offer("pods/prod/web", "3", Scope::Nothing, || {
            Content::Unreadable {
                message: "cannot read it".into(),
                lossy: None,
            }
        });
        let snapshot = sources.snapshot();
        assert_eq!(snapshot.fail_closed, ["prod"]);
        assert_eq!(snapshot.rejected.len(), 2);
        let rendered = snapshot.render_errors();
        assert!(rendered.contains("networkpolicies/prod/x"), "{rendered}");
        assert!(rendered.contains("cannot read it"), "{rendered}");
        sources.retain(|name| name.starts_with("pods/"));
        assert!(sources.snapshot().fail_closed.is_empty());
    }

    /// Whether the engine of `snapshot` allows anything from pod `from` to pod `to`.
    fn reaches(snapshot: &Snapshot, from: &str, to: &str) -> bool {
        let index = |id| {
            let i = snapshot.cluster.pod_index(id).expect("pod in the model");
            netpol_core::Endpoint::Pod(i)
        };
        let engine = netpol_core::Engine::new(snapshot);
        !engine
            .allowed_ports(index(from), index(to))
            .get(netpol_core::Protocol::TCP)
            .is_empty()
    }

    const BROKEN_ANP: &str = "{\"apiVersion\":\"policy.networking.k8s.io/v1alpha1\",\"kind\":\"AdminNetworkPolicy\",\"metadata\":{\"name\":\"guard\"},\"spec\":{\"priority\":\"high\",\"subject\":{\"namespaces\":{}}}}";

    #[test]
    fn a_cluster_policy_that_never_parsed_fails_its_tier_closed() {
        let mut closed = Sources::new(OnError::FailClosed);
        let mut ignored = Sources::new(OnError::Ignore);
        for sources in [&mut closed, &mut ignored] {
            sources.offer("pods", "1", Scope::Text, text(POD));
            sources.offer(
                "adminnetworkpolicies/guard",
                "5",
                Scope::Tier(Tier::Admin),
                text(BROKEN_ANP),
            );
        }
        let snapshot = closed.snapshot();
        assert_eq!(snapshot.fail_closed_tiers, [Tier::Admin]);
        assert!(snapshot.fail_closed.is_empty());
        assert_eq!(snapshot.cluster_policies.len(), 1, "the stand-in");
        assert!(!reaches(&snapshot, "dev/api", "prod/web"));
        assert!(!reaches(&snapshot, "prod/web", "dev/api"));
        assert!(
            snapshot.problems()[0].contains("the Admin tier (every pod) fail closed"),
            "{:?}",
            snapshot.problems()
        );
        let snapshot = ignored.snapshot();
        assert!(snapshot.fail_closed_tiers.is_empty());
        assert!(reaches(&snapshot, "dev/api", "prod/web"));

        // Once a good version came, a broken one keeps it instead.
        let good = BROKEN_ANP.replace("\"high\"", "10");
        closed.offer(
            "adminnetworkpolicies/guard",
            "6",
            Scope::Tier(Tier::Admin),
            text(&good),
        );
        closed.offer(
            "adminnetworkpolicies/guard",
            "7",
            Scope::Tier(Tier::Admin),
            text(BROKEN_ANP),
        );
        let snapshot = closed.snapshot();
        assert_eq!(snapshot.rejected[0].kept, Kept::LastGood);
        assert!(reaches(&snapshot, "dev/api", "prod/web"));
    }

    #[test]
    fn a_broken_baseline_denies_only_what_no_networkpolicy_decides() {
        // prod/web's ingress and dev/api's egress are decided by NetworkPolicies that allow
        // dev -> prod; the reverse direction is the Baseline's.
        const ALLOW: &str = "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: from-dev, namespace: prod}\nspec:\n  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {}}]}]\n---\nkind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: out, namespace: dev}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{}]\n";
        let broken = "kind: BaselineAdminNetworkPolicy\napiVersion: policy.networking.k8s.io/v1alpha1\nmetadata: {name: default}\nspec: {subject: [\n";
        let mut sources = Sources::new(OnError::FailClosed);
        sources.offer("pods", "1", Scope::Text, text(POD));
        sources.offer("allow.yaml", "1", Scope::Text, text(ALLOW));
        sources.offer("banp.yaml", "1", Scope::Text, text(broken));
        let snapshot = sources.snapshot();
        assert_eq!(snapshot.fail_closed_tiers, [Tier::Baseline]);
        assert_eq!(
            snapshot.fail_closed,
            ["default"],
            "the namespace scan as before"
        );
        assert!(reaches(&snapshot, "dev/api", "prod/web"));
        assert!(!reaches(&snapshot, "prod/web", "dev/api"));
    }
}
