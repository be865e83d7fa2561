//! `netpol-probe`: the tiny network tool the agent's packet-level tests run inside pod
//! network namespaces (`ip netns exec POD netpol-probe ...`). Standard library only.
//!
//! - `listen --tcp 80,81 --udp 53`: TCP and UDP echo servers; prints `ready` once bound.
//! - `probe --timeout-ms 300 tcp:10.0.0.1:80 udp:10.0.0.1:53 ...`: tries every target at
//!   once and prints `tcp 10.0.0.1 80 ok|fail` per target, in argument order. UDP counts as
//!   reachable when the echo comes back.
//! - `hold tcp:10.0.0.1:80`: opens one connection, prints `connected` (or `fail`), then for
//!   every line on stdin sends a ping and prints `ok` if the echo came back, else `fail`.
//! - `get 127.0.0.1:9695 /metrics`: HTTP/1.0 GET, prints the body (the agent's metrics live
//!   on the loopback of the node's namespace, out of reach of the test process).
//! - `serve`: a long-lived worker driven line by line on stdin, so a test that probes hundreds
//!   of clusters pays for one process per network namespace, not one per probe round (see
//!   [`serve`]).
//! - `fetch 127.0.0.1:9695 /healthz`: like `get`, but any status: prints the status code on
//!   the first line, then the body (health checks answer 503 when unhealthy).

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

fn ports(list: &str) -> Vec<u16> {
    list.split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect()
}

fn listen(args: &[String]) -> Result<(), String> {
    let mut tcp = Vec::new();
    let mut udp = Vec::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--tcp" => tcp.extend(ports(value)),
            "--udp" => udp.extend(ports(value)),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let mut threads = Vec::new();
    for port in tcp {
        let listener =
            TcpListener::bind(("0.0.0.0", port)).map_err(|e| format!("tcp {port}: {e}"))?;
        threads.push(std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || echo(stream));
            }
        }));
    }
    for port in udp {
        let socket = UdpSocket::bind(("0.0.0.0", port)).map_err(|e| format!("udp {port}: {e}"))?;
        threads.push(std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = socket.recv_from(&mut buf) {
                let _ = socket.send_to(&buf[..n], from);
            }
        }));
    }
    println!("ready");
    let _ = std::io::stdout().flush();
    for thread in threads {
        let _ = thread.join();
    }
    Ok(())
}

fn echo(mut stream: TcpStream) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 || stream.write_all(&buf[..n]).is_err() {
            break;
        }
    }
}

fn parse_target(target: &str) -> Result<(String, SocketAddr), String> {
    let (proto, addr) = target
        .split_once(':')
        .ok_or(format!("bad target {target}"))?;
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| format!("bad address in {target}: {e}"))?;
    Ok((proto.to_string(), addr))
}

fn try_one(proto: &str, addr: SocketAddr, timeout: Duration) -> &'static str {
    match proto {
        "tcp" => match TcpStream::connect_timeout(&addr, timeout) {
            Ok(_) => "ok",
            // A reset means the SYN reached the pod: the network allowed it.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => "refused",
            Err(_) => "fail",
        },
        "udp" => {
            let Ok(socket) = UdpSocket::bind("0.0.0.0:0") else {
                return "error";
            };
            if socket.connect(addr).is_err() || socket.set_read_timeout(Some(timeout)).is_err() {
                return "error";
            }
            let mut buf = [0u8; 64];
            // Two datagrams half a timeout apart: one lost datagram must not look like a drop.
            for _ in 0..2 {
                if socket.send(b"probe").is_err() {
                    return "fail";
                }
                let _ = socket.set_read_timeout(Some(timeout / 2));
                if let Ok(n) = socket.recv(&mut buf) {
                    if &buf[..n] == b"probe" {
                        return "ok";
                    }
                }
            }
            "fail"
        }
        _ => "error",
    }
}

fn probe(args: &[String]) -> Result<(), String> {
    let mut timeout = Duration::from_millis(300);
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--timeout-ms" {
            let ms: u64 = it
                .next()
                .and_then(|v| v.parse().ok())
                .ok_or("--timeout-ms needs a number")?;
            timeout = Duration::from_millis(ms);
        } else {
            targets.push(parse_target(arg)?);
        }
    }
    let handles: Vec<_> = targets
        .into_iter()
        .map(|(proto, addr)| {
            std::thread::spawn(move || {
                let result = try_one(&proto, addr, timeout);
                format!("{proto} {} {} {result}", addr.ip(), addr.port())
            })
        })
        .collect();
    let mut out = std::io::stdout().lock();
    for handle in handles {
        let line = handle.join().unwrap_or_else(|_| "error".to_string());
        let _ = writeln!(out, "{line}");
    }
    Ok(())
}

