//! Summary counts and trends: the current users of the tenant by effective status and by
//! sync state (per tenant and per profile in scope), and the aggregator's series over time
//! (sessions by status, issues by error code, object type and direction, users by status)
//! as lists, so filters, sort, columns, paging and CSV work as on every list.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::auth::Principal;
use crate::error::{ApiError, Result};
use crate::fetch;
use crate::list::{self, Bound, Column, Kind, ListSpec};
use crate::routes::{ctx, visible_profile, CARDS};
use crate::AppState;

const SUMMARY: &str = include_str!("../sql/summary.sql");
const FRESHNESS: &str = include_str!("../sql/freshness.sql");

/// The effective statuses of a user, in display order.
pub const EFFECTIVE_STATUSES: &[&str] = &["Enabled", "Disabled", "DisabledDueToError", "Suspended"];

/// The metrics of `/trends`: (name, list).
pub const METRICS: &[(&str, &ListSpec)] = &[
    ("sessions", &SESSION_TRENDS),
    ("issues", &ISSUE_TRENDS),
    ("users", &USER_TRENDS),
];

/// Granularities of `/trends`: (name, bucket length in ms, default window in days).
pub const GRANULARITIES: &[(&str, i64, u32)] = &[("hour", 3_600_000, 3), ("day", 86_400_000, 30)];

