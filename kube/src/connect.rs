//! A client for the cluster a user means: a kubeconfig file and context, as kubectl picks
//! them.

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// Which cluster: `--kubeconfig` and `--context`, each optional.
#[derive(Clone, Copy, Debug, Default)]
pub struct Target<'a> {
    /// A kubeconfig file; otherwise `$KUBECONFIG` or `~/.kube/config`, then the in-cluster
    /// service account.
    pub kubeconfig: Option<&'a Path>,
    /// A context of the kubeconfig; otherwise its current context.
    pub context: Option<&'a str>,
}

/// A client and what it points at, for messages.
#[derive(Clone)]
pub struct Connected {
    /// The client.
    pub client: Client,
    /// The context used, when a kubeconfig was read.
    pub context: Option<String>,
    /// The API server's URL.
    pub server: String,
}

impl std::fmt::Debug for Connected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connected")
            .field("context", &self.context)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// Why no client could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The kubeconfig could not be read or lacks what was asked for (a context).
    #[error("{0}")]
    Kubeconfig(String),
    /// The configuration did not give a usable client (TLS material, auth plugin).
    #[error("cannot build a client for {server}: {message}")]
    Client {
        /// The API server's URL.
        server: String,
        /// What went wrong.
        message: String,
    },
}

/// The client for `target`, as kubectl would choose it.
pub async fn connect(target: Target<'_>) -> Result<Connected, ConnectError> {
    let options = KubeConfigOptions {
        context: target.context.map(str::to_string),
        ..KubeConfigOptions::default()
    };
    let (config, context) = match (target.kubeconfig, target.context) {
        (Some(path), _) => {
            let file = Kubeconfig::read_from(path).map_err(|e| {
                ConnectError::Kubeconfig(format!("cannot read kubeconfig {}: {e}", path.display()))
            })?;
            let context = options.context.clone().or(file.current_context.clone());
            let config = Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| kubeconfig_error(&e, target))?;
            (config, context)
        }
        (None, Some(context)) => {
            let config = Config::from_kubeconfig(&options)
                .await
                .map_err(|e| kubeconfig_error(&e, target))?;
            (config, Some(context.to_string()))
        }
        (None, None) => {
            let context = Kubeconfig::read().ok().and_then(|k| k.current_context);
            let config = Config::infer()
                .await
                .map_err(|e| ConnectError::Kubeconfig(format!("no cluster configured: {e}")))?;
            (config, context)
        }
    };
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|e| ConnectError::Client {
        server: server.clone(),
        message: e.to_string(),
    })?;
    Ok(Connected {
        client,
        context,
        server,
    })
}

fn kubeconfig_error(error: &kube::config::KubeconfigError, target: Target<'_>) -> ConnectError {
    let file = target
        .kubeconfig
        .map_or("the kubeconfig".to_string(), |p| p.display().to_string());
    match target.context {
        Some(context) => {
            ConnectError::Kubeconfig(format!("cannot use context `{context}` of {file}: {error}"))
        }
        None => ConnectError::Kubeconfig(format!("cannot use {file}: {error}")),
    }
}
