//! etcd: one member on loopback (plain HTTP: only this machine's loopback reaches it), and
//! the two calls the tests make on it over its JSON gateway — health and compaction.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::free_port;
use crate::process::Process;

/// How long etcd may take to answer `/health`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts etcd with its data in `dir/etcd` and waits until it is healthy. Returns the
/// process and the client URL.
pub fn start(bin: &Path, dir: &Path) -> (Process, String) {
    let (client, peer) = (free_port(), free_port());
    let url = format!("http://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let data = dir.join("etcd");
    let args = [
        "--name=testenv".to_string(),
        format!("--data-dir={}", data.display()),
        format!("--listen-client-urls={url}"),
        format!("--advertise-client-urls={url}"),
        format!("--listen-peer-urls={peer_url}"),
        format!("--initial-advertise-peer-urls={peer_url}"),
        format!("--initial-cluster=testenv={peer_url}"),
        // A test cluster lives for minutes; durability buys nothing and fsync costs seconds
        // on a busy disk.
        "--unsafe-no-fsync".to_string(),
        "--log-level=warn".to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut process = Process::spawn("etcd", &bin.join("etcd"), &args, &dir.join("etcd.log"));
    let start = Instant::now();
    loop {
        if get(&url, "/health").is_ok_and(|body| body.contains("\"health\":\"true\"")) {
            return (process, url);
        }
        if let Some(status) = process.exited() {
            panic!("etcd exited ({status}):\n{}", process.log_tail());
        }
        assert!(
            start.elapsed() < READY_TIMEOUT,
            "etcd was not healthy after {READY_TIMEOUT:?}:\n{}",
            process.log_tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Compacts (physically) up to the current revision; returns it.
pub fn compact(url: &str) -> Result<i64> {
    // Any range request reports the store's current revision in its header.
    let range = post(url, "/v3/kv/range", &json!({"key": "AA=="}))?;
    let revision: i64 = range["header"]["revision"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .with_context(|| format!("no revision in {range}"))?;
    post(
        url,
        "/v3/kv/compaction",
        &json!({"revision": revision.to_string(), "physical": true}),
    )?;
    Ok(revision)
}

fn get(url: &str, path: &str) -> Result<String> {
    exchange(url, &format!("GET {path} HTTP/1.0\r\n\r\n"))
}

fn post(url: &str, path: &str, body: &Value) -> Result<Value> {
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let response = exchange(url, &request)?;
    serde_json::from_str(&response).with_context(|| format!("{path}: {response}"))
}

/// One HTTP/1.0 exchange (the server closes the connection after the response); returns
/// the body of a 200 response.
fn exchange(url: &str, request: &str) -> Result<String> {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("no end of headers")?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        bail!("{}: {body}", head.lines().next().unwrap_or(""));
    }
    Ok(body.to_string())
}
