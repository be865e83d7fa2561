//! A TCP relay on loopback between clients and an API server: what a load balancer or a
//! network path is in a real cluster. Tests point clients at the relay, then cut every
//! connection at once (a network blip: watches must resume) or move the relay to another
//! API server of the same cluster. TLS passes through untouched.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The relay; stops (closing its connections) on drop.
pub struct Relay {
    port: u16,
    target: Arc<Mutex<u16>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Relay {
    /// Listens on a free loopback port, relaying to `127.0.0.1:target`.
    pub fn start(runtime: &tokio::runtime::Runtime, target: u16) -> Relay {
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("relay listener");
        let port = listener.local_addr().expect("relay address").port();
        let target = Arc::new(Mutex::new(target));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let accept = runtime.spawn(accept_loop(listener, target.clone(), connections.clone()));
        Relay {
            port,
            target,
            connections,
            accept,
        }
    }

    /// The relay's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// New connections go to `127.0.0.1:target`; open ones stay where they are.
    pub fn point_to(&self, target: u16) {
        *self.target.lock().expect("relay target") = target;
    }

    /// Closes every open connection, both ways.
    pub fn cut(&self) {
        for connection in self
            .connections
            .lock()
            .expect("relay connections")
            .drain(..)
        {
            connection.abort();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: Arc<Mutex<u16>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
) {
    while let Ok((client, _)) = listener.accept().await {
        let to = SocketAddr::from(([127, 0, 0, 1], *target.lock().expect("relay target")));
        let task = tokio::spawn(relay(client, to));
        let mut open = connections.lock().expect("relay connections");
        open.retain(|c| !c.is_finished());
        open.push(task);
    }
}

async fn relay(mut client: TcpStream, to: SocketAddr) {
    if let Ok(mut server) = TcpStream::connect(to).await {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}
