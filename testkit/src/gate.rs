//! [`TcpGate`]: a loopback TCP forwarder in front of a real server that a test can close
//! and open again, to cut one client off a server the other clients keep using (an outage
//! seen by one service only). Closing drops every connection through it and refuses new
//! ones (accepted, then closed at once) until it opens again.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP forwarder from a free loopback port to `upstream` (see the module's documentation).
pub struct TcpGate {
    addr: SocketAddr,
    state: Arc<Mutex<GateState>>,
    accept: JoinHandle<()>,
}

#[derive(Default)]
struct GateState {
    closed: bool,
    connections: Vec<JoinHandle<()>>,
}

impl TcpGate {
    /// Listens on a free loopback port and forwards every connection to `upstream`
    /// (`host:port`). Must be called within a Tokio runtime.
    pub async fn open(upstream: &str) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the gate's port")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(GateState::default()));
        let upstream = upstream.to_owned();
        let accept = {
            let state = state.clone();
            tokio::spawn(async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
                    if state.closed {
                        drop(client);
                        continue;
                    }
                    let upstream = upstream.clone();
                    state.connections.retain(|c| !c.is_finished());
                    state.connections.push(tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(&upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    }));
                }
            })
        };
        Ok(Self {
            addr,
            state,
            accept,
        })
    }

    /// The gate's address, `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Drops every connection through the gate and refuses new ones.
    pub fn close(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.closed = true;
        for c in state.connections.drain(..) {
            c.abort();
        }
    }

    /// Forwards new connections again.
    pub fn reopen(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).closed = false;
    }
}

impl Drop for TcpGate {
    fn drop(&mut self) {
        self.close();
        self.accept.abort();
    }
}
