//! The token cache on the real ClickHouse: a cached token is answered without a new lookup,
//! a revocation made by another process applies once the TTL has passed, one made through
//! this process at once, TTL 0 caches nothing, unknown tokens still answer 401, and a
//! failed lookup is not cached.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{Fixture, TA};
use query_api::auth::{self, Role};

/// (hits, misses) of the token cache so far.
fn counts(f: &Fixture) -> (u64, u64) {
    let m = &f.state.metrics;
    (m.token_cache_hits.get(), m.token_cache_misses.get())
}

/// The token id behind `token` (`GET /me`, which must answer 200).
async fn token_id(f: &Fixture, token: &str) -> String {
    let (status, me) = f.json(token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    me["token_id"].as_str().unwrap().to_owned()
}

/// Revokes `token_id` the way an operator does, from another process: `query-api token
/// revoke` run as its own binary against the test's database.
fn revoke_from_another_process(f: &Fixture, token_id: &str) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_query-api"))
        .args(["token", "revoke", token_id])
        .env("SYNCTEL_CLICKHOUSE_URL", &f.db.url)
        .env("SYNCTEL_CLICKHOUSE_DATABASE", &f.db.name)
        .env_remove("SYNCTEL_CLICKHOUSE_CLUSTER")
        .env_remove("SYNCTEL_CLICKHOUSE_CLUSTER_NODES")
        .env_remove("SYNCTEL_CLICKHOUSE_INSERT_QUORUM")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "query-api token revoke: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_cached_token_is_answered_without_a_new_lookup() {
    let f = Fixture::with_limits("token_cache_hit", |c| {
        c.auth.token_cache_ttl_ms = 60_000;
    })
    .await;
    let id = token_id(&f, &f.admin_a).await;
    assert_eq!(counts(&f), (0, 1), "the first request looked the token up");
    let (status, _) = f.json(&f.admin_a, "/api/v1/profiles").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(counts(&f), (1, 1), "the second was a hit");
    // Revoked in ClickHouse by another client: this process still answers from its cache
    // (so it did not look the token up), until the 60 s TTL passes.
    auth::revoke_token(&f.db.client(), &id).await.unwrap();
    let (status, _) = f.json(&f.admin_a, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(counts(&f), (2, 1));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &f.state.registry).unwrap();
    assert!(
        text.contains("\nquery_api_token_cache_hits_total 2\n")
            && text.contains("\nquery_api_token_cache_misses_total 1\n"),
        "{text}"
    );
    f.drop().await;
}

#[tokio::test]
async fn a_revocation_by_another_process_applies_once_the_ttl_passed() {
    let f = Fixture::with_limits("token_cache_ttl", |c| {
        c.auth.token_cache_ttl_ms = 1_000;
    })
    .await;
    let id = token_id(&f, &f.viewer_a_p1).await;
    revoke_from_another_process(&f, &id);
    // Whether a request right now is still served from the cache depends on how long the
    // revocation took; after the TTL it is not.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (status, v) = f.json(&f.viewer_a_p1, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["error"]["code"], "unauthorized");
    // The other tokens still work.
    let (status, _) = f.json(&f.admin_a, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    f.drop().await;
}

#[tokio::test]
async fn a_revocation_through_this_process_applies_at_once() {
    let f = Fixture::with_limits("token_cache_revoke", |c| {
        c.auth.token_cache_ttl_ms = 60_000;
    })
    .await;
    let id = token_id(&f, &f.viewer_a_p1).await;
    token_id(&f, &f.admin_a).await;
    token_id(&f, &f.viewer_a_p1).await;
    assert_eq!(counts(&f), (1, 2), "both tokens are cached");
    f.state.revoke_token(&id).await.unwrap();
    let (status, _) = f.json(&f.viewer_a_p1, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(counts(&f), (1, 3), "the revoked token was looked up again");
    // The other token's entry stays.
    token_id(&f, &f.admin_a).await;
    assert_eq!(counts(&f), (2, 3));
    f.drop().await;
}

#[tokio::test]
async fn ttl_zero_looks_every_token_up() {
    let f = Fixture::with_limits("token_cache_off", |c| {
        c.auth.token_cache_ttl_ms = 0;
    })
    .await;
    assert!(!f.state.tokens.enabled());
    let id = token_id(&f, &f.admin_a).await;
    token_id(&f, &f.admin_a).await;
    auth::revoke_token(&f.db.client(), &id).await.unwrap();
    let (status, _) = f.json(&f.admin_a, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no cached answer");
    assert_eq!(counts(&f), (0, 0), "nothing counted when the cache is off");
    f.drop().await;
}

#[tokio::test]
async fn unknown_and_malformed_tokens_answer_401() {
    let f = Fixture::new("token_cache_unknown").await;
    assert!(f.state.tokens.enabled(), "on by default");
    let unknown = format!("sqa_{}", "0".repeat(64));
    for round in 0..2 {
        for token in ["", "sqa_nope", "Basic abc", unknown.as_str()] {
            let (status, v) = f.json(token, "/api/v1/profiles").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "round {round}: {token:?}");
            assert_eq!(v["error"]["code"], "unauthorized");
        }
    }
    // Only the well-formed unknown token was looked up, once; its answer was then reused.
    assert_eq!(counts(&f), (1, 1));
    f.drop().await;
}

#[tokio::test]
async fn a_failed_lookup_is_not_cached() {
    let f = Fixture::with_limits("token_cache_error", |c| {
        c.auth.token_cache_ttl_ms = 60_000;
    })
    .await;
    let client = f.db.client();
    let (_, token) = auth::create_token(&client, TA, Role::Viewer, None, "test")
        .await
        .unwrap();
    let secrets = store::secrets_database(&f.db.name);
    let rename = |from: &str, to: &str| {
        let sql = format!("RENAME TABLE {secrets}.{from} TO {secrets}.{to}");
        let client = client.clone();
        async move { client.query(&sql).execute().await.unwrap() }
    };
    // The lookup fails (its table is gone): 503, and nothing is stored.
    rename("api_tokens", "api_tokens_away").await;
    let (status, v) = f.json(&token, "/api/v1/me").await;
    rename("api_tokens_away", "api_tokens").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["error"]["code"], "storage_unavailable");
    // Neither "unknown" nor the error was kept: the next request looks it up and succeeds.
    let (status, _) = f.json(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(counts(&f), (0, 2));
    f.drop().await;
}
