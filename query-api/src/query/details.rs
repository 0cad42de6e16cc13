//! One user's and one session's details. The user's and the session's own rows stay maps
//! (every column of the users and sessions lists, answered whole); what is assembled
//! around them is typed.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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

/// `sql/details/user_history.sql`: a user's newest sessions, one query level. Embedded
/// here rather than in [`super::sql`] (whose test wants every top-level file bound by a
/// struct of [`super::params`], files owned by another change this session); the
/// portability check reads it with the rest of `sql/`, and the test below checks its
/// binds against its header.
pub const USER_HISTORY: &str = include_str!("../../sql/details/user_history.sql");

/// How many sessions a user's details carry in their history.
pub const HISTORY_LEN: u64 = 20;

/// The end of a session in a [`HistoryRow`]: `ended_at_ms, status, scope_items, changes,
/// total_changes, failures, issues, conflicts, error_category, error_source, message`.
type HistoryEnd = (
    i64,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    String,
    String,
    String,
);

/// A row of `user_history.sql`.
#[derive(Debug, Deserialize, clickhouse::Row)]
struct HistoryRow {
    session_id: String,
    user_id: String,
    m_profile_id: String,
    m_started_at_ms: i64,
    m_trigger: String,
    m_end: HistoryEnd,
}

impl HistoryRow {
    /// The row as the session lists answer it with their default columns
    /// (`specs::SESSIONS.default_columns`).
    fn into_map(self) -> Map<String, Value> {
        let (
            ended,
            status,
            scope_items,
            changes,
            total,
            failures,
            issues,
            conflicts,
            cat,
            src,
            msg,
        ) = self.m_end;
        let duration = if ended == 0 {
            0
        } else {
            ended - self.m_started_at_ms
        };
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_owned(), v);
        };
        put("session_id", self.session_id.into());
        put("user_id", self.user_id.into());
        put("profile_id", self.m_profile_id.into());
        put("started_at_ms", self.m_started_at_ms.into());
        put("ended_at_ms", ended.into());
        put("duration_ms", duration.into());
        put("trigger", self.m_trigger.into());
        put("status", status.into());
        put("scope_items", scope_items.into());
        put("changes", changes.into());
        put("total_changes", total.into());
        put("failures", failures.into());
        put("issues", issues.into());
        put("conflicts", conflicts.into());
        put("error_category", cat.into());
        put("error_source", src.into());
        put("message", msg.into());
        m
    }
}

/// The binds of `user_history.sql`, in the order of its `-- params:` header; public for
/// the benches, which send the same statement straight to ClickHouse.
pub fn history_binds(scope: &Scope, user_id: &str) -> Vec<Bound> {
    vec![
        Bound::Str(scope.tenant_id.clone()),
        Bound::Str(user_id.to_owned()),
        Bound::U8(scope.all_profiles),
        Bound::Strs(scope.profiles.clone()),
        Bound::U64(HISTORY_LEN),
    ]
}

/// A user's newest [`HISTORY_LEN`] sessions (any start, newest first), each with the
/// session lists' default columns.
pub async fn history(
    state: &AppState,
    scope: &Scope,
    user_id: &str,
) -> Result<Vec<Map<String, Value>>> {
    let rows: Vec<HistoryRow> =
        run::typed(state, USER_HISTORY, &history_binds(scope, user_id)).await?;
    Ok(rows.into_iter().map(HistoryRow::into_map).collect())
}

/// The details of a user the scope sees, or 404.
pub async fn user_detail(state: &AppState, scope: &Scope, user_id: &str) -> Result<UserDetail> {
    let binds = TenantUser {
        tenant_id: &scope.tenant_id,
        user_id,
    }
    .binds();
    // The three statements at once; the visibility check decides what is answered.
    let (user, sc, history) = tokio::try_join!(
        visible_user(state, scope, user_id),
        run::typed::<UserScopeRow>(state, sql::USER_SCOPE, &binds),
        history(state, scope, user_id),
    )?;
    let sc = sc.into_iter().next();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_binds_follow_the_header() {
        let scope = Scope {
            tenant_id: "t".to_owned(),
            all_profiles: 1,
            profiles: vec![String::new()],
        };
        let binds = history_binds(&scope, "u");
        let ours: Vec<String> = binds.iter().map(|b| b.type_name().to_owned()).collect();
        let header: Vec<String> = sql::header_params(USER_HISTORY)
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert_eq!(ours, header);
        assert_eq!(
            binds.len(),
            sql::base_sql(USER_HISTORY).matches('?').count()
        );
    }
}
