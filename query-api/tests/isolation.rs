//! Tenant and profile isolation: every route x role x {own id, other tenant's id, missing
//! id}. Another tenant's id (and a profile the token does not grant) answers exactly like an
//! id that does not exist, and no list ever shows another tenant's data.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::Fixture;

/// Routes with an id: (template, own id for admin A, id only tenant B has, id of tenant
/// A's profile p2 that viewer A (p1 only) may not see).
const ID_ROUTES: &[(&str, &str, &str, &str)] = &[
    ("/api/v1/profiles/{}/users", "p1", "p3", "p2"),
    ("/api/v1/profiles/{}/sessions", "p1", "p3", "p2"),
    ("/api/v1/profiles/{}/issues?format=csv", "p1", "p3", "p2"),
    ("/api/v1/users/{}", "u1", "u9", "u3"),
    ("/api/v1/users/{}/sessions", "u1", "u9", "u3"),
    ("/api/v1/users/{}/issues", "u1", "u9", "u3"),
    ("/api/v1/sessions/{}", "sa3", "sb2", "sa5"),
    ("/api/v1/sessions/{}/logs", "sa3", "sb2", "sa5"),
    ("/api/v1/sessions/{}/logs?format=csv", "sa3", "sb2", "sa5"),
    ("/api/v1/users/{}/logs?from=0", "u1", "u9", "u3"),
    ("/api/v1/users/{}/logs?format=csv", "u1", "u9", "u3"),
];

const MISSING: &str = "zz-missing";

#[tokio::test]
async fn other_tenants_ids_answer_like_missing_ids() {
    let f = Fixture::new("isolation").await;
    for (template, own, other, hidden) in ID_ROUTES {
        let uri = |id: &str| template.replace("{}", id);
        // Own id: found.
        let (status, _, body) = f.get(&f.admin_a, &uri(own)).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{}: {}",
            uri(own),
            String::from_utf8_lossy(&body)
        );
        // Missing id: 404 with a JSON body naming the id.
        let (missing_status, _, missing_body) = f.get(&f.admin_a, &uri(MISSING)).await;
        assert_eq!(missing_status, StatusCode::NOT_FOUND, "{}", uri(MISSING));
        let missing_text = String::from_utf8(missing_body).unwrap();
        assert!(missing_text.contains("\"not_found\""), "{missing_text}");
        for (token, id, who) in [
            (&f.admin_a, *other, "admin A, tenant B's id"),
            (&f.viewer_a_p1, *other, "viewer A, tenant B's id"),
            (&f.viewer_a_p1, *hidden, "viewer A, profile p2's id"),
        ] {
            let (status, headers, body) = f.get(token, &uri(id)).await;
            let text = String::from_utf8(body).unwrap();
            assert_eq!(status, missing_status, "{who}: {}", uri(id));
            assert_eq!(
                text,
                missing_text.replace(MISSING, id),
                "{who}: {}",
                uri(id)
            );
            assert_eq!(headers.get("content-type").unwrap(), "application/json");
        }
        // Tenant B sees its own id, and tenant A's only id as missing.
        let (status, _, _) = f.get(&f.admin_b, &uri(other)).await;
        assert_eq!(status, StatusCode::OK, "admin B: {}", uri(other));
        if *own != "u1" && *own != "p1" {
            let (status, _, _) = f.get(&f.admin_b, &uri(own)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "admin B: {}", uri(own));
        }
    }
    f.drop().await;
}

