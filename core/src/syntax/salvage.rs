//! What can still be said about a text that does not parse: the namespaces it names.
//!
//! A node agent that rejects a broken policy file and has no earlier version of it must
//! decide what the file's policies would have done. A NetworkPolicy only ever selects pods of
//! its own namespace, so isolating every namespace the file names covers every pod its
//! policies could have isolated. This scan is therefore deliberately generous: a false
//! namespace only isolates more, a missed one would leave pods open.
//!
//! Cluster-scoped policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
//! ClusterNetworkPolicy) select pods of any namespace, so for them the scan names the tiers
//! a text may hold policies of ([`tiers_named`]), just as generously.

use std::collections::BTreeSet;

use super::compact;
use super::names::dns_label;
use crate::cluster_policy::Tier;

/// The tiers `text` may hold cluster policies of, sorted: `Baseline` when it mentions
/// `BaselineAdminNetworkPolicy` anywhere, `Admin` when it mentions `AdminNetworkPolicy`
/// (not as part of the Baseline kind) or `ClusterNetworkPolicy` anywhere. A
/// ClusterNetworkPolicy counts as Admin whatever its `tier` says, since the tier may be
/// what is broken, and Admin is the tier that can deny more.
pub fn tiers_named(text: &str) -> Vec<Tier> {
    let mut found = BTreeSet::new();
    let admin_kind = text
        .match_indices("AdminNetworkPolicy")
        .any(|(at, _)| !text[..at].ends_with("Baseline"));
    if admin_kind || text.contains("ClusterNetworkPolicy") {
        found.insert(Tier::Admin);
    }
    if text.contains("BaselineAdminNetworkPolicy") {
        found.insert(Tier::Baseline);
    }
    found.into_iter().collect()
}

/// The namespaces `text` names, sorted: every value of a `namespace` key (YAML block or
/// flow style, JSON), plus `default` for each document without one (objects without
/// `metadata.namespace` live there; `kind: Namespace` documents excepted), or, in the
/// compact form, the namespace of every object line. Works on any text, including text
/// whose YAML is broken half-way; values that are not namespace names are skipped.
pub fn namespaces_named(text: &str) -> Vec<String> {
    let mut found = BTreeSet::new();
    if compact::is_compact(text) {
        compact_namespaces(text, &mut found);
    } else {
        for document in documents(text) {
            manifest_namespaces(document, &mut found);
        }
    }
    found.into_iter().collect()
}

/// YAML documents: the text split at `---` lines (JSON has one document).
fn documents(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with("---") {
            out.push(&text[start..offset]);
            start = offset + line.len();
        }
        offset += line.len();
    }
    out.push(&text[start..]);
    out
}

fn manifest_namespaces(document: &str, found: &mut BTreeSet<String>) {
    let meaningful = document
        .lines()
        .map(str::trim)
        .any(|l| !l.is_empty() && !l.starts_with('#'));
    if !meaningful {
        return;
    }
    let mut named = false;
    for value in key_values(document, "namespace") {
        named = true;
        if dns_label(value).is_ok() {
            found.insert(value.to_string());
        }
    }
    let is_namespace_object = key_values(document, "kind").any(|k| k == "Namespace");
    if !named && !is_namespace_object {
        found.insert("default".to_string());
    }
}

/// The values of every `key:` (or `"key":`) in `text`, unquoted, in text order. A key is
/// the word right after a line start, indentation, `{`, `,` or `-`, so `namespaceSelector`
/// and `kubernetes.io/metadata.namespace` never count.
fn key_values<'a>(text: &'a str, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    text.match_indices(key).filter_map(move |(at, _)| {
        let before = text[..at].trim_end_matches(['"', '\'']);
        let boundary = before
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || matches!(c, '{' | ',' | '-' | '['));
        let after = text[at + key.len()..].trim_start_matches(['"', '\'']);
        let value = after.trim_start_matches([' ', '\t']).strip_prefix(':')?;
        boundary.then(|| first_scalar(value))
    })
}

/// The scalar at the start of `text`: up to a quote, space, comma, brace, bracket, comment
/// or line end.
fn first_scalar(text: &str) -> &str {
    let text = text.trim_start_matches([' ', '\t', '"', '\'']);
    let end = text
        .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '}' | ']' | '#'))
        .unwrap_or(text.len());
    &text[..end]
}

/// Compact form: `namespace NAME`, `pod NS/NAME`, `pod NAME` (default), one per line.
fn compact_namespaces(text: &str, found: &mut BTreeSet<String>) {
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut words = line.split_whitespace();
        let (Some(keyword), Some(name)) = (words.next(), words.next()) else {
            continue;
        };
        let namespace = match name.split_once('/') {
            Some((ns, _)) => ns,
            None if matches!(keyword, "namespace" | "ns") => name,
            None => "default",
        };
        if dns_label(namespace).is_ok() {
            found.insert(namespace.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{namespaces_named, tiers_named};
    use crate::cluster_policy::Tier;

    #[test]
    fn cluster_policy_kinds_name_their_tiers_even_in_broken_text() {
        let banp = "kind: BaselineAdminNetworkPolicy\nmetadata: {name: default\n";
        assert_eq!(tiers_named(banp), [Tier::Baseline]);
        let cnp = "kind: ClusterNetworkPolicy\nspec:\n  tier: Baseline\n  priority: [\n";
        assert_eq!(
            tiers_named(cnp),
            [Tier::Admin],
            "the tier may be what is broken"
        );
        let both = format!("{banp}---\nkind: AdminNetworkPolicy\n");
        assert_eq!(tiers_named(&both), [Tier::Admin, Tier::Baseline]);
        assert!(tiers_named("kind: NetworkPolicy\nmetadata: {namespace: prod}\n").is_empty());
    }

    #[test]
    fn a_policy_with_a_yaml_typo_still_names_its_namespace() {
        let text = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny-all\n  namespace: prod\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress\n";
        assert_eq!(namespaces_named(text), ["prod"]);
    }

    #[test]
    fn flow_style_json_quotes_and_several_documents() {
        let text = "metadata: {name: a, namespace: 'dev'}\n---\n{\"metadata\": {\"namespace\": \"prod\", \"name\": \"b\"}}\n---\n# only a comment\n---\nkind: NetworkPolicy\nmetadata: {name: c}\n";
        assert_eq!(namespaces_named(text), ["default", "dev", "prod"]);
    }

    #[test]
    fn selectors_and_namespace_objects_do_not_count() {
        let text = "kind: Namespace\nmetadata:\n  name: prod\n---\nkind: NetworkPolicy\nmetadata:\n  namespace: team-a\nspec:\n  ingress:\n  - from:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.namespace: other\n";
        assert_eq!(namespaces_named(text), ["team-a"]);
    }

    #[test]
    fn values_that_are_not_namespace_names_are_skipped() {
        assert_eq!(
            namespaces_named("metadata:\n  namespace: Not_A_Name\n"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn compact_form_lines_name_their_namespaces() {
        let text =
            "namespace prod env=prod\npod dev/api app=api ip=10.0.0.1\npod web app=web # default\n";
        assert_eq!(namespaces_named(text), ["default", "dev", "prod"]);
    }
}
