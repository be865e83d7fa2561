//! From command-line paths (and `--cluster`) to a [`Model`]: the only place that touches the
//! file system.
//!
//! Every source text gets a [`FileId`] equal to its index in [`Inputs::sources`], so a
//! diagnostic's span leads straight back to the path and the text for rendering.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::miette;
use netpol_core::{Diagnostic, FileId, Model};

use crate::cluster::ClusterArgs;

/// Extensions picked up when walking a directory. Explicitly named files are read whatever
/// their extension; the core detects YAML, JSON and the compact form from the text itself.
const EXTENSIONS: [&str; 5] = ["yaml", "yml", "json", "txt", "np"];

/// One source text and the name it is shown under in diagnostics.
#[derive(Debug)]
pub struct Source {
    /// The path as given (or found by the walk), `<stdin>`, or `cluster:RESOURCE/NS/NAME`.
    pub name: String,
    /// The text; shared with miette's `NamedSource` without copying.
    pub text: Arc<str>,
}

/// A file that was found but could not be used (not UTF-8): reported as an error
/// diagnostic, like a syntax error, so the other files still produce results.
#[derive(Debug)]
pub struct Unreadable {
    /// The path.
    pub name: String,
    /// What went wrong.
    pub message: String,
}

impl Unreadable {
    /// The error diagnostic (`not-utf8`, no place in any text) that reports it.
    pub fn diagnostic(&self) -> Diagnostic {
        Diagnostic::error("not-utf8", None, self.message.clone())
            .with_help(format!("convert {} to UTF-8", self.name))
    }
}

/// Everything read from the command line's paths, and the model built from it.
#[derive(Debug)]
pub struct Inputs {
    /// Indexed by `FileId.0`.
    pub sources: Vec<Source>,
    /// Files that could not be decoded.
    pub unreadable: Vec<Unreadable>,
    /// The merged model of all sources.
    pub model: Model,
}

impl Inputs {
    /// Reads the cluster (with `--cluster`), then every path (files, directories
    /// recursively in sorted order, `-` for stdin), and builds the model. A path that does
    /// not exist, or a cluster that cannot be read, is a usage error.
    pub fn load(paths: &[String], cluster: &ClusterArgs) -> Result<Inputs, miette::Report> {
        let sources = crate::cluster::sources(cluster)?;
        Self::load_files(paths, sources)
    }

    /// Reads every path after the `sources` already read, and builds the model.
    fn load_files(paths: &[String], mut sources: Vec<Source>) -> Result<Inputs, miette::Report> {
        let mut files: Vec<(String, Option<PathBuf>)> = Vec::new();
        let mut stdin_seen = false;
        for arg in paths {
            if arg == "-" {
                if stdin_seen {
                    return Err(miette!(
                        help = "name `-` once; stdin can only be read once",
                        "`-` (stdin) is given more than once"
                    ));
                }
                stdin_seen = true;
                files.push(("<stdin>".to_string(), None));
                continue;
            }
            let path = Path::new(arg);
            let meta = std::fs::metadata(path).map_err(|e| {
                miette!(
                    help = "pass manifest files, directories, or `-` for stdin",
                    "cannot read {arg}: {e}"
                )
            })?;
            if meta.is_dir() {
                let before = files.len();
                walk(path, &mut files).map_err(|e| miette!("cannot read directory {arg}: {e}"))?;
                if files.len() == before {
                    return Err(miette!(
                        help = "files must end in .yaml, .yml, .json, .txt or .np",
                        "no manifests found under {arg}"
                    ));
                }
            } else {
                files.push((arg.clone(), Some(path.to_path_buf())));
            }
        }

        sources.reserve(files.len());
        let mut unreadable = Vec::new();
        for (name, path) in files {
            let bytes = match &path {
                Some(p) => std::fs::read(p),
                None => {
                    let mut buf = Vec::new();
                    std::io::stdin().lock().read_to_end(&mut buf).map(|_| buf)
                }
            }
            .map_err(|e| miette!("cannot read {name}: {e}"))?;
            match String::from_utf8(bytes) {
                Ok(text) => sources.push(Source {
                    name,
                    text: Arc::from(text),
                }),
                Err(e) => unreadable.push(Unreadable {
                    message: format!(
                        "{name} is not UTF-8 text (invalid byte at offset {})",
                        e.utf8_error().valid_up_to()
                    ),
                    name,
                }),
            }
        }

        let parsed = sources
            .iter()
            .enumerate()
            .map(|(i, s)| netpol_core::parse(FileId(i as u32), &s.text))
            .collect();
        let model = netpol_core::build(parsed);
        Ok(Inputs {
            sources,
            unreadable,
            model,
        })
    }

    /// Indices of the model's pods to show: those of `namespace`, or all. Only what is
    /// shown is limited; everything is evaluated.
    pub fn shown_pods(&self, namespace: Option<&str>) -> Vec<usize> {
        let pods = &self.model.cluster.pods;
        (0..pods.len())
            .filter(|&i| namespace.is_none_or(|ns| pods[i].namespace == ns))
            .collect()
    }

    /// The source a diagnostic's span points into.
    pub fn source(&self, file: FileId) -> Option<&Source> {
        self.sources.get(file.0 as usize)
    }
}

/// Appends the manifest files under `dir`, depth first, entries sorted by name so the
/// FileIds (and with them diagnostic order) do not depend on the file system. Hidden
/// entries (`.git`, editor swap files) are skipped; symlinked directories are not followed,
/// which rules out cycles.
fn walk(dir: &Path, files: &mut Vec<(String, Option<PathBuf>)>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            walk(&path, files)?;
        } else if is_manifest(&path) && (file_type.is_file() || path.is_file()) {
            files.push((path.display().to_string(), Some(path)));
        }
    }
    Ok(())
}

fn is_manifest(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}
