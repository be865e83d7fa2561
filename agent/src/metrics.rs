//! `/healthz` and `/metrics` (Prometheus text format) on a local port.
//!
//! A dozen lines of HTTP/1.0 over a `TcpListener` are enough for two GET endpoints scraped
//! by Prometheus and probed by the kubelet; no web framework needed.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Counters and gauges of the sync loop.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Syncs that applied a new ruleset.
    pub applied: AtomicU64,
    /// Syncs whose ruleset was identical to the applied one (no `nft` call).
    pub unchanged: AtomicU64,
    /// Syncs whose apply failed (the previous ruleset stays).
    pub failed: AtomicU64,
    /// Sum of sync durations, in microseconds.
    pub duration_micros_sum: AtomicU64,
    /// Duration of the last sync, in microseconds.
    pub last_duration_micros: AtomicU64,
    /// Rules in the applied ruleset.
    pub rules: AtomicU64,
    /// Set elements in the applied ruleset.
    pub set_elements: AtomicU64,
    /// Local pods in the applied ruleset.
    pub local_pods: AtomicU64,
    /// Hash of the applied ruleset.
    pub ruleset_hash: AtomicU64,
    /// Message of the last failed sync; `None` once a sync succeeds again.
    pub last_error: Mutex<Option<String>>,
}

impl Metrics {
    /// Records how long a sync took.
    pub fn observe(&self, duration: Duration) {
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        self.duration_micros_sum
            .fetch_add(micros, Ordering::Relaxed);
        self.last_duration_micros.store(micros, Ordering::Relaxed);
    }

    /// Sets (or clears) the last error.
    pub fn set_error(&self, error: Option<String>) {
        if let Ok(mut guard) = self.last_error.lock() {
            *guard = error;
        }
    }

    /// The last error, if the last sync failed.
    pub fn error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|guard| guard.clone())
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let syncs = get(&self.applied) + get(&self.unchanged) + get(&self.failed);
        let _ = writeln!(out, "# HELP netpol_agent_syncs_total Syncs by result.");
        let _ = writeln!(out, "# TYPE netpol_agent_syncs_total counter");
        for (result, value) in [
            ("applied", get(&self.applied)),
            ("unchanged", get(&self.unchanged)),
            ("failed", get(&self.failed)),
        ] {
            let _ = writeln!(
                out,
                "netpol_agent_syncs_total{{result=\"{result}\"}} {value}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP netpol_agent_apply_failures_total Failed nft applies."
        );
        let _ = writeln!(out, "# TYPE netpol_agent_apply_failures_total counter");
        let _ = writeln!(
            out,
            "netpol_agent_apply_failures_total {}",
            get(&self.failed)
        );
        let _ = writeln!(
            out,
            "# HELP netpol_agent_sync_duration_seconds Time to compile and apply."
        );
        let _ = writeln!(out, "# TYPE netpol_agent_sync_duration_seconds summary");
        let _ = writeln!(
            out,
            "netpol_agent_sync_duration_seconds_sum {}",
            get(&self.duration_micros_sum) as f64 / 1e6
        );
        let _ = writeln!(out, "netpol_agent_sync_duration_seconds_count {syncs}");
        let _ = writeln!(
            out,
            "# HELP netpol_agent_last_sync_duration_seconds Duration of the last sync."
        );
        let _ = writeln!(out, "# TYPE netpol_agent_last_sync_duration_seconds gauge");
        let _ = writeln!(
            out,
            "netpol_agent_last_sync_duration_seconds {}",
            get(&self.last_duration_micros) as f64 / 1e6
        );
        for (name, help, value) in [
            ("rules", "Rules in the applied ruleset.", get(&self.rules)),
            (
                "set_elements",
                "Set elements in the applied ruleset.",
                get(&self.set_elements),
            ),
            ("local_pods", "Pods on this node.", get(&self.local_pods)),
        ] {
            let _ = writeln!(out, "# HELP netpol_agent_{name} {help}");
            let _ = writeln!(out, "# TYPE netpol_agent_{name} gauge");
            let _ = writeln!(out, "netpol_agent_{name} {value}");
        }
        let _ = writeln!(
            out,
            "# HELP netpol_agent_last_error 1 while the last sync failed, with its message."
        );
        let _ = writeln!(out, "# TYPE netpol_agent_last_error gauge");
        match self.error() {
            Some(message) => {
                let message: String = message
                    .chars()
                    .take(200)
                    .map(|c| {
                        if c == '"' || c == '\\' || c == '\n' {
                            ' '
                        } else {
                            c
                        }
                    })
                    .collect();
                let _ = writeln!(out, "netpol_agent_last_error{{message=\"{message}\"}} 1");
            }
            None => {
                let _ = writeln!(out, "netpol_agent_last_error{{message=\"\"}} 0");
            }
        }
        out
    }
}

/// Serves `/healthz` (200 unless the last sync failed) and `/metrics` until the process ends.
pub async fn serve(listener: TcpListener, metrics: std::sync::Arc<Metrics>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await;
            let Ok(Ok(n)) = read else { return };
            let request = String::from_utf8_lossy(&buf[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let (status, body) = match path {
                "/metrics" => ("200 OK", metrics.render()),
                "/healthz" => match metrics.error() {
                    None => ("200 OK", "ok\n".to_string()),
                    Some(e) => (
                        "503 Service Unavailable",
                        format!("last sync failed: {e}\n"),
                    ),
                },
                _ => ("404 Not Found", "not found\n".to_string()),
            };
            let response = format!(
                "HTTP/1.0 {status}\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_counts_and_escapes_the_last_error() {
        let m = Metrics::default();
        m.applied.fetch_add(2, Ordering::Relaxed);
        m.failed.fetch_add(1, Ordering::Relaxed);
        m.rules.store(17, Ordering::Relaxed);
        m.set_error(Some("nft said \"no\"\nat line 3".to_string()));
        let text = m.render();
        assert!(
            text.contains("netpol_agent_syncs_total{result=\"applied\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("netpol_agent_apply_failures_total 1"),
            "{text}"
        );
        assert!(text.contains("netpol_agent_rules 17"), "{text}");
        assert!(
            text.contains("netpol_agent_last_error{message=\"nft said  no  at line 3\"} 1"),
            "{text}"
        );
        m.set_error(None);
        assert!(m
            .render()
            .contains("netpol_agent_last_error{message=\"\"} 0"));
    }
}
