//! A small spanned YAML tree, built from `saphyr-parser` events.
//!
//! Why our own tree: diagnostics and explanations point at the exact text of every policy,
//! rule, peer and port, so each node keeps its byte range. The event parser gives character
//! markers; we convert them to byte offsets once, here.
//!
//! Hostile input is bounded, never trusted:
//! - nesting deeper than [`MAX_DEPTH`] stops the document (our lowering recurses on the
//!   tree, and so does `Drop`);
//! - aliases are expanded by copying, within a node budget, so an alias bomb ("billion
//!   laughs") costs at most [`ALIAS_BUDGET`] copied nodes before it is diagnosed;
//! - a syntax error ends the stream: documents completed before it are kept.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle};

use crate::diagnostic::Diagnostic;
use crate::syntax::lines::Lines;

/// Deeper nesting than this is refused (Kubernetes manifests need about 12 levels).
pub const MAX_DEPTH: usize = 128;
/// How many nodes alias expansion may copy in one text before we refuse.
pub const ALIAS_BUDGET: usize = 100_000;

/// A YAML node with its byte range in the source text.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// What it is.
    pub value: Value,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
}

/// The kinds of YAML nodes we distinguish.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing at all.
    Null,
    /// A scalar; `plain` is false for quoted and block scalars (always strings).
    Scalar { text: String, plain: bool },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order (duplicates kept; readers decide).
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar's text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The value of `key` in a mapping (the last one if the key is repeated). Tests only:
    /// the lowering reads mappings through `Cx::fields`, which reports a value of the wrong
    /// type instead of treating it as absent.
    #[cfg(test)]
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// True for `null`, `~` and empty values.
    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// A short noun for messages: "a mapping", "a list", "a string", "a number", ...
    pub fn describe(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
            Value::Scalar { text, plain } => {
                if !plain {
                    "a string"
                } else if text.parse::<f64>().is_ok() || text.parse::<i128>().is_ok() {
                    "a number"
                } else if is_bool(text) {
                    "a boolean"
                } else {
                    "a string"
                }
            }
        }
    }

    fn count(&self) -> usize {
        match &self.value {
            Value::Null | Value::Scalar { .. } => 1,
            Value::Seq(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            Value::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.count() + v.count())
                    .sum::<usize>()
            }
        }
    }
}

/// One YAML document of a stream.
#[derive(Debug)]
pub struct Document {
    /// The root node; `None` for an empty document.
    pub root: Option<Node>,
}