const fn c(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

/// Ended sessions per bucket and status.
pub static SESSION_TRENDS: ListSpec = ListSpec {
    name: "session_trends",
    sql: include_str!("../sql/trend_sessions.sql"),
    columns: &[
        c("bucket_ms", Kind::Time),
        c("status", Kind::Text),
        c("sessions", Kind::Int),
    ],
    default_columns: &["bucket_ms", "status", "sessions"],
    default_order: "bucket_ms, status",
    key: "bucket_ms, status",
    then: "",
    windowed: true,
};

/// Issues per bucket, error code, object type and direction.
pub static ISSUE_TRENDS: ListSpec = ListSpec {
    name: "issue_trends",
    sql: include_str!("../sql/trend_issues.sql"),
    columns: &[
        c("bucket_ms", Kind::Time),
        c("error_code", Kind::Int),
        c("object_type", Kind::Text),
        c("direction", Kind::Text),
        c("issues", Kind::Int),
    ],
    default_columns: &[
        "bucket_ms",
        "error_code",
        "object_type",
        "direction",
        "issues",
    ],
    default_order: "bucket_ms, error_code, object_type, direction",
    key: "bucket_ms, error_code, object_type, direction",
    then: "",
    windowed: true,
};

/// Users per bucket (its latest snapshot), effective status and sync state.
pub static USER_TRENDS: ListSpec = ListSpec {
    name: "user_trends",
    sql: include_str!("../sql/trend_users.sql"),
    columns: &[
        c("bucket_ms", Kind::Time),
        c("effective_status", Kind::Text),
        c("sync_state", Kind::Text),
        c("users", Kind::Int),
    ],
    default_columns: &["bucket_ms", "effective_status", "sync_state", "users"],
    default_order: "bucket_ms, effective_status, sync_state",
    key: "bucket_ms, effective_status, sync_state",
    then: "",
    windowed: true,
};

/// Scope binds plus the optional profile (`''`: every profile in scope).
fn scoped(p: &Principal, profile: &str) -> Vec<Bound> {
    let mut binds = crate::routes::scope(p);
    binds.push(Bound::Str(profile.to_owned()));
    binds.push(Bound::Str(profile.to_owned()));
    binds
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
async fn check_profile(s: &AppState, p: &Principal, profile: &str) -> Result<()> {
    if profile.is_empty() {
        return Ok(());
    }
    visible_profile(s, p, profile).await
}

#[derive(Default)]
struct Counts {
    users: u64,
    no_recent_session: u64,
    effective: Vec<u64>,
    states: Vec<u64>,
}

impl Counts {
    fn new() -> Self {
        Self {
            effective: vec![0; EFFECTIVE_STATUSES.len()],
            states: vec![0; CARDS.len()],
            ..Self::default()
        }
    }

    fn add(&mut self, row: &Map<String, Value>) {
        let n = |k: &str| row.get(k).and_then(Value::as_u64).unwrap_or(0);
        let text = |k: &str| row.get(k).and_then(Value::as_str).unwrap_or("");
        let users = n("users");
        self.users += users;
        self.no_recent_session += n("no_recent_session_users");
        if let Some(i) = EFFECTIVE_STATUSES
            .iter()
            .position(|s| *s == text("effective_status"))
        {
            self.effective[i] += users;
        }
        if let Some(i) = CARDS.iter().position(|s| *s == text("sync_state")) {
            self.states[i] += users;
        }
    }

    fn json(&self) -> Map<String, Value> {
        let named = |names: &[&str], values: &[u64]| -> Value {
            let m: Map<String, Value> = names
                .iter()
                .zip(values)
                .map(|(k, v)| ((*k).to_owned(), json!(v)))
                .collect();
            Value::Object(m)
        };
        let mut m = Map::new();
        m.insert("users".to_owned(), json!(self.users));
        m.insert(
            "effective_status".to_owned(),
            named(EFFECTIVE_STATUSES, &self.effective),
        );
        m.insert("sync_state".to_owned(), named(CARDS, &self.states));
        m.insert(
            "no_recent_session".to_owned(),
            json!(self.no_recent_session),
        );
        m
    }
}

/// `GET /api/v1/summary[?profile_id=]`: current users by effective status and by sync state,
/// for the tenant (the profiles in scope) and per profile, with "statistics as of".
pub async fn summary(
    State(s): State<AppState>,
    p: Principal,
    Query(mut q): Query<Vec<(String, String)>>,
) -> Result<Response> {
    let profile = take_profile(&mut q)?;
    if let Some((k, _)) = q.first() {
        return Err(ApiError::UnknownParameter(k.clone()));
    }
    check_profile(&s, &p, &profile).await?;
    let rows = fetch::rows(&s, SUMMARY, &scoped(&p, &profile)).await?;
    let mut tenant = Counts::new();
    let mut profiles: Vec<(String, Counts)> = Vec::new();
    for row in &rows {
        tenant.add(row);
        let id = row.get("profile_id").and_then(Value::as_str).unwrap_or("");
        match profiles.last_mut() {
            Some((last, counts)) if last == id => counts.add(row),
            _ => {
                let mut counts = Counts::new();
                counts.add(row);
                profiles.push((id.to_owned(), counts));
            }
        }
    }
    let fresh = fetch::rows(&s, FRESHNESS, &[Bound::Str(p.tenant_id.clone())]).await?;
    let as_of = fresh
        .first()
        .and_then(|r| r.get("as_of_ms"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let profiles: Vec<Value> = profiles
        .into_iter()
        .map(|(id, counts)| {
            let mut m = Map::new();
            m.insert("profile_id".to_owned(), json!(id));
            m.extend(counts.json());
            Value::Object(m)
        })
        .collect();
    Ok(Json(json!({
        "as_of_ms": as_of,
        "tenant": tenant.json(),
        "profiles": profiles,
    }))
    .into_response())
}

/// `GET /api/v1/trends?metric=sessions|issues|users&granularity=hour|day&from=&to=
/// [&profile_id=]`: a series of the aggregator as a list (filters, sort, columns, paging,
/// CSV). Defaults: `sessions`, `hour`; the window is the last 3 days (hour) or 30 days
/// (day), `from` rounded down to its bucket.
pub async fn trends(
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
    check_profile(&s, &p, &profile).await?;
    req.from_ms -= req.from_ms.rem_euclid(unit);
    let secs = |ms: i64| (ms.div_euclid(1000)).clamp(0, i64::from(u32::MAX));
    let to_s = secs(req.to_ms + 999);
    let mut base = scoped(&p, &profile);
    base.push(Bound::Str(granularity.to_owned()));
    base.push(Bound::I64(secs(req.from_ms)));
    base.push(Bound::I64(to_s));
    crate::routes::respond(&s, &p, spec, req, base, Vec::new()).await
}
