//! Issue 15 ("Hardening") on the real servers: slow and idle connections are closed, the
//! connection cap answers 503, invented methods add no metric series, too many filters are
//! a 400 naming the limit, and the small points: JSON-only sign-in, one Authorization
//! header, request ids of profile-limited admins, security and caching headers, JSON
//! bodies of 405/413/414, Retry-After on 429, no source maps, the OpenAPI answers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{json_body as json, send, Fixture};
use query_api::{ApiConfig, AppState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Far above every configured timeout of these tests: only a hang reaches it.
const BOUND: Duration = Duration::from_secs(20);

/// A server on a free port with `config`; stopped when the token is cancelled.
async fn start(config: ApiConfig) -> (std::net::SocketAddr, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        query_api::serve(listener, AppState::new(config), token)
            .await
            .unwrap();
    });
    (addr, stop)
}

fn config(adjust: impl FnOnce(&mut ApiConfig)) -> ApiConfig {
    let mut c = ApiConfig::default();
    c.clickhouse.url = testkit::clickhouse_url();
    c.kafka.brokers = testkit::kafka_brokers();
    adjust(&mut c);
    c.validate().unwrap();
    c
}

/// Reads until the server closes the connection (EOF or reset); what it sent. Panics when
/// the connection is still open after [`BOUND`].
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let closed = tokio::time::timeout(BOUND, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept the connection open");
    out
}

#[tokio::test]
async fn slow_and_idle_clients_are_disconnected() {
    let (addr, stop) = start(config(|c| c.http.header_read_timeout_ms = 1_000)).await;

    // Half a request head, then nothing.
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    // Nothing at all.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    // A kept-alive connection idle after its first answer.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();

    let (half_got, silent_got, idle_got) = tokio::join!(
        read_until_closed(&mut half),
        read_until_closed(&mut silent),
        read_until_closed(&mut idle)
    );
    let idle_got = String::from_utf8_lossy(&idle_got);
    assert!(idle_got.starts_with("HTTP/1.1 200"), "{idle_got}");
    assert!(
        !String::from_utf8_lossy(&half_got).contains("200 OK"),
        "half a head is never answered"
    );
    assert!(silent_got.is_empty() || String::from_utf8_lossy(&silent_got).contains("408"));

    // Graceful shutdown: a kept-alive connection is answered, then the server stops.
    let mut open = TcpStream::connect(addr).await.unwrap();
    open.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 15];
    open.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200 OK");
    stop.cancel();
    read_until_closed(&mut open).await;
    let refused = tokio::time::timeout(BOUND, async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(refused.is_ok(), "the listener stayed open after shutdown");
}

