//! Cluster state from a directory of manifest files (standalone hosts and tests).
//!
//! Change detection polls a fingerprint (path, size, mtime) instead of using inotify: it
//! works the same on every filesystem (including bind mounts and ConfigMap symlink swaps)
//! and costs a few `stat` calls per tick.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use netpol_core::{FileId, Model};

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
}
