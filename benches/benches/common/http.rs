//! A minimal HTTP/1.0 client for the benches (one connection per request, the body runs to
//! the close): no client library between the bench and the server it measures.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GET with a bearer token; returns the status line and the body.
pub async fn get(addr: std::net::SocketAddr, path: &str, token: &str) -> (String, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::with_capacity(64 * 1024);
    stream.read_to_end(&mut buf).await.unwrap();
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP head");
    let status = String::from_utf8_lossy(&buf[..end])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    (status, buf[end + 4..].to_vec())
}

/// The sum of the samples of a Prometheus metric (every label set) on a `/metrics` endpoint.
pub async fn metric(addr: std::net::SocketAddr, name: &str) -> f64 {
    let (_, body) = get(addr, "/metrics", "").await;
    String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
