//! Bearer tokens and the principal behind them.
//!
//! A token is `sqa_` + 64 hex characters (256 random bits); only its SHA-256 is stored, in
//! `api_tokens` of the secrets database `<database>_secrets` (migrations 0010, 0013), which
//! analysts may not read. The functions here take a client of the services' database and
//! find the secrets database from its name. Plain SHA-256 is enough for tokens of that entropy (no
//! dictionary to guess from), and it lets a request find its row with one indexed lookup.
//! Tokens are managed with `query-api token create|list|revoke`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};
use clickhouse::Client;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::AppState;

const TOKEN_LOOKUP: &str = include_str!("../sql/token_lookup.sql");
const TOKEN_LIST: &str = include_str!("../sql/token_list.sql");
const TOKEN_REVOKE: &str = include_str!("../sql/token_revoke.sql");

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads and exports.
    Viewer,
    /// Reads, exports and admin actions.
    Admin,
}

impl Role {
    /// Parses `viewer` or `admin`.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }
}

/// Who is asking: one tenant, all of its profiles or a list, a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The token's id (not secret; names the principal in logs and the audit trail).
    pub token_id: String,
    /// The only tenant it sees.
    pub tenant_id: String,
    /// The role.
    pub role: Role,
    /// `None`: every profile of the tenant; `Some`: only these.
    pub profiles: Option<Vec<String>>,
}

impl Principal {
    /// Whether the principal may see `profile_id`.
    pub fn sees_profile(&self, profile_id: &str) -> bool {
        self.profiles
            .as_ref()
            .is_none_or(|list| list.iter().any(|p| p == profile_id))
    }

    /// The scope as the SQL files bind it: `all_profiles UInt8, profiles Array(String)`.
    /// The array is never empty (`[]` is `Array(Nothing)` on 18.16, which `has` refuses):
    /// `['']` stands for "none" (profile ids are never empty).
    pub fn scope_binds(&self) -> (u8, Vec<String>) {
        match &self.profiles {
            None => (1, vec![String::new()]),
            Some(list) if list.is_empty() => (0, vec![String::new()]),
            Some(list) => (0, list.clone()),
        }
    }
}

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
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct LookupRow {
    token_id: String,
    tenant_id: String,
    role: String,
    all_profiles: u8,
    profiles: Vec<String>,
}

/// The principal of a token, or `None` for an unknown or revoked one.
pub async fn lookup(client: &Client, token: &str) -> Result<Option<Principal>, ApiError> {
    if !token.starts_with("sqa_") || token.len() != 68 {
        return Ok(None);
    }
    let row: Option<LookupRow> = client
        .query(&token_sql(client, TOKEN_LOOKUP))
        .bind(hash_token(token))
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

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Exactly one Authorization header: with two, proxies and the API could each
        // believe a different one.
        let mut authorizations = parts.headers.get_all(header::AUTHORIZATION).iter();
        let first = authorizations.next();
        if authorizations.next().is_some() {
            return Err(ApiError::Unauthorized);
        }
        let bearer = first
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|v| v.trim().to_owned());
        let token = match bearer {
            Some(token) => token,
            None => {
                // The console's sign-in cookie. A request that changes something must
                // also carry `X-Requested-With`, which a foreign page cannot add.
                let token =
                    crate::console::cookie_token(&parts.headers).ok_or(ApiError::Unauthorized)?;
                let safe = parts.method == Method::GET || parts.method == Method::HEAD;
                if !safe && !parts.headers.contains_key(crate::console::CSRF_HEADER) {
                    return Err(ApiError::Forbidden(
                        "a request signed in by cookie that changes something needs the X-Requested-With header".to_owned(),
                    ));
                }
                token
            }
        };
        let principal = lookup(&state.client, &token)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        tracing::Span::current().record("token_id", principal.token_id.as_str());
        Ok(principal)
    }
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

#[derive(Debug, Serialize, clickhouse::Row)]
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
        .query(&token_sql(client, TOKEN_LIST))
        .fetch_all()
        .await
}

/// Revokes a token (effective for the next request).
pub async fn revoke_token(client: &Client, token_id: &str) -> Result<(), clickhouse::error::Error> {
    let version = u64::try_from(now_ms()).unwrap_or(0) + 1;
    client
        .query(&token_sql(client, TOKEN_REVOKE))
        .bind(version)
        .bind(token_id)
        .execute()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_and_roles() {
        let mut p = Principal {
            token_id: "t".into(),
            tenant_id: "a".into(),
            role: Role::Viewer,
            profiles: None,
        };
        assert!(p.sees_profile("x"));
        assert_eq!(p.scope_binds(), (1, vec![String::new()]));
        p.profiles = Some(vec!["p1".into()]);
        assert!(p.sees_profile("p1") && !p.sees_profile("p2"));
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
        assert_eq!(hash_token("x").len(), 64);
    }
}
