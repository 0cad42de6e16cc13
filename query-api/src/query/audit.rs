//! The audit trail of admin requests: every state of a request is a row of `admin_actions`
//! (ReplacingMergeTree by `version`): `accepted`, then `published` or `failed`. Read back
//! by `admin_action_lookup.sql` (idempotency) and listed by `audit.sql`.

use serde::{Deserialize, Serialize};

use super::params::ActionLookup;
use super::{run, sql};
use crate::error::Result;
use crate::state::AppState;

/// A row of `admin_actions` (`issued_at` is its default).
#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row)]
pub struct ActionRow {
    /// The tenant.
    pub tenant_id: String,
    /// The user's profile.
    pub profile_id: String,
    /// The user.
    pub user_id: String,
    /// The stored request id (see `stored_request_id` of the actions route).
    pub request_id: String,
    /// The command's id (the engines de-duplicate by it).
    pub command_id: String,
    /// The action's Avro symbol.
    pub action: String,
    /// The token id of the principal.
    pub issued_by: String,
    /// When, ms since the epoch.
    pub issued_at_ms: i64,
    /// `accepted`, `published` or `failed`.
    pub result: String,
    /// Where it was published, or why it failed.
    pub detail: String,
    /// `update_credentials` only.
    pub new_mail_account: String,
    /// `update_credentials` only.
    pub new_crm_user_name: String,
    /// Version of the request's row.
    pub version: u64,
}

/// A row of `admin_action_lookup.sql`: [`ActionRow`] without the keys looked up by.
#[derive(Debug, Deserialize, clickhouse::Row)]
struct StoredRow {
    profile_id: String,
    user_id: String,
    command_id: String,
    action: String,
    issued_by: String,
    issued_at_ms: i64,
    result: String,
    detail: String,
    new_mail_account: String,
    new_crm_user_name: String,
    version: u64,
}

/// The current row of a tenant's request, if it was seen before.
pub async fn lookup(
    state: &AppState,
    tenant_id: &str,
    request_id: &str,
) -> Result<Option<ActionRow>> {
    let binds = ActionLookup {
        tenant_id,
        request_id,
    }
    .binds();
    let stored: Option<StoredRow> =
        run::bind_all(state.client.query(sql::ADMIN_ACTION_LOOKUP), &binds)
            .fetch_optional()
            .await?;
    Ok(stored.map(|old| ActionRow {
        tenant_id: tenant_id.to_owned(),
        profile_id: old.profile_id,
        user_id: old.user_id,
        request_id: request_id.to_owned(),
        command_id: old.command_id,
        action: old.action,
        issued_by: old.issued_by,
        issued_at_ms: old.issued_at_ms,
        result: old.result,
        detail: old.detail,
        new_mail_account: old.new_mail_account,
        new_crm_user_name: old.new_crm_user_name,
        version: old.version,
    }))
}

/// Writes one state of a request.
pub async fn write(state: &AppState, row: &ActionRow) -> Result<()> {
    let mut insert = state.client.insert::<ActionRow>("admin_actions").await?;
    insert.write(row).await?;
    insert.end().await?;
    Ok(())
}
