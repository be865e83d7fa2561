//! A FAKE Kubernetes API server on loopback that a test can break on purpose: stop it
//! (connections refused), start it again on the same port, compact its history (watches
//! answer `410 Gone`), change objects (watch events), serve objects the core rejects. It speaks
//! just enough of the protocol for `kube::runtime` watchers: lists with a
//! `resourceVersion`, chunked watch streams that resume from a `resourceVersion` (events
//! after it, then live ones), and bookmarks. This is not a real API server (see
//! `watch.rs`'s note); it pins the behaviour the agent relies on.
//!
//! It runs on its own tokio runtime, so the tests around it stay plain blocking code.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

/// The resources the agent watches: (resource, kind, apiVersion, list path).
const RESOURCES: [(&str, &str, &str, &str); 4] = [
    ("namespaces", "Namespace", "v1", "/api/v1/namespaces"),
    ("pods", "Pod", "v1", "/api/v1/pods"),
    ("nodes", "Node", "v1", "/api/v1/nodes"),
    (
        "networkpolicies",
        "NetworkPolicy",
        "networking.k8s.io/v1",
        "/apis/networking.k8s.io/v1/networkpolicies",
    ),
];

/// One request the server saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub resource: String,
    pub watch: bool,
    /// The `resourceVersion` parameter, if any.
    pub resource_version: Option<String>,
}

#[derive(Default)]
struct State {
    rv: u64,
    /// (resource, namespace/name) → object.
    objects: BTreeMap<(String, String), Value>,
    /// (rv, resource, event line), in order.
    events: Vec<(u64, String, String)>,
    /// Watches from this resourceVersion or older are answered with 410 Gone (the API
    /// server compacted its history).
    compacted: u64,
    /// Bumped to end every open watch stream (cleanly, as at a watch timeout).
    generation: u64,
    requests: Vec<Seen>,
}

/// The fake server. Dropping it stops everything.
pub struct FakeApi {
    pub addr: SocketAddr,
    runtime: Runtime,
    state: Arc<Mutex<State>>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl FakeApi {
    /// A server on a free loopback port holding `objects` (`(resource, object)`).
    pub fn start(objects: &[(&str, Value)]) -> FakeApi {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(async { TcpListener::bind("127.0.0.1:0").await })
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let api = FakeApi {
            addr,
            runtime,
            state: Arc::default(),
            tasks: Arc::default(),
        };
        for (resource, object) in objects {
            api.put(resource, object.clone());
        }
        api.serve(listener);
        api
    }

    fn serve(&self, listener: TcpListener) {
        let (state, tasks) = (self.state.clone(), self.tasks.clone());
        let accept = self.runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let task = tokio::spawn(handle(stream, state.clone()));
                tasks.lock().expect("tasks").push(task);
            }
        });
        self.tasks.lock().expect("tasks").push(accept);
    }

    /// The API server goes away: the port is closed, open watches end.
    pub fn stop(&self) {
        for task in self.tasks.lock().expect("tasks").drain(..) {
            task.abort();
        }
        // Let the aborted tasks drop their sockets before anyone reconnects.
        self.runtime
            .block_on(async { tokio::time::sleep(Duration::from_millis(50)).await });
    }

    /// The API server comes back on the same port, with the same objects.
    pub fn restart(&self) {
        let listener = self
            .runtime
            .block_on(async {
                let socket = tokio::net::TcpSocket::new_v4()?;
                socket.set_reuseaddr(true)?;
                socket.bind(self.addr)?;
                socket.listen(64)
            })
            .expect("rebind the same port");
        self.serve(listener);
    }

    /// The API server compacts its history: watches from any resourceVersion up to now
    /// are answered with `410 Gone`, and the open watch streams end (cleanly, as at a
    /// watch timeout), so every watcher comes back, gets 410 and re-lists. The objects do
    /// not change; the resourceVersion moves on (as etcd's revision does).
    pub fn expire_watches(&self) {
        let mut state = self.state.lock().expect("state");
        state.compacted = state.rv;
        state.rv += 1;
        state.generation += 1;
    }

    /// Adds or replaces `object` (keyed by namespace and name), with a new
    /// resourceVersion and a watch event.
    pub fn put(&self, resource: &str, mut object: Value) {
        let mut state = self.state.lock().expect("state");
        state.rv += 1;
        let rv = state.rv;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        let key = format!(
            "{}/{}",
            object["metadata"]["namespace"].as_str().unwrap_or(""),
            object["metadata"]["name"].as_str().unwrap_or("")
        );
        let kind = if state
            .objects
            .insert((resource.to_string(), key), object.clone())
            .is_some()
        {
            "MODIFIED"
        } else {
            "ADDED"
        };
        let event = json!({"type": kind, "object": object}).to_string();
        state.events.push((rv, resource.to_string(), event));
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.state.lock().expect("state").requests.clone()
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.state.lock().expect("state").rv
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        for task in self.tasks.lock().expect("tasks").drain(..) {
            task.abort();
        }
    }
}

