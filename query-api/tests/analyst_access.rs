//! Issue 15, item 9 on the real ClickHouse: the API tokens live in `<database>_secrets`
//! (migration 0013), apart from the services' database, and the read-only analyst user of
//! the local stack (deploy/clickhouse/users.xml.in) may not read them; the API still finds
//! its tokens there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::Fixture;

fn env(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The stack's analyst user (`deploy/stack.sh env` exports its name and password).
fn analyst() -> clickhouse::Client {
    clickhouse::Client::default()
        .with_url(testkit::clickhouse_url())
        .with_user(env("SYNCTEL_ANALYST_USER", "analyst"))
        .with_password(env("SYNCTEL_ANALYST_PASSWORD", "analyst"))
        .with_validation(false)
}

async fn count(client: &clickhouse::Client, sql: &str) -> Result<u64, String> {
    client
        .query(sql)
        .fetch_one::<u64>()
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn tokens_live_where_the_analyst_cannot_read_them() {
    let f = Fixture::new("analyst_access").await;
    let db = f.db.name.clone();
    let secrets = store::secrets_database(&db);
    let admin = f.db.client();

    // The services' database holds no tokens; the secrets database holds the fixture's 3.
    let exists = count(
        &admin,
        &format!(
            "SELECT count() FROM system.tables WHERE database = '{db}' AND name = 'api_tokens'"
        ),
    )
    .await
    .unwrap();
    assert_eq!(exists, 0, "api_tokens is still in {db}");
    assert_eq!(
        count(&admin, &format!("SELECT count() FROM {secrets}.api_tokens"))
            .await
            .unwrap(),
        3
    );
    // And the API finds them there.
    let (status, me) = f.json(&f.admin_a, "/api/v1/me").await;
    assert_eq!(status, axum::http::StatusCode::OK, "{me}");

    // The analyst may not read the secrets (nor any database but the services' one). The
    // server reloads users.xml within seconds of `deploy/stack.sh users`.
    let analyst = analyst();
    let deadline = Instant::now() + Duration::from_secs(15);
    let denied = loop {
        match count(&analyst, &format!("SELECT count() FROM {secrets}.api_tokens")).await {
            Err(e) if e.contains("Access denied") || e.contains("Code: 291") => break e,
            other if Instant::now() > deadline => panic!(
                "the analyst read {secrets}.api_tokens ({other:?}): render users.xml with deploy/stack.sh users"
            ),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    };
    assert!(!denied.contains("token_hash"));
    let stack_db = env("SYNCTEL_CLICKHOUSE_DATABASE", "synctel");
    let tables = count(
        &analyst,
        &format!("SELECT count() FROM system.tables WHERE database = '{stack_db}'"),
    )
    .await;
    assert!(
        tables.is_ok(),
        "the analyst reads the catalogue: {tables:?}"
    );
    let shown = analyst
        .query(&format!("SHOW TABLES FROM {stack_db}"))
        .fetch_all::<String>()
        .await;
    assert!(shown.is_ok(), "the analyst reads {stack_db}: {shown:?}");
    f.drop().await;
}

#[tokio::test]
async fn migration_0013_moves_existing_tokens_into_the_secrets_database() {
    let db = testkit::TestDatabase::new("api_tokens_move");
    let ch = store::ClickHouseConfig {
        url: db.url.clone(),
        database: db.name.clone(),
        ..store::ClickHouseConfig::default()
    };
    store::migrate::migrate(&ch).await.unwrap();
    let client = db.client();
    let secrets = ch.secrets_database();
    // Back to the state before 0013: the tokens in the services' database, 0013 not
    // recorded (schema_migrations rewritten without it).
    let exec = |sql: String| {
        let client = client.clone();
        async move { client.query(&sql).execute().await.unwrap() }
    };
    exec(format!("DROP DATABASE {secrets}")).await;
    let v10 = store::migrate::MIGRATIONS
        .iter()
        .find(|m| m.version == 10)
        .unwrap();
    for statement in v10.statements() {
        exec(statement).await;
    }
    exec("INSERT INTO api_tokens (token_id, token_hash, tenant_id, role, all_profiles, profiles, label, created_at_ms, revoked, version) VALUES ('tok_old', 'hash_old', 'ta', 'admin', 1, [], 'before', 1, 0, 1)".to_owned()).await;
    exec("DROP TABLE schema_migrations".to_owned()).await;
    exec("CREATE TABLE schema_migrations (version UInt32, name String, checksum String, applied_at DateTime DEFAULT now()) ENGINE = MergeTree() ORDER BY version".to_owned()).await;
    for m in store::migrate::MIGRATIONS
        .iter()
        .filter(|m| m.version != 13)
    {
        exec(format!(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ({}, '{}', '{}')",
            m.version,
            m.name,
            m.checksum()
        ))
        .await;
    }
    assert!(store::migrate::verify(&ch).await.is_err(), "0013 pending");

    let report = store::migrate::migrate(&ch).await.unwrap();
    assert_eq!(report.applied, vec![13]);
    let listed = query_api::auth::list_tokens(&client).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].token_id, "tok_old");
    assert_eq!(listed[0].label, "before");
    let left = count(
        &client,
        &format!(
            "SELECT count() FROM system.tables WHERE database = '{}' AND name = 'api_tokens'",
            db.name
        ),
    )
    .await
    .unwrap();
    assert_eq!(left, 0);
    exec(format!("DROP DATABASE IF EXISTS {secrets}")).await;
    db.drop_database().await.unwrap();
}
