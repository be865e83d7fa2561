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
//! - `fetch 127.0.0.1:9695 /healthz`: like `get`, but any status: prints the status code on
//!   the first line, then the body (health checks answer 503 when unhealthy).

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
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
        _ => Err("usage: netpol-probe listen|probe|hold|get|fetch ...".to_string()),
    };
    if let Err(error) = result {
        eprintln!("netpol-probe: {error}");
        std::process::exit(2);
    }
}