/// Converts the parser's character indices into byte offsets. Pure ASCII text (the common
/// case) needs no table; otherwise we remember where each multi-byte character starts.
struct Offsets {
    /// `(char_index, extra_bytes_up_to_and_including_it)` for every non-ASCII character,
    /// ascending.
    wide: Vec<(usize, usize)>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Offsets {
        let mut wide = Vec::new();
        if !text.is_ascii() {
            let mut extra = 0;
            for (ci, c) in text.chars().enumerate() {
                let n = c.len_utf8();
                if n > 1 {
                    extra += n - 1;
                    wide.push((ci, extra));
                }
            }
        }
        Offsets {
            wide,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        // extra bytes of the wide characters strictly before `char_index`
        let i = self.wide.partition_point(|(ci, _)| *ci < char_index);
        let extra = if i == 0 { 0 } else { self.wide[i - 1].1 };
        (char_index + extra).min(self.len)
    }
}

enum Frame {
    Seq {
        start: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: usize,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

/// Parses a YAML (or JSON) stream into documents. Never panics; problems become
/// diagnostics with code `yaml-syntax`.
///
/// Each document is handed to `on_document` as soon as it is complete, so a large stream is
/// lowered document by document instead of being held as one big tree.
pub fn parse_stream(
    lines: &Lines,
    text: &str,
    diags: &mut Vec<Diagnostic>,
    on_document: &mut dyn FnMut(Document),
) {
    let offsets = Offsets::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    // `None`: the anchored node was too big to copy within the budget
    let mut anchors: HashMap<usize, Option<Node>> = HashMap::new();
    let mut budget = ALIAS_BUDGET;
    // Skipping the rest of a document that was refused (too deep, alias bomb) until its
    // DocumentEnd event.
    let mut skipping = false;
    let mut in_doc = false;

    loop {
        let (event, span) = match parser.next_event() {
            None => break,
            Some(Ok(ev)) => ev,
            Some(Err(e)) => {
                let at = offsets.byte(e.marker().index());
                let mut d = Diagnostic::error(
                    "yaml-syntax",
                    Some(lines.span(at, at)),
                    format!("invalid YAML: {}", e.info()),
                )
                .with_help(
                    "fix the YAML syntax here; documents before this point were read, \
                     this one and everything after it were not",
                );
                if text[..floor(text, at)]
                    .rsplit('\n')
                    .next()
                    .is_some_and(|l| l.contains('\t'))
                    || line_at(text, at).starts_with('\t')
                {
                    d = d.with_help(
                        "YAML does not allow tabs for indentation: indent with spaces; \
                         documents before this point were read, this one and everything \
                         after it were not",
                    );
                }
                diags.push(d);
                break;
            }
        };
        let start = offsets.byte(span.start.index());
        let end = offsets.byte(span.end.index()).max(start);

        if skipping {
            if matches!(event, Event::DocumentEnd) {
                skipping = false;
                in_doc = false;
                on_document(Document { root: None });
            }
            continue;
        }

        let completed: Option<Node> = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => None,
            Event::DocumentStart(_) => {
                in_doc = true;
                stack.clear();
                root = None;
                anchors.clear();
                None
            }
            Event::DocumentEnd => {
                in_doc = false;
                on_document(Document { root: root.take() });
                stack.clear();
                None
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(node) => {
                    let cost = node.as_ref().map_or(usize::MAX, Node::count);
                    if cost > budget {
                        diags.push(
                            Diagnostic::error(
                                "yaml-alias",
                                Some(lines.span(start, end)),
                                "aliases expand to too many nodes; the document was dropped",
                            )
                            .with_help(format!(
                                "write the repeated parts out, or use fewer nested aliases \
                                 (at most {ALIAS_BUDGET} copied nodes)"
                            )),
                        );
                        skipping = true;
                        stack.clear();
                        root = None;
                        None
                    } else {
                        budget -= cost;
                        let Some(mut n) = node.clone() else {
                            continue;
                        };
                        // the alias's own text is where it is used
                        n.start = start;
                        n.end = end;
                        Some(n)
                    }
                }
                None => {
                    diags.push(
                        Diagnostic::error(
                            "yaml-syntax",
                            Some(lines.span(start, end)),
                            "alias refers to an unknown anchor",
                        )
                        .with_help("define the anchor with `&name` before using `*name`"),
                    );
                    Some(Node {
                        value: Value::Null,
                        start,
                        end,
                    })
                }
            },
            Event::Scalar(value, style, anchor, _tag) => {
                let plain = matches!(style, ScalarStyle::Plain);
                let value = if plain && is_null(&value) {
                    Value::Null
                } else {
                    Value::Scalar {
                        text: value.into_owned(),
                        plain,
                    }
                };
                let node = Node { value, start, end };
                if anchor != 0 {
                    remember(&mut anchors, &mut budget, anchor, &node);
                }
                Some(node)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    diags.push(
                        Diagnostic::error(
                            "yaml-depth",
                            Some(lines.span(start, end)),
                            format!(
                                "nesting deeper than {MAX_DEPTH} levels; the document was dropped"
                            ),
                        )
                        .with_help("Kubernetes manifests are never this deep: check the brackets"),
                    );
                    skipping = true;
                    stack.clear();
                    root = None;
                    None
                } else {
                    stack.push(if matches!(event, Event::SequenceStart(..)) {
                        Frame::Seq {
                            start,
                            anchor,
                            items: Vec::new(),
                        }
                    } else {
                        Frame::Map {
                            start,
                            anchor,
                            entries: Vec::new(),
                            key: None,
                        }
                    });
                    None
                }
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq {
                    start: s,
                    anchor,
                    items,
                }) => {
                    let last = items.last().map_or(s, |n| n.end);
                    let node = Node {
                        value: Value::Seq(items),
                        start: s,
                        end: close_end(text, start, end, last),
                    };
                    if anchor != 0 {
                        remember(&mut anchors, &mut budget, anchor, &node);
                    }
                    Some(node)
                }
                Some(Frame::Map {
                    start: s,
                    anchor,
                    entries,
                    key,
                }) => {
                    let mut last = entries.last().map_or(s, |(_, v)| v.end);
                    if let Some(k) = &key {
                        last = last.max(k.end);
                    }
                    let mut entries = entries;
                    if let Some(k) = key {
                        // a key without value cannot happen in valid events; keep it as null
                        let at = k.end;
                        entries.push((
                            k,
                            Node {
                                value: Value::Null,
                                start: at,
                                end: at,
                            },
                        ));
                    }
                    let node = Node {
                        value: Value::Map(merge_keys(entries)),
                        start: s,
                        end: close_end(text, start, end, last),
                    };
                    if anchor != 0 {
                        remember(&mut anchors, &mut budget, anchor, &node);
                    }
                    Some(node)
                }
                None => None,
            },
        };