#[tokio::test]
async fn connections_past_the_cap_get_503_with_retry_after() {
    let (addr, stop) = start(config(|c| {
        c.http.max_connections = 1;
        c.http.header_read_timeout_ms = 30_000;
    }))
    .await;
    // The one slot, held by a connection that has sent nothing yet.
    let mut holder = TcpStream::connect(addr).await.unwrap();
    holder.write_all(b"GET /hea").await.unwrap();

    let mut extra = TcpStream::connect(addr).await.unwrap();
    let _ = extra
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let answer = String::from_utf8_lossy(&read_until_closed(&mut extra).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    assert!(
        answer.contains(r#""code":"too_many_connections""#),
        "{answer}"
    );

    // The holder finishes its request and leaves: the slot is free again.
    holder
        .write_all(b"lth HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let held = String::from_utf8_lossy(&read_until_closed(&mut holder).await).into_owned();
    assert!(held.starts_with("HTTP/1.1 200"), "{held}");
    drop(holder);
    let served = tokio::time::timeout(BOUND, async {
        loop {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let _ = s
                .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await;
            let got = String::from_utf8_lossy(&read_until_closed(&mut s).await).into_owned();
            if got.starts_with("HTTP/1.1 200") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(served.is_ok(), "the freed slot was never reused");
    stop.cancel();
}

/// The metric series (lines that are not comments) of `/metrics`.
async fn series(app: &axum::Router) -> Vec<String> {
    let (_, _, body) = send(app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    String::from_utf8(body)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.rsplit_once(' ').map_or(l, |(name, _)| name).to_owned())
        .collect()
}

#[tokio::test]
async fn invented_methods_and_paths_add_no_series() {
    let app = query_api::app(AppState::new(config(|_| {})));
    let invented = |method: &str, uri: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap()
    };
    // Warm up: every shape of request below once (and /metrics itself).
    send(&app, invented("BREW", "/api/v1/users")).await;
    send(&app, invented("BREW", "/health")).await;
    send(&app, invented("GET", "/no/such/path/x")).await;
    series(&app).await;
    let before = series(&app).await;
    for i in 0..20 {
        send(&app, invented(&format!("X-INVENTED-{i}"), "/api/v1/users")).await;
        send(&app, invented(&format!("X-INVENTED-{i}"), "/health")).await;
        send(&app, invented("GET", &format!("/no/such/path/{i}"))).await;
    }
    let after = series(&app).await;
    assert!(!after
        .iter()
        .any(|s| s.contains("INVENTED") || s.contains("BREW")));
    assert!(!after.iter().any(|s| s.contains("/no/such/path")));
    assert_eq!(before.len(), after.len(), "new series: {after:#?}");
    assert!(after.iter().any(|s| s.contains(r#"method="other""#)));
}

fn filters(n: usize) -> String {
    (0..n)
        .map(|i| format!("display_name.ne=nobody{i}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn too_many_filters_are_a_400_naming_the_limit() {
    let f = Fixture::new("too_many_filters").await;
    let limit = query_api::query::list::MAX_FILTERS;
    // The limit itself runs on ClickHouse.
    let (status, page) = f
        .json(&f.admin_a, &format!("/api/v1/users?{}", filters(limit)))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(common::rows(&page).len(), 3);
    for n in [limit + 1, 300] {
        let (status, body) = f
            .json(&f.admin_a, &format!("/api/v1/users?{}", filters(n)))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["code"], "too_many_filters");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&limit.to_string()),
            "{body}"
        );
    }
    f.drop().await;
}

#[tokio::test]
async fn sign_in_takes_json_only_and_one_authorization_header() {
    let f = Fixture::new("sign_in_json").await;
    let token = f.viewer_a_p1.clone();
    // What an HTML form of another origin can send: form, multipart, text bodies.
    for (content_type, body) in [
        (
            Some("application/x-www-form-urlencoded"),
            format!(r#"{{"token": "{token}"}}"#),
        ),
        (Some("text/plain"), format!(r#"{{"token": "{token}"}}"#)),
        (None, format!(r#"{{"token": "{token}"}}"#)),
    ] {
        let mut req = Request::post("/api/v1/session");
        if let Some(t) = content_type {
            req = req.header("content-type", t);
        }
        let (status, headers, body) = send(&f.app, req.body(Body::from(body)).unwrap()).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        assert_eq!(json(&body)["error"]["code"], "unsupported_media_type");
        assert!(!headers.contains_key("set-cookie"));
    }
    let req = Request::post("/api/v1/session")
        .header("content-type", "application/json; charset=utf-8")
        .body(Body::from(format!(r#"{{"token": "{token}"}}"#)))
        .unwrap();
    let (status, headers, _) = send(&f.app, req).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.contains_key("set-cookie"));

    // Two Authorization headers, in either order, answer 401 (not as the first).
    for (a, b) in [
        (f.admin_a.as_str(), f.viewer_a_p1.as_str()),
        (f.admin_a.as_str(), "sqa_nonsense"),
        ("sqa_nonsense", f.admin_a.as_str()),
    ] {
        let req = Request::get("/api/v1/me")
            .header("authorization", format!("Bearer {a}"))
            .header("authorization", format!("Bearer {b}"))
            .body(Body::empty())
            .unwrap();
        let (status, _, body) = send(&f.app, req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(json(&body)["error"]["code"], "unauthorized");
    }
    f.drop().await;
}

#[tokio::test]
async fn a_profile_limited_admin_does_not_learn_request_ids_outside_its_profiles() {
    let f = Fixture::new("limited_request_ids").await;
    let limited = query_api::auth::create_token(
        &f.db.client(),
        common::TA,
        query_api::auth::Role::Admin,
        Some(vec!["p1".to_owned()]),
        "test",
    )
    .await
    .unwrap()
    .1;
    // The tenant-wide admin acts on u3 (profile p2) under request id r-shared.
    let body = r#"{"action": "force_sync", "request_id": "r-shared"}"#;
    let (status, first) = f.post(&f.admin_a, "/api/v1/users/u3/actions", body).await;
    assert!(
        status == StatusCode::ACCEPTED || status == StatusCode::SERVICE_UNAVAILABLE,
        "{first}"
    );
    // The same id from the p1-only admin, for its own user u1: treated as a new request
    // (published, or 503 when the broker is away), never 409.
    let (status, second) = f.post(&limited, "/api/v1/users/u1/actions", body).await;
    assert_ne!(status, StatusCode::CONFLICT, "{second}");
    assert!(
        status == StatusCode::ACCEPTED || second["error"]["code"] == "publish_failed",
        "{second}"
    );
    if status == StatusCode::ACCEPTED {
        assert_eq!(second["request_id"], "r-shared");
        assert_eq!(second["user_id"], "u1");
    }
    // Within its own ids, idempotency still holds: the same id for another user is 409.
    let (status, third) = f.post(&limited, "/api/v1/users/u2/actions", body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{third}");
    // And the tenant-wide admin's request is untouched.
    let (status, again) = f.post(&f.admin_a, "/api/v1/users/u3/actions", body).await;
    assert_ne!(status, StatusCode::CONFLICT, "{again}");
    f.drop().await;
}

#[tokio::test]
async fn responses_carry_nosniff_no_store_and_json_errors() {
    let f = Fixture::with_limits("json_errors", |c| c.limits.exports_per_tenant = 1).await;
    for uri in ["/api/v1/me", "/api/v1/nope", "/metrics", "/health"] {
        let (_, headers, _) = f.get(&f.admin_a, uri).await;
        assert_eq!(headers["x-content-type-options"], "nosniff", "{uri}");
        assert_eq!(headers["cache-control"], "no-store", "{uri}");
    }

    // 405 with its Allow header, JSON.
    let req = Request::delete("/api/v1/users")
        .header("authorization", format!("Bearer {}", f.admin_a))
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = send(&f.app, req).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(headers.contains_key("allow"));
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(json(&body)["error"]["code"], "method_not_allowed");

    // 413: a body over http.max_body_bytes.
    let big = format!(r#"{{"token": "{}"}}"#, "x".repeat(70_000));
    let req = Request::post("/api/v1/session")
        .header("content-type", "application/json")
        .body(Body::from(big))
        .unwrap();
    let (status, _, body) = send(&f.app, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let body = json(&body);
    assert_eq!(body["error"]["code"], "body_too_large");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("max_body_bytes"));

    // 414: a request target over http.max_uri_bytes.
    let long = format!("/api/v1/users?display_name={}", "x".repeat(20_000));
    let (status, headers, body) = f.get(&f.admin_a, &long).await;
    assert_eq!(status, StatusCode::URI_TOO_LONG);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(json(&body)["error"]["code"], "uri_too_long");

    // 429 with Retry-After: the tenant's one export slot is taken.
    let slot = f.state.export_permit(common::TA).unwrap();
    let (status, headers, body) = f.get(&f.admin_a, "/api/v1/users?format=csv").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(json(&body)["error"]["code"], "too_many_exports");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    drop(slot);
    let (status, _, _) = f.get(&f.admin_a, "/api/v1/users?format=csv").await;
    assert_eq!(status, StatusCode::OK);

    // The OpenAPI document lists the answers and refuses empty ids.
    let (_, doc) = f.json("", "/api/v1/openapi.json").await;
    let users = &doc["paths"]["/api/v1/users"]["get"]["responses"];
    for code in [
        "400", "401", "405", "413", "414", "422", "429", "503", "504",
    ] {
        assert!(users[code].is_object(), "GET /users lacks {code}");
    }
    let params = doc["paths"]["/api/v1/users/{user_id}/sessions"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let user_id = params.iter().find(|p| p["name"] == "user_id").unwrap();
    assert_eq!(user_id["schema"]["minLength"], 1);
    let request_id = &doc["paths"]["/api/v1/users/{user_id}/actions"]["post"]["requestBody"]
        ["content"]["application/json"]["schema"]["properties"]["request_id"];
    assert_eq!(request_id["minLength"], 1);
    f.drop().await;
}

#[tokio::test]
async fn source_maps_are_not_served() {
    let dir = std::env::temp_dir().join(testkit::unique_name("console_maps"));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>c</title>").unwrap();
    std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
    std::fs::write(
        dir.join("assets/app.js.map"),
        r#"{"sources":["secret.ts"]}"#,
    )
    .unwrap();
    let d = dir.clone();
    let app = query_api::app(AppState::new(config(move |c| c.console.dir = d)));
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    let (status, _, _) = send(&app, get("/assets/app.js")).await;
    assert_eq!(status, StatusCode::OK);
    for uri in [
        "/assets/app.js.map",
        "/assets/app.js.m%61p",
        "/assets/APP.JS.MAP",
    ] {
        let (status, _, body) = send(&app, get(uri)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(!String::from_utf8_lossy(&body).contains("secret.ts"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_pause_in_a_request_body_ends_the_request() {
    let (addr, stop) = start(config(|c| {
        c.http.idle_timeout_ms = 1_000;
        c.http.header_read_timeout_ms = 30_000;
    }))
    .await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"token\": ",
    )
    .await
    .unwrap();
    let got = String::from_utf8_lossy(&read_until_closed(&mut s).await).into_owned();
    // Answered with a JSON error (or just closed), never left waiting for the rest.
    if !got.is_empty() {
        assert!(got.starts_with("HTTP/1.1 4"), "{got}");
        assert!(got.contains(r#"{"error":"#), "{got}");
    }
    stop.cancel();
}
