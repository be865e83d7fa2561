//! The what-if summary: which allowed connections appeared or disappeared since the last
//! change, compared by endpoint ids so it survives re-layout.

use std::collections::BTreeSet;

/// Opened and closed connections between two results for the same probe.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Change {
    /// Pairs allowed now but not before.
    pub opened: Vec<(String, String)>,
    /// Pairs allowed before but not now.
    pub closed: Vec<(String, String)>,
}

/// Compares two sets of allowed pairs.
pub fn diff(before: &BTreeSet<(String, String)>, after: &BTreeSet<(String, String)>) -> Change {
    Change {
        opened: after.difference(before).cloned().collect(),
        closed: before.difference(after).cloned().collect(),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// "3 connections opened, 1 closed since last change", or "no connection changed".
pub fn summary(change: &Change) -> String {
    match (change.opened.len(), change.closed.len()) {
        (0, 0) => "no connection changed since last change".to_string(),
        (o, 0) => format!("{} opened since last change", plural(o, "connection")),
        (0, c) => format!("{} closed since last change", plural(c, "connection")),
        (o, c) => format!(
            "{} opened, {c} closed since last change",
            plural(o, "connection")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn counts_and_words() {
        let before = set(&[("a", "b"), ("a", "c"), ("b", "c")]);
        let after = set(&[("a", "b"), ("c", "a"), ("c", "b"), ("b", "a")]);
        let ch = diff(&before, &after);
        assert_eq!(ch.opened.len(), 3);
        assert_eq!(ch.closed.len(), 2);
        assert_eq!(
            summary(&ch),
            "3 connections opened, 2 closed since last change"
        );
        assert_eq!(
            summary(&diff(&after, &after)),
            "no connection changed since last change"
        );
        assert_eq!(
            summary(&diff(&set(&[]), &set(&[("a", "b")]))),
            "1 connection opened since last change"
        );
        assert_eq!(
            summary(&diff(&set(&[("a", "b")]), &set(&[]))),
            "1 connection closed since last change"
        );
    }
}
