//! The Kubernetes watch path, end to end in one process: the real `kube` client and
//! `kube::runtime` watchers (through `netpol_agent::kube_source`), configured from a real
//! kubeconfig file, against a FAKE API server on 127.0.0.1 that replays recorded fixtures
//! (`tests/fixtures/`): lists with resourceVersion, watch streams with BOOKMARK events, and a
//! `410 Gone` that forces a re-list. This is not a real cluster; it pins the protocol the
//! agent relies on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netpol_agent::enforce::ruleset_for;
use netpol_agent::kube_source;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

fn fixture(name: &str) -> String {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every request the fake server saw: (resource, "list" | "watch", query).
type Log = Arc<Mutex<Vec<(String, String, String)>>>;

async fn respond_json(stream: &mut TcpStream, body: &str) {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn chunk(stream: &mut TcpStream, line: &str) -> bool {
    let data = format!("{}\n", line.trim());
    let framed = format!("{:x}\r\n{data}\r\n", data.len());
    stream.write_all(framed.as_bytes()).await.is_ok()
}

async fn serve_watch(
    stream: &mut TcpStream,
    script: Option<String>,
    kind: &str,
    api: &str,
    rv: &str,
) {
    let head =
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    if let Some(script) = script {
        for line in script.lines().filter(|l| !l.trim().is_empty()) {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if !chunk(stream, line).await {
                return;
            }
        }
        if script.contains("\"ERROR\"") {
            // After an error event the API server ends the stream.
            let _ = stream.write_all(b"0\r\n\r\n").await;
            let _ = stream.shutdown().await;
            return;
        }
    }
    // Idle: bookmarks only, until the client goes away.
    let bookmark = format!(
        r#"{{"type":"BOOKMARK","object":{{"kind":"{kind}","apiVersion":"{api}","metadata":{{"resourceVersion":"{rv}"}}}}}}"#
    );
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if !chunk(stream, &bookmark).await {
            return;
        }
    }
}

async fn handle(mut stream: TcpStream, log: Log, counts: Arc<Mutex<BTreeMap<String, usize>>>) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&byte[..n]),
        }
    }
    let request = String::from_utf8_lossy(&buf).into_owned();
    let target = request.split_whitespace().nth(1).unwrap_or("/").to_string();
    let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
    let (resource, kind, api) = match path {
        "/api/v1/pods" => ("pods", "Pod", "v1"),
        "/api/v1/namespaces" => ("namespaces", "Namespace", "v1"),
        "/api/v1/nodes" => ("nodes", "Node", "v1"),
        "/apis/networking.k8s.io/v1/networkpolicies" => {
            ("networkpolicies", "NetworkPolicy", "networking.k8s.io/v1")
        }
        _ => {
            let body = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#;
            let head = format!("HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
            return;
        }
    };
    let is_watch = query.split('&').any(|p| p == "watch=true");
    let verb = if is_watch { "watch" } else { "list" };
    log.lock()
        .expect("log")
        .push((resource.to_string(), verb.to_string(), query.to_string()));
    let n = {
        let mut counts = counts.lock().expect("counts");
        let n = counts.entry(format!("{resource} {verb}")).or_insert(0);
        *n += 1;
        *n
    };
    if is_watch {
        let rv = query
            .split('&')
            .find_map(|p| p.strip_prefix("resourceVersion="))
            .unwrap_or("0")
            .to_string();
        let script = match (resource, n) {
            ("pods", 1) => Some(fixture("pods-watch-1.jsonl")),
            ("networkpolicies", 1) => Some(fixture("networkpolicies-watch-1.jsonl")),
            _ => None,
        };
        serve_watch(&mut stream, script, kind, api, &rv).await;
    } else {
        let body = match (resource, n) {
            ("pods", 1) => fixture("pods.json"),
            ("pods", _) => fixture("pods-relist.json"),
            ("namespaces", _) => fixture("namespaces.json"),
            // No Node objects: nothing selects nodes here.
            ("nodes", _) => {
                r#"{"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}"#
                    .to_string()
            }
            _ => fixture("networkpolicies.json"),
        };
        respond_json(&mut stream, &body).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_path_follows_list_watch_bookmarks_and_410() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let log: Log = Arc::default();
    let counts = Arc::new(Mutex::new(BTreeMap::new()));
    let connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
    let server = {
        let (log, counts, connections) = (log.clone(), counts.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    break;
                };
                let task = tokio::spawn(handle(stream, log.clone(), counts.clone()));
                connections.lock().expect("connections").push(task);
            }
        })
    };

    let dir = std::env::temp_dir().join(format!("netpol-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{addr}\nusers:\n- name: nobody\n  user: {{}}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: nobody\ncurrent-context: fake\n"
        ),
    )
    .expect("kubeconfig");
    let client = kube_source::client(Some(&kubeconfig))
        .await
        .expect("client from kubeconfig");
    let (tx, mut rx) = watch::channel(None);
    let agent = tokio::spawn(kube_source::watch(client, tx));

    // The first model: the initial lists, possibly already with watch events on top.
    tokio::time::timeout(Duration::from_secs(10), rx.changed())
        .await
        .expect("a model within 10 s")
        .expect("channel open");
    let first = rx.borrow_and_update().clone().expect("model");
    let ruleset = ruleset_for(&first, "node-a");
    assert!(
        ruleset.text.contains("10.1.0.3"),
        "db (from the list) is isolated:\n{}",
        ruleset.text
    );
    assert!(
        !first
            .cluster
            .pods
            .iter()
            .any(|p| p.name == "other" && p.node.as_deref() == Some("node-a")),
        "pods keep their nodes"
    );

    // Then: pod `api` and policy `db-from-api` from the watch streams, and pod `late` that
    // only the re-list after the 410 can know.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let last = loop {
        let model = rx.borrow_and_update().clone().expect("model");
        let text = ruleset_for(&model, "node-a").text;
        let done = text.contains("10.1.0.4")
            && text.contains("10.2.0.9")
            && text.contains("meta l4proto tcp th dport 5432 accept");
        if done {
            break (model, text);
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if tokio::time::timeout(left, rx.changed()).await.is_err() {
            panic!("the ruleset never reflected the watch events and the re-list; requests: {:?}\nlast ruleset:\n{text}", log.lock().expect("log"));
        }
    };
    let (model, text) = last;
    assert_eq!(
        model.policies.len(),
        2,
        "db-deny (list) and db-from-api (watch)"
    );
    assert!(text.contains("ip daddr vmap @"), "{text}");
    // The peer set of db-from-api: every app=api pod of prod, including `late` (re-list only).
    assert!(text.contains("10.1.0.4, 10.2.0.2, 10.2.0.9"), "{text}");

    let requests = log.lock().expect("log").clone();
    let pods: Vec<&(String, String, String)> = requests.iter().filter(|r| r.0 == "pods").collect();
    let lists = pods.iter().filter(|r| r.1 == "list").count();
    assert!(
        lists >= 2,
        "pods were re-listed after 410 Gone: {requests:?}"
    );
    let first_watch = pods.iter().find(|r| r.1 == "watch").expect("a pods watch");
    assert!(
        first_watch.2.contains("resourceVersion=100"),
        "watch resumes from the list's resourceVersion: {first_watch:?}"
    );
    assert!(
        first_watch.2.contains("allowWatchBookmarks=true"),
        "bookmarks requested: {first_watch:?}"
    );

    // The API server goes away: the agent keeps the last good state (no new, emptier model).
    server.abort();
    for task in connections.lock().expect("connections").drain(..) {
        task.abort();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    if rx.has_changed().unwrap_or(false) {
        let model = rx.borrow_and_update().clone().expect("model");
        assert_eq!(
            ruleset_for(&model, "node-a").text,
            text,
            "state kept while the API server is away"
        );
    }
    agent.abort();
    let _ = std::fs::remove_dir_all(&dir);
}