async fn write_all(stream: &mut TcpStream, data: &str) -> bool {
    stream.write_all(data.as_bytes()).await.is_ok()
}

async fn chunk(stream: &mut TcpStream, line: &str) -> bool {
    let data = format!("{line}\n");
    write_all(stream, &format!("{:x}\r\n{data}\r\n", data.len())).await
}

async fn handle(mut stream: TcpStream, state: Arc<Mutex<State>>) {
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
    let Some(&(resource, kind, api, _)) = RESOURCES.iter().find(|r| r.3 == path) else {
        let body = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#;
        let head = format!("HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
        let _ = write_all(&mut stream, &format!("{head}{body}")).await;
        return;
    };
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|p| p.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .map(str::to_string)
    };
    let watch = param("watch").as_deref() == Some("true");
    let resource_version = param("resourceVersion");
    state.lock().expect("state").requests.push(Seen {
        resource: resource.to_string(),
        watch,
        resource_version: resource_version.clone(),
    });
    if watch {
        let from = resource_version.and_then(|v| v.parse().ok()).unwrap_or(0);
        serve_watch(&mut stream, &state, resource, kind, api, from).await;
    } else {
        let body = list(&state, resource, kind, api);
        let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
        let _ = write_all(&mut stream, &format!("{head}{body}")).await;
    }
}

fn list(state: &Mutex<State>, resource: &str, kind: &str, api: &str) -> String {
    let state = state.lock().expect("state");
    let items: Vec<&Value> = state
        .objects
        .iter()
        .filter(|((r, _), _)| r == resource)
        .map(|(_, v)| v)
        .collect();
    json!({
        "apiVersion": api,
        "kind": format!("{kind}List"),
        "metadata": {"resourceVersion": state.rv.to_string()},
        "items": items,
    })
    .to_string()
}

async fn serve_watch(
    stream: &mut TcpStream,
    state: &Mutex<State>,
    resource: &str,
    kind: &str,
    api: &str,
    mut sent: u64,
) {
    let head =
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    if !write_all(stream, head).await {
        return;
    }
    let generation = {
        let state = state.lock().expect("state");
        if sent <= state.compacted {
            None
        } else {
            Some(state.generation)
        }
    };
    let Some(generation) = generation else {
        let gone = r#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version","reason":"Expired","code":410}}"#;
        let _ = chunk(stream, gone).await;
        let _ = write_all(stream, "0\r\n\r\n").await;
        return;
    };
    let mut ticks = 0u32;
    loop {
        let next = {
            let state = state.lock().expect("state");
            if state.generation != generation {
                None
            } else {
                let events: Vec<(u64, String)> = state
                    .events
                    .iter()
                    .filter(|(rv, r, _)| *rv > sent && r == resource)
                    .map(|(rv, _, e)| (*rv, e.clone()))
                    .collect();
                Some((events, state.rv))
            }
        };
        let Some((events, rv)) = next else {
            // The stream ends cleanly, as at a watch timeout.
            let _ = write_all(stream, "0\r\n\r\n").await;
            return;
        };
        for (rv, event) in events {
            if !chunk(stream, &event).await {
                return;
            }
            sent = rv;
        }
        ticks += 1;
        if ticks % 10 == 0 {
            let bookmark = json!({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": api, "metadata": {"resourceVersion": rv.to_string()}}}).to_string();
            if !chunk(stream, &bookmark).await {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