        if let Some(node) = completed {
            match stack.last_mut() {
                Some(Frame::Seq { items, .. }) => items.push(node),
                Some(Frame::Map { entries, key, .. }) => match key.take() {
                    None => *key = Some(node),
                    Some(k) => entries.push((k, node)),
                },
                None => {
                    if in_doc {
                        root = Some(node);
                    }
                }
            }
        }
    }
}

/// Keeps a copy of an anchored node for later aliases; the copy is charged to the budget
/// (nested anchors would otherwise copy the same text once per level).
fn remember(
    anchors: &mut HashMap<usize, Option<Node>>,
    budget: &mut usize,
    anchor: usize,
    node: &Node,
) {
    let cost = node.count();
    if cost <= *budget {
        *budget -= cost;
        anchors.insert(anchor, Some(node.clone()));
    } else {
        anchors.insert(anchor, None);
    }
}

/// End of a collection: flow collections end with their closing bracket (the end event's
/// span), block collections with their last child (the end event sits wherever the next
/// token starts, possibly after comments and blank lines).
fn close_end(text: &str, ev_start: usize, ev_end: usize, last_child: usize) -> usize {
    let closing = text
        .as_bytes()
        .get(ev_start)
        .is_some_and(|b| *b == b']' || *b == b'}');
    if closing && ev_end > ev_start {
        ev_end.max(last_child)
    } else {
        last_child
    }
}

/// Applies YAML merge keys (`<<: *base`), which Kubernetes' YAML reader honours: entries
/// of the merged mappings are added unless the mapping sets them itself.
fn merge_keys(entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
    if !entries
        .iter()
        .any(|(k, _)| matches!(&k.value, Value::Scalar { text, plain: true } if text == "<<"))
    {
        return entries;
    }
    let mut own = Vec::new();
    let mut merged = Vec::new();
    for (k, v) in entries {
        if matches!(&k.value, Value::Scalar { text, plain: true } if text == "<<") {
            match v.value {
                Value::Map(m) => merged.extend(m),
                Value::Seq(items) => {
                    for item in items {
                        if let Value::Map(m) = item.value {
                            merged.extend(m);
                        }
                    }
                }
                _ => {}
            }
        } else {
            own.push((k, v));
        }
    }
    let mut present: HashSet<Option<String>> = own
        .iter()
        .map(|(k, _)| k.as_str().map(str::to_owned))
        .collect();
    for (k, v) in merged {
        if present.insert(k.as_str().map(str::to_owned)) {
            own.push((k, v));
        }
    }
    own
}

/// Booleans as Kubernetes' YAML reader (YAML 1.1) sees them: `yes`, `on`, ... are booleans
/// there, so an unquoted `enabled: yes` label is not the string "yes" it looks like.
fn is_bool(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off"
    ) && (s.chars().all(|c| c.is_ascii_lowercase())
        || s.chars().all(|c| c.is_ascii_uppercase())
        || s[1..].chars().all(|c| c.is_ascii_lowercase()))
}

fn is_null(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

fn floor(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn line_at(text: &str, at: usize) -> &str {
    let at = floor(text, at);
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    &text[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::FileId;

    fn parse(text: &str) -> (Vec<Document>, Vec<Diagnostic>) {
        let mut d = Vec::new();
        let mut docs = Vec::new();
        parse_stream(&Lines::new(FileId(0), text), text, &mut d, &mut |doc| {
            docs.push(doc)
        });
        (docs, d)
    }

    #[test]
    fn offsets_are_bytes() {
        let text = "é: ü\nkey: value\n";
        let (docs, d) = parse(text);
        assert!(d.is_empty(), "{d:?}");
        let root = docs[0].root.as_ref().unwrap();
        let v = root.get("key").unwrap();
        assert_eq!(&text[v.start..v.end], "value");
        let v = root.get("é").unwrap();
        assert_eq!(&text[v.start..v.end], "ü");
    }

    #[test]
    fn flow_json_and_multi_document() {
        let text = "# c\na: {b: 1, \"c d\": [x, y]}\n---\n{\"k\": null}\n";
        let (docs, d) = parse(text);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(docs.len(), 2);
        let a = docs[0].root.as_ref().unwrap().get("a").unwrap();
        assert_eq!(&text[a.start..a.end], "{b: 1, \"c d\": [x, y]}");
        assert!(a.get("c d").is_some());
        assert!(docs[1].root.as_ref().unwrap().get("k").unwrap().is_null());
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let (_, d) = parse(&text);
        assert!(d.iter().any(|d| d.code == "yaml-alias"), "{d:?}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(100_000);
        let (_, d) = parse(&text);
        assert!(!d.is_empty());
        let text = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let (_, d) = parse(&text);
        assert!(d.iter().any(|d| d.code == "yaml-depth"), "{d:?}");
    }
}
