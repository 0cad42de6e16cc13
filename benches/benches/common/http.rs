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

/// GET with a bearer token, streamed: `on_body` sees each body chunk as it arrives and
/// nothing is kept (an export of any size). Returns the status line and the time to the
/// first body byte.
pub async fn get_streamed(
    addr: std::net::SocketAddr,
    path: &str,
    token: &str,
    mut on_body: impl FnMut(&[u8]),
) -> (String, std::time::Duration) {
    let t = std::time::Instant::now();
    let mut first_byte = std::time::Duration::ZERO;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut head = Vec::new();
    let mut in_body = false;
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        let mut chunk = &buf[..n];
        if !in_body {
            head.extend_from_slice(chunk);
            let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let body_start = end + 4 - (head.len() - n);
            chunk = &buf[body_start..n];
            head.truncate(end);
            in_body = true;
            first_byte = t.elapsed();
        }
        on_body(chunk);
    }
    let status = String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    (status, first_byte)
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
