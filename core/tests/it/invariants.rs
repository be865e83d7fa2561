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
