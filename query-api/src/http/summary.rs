//! Summary counts and trends: the current users of the tenant by effective status and by
//! sync state (per tenant and per profile in scope), and the aggregator's series over time
//! (sessions by status, issues by error code, object type and direction, users by status)
//! as lists, so filters, sort, columns, paging and CSV work as on every list.

use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Json;
use serde_json::{json, Value};

use super::respond::{ctx, no_params, respond, Params};
use super::route::{list_params, op, query, Route};
use crate::auth::Principal;
use crate::error::{ApiError, Result};
use crate::query::list;
use crate::query::params::{Scope, ScopedProfile, Trend};
use crate::query::specs::{GRANULARITIES, METRICS};
use crate::query::summary::{self, Summary};
use crate::query::visibility::visible_profile;
use crate::state::AppState;

/// The routes of this area.
pub fn routes() -> Vec<Route> {
    let profile = || {
        query(
            "profile_id",
            "one profile (default: every profile the token sees)",
            json!({"type": "string"}),
        )
    };
    vec![
        Route::new(
            "/summary",
            get(summary),
            op(
                "current users by effective status and by sync state, for the tenant and per profile",
                vec![profile()],
                &[],
            ),
        ),
        Route::new("/trends", get(trends), trends_op(profile())),
    ]
}

fn trends_op(profile: Value) -> Value {
    let mut params = vec![
        query(
            "metric",
            "the series (default sessions); its columns: sessions: bucket_ms, status, sessions; issues: bucket_ms, error_code, object_type, direction, issues; users: bucket_ms, effective_status, sync_state, users",
            json!({"type": "string", "enum": METRICS.iter().map(|(n, _)| *n).collect::<Vec<_>>()}),
        ),
        query(
            "granularity",
            "bucket length (default hour); default window: the last 3 days (hour) or 30 days (day), from rounded down to its bucket",
            json!({"type": "string", "enum": GRANULARITIES.iter().map(|(n, _, _)| *n).collect::<Vec<_>>()}),
        ),
        profile,
    ];
    let mut seen = Vec::new();
    for (_, spec) in METRICS {
        for p in list_params(spec) {
            let name = p["name"].as_str().unwrap_or_default().to_owned();
            if !seen.contains(&name) {
                seen.push(name);
                params.push(p);
            }
        }
    }
    let mut v = op(
        "a series of the aggregator (sessions by status, issues by code/type/direction, users by status) per hour or day, summed over the profiles in scope; a list (filters, sort, columns, paging, CSV)",
        params,
        &[],
    );
    v["get"]["responses"]["422"] = json!({"$ref": "#/components/responses/Error"});
    v["get"]["responses"]["429"] = json!({"$ref": "#/components/responses/TooMany"});
    v
}

/// Takes `profile_id` out of the parameters (`''` when absent).
fn take_profile(params: &mut Vec<(String, String)>) -> Result<String> {
    let mut found = params
        .iter()
        .filter(|(k, _)| k == "profile_id")
        .map(|(_, v)| v.clone());
    let profile = found.next().unwrap_or_default();
    if found.next().is_some() {
        return Err(ApiError::bad_value("profile_id", "given more than once"));
    }
    params.retain(|(k, _)| k != "profile_id");
    Ok(profile)
}

/// 404 unless the principal sees `profile` (`''`: every profile in scope, fine).
async fn check_profile(s: &AppState, scope: &Scope, profile: &str) -> Result<()> {
    if profile.is_empty() {
        return Ok(());
    }
    visible_profile(s, scope, profile).await
}

/// `GET /api/v1/summary[?profile_id=]`: current users by effective status and by sync state,
/// for the tenant (the profiles in scope) and per profile, with "statistics as of".
async fn summary(
    State(s): State<AppState>,
    p: Principal,
    Query(mut q): Params,
) -> Result<Json<Summary>> {
    let profile = take_profile(&mut q)?;
    no_params(&q)?;
    let scope = p.scope();
    check_profile(&s, &scope, &profile).await?;
    Ok(Json(summary::summary(&s, &scope, &profile).await?))
}

/// `GET /api/v1/trends?metric=sessions|issues|users&granularity=hour|day&from=&to=
/// [&profile_id=]`: a series of the aggregator as a list (filters, sort, columns, paging,
/// CSV). Defaults: `sessions`, `hour`; the window is the last 3 days (hour) or 30 days
/// (day), `from` rounded down to its bucket.
async fn trends(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response> {
    let mut metric = None;
    let mut granularity = None;
    let mut rest = Vec::new();
    for (k, v) in q {
        let slot = match k.as_str() {
            "metric" => &mut metric,
            "granularity" => &mut granularity,
            _ => {
                rest.push((k, v));
                continue;
            }
        };
        if slot.is_some() {
            return Err(ApiError::bad_value(k, "given more than once"));
        }
        *slot = Some(v);
    }
    let metric = metric.as_deref().unwrap_or("sessions");
    let (_, spec) = METRICS
        .iter()
        .find(|(name, _)| *name == metric)
        .ok_or_else(|| ApiError::bad_value("metric", "must be sessions, issues or users"))?;
    let granularity = granularity.as_deref().unwrap_or("hour");
    let (granularity, unit, window_days) = GRANULARITIES
        .iter()
        .find(|(name, _, _)| *name == granularity)
        .copied()
        .ok_or_else(|| ApiError::bad_value("granularity", "must be hour or day"))?;
    let mut c = ctx(&s);
    c.window_days = window_days;
    let profile = take_profile(&mut rest)?;
    let mut req = list::parse(spec, &rest, c)?;
    let scope = p.scope();
    check_profile(&s, &scope, &profile).await?;
    req.from_ms -= req.from_ms.rem_euclid(unit);
    let secs = |ms: i64| (ms.div_euclid(1000)).clamp(0, i64::from(u32::MAX));
    let to_s = secs(req.to_ms + 999);
    let base = Trend {
        scoped: ScopedProfile {
            scope: &scope,
            profile_id: &profile,
        },
        granularity,
        from_s: secs(req.from_ms),
        to_s,
    }
    .binds();
    respond(&s, &p, spec, req, base, Vec::new()).await
}
