//! One user's and one session's details. The user's and the session's own rows stay maps
//! (every column of the users and sessions lists, answered whole); what is assembled
//! around them is typed.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::list::{self, ParseContext};
use super::params::{Bound, Scope, Sessions, TenantUser};
use super::specs::SESSIONS;
use super::visibility::visible_user;
use super::{run, sql};
use crate::error::{ApiError, Result};
use crate::state::AppState;

/// A row of `user_scope.sql` (one row, defaults when the user has no state event).
#[derive(Debug, Default, Deserialize, clickhouse::Row)]
struct UserScopeRow {
    s_mail_system: String,
    s_crm_system: String,
    s_names: Vec<String>,
    s_object_types: Vec<String>,
    s_conflict_resolutions: Vec<String>,
}

/// The status triple of the user details.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusTriple {
    /// The mail token is authorized.
    pub authorized: bool,
    /// The CRM token is active.
    pub active: bool,
    /// The effective status is `Enabled`.
    pub sync_enabled: bool,
}

/// Where the user syncs, and the last token error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Connectivity {
    /// The mail system (latest user-state event).
    pub mail_system: Option<String>,
    /// The CRM system.
    pub crm_system: Option<String>,
    /// The last token error (the user's row).
    pub last_token_error: Option<Value>,
}

/// One saved search of the sync scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SavedSearch {
    /// Its name.
    pub name: String,
    /// The object type it selects.
    pub object_type: Option<String>,
    /// How conflicts are resolved.
    pub conflict_resolution: Option<String>,
}

/// The sync scope settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncScope {
    /// The saved searches.
    pub saved_searches: Vec<SavedSearch>,
}

/// `GET /api/v1/users/{user_id}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserDetail {
    /// Every column of the users list.
    pub user: Map<String, Value>,
    /// Authorized, active, sync enabled.
    pub status: StatusTriple,
    /// Systems and token error.
    pub connectivity: Connectivity,
    /// Scope settings.
    pub scope: SyncScope,
    /// The newest 20 sessions (every session column list's default columns).
    pub history: Vec<Map<String, Value>>,
}

/// The details of a user the scope sees, or 404.
pub async fn user_detail(
    state: &AppState,
    scope: &Scope,
    user_id: &str,
    ctx: ParseContext,
) -> Result<UserDetail> {
    let user = visible_user(state, scope, user_id).await?;
    let binds = TenantUser {
        tenant_id: &scope.tenant_id,
        user_id,
    }
    .binds();
    let sc: Option<UserScopeRow> = run::typed(state, sql::USER_SCOPE, &binds)
        .await?
        .into_iter()
        .next();
    let found = sc.is_some();
    let sc = sc.unwrap_or_default();
    let saved_searches = sc
        .s_names
        .iter()
        .enumerate()
        .map(|(i, name)| SavedSearch {
            name: name.clone(),
            object_type: sc.s_object_types.get(i).cloned(),
            conflict_resolution: sc.s_conflict_resolutions.get(i).cloned(),
        })
        .collect();
    let history_req = list::parse(
        &SESSIONS,
        &[
            ("from".to_owned(), "0".to_owned()),
            ("sort".to_owned(), "-started_at_ms".to_owned()),
            ("limit".to_owned(), "20".to_owned()),
        ],
        ctx,
    )?;
    let history_sql = list::wrap(&SESSIONS, &history_req, &[], true);
    let mut binds = Sessions {
        scope,
        user_id,
        session_id: "",
        from_ms: 0,
        to_ms: i64::MAX,
    }
    .binds();
    binds.push(Bound::U64(20));
    binds.push(Bound::U64(0));
    let history = run::rows(state, &history_sql, &binds).await?;
    let flag = |k: &str| user.get(k).and_then(Value::as_u64) == Some(1);
    Ok(UserDetail {
        status: StatusTriple {
            authorized: flag("mail_token_authorized"),
            active: flag("crm_token_active"),
            sync_enabled: user.get("effective_status").and_then(Value::as_str)
                == Some(schemas::EffectiveStatus::Enabled.as_str()),
        },
        connectivity: Connectivity {
            mail_system: found.then(|| sc.s_mail_system.clone()),
            crm_system: found.then(|| sc.s_crm_system.clone()),
            last_token_error: user.get("last_token_error").cloned(),
        },
        scope: SyncScope { saved_searches },
        user,
        history,
    })
}

/// The per-type columns of a session's objects report, after `objects_`.
const OBJECT_COLUMNS: [&str; 7] = [
    "synchronized",
    "mail_to_crm_created",
    "mail_to_crm_updated",
    "mail_to_crm_deleted",
    "crm_to_mail_created",
    "crm_to_mail_updated",
    "crm_to_mail_deleted",
];

/// One session the scope sees: every column, the objects report as one object per type.
pub async fn session_detail(
    state: &AppState,
    scope: &Scope,
    session_id: &str,
) -> Result<Map<String, Value>> {
    let not_found = || ApiError::NotFound {
        kind: "session",
        id: session_id.to_owned(),
    };
    if session_id.is_empty() {
        return Err(not_found());
    }
    let sql = format!(
        "SELECT * FROM ({}) ORDER BY started_at_ms DESC LIMIT 1",
        sql::base_sql(SESSIONS.sql)
    );
    let binds = Sessions {
        scope,
        user_id: "",
        session_id,
        from_ms: 0,
        to_ms: i64::MAX,
    }
    .binds();
    let mut row = run::rows(state, &sql, &binds)
        .await?
        .pop()
        .ok_or_else(not_found)?;
    let take = |row: &mut Map<String, Value>, k: &str| match row.remove(k) {
        Some(Value::Array(v)) => v,
        _ => Vec::new(),
    };
    let types = take(&mut row, "objects_type");
    let values: Vec<Vec<Value>> = OBJECT_COLUMNS
        .iter()
        .map(|c| take(&mut row, &format!("objects_{c}")))
        .collect();
    let objects: Vec<Value> = types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut o = Map::new();
            o.insert("object_type".to_owned(), t.clone());
            for (c, v) in OBJECT_COLUMNS.iter().zip(&values) {
                o.insert((*c).to_owned(), v.get(i).cloned().unwrap_or(Value::Null));
            }
            Value::Object(o)
        })
        .collect();
    row.insert("objects".to_owned(), Value::Array(objects));
    Ok(row)
}
