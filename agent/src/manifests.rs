//! Cluster state from a directory of manifest files (standalone hosts and tests).
//!
//! Change detection polls a fingerprint (path, size, mtime) instead of using inotify: it
//! works the same on every filesystem (including bind mounts and ConfigMap symlink swaps)
//! and costs a few `stat` calls per tick.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use netpol_core::{FileId, Model};

use crate::sources::{Content, OnError, Scope, Snapshot, Sources};

/// What the directory looked like: one entry per manifest file.
pub type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

/// Manifest files of `dir`, sorted: regular files (symlinks followed) whose name does not
/// start with `.` (editor swap files and half-written temporaries are skipped).
pub fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// The current fingerprint of `dir`.
pub fn fingerprint(dir: &Path) -> Result<Fingerprint> {
    let mut out = Vec::new();
    for path in files(dir)? {
        // A file may vanish between listing and stat; it then simply is not part of it.
        if let Ok(meta) = std::fs::metadata(&path) {
            out.push((path, meta.len(), meta.modified().ok()));
        }
    }
    Ok(out)
}

/// Reads every manifest of `dir` and builds the model of everything parsing understood, as
/// the CLI does (tests and benchmarks compare with it; the agent itself uses [`Loader`]).
/// Files are numbered in path order, so the same directory always gives the same model.
pub fn load(dir: &Path) -> Result<Model> {
    let mut texts = Vec::new();
    for path in files(dir)? {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        texts.push(text);
    }
    let sources: Vec<(FileId, &str)> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| (FileId(i as u32), text.as_str()))
        .collect();
    Ok(netpol_core::load(&sources))
}

/// Loads a directory again and again, parsing only the files that changed since the last
/// load, and keeping each file's last good version ([`crate::sources`]): a file with errors
/// is not taken. A 10,000-pod cluster is megabytes of YAML; a one-policy edit should cost
/// the parse of that one file plus the merge, not the parse of everything.
///
/// A file's version is its size and modification time; ids only appear in spans, which no
/// enforcement decision reads.
#[derive(Debug, Default)]
pub struct Loader {
    sources: Sources,
}

impl Loader {
    /// A loader that has read nothing yet.
    pub fn new(on_error: OnError) -> Loader {
        Loader {
            sources: Sources::new(on_error),
        }
    }

    /// The state of `dir` now. Fails only when the directory itself cannot be listed; an
    /// unreadable file is a rejected source like a broken one.
    pub fn load(&mut self, dir: &Path) -> Result<Snapshot> {
        let paths = files(dir)?;
        let names: BTreeSet<String> = paths.iter().map(|p| p.display().to_string()).collect();
        self.sources.retain(|name| names.contains(name));
        for path in &paths {
            let version = match std::fs::metadata(path) {
                Ok(meta) => format!("{}:{:?}", meta.len(), meta.modified().ok()),
                // Gone since the listing: the next load will not list it either.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => format!("error: {e}"),
            };
            let name = path.display().to_string();
            self.sources
                .offer(&name, &version, Scope::Text, || read(path));
        }
        Ok(self.sources.snapshot())
    }
}

/// A file's content, or why it is not text.
fn read(path: &Path) -> Content {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Content::Text(text),
            Err(e) => Content::Unreadable {
                message: format!(
                    "{} is not UTF-8 text (invalid byte at offset {})",
                    path.display(),
                    e.utf8_error().valid_up_to()
                ),
                lossy: Some(String::from_utf8_lossy(e.as_bytes()).into_owned()),
            },
        },
        Err(e) => Content::Unreadable {
            message: format!("cannot read {}: {e}", path.display()),
            lossy: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_files_are_skipped_and_changes_show_in_the_fingerprint() {
        let dir = std::env::temp_dir().join(format!("netpol-manifests-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("b.yaml"), "pod prod/api app=api ip=10.0.0.1\n").unwrap();
        std::fs::write(dir.join(".b.yaml.swp"), "garbage").unwrap();
        let before = fingerprint(&dir).unwrap();
        assert_eq!(before.len(), 1, "{before:?}");
        std::fs::write(dir.join("a.yaml"), "").unwrap();
        let after = fingerprint(&dir).unwrap();
        assert_ne!(before, after);
        assert!(after[0].0.ends_with("a.yaml"), "sorted by path: {after:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_loader_reparses_only_changed_files_and_agrees_with_load() {
        let dir = std::env::temp_dir().join(format!("netpol-loader-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.txt"), "pod prod/api app=api ip=10.0.0.1\n").unwrap();
        std::fs::write(dir.join("b.txt"), "pod prod/db app=db ip=10.0.0.2\n").unwrap();
        let mut loader = Loader::default();
        let first = loader.load(&dir).unwrap();
        assert_eq!(first.cluster.pods.len(), 2);
        assert_eq!(first.model, load(&dir).unwrap());
        std::fs::write(
            dir.join("b.txt"),
            "pod prod/db app=db ip=10.0.0.3\npod prod/web app=web ip=10.0.0.4\n",
        )
        .unwrap();
        let second = loader.load(&dir).unwrap();
        assert_eq!(second.model, load(&dir).unwrap());
        assert_eq!(second.cluster.pods.len(), 3);
        std::fs::remove_file(dir.join("a.txt")).unwrap();
        let third = loader.load(&dir).unwrap();
        assert_eq!(third.cluster.pods.len(), 2, "removed files leave the model");

        // A broken version of b.txt: the loader keeps the last good one, `load` does not.
        std::fs::write(
            dir.join("b.txt"),
            "pod prod/db app=db ip=10.0.0.3\nnonsense here\n",
        )
        .unwrap();
        let fourth = loader.load(&dir).unwrap();
        assert_eq!(fourth.cluster.pods.len(), 2, "last good version of b.txt");
        assert_eq!(fourth.rejected.len(), 1);
        assert!(fourth.rejected[0].name.ends_with("b.txt"));
        std::fs::write(dir.join("c.txt"), [0xff, 0xfe]).unwrap();
        let fifth = loader.load(&dir).unwrap();
        assert_eq!(fifth.rejected.len(), 2, "not UTF-8: rejected too");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