fn hold(args: &[String]) -> Result<(), String> {
    let (_, addr) = parse_target(args.first().ok_or("hold needs a target")?)?;
    let mut out = std::io::stdout();
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        let _ = writeln!(out, "fail");
        return Ok(());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = writeln!(out, "connected");
    let _ = out.flush();
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
        let mut buf = [0u8; 5];
        let ok = stream.write_all(b"ping\n").is_ok()
            && stream.read_exact(&mut buf).is_ok()
            && &buf == b"ping\n";
        let _ = writeln!(out, "{}", if ok { "ok" } else { "fail" });
        let _ = out.flush();
    }
    Ok(())
}

/// One HTTP/1.0 GET: the status code and the body.
fn http_get(args: &[String]) -> Result<(u16, String), String> {
    let [addr, path] = args else {
        return Err("get needs ADDR PATH".to_string());
    };
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| format!("bad address {addr}: {e}"))?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("{addr}: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status_line = head.lines().next().unwrap_or_default();
    let code = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or(format!("{path}: bad status line {status_line:?}"))?;
    Ok((code, body.to_string()))
}

fn get(args: &[String]) -> Result<(), String> {
    let (code, body) = http_get(args)?;
    if code != 200 {
        return Err(format!("{}: HTTP status {code}", args[1]));
    }
    print!("{body}");
    Ok(())
}

/// One socket of `serve`: `tcp:10.0.0.1:80`, `udp:[fd00::1]:53`; a probe may add the source
/// address to bind: `tcp:10.0.0.1:80@10.0.0.2`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Spec {
    tcp: bool,
    addr: SocketAddr,
    from: Option<IpAddr>,
}

impl Spec {
    fn parse(text: &str) -> Result<Spec, String> {
        let (target, from) = match text.split_once('@') {
            Some((target, from)) => (
                target,
                Some(
                    from.parse()
                        .map_err(|e| format!("bad source in {text}: {e}"))?,
                ),
            ),
            None => (text, None),
        };
        let (proto, addr) = parse_target(target)?;
        let tcp = match proto.as_str() {
            "tcp" => true,
            "udp" => false,
            other => return Err(format!("unknown protocol {other} in {text}")),
        };
        Ok(Spec { tcp, addr, from })
    }
}

/// `serve`: reads commands from stdin, one per line, and answers on stdout.
///
/// - `listen SPEC...` replaces the set of listening sockets (TCP accepts, UDP echoes; each
///   bound to its own address, so a reply leaves from the address the probe was sent to)
///   and answers `ready`, or `error MESSAGE`.
/// - `probe TIMEOUT_MS SPEC...` tries every target at once and answers one line per target,
///   `SPEC VERDICT` in argument order, then `done`. Verdicts: `ok` (handshake completed, or
///   echo received), `timeout` (no answer: the packet was dropped), `refused` (a reset or an
///   ICMP port unreachable: it arrived but nothing listens), `error:KIND` (anything else,
///   such as no route; a broken test setup, never a policy verdict).
///
/// Listeners keep running between commands on a runtime worker thread; probes run on the
/// thread that reads stdin.
fn serve() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let mut listeners: BTreeMap<Spec, tokio::task::JoinHandle<()>> = BTreeMap::new();
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match words.split_first() {
            Some((&"listen", specs)) => match rt.block_on(relisten(&mut listeners, specs)) {
                Ok(()) => "ready".to_string(),
                Err(e) => format!("error {e}"),
            },
            Some((&"probe", args)) => match rt.block_on(probe_specs(args)) {
                Ok(lines) => lines,
                Err(e) => format!("error {e}"),
            },
            Some((other, _)) => format!("error unknown command {other}"),
            None => continue,
        };
        let _ = writeln!(out, "{answer}");
        let _ = out.flush();
    }
    Ok(())
}

/// Makes the listening sockets exactly `specs`: keeps those already open, closes the others.
async fn relisten(
    listeners: &mut BTreeMap<Spec, tokio::task::JoinHandle<()>>,
    specs: &[&str],
) -> Result<(), String> {
    let wanted = specs
        .iter()
        .map(|s| Spec::parse(s))
        .collect::<Result<std::collections::BTreeSet<Spec>, String>>()?;
    listeners.retain(|spec, task| {
        let keep = wanted.contains(spec);
        if !keep {
            task.abort();
        }
        keep
    });
    for spec in wanted {
        if listeners.contains_key(&spec) {
            continue;
        }
        let task = if spec.tcp {
            let listener = bind_retrying(|| tokio::net::TcpListener::bind(spec.addr))
                .await
                .map_err(|e| format!("tcp {}: {e}", spec.addr))?;
            tokio::spawn(accept_forever(listener))
        } else {
            let socket = bind_retrying(|| tokio::net::UdpSocket::bind(spec.addr))
                .await
                .map_err(|e| format!("udp {}: {e}", spec.addr))?;
            tokio::spawn(echo_forever(socket))
        };
        listeners.insert(spec, task);
    }
    Ok(())
}

