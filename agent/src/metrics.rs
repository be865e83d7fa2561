//! `/healthz`, `/livez` and `/metrics` (Prometheus text format) on a local port.
//!
//! A dozen lines of HTTP/1.0 over a `TcpListener` are enough for three GET endpoints
//! scraped by Prometheus and probed by the kubelet; no web framework needed.
//!
//! Health has three levels, because "the agent is running" and "the node enforces the
//! current state" are different questions:
//! - **ok** (200): the last sync applied (or confirmed) a state built from every source.
//! - **degraded** (200, body `degraded: ...`): the node enforces a safe state that is not
//!   exactly the source's: a source was rejected (its last good version, or a fail-closed
//!   stand-in, is enforced), the source is unreachable (the state ages), an apply is being
//!   retried, or strict mode could not cut flows.
//! - **unhealthy** (503): no complete state applied yet, or [`UNHEALTHY_AFTER`] applies in
//!   a row failed (the kernel keeps the previous ruleset, but changes no longer reach it).
//!
//! `/livez` only says the process serves requests: a liveness probe on `/healthz` would
//! make the kubelet restart an agent that cannot apply, which fixes nothing and loses the
//! agent's last good versions (a crash loop).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Consecutive failed applies after which `/healthz` answers 503.
pub const UNHEALTHY_AFTER: u64 = 3;

/// State problems listed on `/healthz`; a cluster with thousands of broken objects gets a
/// count for the rest (the log has each one).
const MAX_REASONS: usize = 20;

/// How current the state is: the parts of the source (`pods`, `namespaces`,
/// `networkpolicies`, or `manifests`) that are out of contact, and since when.
#[derive(Debug, Default)]
pub struct Freshness {
    lost: Mutex<BTreeMap<String, Instant>>,
}

impl Freshness {
    /// `part` could not be reached; its state is as old as the first failure.
    pub fn lost(&self, part: &str) {
        if let Ok(mut lost) = self.lost.lock() {
            lost.entry(part.to_string()).or_insert_with(Instant::now);
        }
    }

    /// `part` answered: what the agent holds of it is current again.
    pub fn reached(&self, part: &str) {
        if let Ok(mut lost) = self.lost.lock() {
            lost.remove(part);
        }
    }

    /// Zero while every part is in contact, else the time since the first one was lost.
    pub fn age(&self) -> Duration {
        let lost = self.lost.lock().map(|l| l.values().min().copied());
        match lost {
            Ok(Some(since)) => since.elapsed(),
            _ => Duration::ZERO,
        }
    }

    /// The parts out of contact.
    pub fn lost_parts(&self) -> Vec<String> {
        self.lost
            .lock()
            .map(|l| l.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// Counters and gauges of the sync loop, and what `/healthz` reports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Syncs that applied a new ruleset.
    pub applied: AtomicU64,
    /// Syncs whose ruleset was identical to the applied one (no `nft` call).
    pub unchanged: AtomicU64,
    /// Syncs whose apply failed (the previous ruleset stays).
    pub failed: AtomicU64,
    /// Failed applies since the last successful one.
    pub consecutive_failures: AtomicU64,
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
    /// Sources (files, objects) whose current version is rejected.
    pub rejected_sources: AtomicU64,
    /// Rejected versions so far (each change of a source that was rejected counts once).
    pub rejections: AtomicU64,
    /// Namespaces isolated because a source naming them has never parsed.
    pub fail_closed_namespaces: AtomicU64,
    /// Established flows cut by strict mode.
    pub flows_cut: AtomicU64,
    /// Strict-mode passes that failed (conntrack missing or refused).
    pub strict_failures: AtomicU64,
    /// A complete state has been applied (or found already in force) at least once.
    pub have_state: AtomicBool,
    /// How current the state is.
    pub freshness: Freshness,
    /// Message of the last failed sync; `None` once a sync succeeds again.
    pub last_error: Mutex<Option<String>>,
    /// Why the enforced state differs from the source's, one line per reason.
    pub state_problems: Mutex<Vec<String>>,
    /// The last strict-mode failure; `None` once a pass succeeds.
    pub strict_error: Mutex<Option<String>>,
}

/// What `/healthz` answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Enforcing the source's current state.
    Ok,
    /// Enforcing a safe state that differs from the source's; one line per reason.
    Degraded(Vec<String>),
    /// Not enforcing the current state at all; why.
    Unhealthy(String),
}

fn lock_clone<T: Clone + Default>(m: &Mutex<T>) -> T {
    m.lock().map(|g| g.clone()).unwrap_or_default()
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
        lock_clone(&self.last_error)
    }

    /// Replaces the reasons the enforced state differs from the source's.
    pub fn set_state_problems(&self, problems: Vec<String>) {
        if let Ok(mut guard) = self.state_problems.lock() {
            *guard = problems;
        }
    }

    /// Sets (or clears) the last strict-mode failure.
    pub fn set_strict_error(&self, error: Option<String>) {
        if let Ok(mut guard) = self.strict_error.lock() {
            *guard = error;
        }
    }

