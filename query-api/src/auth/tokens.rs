//! The tokens: `sqa_` + 64 hex characters (256 random bits); only their SHA-256 is stored,
//! in `api_tokens` of the secrets database `<database>_secrets`. Managed with `query-api
//! token create|list|revoke`; a request's token is looked up by its hash ([`lookup`],
//! behind the process's [`crate::token_cache::TokenCache`]).

use clickhouse::Client;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Principal, Role};
use crate::error::ApiError;
use crate::query::params::{TokenLookup, TokenRevoke};
use crate::query::run::bind_all;
use crate::query::sql;
use crate::token_cache::{token_digest, well_formed};

/// The token SQL with `$SECRETS_DATABASE` replaced by the secrets database of `client`'s
/// database (a name of letters, digits and `_`, checked by the config).
fn token_sql(client: &Client, sql: &str) -> String {
    sql.replace(store::migrate::SECRETS_DATABASE, &secrets_of(client))
}

fn secrets_of(client: &Client) -> String {
    store::secrets_database(client.database().unwrap_or("default"))
}

/// Hex SHA-256 of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(token_digest(token))
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct LookupRow {
    token_id: String,
    tenant_id: String,
    role: String,
    all_profiles: u8,
    profiles: Vec<String>,
}

/// The principal of a token, or `None` for an unknown or revoked one: one ClickHouse round
/// trip, uncached (requests go through [`crate::token_cache::TokenCache`]).
pub async fn lookup(client: &Client, token: &str) -> Result<Option<Principal>, ApiError> {
    if !well_formed(token) {
        return Ok(None);
    }
    lookup_hash(client, &hash_token(token)).await
}

/// The principal of the token whose hex SHA-256 is `hash`, or `None` for an unknown or
/// revoked one (one ClickHouse round trip).
pub async fn lookup_hash(client: &Client, hash: &str) -> Result<Option<Principal>, ApiError> {
    let binds = TokenLookup { token_hash: hash }.binds();
    let row: Option<LookupRow> =
        bind_all(client.query(&token_sql(client, sql::TOKEN_LOOKUP)), &binds)
            .fetch_optional()
            .await?;
    Ok(row.and_then(|r| {
        Some(Principal {
            token_id: r.token_id,
            tenant_id: r.tenant_id,
            role: Role::parse(&r.role)?,
            profiles: (r.all_profiles == 0).then_some(r.profiles),
        })
    }))
}

/// A stored token (never its hash), as `token list` prints it.
#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row)]
pub struct TokenInfo {
    /// Id.
    pub token_id: String,
    /// Tenant.
    pub tenant_id: String,
    /// `viewer` or `admin`.
    pub role: String,
    /// 1: every profile.
    pub all_profiles: u8,
    /// The profiles when not all.
    pub profiles: Vec<String>,
    /// Free text.
    pub label: String,
    /// Creation time, ms since the Unix epoch.
    pub created_at_ms: i64,
    /// 1 when revoked.
    pub revoked: u8,
}

/// A new row of `api_tokens` (no `Debug`: it holds the token's hash).
#[derive(Serialize, clickhouse::Row)]
struct TokenRow {
    token_id: String,
    token_hash: String,
    tenant_id: String,
    role: String,
    all_profiles: u8,
    profiles: Vec<String>,
    label: String,
    created_at_ms: i64,
    revoked: u8,
    version: u64,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Creates a token and returns `(token_id, token)`: the token is shown only here.
pub async fn create_token(
    client: &Client,
    tenant_id: &str,
    role: Role,
    profiles: Option<Vec<String>>,
    label: &str,
) -> Result<(String, String), clickhouse::error::Error> {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("sqa_{}", hex::encode(secret));
    let token_id = format!("tok_{}", &hex::encode(Sha256::digest(secret))[..16]);
    let now = now_ms();
    let row = TokenRow {
        token_id: token_id.clone(),
        token_hash: hash_token(&token),
        tenant_id: tenant_id.to_owned(),
        role: role.as_str().to_owned(),
        all_profiles: u8::from(profiles.is_none()),
        profiles: profiles.unwrap_or_default(),
        label: label.to_owned(),
        created_at_ms: now,
        revoked: 0,
        version: u64::try_from(now).unwrap_or(0),
    };
    let secrets = client.clone().with_database(secrets_of(client));
    let mut insert = secrets.insert::<TokenRow>("api_tokens").await?;
    insert.write(&row).await?;
    insert.end().await?;
    Ok((token_id, token))
}

/// Every token, newest first.
pub async fn list_tokens(client: &Client) -> Result<Vec<TokenInfo>, clickhouse::error::Error> {
    client
        .query(&token_sql(client, sql::TOKEN_LIST))
        .fetch_all()
        .await
}

/// Revokes a token in ClickHouse. A query-api process that cached the token's lookup keeps
/// accepting it until its entry expires (`auth.token_cache_ttl_ms`, default 5 s); a
/// process revoking through [`crate::AppState::revoke_token`] also drops its own entry at
/// once.
pub async fn revoke_token(client: &Client, token_id: &str) -> Result<(), clickhouse::error::Error> {
    let version = u64::try_from(now_ms()).unwrap_or(0) + 1;
    let binds = TokenRevoke { version, token_id }.binds();
    bind_all(client.query(&token_sql(client, sql::TOKEN_REVOKE)), &binds)
        .execute()
        .await
}