/// A socket closed by an aborted listener task is released a moment later: retry briefly.
async fn bind_retrying<T, F>(bind: impl Fn() -> F) -> std::io::Result<T>
where
    F: std::future::Future<Output = std::io::Result<T>>,
{
    let mut tries = 0;
    loop {
        match bind().await {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            other => return other,
        }
    }
}

async fn accept_forever(listener: tokio::net::TcpListener) {
    // Probes need only the handshake; a held connection (`hold`) needs its echo.
    while let Ok((mut stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let (mut read, mut write) = stream.split();
            let _ = tokio::io::copy(&mut read, &mut write).await;
        });
    }
}

async fn echo_forever(socket: tokio::net::UdpSocket) {
    let mut buf = [0u8; 1500];
    while let Ok((n, from)) = socket.recv_from(&mut buf).await {
        let _ = socket.send_to(&buf[..n], from).await;
    }
}

/// At most this many probes are in flight at once (file descriptors are finite); a probe's
/// timeout starts when it gets its turn.
const IN_FLIGHT: usize = 4096;

async fn probe_specs(args: &[&str]) -> Result<String, String> {
    let (timeout, specs) = args.split_first().ok_or("probe needs TIMEOUT_MS")?;
    let timeout = Duration::from_millis(
        timeout
            .parse()
            .map_err(|_| format!("bad timeout {timeout}"))?,
    );
    let specs = specs
        .iter()
        .map(|s| Spec::parse(s).map(|spec| (*s, spec)))
        .collect::<Result<Vec<_>, String>>()?;
    let permits = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let verdicts = futures::future::join_all(specs.iter().map(|(_, spec)| {
        let permits = permits.clone();
        async move {
            let _permit = permits.acquire().await;
            probe_one(spec, timeout).await
        }
    }))
    .await;
    let mut out = String::new();
    for ((text, _), verdict) in specs.iter().zip(verdicts) {
        out.push_str(text);
        out.push(' ');
        out.push_str(&verdict);
        out.push('\n');
    }
    out.push_str("done");
    Ok(out)
}

fn unspecified(addr: &SocketAddr) -> IpAddr {
    match addr {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

fn error_word(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::ConnectionRefused {
        "refused".to_string()
    } else {
        format!("error:{:?}", e.kind())
    }
}

async fn probe_one(spec: &Spec, timeout: Duration) -> String {
    let from = SocketAddr::new(spec.from.unwrap_or_else(|| unspecified(&spec.addr)), 0);
    if spec.tcp {
        probe_tcp(from, spec.addr, timeout).await
    } else {
        probe_udp(from, spec.addr, timeout).await
    }
}

async fn probe_tcp(from: SocketAddr, to: SocketAddr, timeout: Duration) -> String {
    let socket = match to {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    };
    let socket = match socket.and_then(|s| s.bind(from).map(|()| s)) {
        Ok(socket) => socket,
        Err(e) => return format!("error:bind-{:?}", e.kind()),
    };
    match tokio::time::timeout(timeout, socket.connect(to)).await {
        Ok(Ok(stream)) => {
            // Reset instead of closing: no TIME_WAIT pile-up over thousands of probes.
            let _ = stream.set_zero_linger();
            "ok".to_string()
        }
        Ok(Err(e)) => error_word(&e),
        Err(_) => "timeout".to_string(),
    }
}

async fn probe_udp(from: SocketAddr, to: SocketAddr, timeout: Duration) -> String {
    let socket = match tokio::net::UdpSocket::bind(from).await {
        Ok(socket) => socket,
        Err(e) => return format!("error:bind-{:?}", e.kind()),
    };
    if let Err(e) = socket.connect(to).await {
        return format!("error:connect-{:?}", e.kind());
    }
    let mut buf = [0u8; 64];
    // Two datagrams half a timeout apart: one lost datagram must not look like a drop.
    for _ in 0..2 {
        if let Err(e) = socket.send(b"probe").await {
            return error_word(&e);
        }
        match tokio::time::timeout(timeout / 2, socket.recv(&mut buf)).await {
            Ok(Ok(n)) if &buf[..n] == b"probe" => return "ok".to_string(),
            Ok(Ok(_)) => return "error:wrong-echo".to_string(),
            Ok(Err(e)) => return error_word(&e),
            Err(_) => {}
        }
    }
    "timeout".to_string()
}

fn fetch(args: &[String]) -> Result<(), String> {
    let (code, body) = http_get(args)?;
    print!("{code}\n{body}");
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("listen") => listen(&args[1..]),
        Some("probe") => probe(&args[1..]),
        Some("hold") => hold(&args[1..]),
        Some("get") => get(&args[1..]),
        Some("fetch") => fetch(&args[1..]),
        Some("serve") => serve(),
        _ => Err("usage: netpol-probe listen|probe|hold|get|fetch|serve ...".to_string()),
    };
    if let Err(error) = result {
        eprintln!("netpol-probe: {error}");
        std::process::exit(2);
    }
}