#[tokio::test]
async fn lists_never_show_another_tenant_or_a_hidden_profile() {
    let f = Fixture::new("isolation_lists").await;
    let lists = [
        "/api/v1/profiles",
        "/api/v1/users?columns=user_id,display_name,profile_id,mail_account",
        "/api/v1/users?format=csv&columns=user_id,display_name,profile_id,mail_account",
        "/api/v1/profiles/p1/users?columns=user_id,display_name,mail_account",
        "/api/v1/profiles/p1/sessions?columns=session_id,message",
        "/api/v1/users/u1/sessions?columns=session_id,message",
        "/api/v1/users/u1/issues?columns=issue_id,object_name",
        "/api/v1/users/u1",
        "/api/v1/monitor/cards",
        "/api/v1/monitor/cards/LastSyncFailed/users",
        "/api/v1/monitor/cards/LastSyncSucceeded/users?format=csv",
        "/api/v1/freshness",
        "/api/v1/audit",
        "/api/v1/users/u1/logs?format=csv&from=0",
        "/api/v1/sessions/sa3/logs?format=csv",
    ];
    for uri in lists {
        for (token, forbidden) in [
            (
                &f.admin_a,
                &["Other", "other tenant", "u9", "sb1", "sb2", "ib1", "p3"][..],
            ),
            (
                &f.viewer_a_p1,
                &[
                    "Other",
                    "other tenant",
                    "u9",
                    "sb1",
                    "sb2",
                    "ib1",
                    "p3",
                    "u3",
                    "sa5",
                    "Cora",
                    "p2",
                ][..],
            ),
        ] {
            let (status, _, body) = f.get(token, uri).await;
            let text = String::from_utf8(body).unwrap();
            assert_eq!(status, StatusCode::OK, "{uri}: {text}");
            for word in forbidden {
                assert!(!text.contains(word), "{uri} leaks {word:?}: {text}");
            }
        }
    }
    // The cards count only what the token sees.
    let (_, a) = f.json(&f.admin_a, "/api/v1/monitor/cards").await;
    let (_, v) = f.json(&f.viewer_a_p1, "/api/v1/monitor/cards").await;
    let (_, b) = f.json(&f.admin_b, "/api/v1/monitor/cards").await;
    let total = |v: &serde_json::Value| -> u64 {
        v["cards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["users"].as_u64().unwrap())
            .sum()
    };
    assert_eq!((total(&a), total(&v), total(&b)), (3, 2, 2));
    f.drop().await;
}

#[tokio::test]
async fn tokens_are_required_and_revocation_is_immediate() {
    let f = Fixture::new("isolation_tokens").await;
    for token in [
        "",
        "sqa_nope",
        "Basic abc",
        &format!("sqa_{}", "0".repeat(64)),
    ] {
        let (status, v) = f.json(token, "/api/v1/profiles").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(v["error"]["code"], "unauthorized");
    }
    let (status, me) = f.json(&f.viewer_a_p1, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["tenant_id"], "ta");
    assert_eq!(me["role"], "viewer");
    assert_eq!(me["profiles"], serde_json::json!(["p1"]));
    let id = me["token_id"].as_str().unwrap().to_owned();
    // Through this process: its token cache drops the token at once (a revocation made
    // elsewhere takes up to `auth.token_cache_ttl_ms`: tests/token_cache.rs).
    f.state.revoke_token(&id).await.unwrap();
    let (status, _) = f.json(&f.viewer_a_p1, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let listed = query_api::auth::list_tokens(&f.state.client).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed.iter().filter(|t| t.revoked == 1).count(), 1);
    f.drop().await;
}

/// A profile is known by its latest state event (a deleted one answers 404), or, without
/// any state event, by the users the monitor counts in it.
#[tokio::test]
async fn profiles_are_known_by_their_state_events_or_their_users() {
    use common::{aggregate, insert, profile, user, TA};
    use schemas::{ChangeKind, Event};
    let f = Fixture::new("isolation_profiles").await;
    let mut gone = profile(TA, "p-gone", "Gone", f.base - 1_000);
    if let Event::ProfileState(p) = &mut gone {
        p.event_id = "p-gone-deleted".to_owned();
        p.change = ChangeKind::Deleted;
    }
    insert(
        &f.db.client(),
        &[
            profile(TA, "p-gone", "Gone", f.base - 2_000),
            gone,
            user(TA, "p-nostate", "u-nostate", "No state", f.base - 1_000),
        ],
    )
    .await;
    let ch = store::ClickHouseConfig {
        url: f.db.url.clone(),
        database: f.db.name.clone(),
        ..store::ClickHouseConfig::default()
    };
    aggregate(&ch).await;
    for (profile, expected) in [
        ("p1", StatusCode::OK),
        ("p-nostate", StatusCode::OK),
        ("p-gone", StatusCode::NOT_FOUND),
        (MISSING, StatusCode::NOT_FOUND),
    ] {
        for route in ["sessions", "users"] {
            let uri = format!("/api/v1/profiles/{profile}/{route}");
            let (status, _, body) = f.get(&f.admin_a, &uri).await;
            assert_eq!(
                status,
                expected,
                "{uri}: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }
    // The viewer of p1 does not see the profile known by its users either.
    let (status, _, _) = f
        .get(&f.viewer_a_p1, "/api/v1/profiles/p-nostate/sessions")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    f.drop().await;
}
