//! ARCHITECTURE.md's invariants for `core`, checked on the source so a change that breaks
//! one fails here rather than in a review: no I/O, clocks, threads, environment, processes
//! or printing anywhere in `core/src` (the wasm32 build would not even run a clock).

use std::path::{Path, PathBuf};

const FORBIDDEN: &[(&str, &str)] = &[
    ("std::fs", "file I/O"),
    ("std::io::stdin", "console I/O"),
    ("std::io::stdout", "console I/O"),
    ("std::net::Tcp", "network I/O"),
    ("std::net::Udp", "network I/O"),
    ("std::time", "clocks"),
    ("std::thread", "threads"),
    ("std::env", "the environment"),
    ("std::process", "processes"),
    ("println!", "printing"),
    ("eprintln!", "printing"),
    ("print!(", "printing"),
    ("dbg!(", "printing"),
    ("static mut", "global state"),
    ("thread_local!", "global state"),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn core_does_no_io() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 10, "core/src has its modules");
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for (token, what) in FORBIDDEN {
                if code.contains(token) {
                    found.push(format!(
                        "{}:{}: {what}: {}",
                        file.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "core must not do I/O:\n{}",
        found.join("\n")
    );
}

/// Tell-tales of semantics: matching selectors, reading a policy's selectors or ipBlocks,
/// resolving named ports, parsing port specs. Only `core` may do these ("one semantics",
/// ARCHITECTURE.md); the CLI, the playground and the agent call the core instead. Matched on
/// the code with comments and all whitespace removed, so a call split over lines is found.
const SEMANTIC: &[(&str, &str)] = &[
    ("LabelSelector::matches", "matches a label selector"),
    ("match_labels", "reads a selector's matchLabels"),
    ("match_expressions", "reads a selector's matchExpressions"),
    (
        "pod_selector",
        "reads a podSelector (use netpol_core::in_scope)",
    ),
    ("namespace_selector", "reads a namespaceSelector"),
    ("ip_block", "reads an ipBlock"),
    (
        "resolve_port",
        "resolves a named port (use PortSpec::resolve)",
    ),
    ("name.as_deref()==Some(", "compares a container port name"),
    ("pod.ports", "reads a pod's container ports"),
    (".ports.iter()", "walks container or rule ports"),
    ("Protocol::parse", "parses a protocol (use PortSpec)"),
    ("parse::<u16>", "parses a port number (use PortSpec)"),
];

/// `.matches(&…labels…)`: a selector applied to labels, however the receiver is named.
const MATCHES_CALL: &str = ".matches(&";

/// The few places outside `core` that use a tell-tale without deciding anything, and why.
const NOT_SEMANTIC: &[(&str, &str, &str)] = &[
    (
        "app/src/components/node_info.rs",
        "pod.ports",
        "shows the selected pod's declared container ports in its info panel",
    ),
    (
        "app/src/components/node_info.rs",
        ".ports.iter()",
        "the same panel: formats each declared port as text",
    ),
    (
        "app/src/probe.rs",
        "pod.ports",
        "offers the pods' container ports as choices of the port chooser; the engine decides",
    ),
    (
        "cli/src/explain.rs",
        "pod.ports",
        "lists the destination's named ports in the help text after the core's named_ports found none",
    ),
    ("cli/src/explain.rs", ".ports.iter()", "the same help text"),
    (
        "cli/src/exposure.rs",
        "pod_selector",
        "writes the core's peer description into the JSON as the API spells selectors",
    ),
    ("cli/src/exposure.rs", "namespace_selector", "the same JSON"),
    ("cli/src/exposure.rs", "match_labels", "the same JSON"),
    ("cli/src/exposure.rs", "match_expressions", "the same JSON"),
    (
        "cli/src/convert.rs",
        "namespace_selector",
        "writes the namespaceSelector of netpol_core::convert's objects as YAML; matches nothing",
    ),
    ("cli/src/convert.rs", "pod_selector", "the same: writes a podSelector as YAML"),
    ("cli/src/convert.rs", "match_labels", "the same: writes matchLabels as YAML"),
    (
        "cli/src/convert.rs",
        "match_expressions",
        "the same: writes matchExpressions as YAML",
    ),
];

/// The code of `text` without `//` comments and whitespace, with each byte's 1-based line.
fn compact_code(text: &str) -> (String, Vec<usize>) {
    let mut code = String::new();
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let without_comment = line.split("//").next().unwrap_or_default();
        for c in without_comment.chars().filter(|c| !c.is_whitespace()) {
            code.push(c);
            lines.extend(std::iter::repeat_n(n + 1, c.len_utf8()));
        }
    }
    (code, lines)
}

/// Every (line, tell-tale, what) in `text`.
fn tell_tales(text: &str) -> Vec<(usize, &'static str, &'static str)> {
    let (code, lines) = compact_code(text);
    let mut found = Vec::new();
    for (token, what) in SEMANTIC {
        for (at, _) in code.match_indices(token) {
            found.push((lines[at], *token, *what));
        }
    }
    for (at, _) in code.match_indices(MATCHES_CALL) {
        let args = &code[at + MATCHES_CALL.len()..];
        let args = &args[..args.find(')').unwrap_or(args.len())];
        if args.contains("labels") {
            found.push((lines[at], MATCHES_CALL, "matches labels against a selector"));
        }
    }
    found.sort();
    found
}

fn semantic_violations(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for krate in ["cli/src", "app/src", "agent/src", "kube/src", "testenv/src"] {
        rust_files(&root.join(krate), &mut files);
    }
    let mut found = Vec::new();
    for file in &files {
        let name = file
            .strip_prefix(root)
            .unwrap_or(file)
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(file).expect("readable source");
        for (line, token, what) in tell_tales(&text) {
            let allowed = NOT_SEMANTIC
                .iter()
                .any(|(f, t, _)| *f == name && *t == token);
            if !allowed {
                found.push(format!("{name}:{line}: {what} (`{token}`)"));
            }
        }
    }
    found
}

#[test]
fn only_core_decides_semantics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let found = semantic_violations(&root);
    assert!(
        found.is_empty(),
        "only netpol-core matches selectors, resolves ports or parses port specs; call the \
         core (in_scope, PortSpec, Engine, evaluate) instead, or add the place to NOT_SEMANTIC \
         with the reason it decides nothing:\n{}",
        found.join("\n")
    );
    // Every allowlisted place still uses its tell-tale: a stale entry would silently allow
    // a new use later.
    for (file, token, why) in NOT_SEMANTIC {
        let text = std::fs::read_to_string(root.join(file)).expect("allowlisted file exists");
        assert!(
            tell_tales(&text).iter().any(|(_, t, _)| t == token),
            "{file} no longer uses `{token}` ({why}); remove it from NOT_SEMANTIC"
        );
    }
}

#[test]
fn the_tell_tales_are_found_however_the_code_is_laid_out() {
    let planted = "fn f(policy: &NetworkPolicy, pod: &Pod) -> bool {\n    policy\n        .pod_selector // the podSelector\n        .matches(&pod.labels)\n}\nfn g(s: &str) -> Option<u16> { s.parse::<u16>().ok() }\n// pod.ports in a comment is fine\n";
    let found: Vec<(usize, &str)> = tell_tales(planted)
        .into_iter()
        .map(|(line, token, _)| (line, token))
        .collect();
    assert_eq!(
        found,
        vec![(3, "pod_selector"), (4, MATCHES_CALL), (6, "parse::<u16>")]
    );
    assert!(tell_tales("let n = a.matches(&b);").is_empty());
}
