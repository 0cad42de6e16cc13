//! A request's token looked up through the process's [`crate::token_cache::TokenCache`],
//! and revocation through this process, which drops the token from that cache at once.
//! Methods of [`AppState`], defined here, in the layer that knows how to look a token up
//! (`state` is below `auth`).

use super::tokens::{lookup_hash, revoke_token};
use super::Principal;
use crate::error::ApiError;
use crate::state::AppState;

impl AppState {
    /// The principal of a bearer token or sign-in cookie, `None` for an unknown, revoked
    /// or malformed one: from the token cache, or one ClickHouse lookup.
    pub async fn principal(&self, token: &str) -> Result<Option<Principal>, ApiError> {
        let client = &self.client;
        self.tokens
            .principal(
                token,
                |hash| async move { lookup_hash(client, &hash).await },
            )
            .await
    }

    /// Revokes the token `token_id` in ClickHouse and drops it from this process's token
    /// cache at once (other processes: within their `auth.token_cache_ttl_ms`).
    pub async fn revoke_token(&self, token_id: &str) -> Result<(), clickhouse::error::Error> {
        // Forgotten even when the answer was an error: the revocation may have been
        // written all the same.
        let revoked = revoke_token(&self.client, token_id).await;
        self.tokens.forget(token_id);
        revoked
    }
}
