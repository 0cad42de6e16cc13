//! The checks that an id in a path is one the principal may see. Another tenant's ids, or
//! ids of a profile outside the scope, answer exactly like ids that do not exist (404).

use serde_json::{Map, Value};

use super::params::{Scope, ScopedUser, TenantProfile};
use super::{run, sql};
use crate::error::{ApiError, Result};
use crate::state::AppState;

/// A row of `profile_state.sql`.
#[derive(Debug, serde::Deserialize, clickhouse::Row)]
struct ProfileStateRow {
    latest_change: String,
}

/// 404 unless the profile exists in the tenant and the scope holds it.
pub async fn visible_profile(state: &AppState, scope: &Scope, profile_id: &str) -> Result<()> {
    let not_found = || ApiError::NotFound {
        kind: "profile",
        id: profile_id.to_owned(),
    };
    if !scope.sees_profile(profile_id) {
        return Err(not_found());
    }
    let binds = TenantProfile {
        tenant_id: &scope.tenant_id,
        profile_id,
    }
    .binds();
    // Its latest state event decides; a profile without any is known by its users.
    let latest: Option<ProfileStateRow> =
        run::typed(state, sql::PROFILE_STATE, &binds).await?.pop();
    let found = match latest {
        Some(row) => row.latest_change != "Deleted",
        None => run::count(state, sql::PROFILE_USERS, &binds).await? > 0,
    };
    if !found {
        return Err(not_found());
    }
    Ok(())
}

/// 404 unless the user exists in the tenant (not deleted, nor in a deleted profile) and
/// the scope sees it: the check of the routes that list the user's sessions, issues or
/// logs (cheaper than [`visible_user`], which reads the whole row).
pub async fn user_visible(state: &AppState, scope: &Scope, user_id: &str) -> Result<()> {
    let binds = ScopedUser { scope, user_id }.binds();
    if run::count(state, sql::USER_VISIBLE, &binds).await? == 0 {
        return Err(user_not_found(user_id));
    }
    Ok(())
}

fn user_not_found(user_id: &str) -> ApiError {
    ApiError::NotFound {
        kind: "user",
        id: user_id.to_owned(),
    }
}

/// The user's row (every column of `users.sql`, by `user_one.sql`), or 404. A map: the
/// row is answered whole, with the columns of the users list.
pub async fn visible_user(
    state: &AppState,
    scope: &Scope,
    user_id: &str,
) -> Result<Map<String, Value>> {
    let binds = ScopedUser { scope, user_id }.binds();
    run::rows(state, sql::USER_ONE, &binds)
        .await?
        .pop()
        .ok_or_else(|| user_not_found(user_id))
}
