//! A watcher refused by RBAC gets a log line that says what is missing and where the fix
//! is, instead of only the API server's message inside a retry warning.

use kube::runtime::watcher;

/// The verb the API server refused (`list` or `watch`), when `error` is a 403.
pub fn verb(error: &watcher::Error) -> Option<&'static str> {
    let forbidden = |e: &kube::Error| matches!(e, kube::Error::Api(s) if s.code == 403);
    match error {
        watcher::Error::InitialListFailed(e) if forbidden(e) => Some("list"),
        watcher::Error::WatchStartFailed(e) | watcher::Error::WatchFailed(e) if forbidden(e) => {
            Some("watch")
        }
        watcher::Error::WatchError(status) if status.code == 403 => Some("watch"),
        _ => None,
    }
}

/// The log message for a refused `verb` on `resource`.
pub fn message(verb: &str, resource: &str) -> String {
    format!(
        "the API server forbids this agent to {verb} {resource}; it enforces nothing new until \
         allowed: grant {verb} on {resource} to its ServiceAccount (ClusterRole netpol-agent in \
         deploy/rbac.yaml); retrying"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> Box<kube::core::Status> {
        Box::new(kube::core::Status {
            code,
            message: "pods is forbidden".into(),
            ..kube::core::Status::default()
        })
    }

    #[test]
    fn names_the_refused_verb() {
        let list = watcher::Error::InitialListFailed(kube::Error::Api(status(403)));
        let watch = watcher::Error::WatchError(status(403));
        let gone = watcher::Error::WatchError(status(410));
        assert_eq!(verb(&list), Some("list"));
        assert_eq!(verb(&watch), Some("watch"));
        assert_eq!(verb(&gone), None);
        assert!(message("list", "pods").contains("forbids this agent to list pods"));
    }
}
