//! Cluster state from a directory of manifest files (standalone hosts and tests).
//!
//! Change detection polls a fingerprint (path, size, mtime) instead of using inotify: it
//! works the same on every filesystem (including bind mounts and ConfigMap symlink swaps)
//! and costs a few `stat` calls per tick.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use netpol_core::{FileId, Model, Parsed};

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

/// Reads every manifest of `dir` and builds the model. Files are numbered in path order,
/// so the same directory always gives the same model.
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
/// load. A 10,000-pod cluster is megabytes of YAML; a one-policy edit should cost the parse
/// of that one file plus the merge, not the parse of everything.
///
/// File ids are the files' positions in path order when they were parsed; a kept file keeps
/// its id. Ids only appear in spans, which no enforcement decision reads.
#[derive(Debug, Default)]
pub struct Loader {
    cache: BTreeMap<PathBuf, (u64, Option<SystemTime>, Parsed)>,
}

impl Loader {
    /// The model of `dir` now.
    pub fn load(&mut self, dir: &Path) -> Result<Model> {
        let paths = files(dir)?;
        self.cache.retain(|path, _| paths.contains(path));
        let mut sources = Vec::with_capacity(paths.len());
        for (i, path) in paths.iter().enumerate() {
            let meta =
                std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
            let (len, modified) = (meta.len(), meta.modified().ok());
            match self.cache.get(path) {
                Some((l, m, parsed)) if *l == len && *m == modified => sources.push(parsed.clone()),
                _ => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    let parsed = netpol_core::parse(FileId(i as u32), &text);
                    self.cache
                        .insert(path.clone(), (len, modified, parsed.clone()));
                    sources.push(parsed);
                }
            }
        }
        Ok(netpol_core::build(sources))
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
        assert_eq!(first, load(&dir).unwrap());
        std::fs::write(
            dir.join("b.txt"),
            "pod prod/db app=db ip=10.0.0.3\npod prod/web app=web ip=10.0.0.4\n",
        )
        .unwrap();
        let second = loader.load(&dir).unwrap();
        assert_eq!(second, load(&dir).unwrap());
        assert_eq!(second.cluster.pods.len(), 3);
        std::fs::remove_file(dir.join("a.txt")).unwrap();
        let third = loader.load(&dir).unwrap();
        assert_eq!(third.cluster.pods.len(), 2, "removed files leave the model");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
