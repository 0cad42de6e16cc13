//! The server side of the web console on the real ClickHouse: sign-in trades a token for an
//! HttpOnly cookie that then authenticates requests (changes need `X-Requested-With`),
//! sign-out clears it, `GET /lists` describes the lists, and the console's files are served
//! with their security headers (or a page saying how to build them), while unknown API
//! routes still answer JSON.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use common::json_body as json;
use common::Fixture;

async fn send(f: &Fixture, req: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    common::send(&f.app, req).await
}

async fn sign_in(f: &Fixture, body: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let req = Request::post("/api/v1/session")
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    send(f, req).await
}

#[tokio::test]
async fn sign_in_sets_a_cookie_that_authenticates_until_sign_out() {
    let f = Fixture::new("console_cookie").await;
    let (status, headers, body) =
        sign_in(&f, &format!(r#"{{"token": "{}"}}"#, f.viewer_a_p1)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json(&body)["role"], "viewer");
    let cookie = headers["set-cookie"].to_str().unwrap().to_owned();
    for part in [
        "synctel_token=sqa_",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/api/",
        "Max-Age=43200",
    ] {
        assert!(cookie.contains(part), "{part} missing in {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP by default: {cookie}"
    );
    assert_eq!(headers["cache-control"], "no-store");
    let pair = cookie.split(';').next().unwrap().to_owned();

    // The cookie alone authenticates reads, scoped like the token.
    let get = |uri: &str| {
        Request::get(uri)
            .header("cookie", format!("other=1; {pair}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, body) = send(&f, get("/api/v1/me")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["profiles"], serde_json::json!(["p1"]));
    let (status, _, _) = send(&f, get("/api/v1/profiles/p2/users")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the viewer sees p1 only");

    // A change by cookie needs X-Requested-With (a foreign page cannot add it).
    let post = |with_header: bool| {
        let mut r = Request::post("/api/v1/users/u1/actions")
            .header("cookie", pair.clone())
            .header("content-type", "application/json");
        if with_header {
            r = r.header("x-requested-with", "synctel-console");
        }
        r.body(Body::from(
            r#"{"action": "force_sync", "request_id": "c1"}"#,
        ))
        .unwrap()
    };
    let (status, _, body) = send(&f, post(false)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        json(&body)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("X-Requested-With"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    // With it, the request reaches the role check: a viewer may not act.
    let (status, _, body) = send(&f, post(true)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!String::from_utf8_lossy(&body).contains("X-Requested-With"));

    // Sign-out clears the cookie.
    let req = Request::delete("/api/v1/session")
        .header("cookie", pair.clone())
        .header("x-requested-with", "synctel-console")
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = send(&f, req).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let cleared = headers["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("synctel_token=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );

    // A cookie of a revoked token is refused like the token (revoked through this process,
    // so at once; from elsewhere within `auth.token_cache_ttl_ms`: tests/token_cache.rs).
    let id = json(&send(&f, get("/api/v1/me")).await.2)["token_id"]
        .as_str()
        .unwrap()
        .to_owned();
    f.state.revoke_token(&id).await.unwrap();
    let (status, _, _) = send(&f, get("/api/v1/me")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    f.drop().await;
}

#[tokio::test]
async fn sign_in_refuses_bad_tokens_and_bodies_in_json() {
    let f = Fixture::new("console_refuse").await;
    let unknown = format!(r#"{{"token": "sqa_{}"}}"#, "0".repeat(64));
    for (body, status, code) in [
        (unknown.as_str(), StatusCode::UNAUTHORIZED, "unauthorized"),
        (
            r#"{"token": "hello"}"#,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (r#"{"tok": "x"}"#, StatusCode::BAD_REQUEST, "bad_value"),
        ("not json", StatusCode::BAD_REQUEST, "bad_value"),
    ] {
        let (s, headers, b) = sign_in(&f, body).await;
        assert_eq!(s, status, "{body}: {}", String::from_utf8_lossy(&b));
        assert_eq!(json(&b)["error"]["code"], code, "{body}");
        assert!(!headers.contains_key("set-cookie"), "{body}");
    }
    f.drop().await;
}

#[tokio::test]
async fn lists_describe_columns_kinds_and_operators() {
    let f = Fixture::new("console_lists").await;
    let (status, _, body) = f.get(&f.admin_a, "/api/v1/lists").await;
    assert_eq!(status, StatusCode::OK);
    let lists = json(&body);
    for name in [
        "profiles",
        "users",
        "card_users",
        "sessions",
        "issues",
        "audit",
        "session_trends",
        "issue_trends",
        "user_trends",
    ] {
        assert!(lists[name]["columns"].is_array(), "{name}");
    }
    let sessions = &lists["sessions"];
    assert_eq!(sessions["windowed"], true);
    assert_eq!(sessions["key"], "session_id");
    let started = sessions["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "started_at_ms")
        .unwrap();
    assert_eq!(started["kind"], "time");
    assert_eq!(
        started["operators"],
        serde_json::json!(["eq", "ne", "gt", "gte", "lt", "lte"])
    );
    // Every default column is a column, and the API takes each one.
    for (name, list) in lists.as_object().unwrap() {
        let columns: Vec<&str> = list["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        for d in list["default_columns"].as_array().unwrap() {
            assert!(columns.contains(&d.as_str().unwrap()), "{name}: {d}");
        }
    }
    let (status, _, _) = f.get("", "/api/v1/lists").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    f.drop().await;
}

#[tokio::test]
async fn console_files_are_served_with_security_headers() {
    let dir = std::env::temp_dir().join(testkit::unique_name("console-dist"));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><p>console</p>").unwrap();
    std::fs::write(dir.join("assets/app-1234.js"), "console.log(1)").unwrap();
    let served = dir.clone();
    let f = Fixture::with_limits("console_files", move |c| c.console.dir = served).await;

    let (status, headers, body) = f.get("", "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"<!doctype html><p>console</p>");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );

    let (status, headers, _) = f.get("", "/assets/app-1234.js").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );

    let (status, _, _) = f.get("", "/missing.png").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = f.get("", "/../Cargo.toml").await;
    assert_ne!(
        status,
        StatusCode::OK,
        "no path outside the console's directory"
    );
    // Unknown API routes still answer JSON.
    let (status, _, body) = f.get("", "/api/v1/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json(&body)["error"]["code"], "not_found");
    let (status, _, body) = f.get("", "/api/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json(&body)["error"]["code"], "not_found");

    // Without a built console, / says how to build it; the API is unaffected.
    std::fs::remove_dir_all(&dir).unwrap();
    let (status, _, body) = f.get("", "/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(String::from_utf8_lossy(&body).contains("deploy/console.sh build"));
    let (status, _, _) = f.get(&f.admin_a, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    f.drop().await;
}