    /// The health levels of the module docs.
    pub fn health(&self) -> Health {
        if !self.have_state.load(Ordering::Relaxed) {
            return Health::Unhealthy(
                "no complete state applied yet; the kernel keeps the previous ruleset, if any"
                    .into(),
            );
        }
        let failures = self.consecutive_failures.load(Ordering::Relaxed);
        let error = self.error().unwrap_or_default();
        if failures >= UNHEALTHY_AFTER {
            return Health::Unhealthy(format!(
                "{failures} applies failed in a row; the previous ruleset stays active: {error}"
            ));
        }
        let mut reasons = lock_clone(&self.state_problems);
        if reasons.len() > MAX_REASONS {
            let more = reasons.len() - MAX_REASONS;
            reasons.truncate(MAX_REASONS);
            reasons.push(format!("... and {more} more (see the log)"));
        }
        if failures > 0 {
            reasons.push(format!("the last apply failed, retrying: {error}"));
        }
        let age = self.freshness.age();
        if !age.is_zero() {
            reasons.push(format!(
                "the state is {:.1}s old: no contact with {}; enforcing the last state",
                age.as_secs_f64(),
                self.freshness.lost_parts().join(", ")
            ));
        }
        if let Some(e) = lock_clone(&self.strict_error) {
            reasons.push(format!("strict mode could not cut flows: {e}"));
        }
        if reasons.is_empty() {
            Health::Ok
        } else {
            Health::Degraded(reasons)
        }
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
        for (name, help, value) in [
            (
                "apply_failures_total",
                "Failed nft applies.",
                get(&self.failed),
            ),
            (
                "rejections_total",
                "Rejected versions of sources (files or objects with errors).",
                get(&self.rejections),
            ),
            (
                "strict_flows_cut_total",
                "Established flows cut by strict mode.",
                get(&self.flows_cut),
            ),
            (
                "strict_failures_total",
                "Strict-mode passes that failed.",
                get(&self.strict_failures),
            ),
        ] {
            counter(&mut out, name, help, value);
        }
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
        let gauges: [(&str, &str, f64); 9] = [
            (
                "last_sync_duration_seconds",
                "Duration of the last sync.",
                get(&self.last_duration_micros) as f64 / 1e6,
            ),
            (
                "rules",
                "Rules in the applied ruleset.",
                get(&self.rules) as f64,
            ),
            (
                "set_elements",
                "Set elements in the applied ruleset.",
                get(&self.set_elements) as f64,
            ),
            ("local_pods", "Pods on this node.", get(&self.local_pods) as f64),
            (
                "rejected_sources",
                "Sources whose current version is rejected (their last good version, or a fail-closed stand-in, is enforced).",
                get(&self.rejected_sources) as f64,
            ),
            (
                "fail_closed_namespaces",
                "Namespaces isolated because a source naming them never parsed.",
                get(&self.fail_closed_namespaces) as f64,
            ),
            (
                "apply_consecutive_failures",
                "Failed applies since the last successful one.",
                get(&self.consecutive_failures) as f64,
            ),
            (
                "state_age_seconds",
                "0 while the source is in contact, else seconds since it was last known current.",
                self.freshness.age().as_secs_f64(),
            ),
            (
                "healthy",
                "1 ok, 0.5 degraded, 0 unhealthy (see /healthz).",
                match self.health() {
                    Health::Ok => 1.0,
                    Health::Degraded(_) => 0.5,
                    Health::Unhealthy(_) => 0.0,
                },
            ),
        ];
        for (name, help, value) in gauges {
            gauge(&mut out, name, help, value);
        }
        self.render_last_error(&mut out);
        out
    }

    fn render_last_error(&self, out: &mut String) {
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
    }
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(out, "# HELP netpol_agent_{name} {help}");
    let _ = writeln!(out, "# TYPE netpol_agent_{name} counter");
    let _ = writeln!(out, "netpol_agent_{name} {value}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: f64) {
    let _ = writeln!(out, "# HELP netpol_agent_{name} {help}");
    let _ = writeln!(out, "# TYPE netpol_agent_{name} gauge");
    let _ = writeln!(out, "netpol_agent_{name} {value}");
}

/// Status line and body for one request path.
fn respond(metrics: &Metrics, path: &str) -> (&'static str, String) {
    match path {
        "/metrics" => ("200 OK", metrics.render()),
        "/livez" => ("200 OK", "ok\n".to_string()),
        "/healthz" => match metrics.health() {
            Health::Ok => ("200 OK", "ok\n".to_string()),
            Health::Degraded(reasons) => ("200 OK", format!("degraded: {}\n", reasons.join("\n"))),
            Health::Unhealthy(why) => ("503 Service Unavailable", format!("unhealthy: {why}\n")),
        },
        _ => ("404 Not Found", "not found\n".to_string()),
    }
}

/// Serves `/healthz`, `/livez` and `/metrics` until the process ends.
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
            let (status, body) = respond(&metrics, path);
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

    #[test]
    fn health_goes_from_starting_to_ok_degraded_and_unhealthy() {
        let m = Metrics::default();
        assert!(matches!(m.health(), Health::Unhealthy(_)), "no state yet");
        m.have_state.store(true, Ordering::Relaxed);
        assert_eq!(m.health(), Health::Ok);
        m.set_state_problems(vec!["a.yaml rejected".into()]);
        m.consecutive_failures.store(1, Ordering::Relaxed);
        m.freshness.lost("pods");
        let Health::Degraded(reasons) = m.health() else {
            panic!("degraded: {:?}", m.health());
        };
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(reasons[2].contains("no contact with pods"), "{reasons:?}");
        m.freshness.reached("pods");
        assert!(m.freshness.age().is_zero());
        m.consecutive_failures
            .store(UNHEALTHY_AFTER, Ordering::Relaxed);
        assert!(matches!(m.health(), Health::Unhealthy(_)));
        assert_eq!(respond(&m, "/healthz").0, "503 Service Unavailable");
        assert_eq!(respond(&m, "/livez").0, "200 OK");
    }
}
