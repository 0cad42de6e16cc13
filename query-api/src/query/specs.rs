//! The lists of the API: each one's query file, column whitelist, defaults and key. The
//! console (`GET /api/v1/lists`), the OpenAPI document and the request parser all read
//! these, so a column exists everywhere or nowhere.

use super::list::{c, Column, Kind, ListSpec};
use super::sql;

use Kind::{Array, Flag, Int, Text, Time};

/// Profiles.
pub static PROFILES: ListSpec = ListSpec {
    name: "profiles",
    sql: sql::PROFILES,
    columns: &[
        c("profile_id", Text),
        c("name", Text),
        c("status", Text),
        c("users", Int),
        c("updated_at_ms", Time),
    ],
    default_columns: &["profile_id", "name", "status", "users", "updated_at_ms"],
    default_order: "name, profile_id",
    key: "profile_id",
    then: "",
    windowed: false,
};

const USER_COLUMNS: &[Column] = &[
    c("user_id", Text),
    c("display_name", Text),
    c("mail_account", Text),
    c("crm_user_name", Text),
    c("profile_id", Text),
    c("profile_status", Text),
    c("effective_status", Text),
    c("sync_setting", Text),
    c("sync_state", Text),
    c("crm_token_active", Flag),
    c("mail_token_authorized", Flag),
    c("last_token_error", Text),
    c("last_session_id", Text),
    c("last_session_started_at_ms", Time),
    c("last_session_duration_ms", Int),
    c("last_session_status", Text),
    c("last_outcome", Text),
    c("last_outcome_session_id", Text),
    c("last_outcome_started_at_ms", Time),
    c("last_error_category", Text),
    c("last_error_source", Text),
    c("last_error_message", Text),
    c("last_error_session_id", Text),
    c("last_error_started_at_ms", Time),
    c("consecutive_failures", Int),
    c("no_recent_session", Flag),
    c("first_seen_ms", Time),
    c("last_event_at_ms", Time),
];

/// Users (all, one profile's, or one monitor card's).
pub static USERS: ListSpec = ListSpec {
    name: "users",
    sql: sql::USERS,
    columns: USER_COLUMNS,
    default_columns: &[
        "user_id",
        "display_name",
        "mail_account",
        "profile_id",
        "profile_status",
        "effective_status",
        "sync_state",
        "last_session_started_at_ms",
        "last_session_duration_ms",
        "crm_token_active",
        "mail_token_authorized",
    ],
    default_order: "display_name, user_id",
    key: "user_id",
    then: "",
    windowed: false,
};

/// The user table behind a monitor card (the columns of aggregator/sql/monitor_card_users.sql).
pub static CARD_USERS: ListSpec = ListSpec {
    name: "card_users",
    sql: sql::USERS,
    columns: USER_COLUMNS,
    default_columns: &[
        "last_session_status",
        "user_id",
        "display_name",
        "mail_account",
        "profile_id",
        "last_session_started_at_ms",
        "last_session_duration_ms",
        "crm_token_active",
        "mail_token_authorized",
        "last_error_message",
    ],
    default_order: "last_session_started_at_ms DESC, user_id",
    key: "user_id",
    then: "",
    windowed: false,
};

const SESSION_COLUMNS: &[Column] = &[
    c("session_id", Text),
    c("user_id", Text),
    c("profile_id", Text),
    c("queued_at_ms", Time),
    c("started_at_ms", Time),
    c("ended_at_ms", Time),
    c("duration_ms", Int),
    c("trigger", Text),
    c("status", Text),
    c("scope_items", Int),
    c("changes", Int),
    c("total_changes", Int),
    c("failures", Int),
    c("issues", Int),
    c("conflicts", Int),
    c("error_category", Text),
    c("error_source", Text),
    c("message", Text),
    c("exception", Text),
    c("objects_type", Array),
    c("objects_synchronized", Array),
    c("objects_mail_to_crm_created", Array),
    c("objects_mail_to_crm_updated", Array),
    c("objects_mail_to_crm_deleted", Array),
    c("objects_crm_to_mail_created", Array),
    c("objects_crm_to_mail_updated", Array),
    c("objects_crm_to_mail_deleted", Array),
    c("engine_id", Text),
    c("engine_version", Text),
];

const SESSION_DEFAULT_COLUMNS: &[&str] = &[
    "session_id",
    "user_id",
    "profile_id",
    "started_at_ms",
    "ended_at_ms",
    "duration_ms",
    "trigger",
    "status",
    "scope_items",
    "changes",
    "total_changes",
    "failures",
    "issues",
    "conflicts",
    "error_category",
    "error_source",
    "message",
];

/// The seeds' default order of sessions: errors first, then newest first.
const SESSION_ORDER: &str = "status = 'Error' DESC, started_at_ms DESC, session_id, user_id";

/// Sessions of one user (or one session), merged from the raw events: always fresh.
pub static SESSIONS: ListSpec = ListSpec {
    name: "sessions",
    sql: sql::SESSIONS,
    columns: SESSION_COLUMNS,
    default_columns: SESSION_DEFAULT_COLUMNS,
    default_order: SESSION_ORDER,
    key: "session_id",
    then: "user_id",
    windowed: true,
};

/// Sessions of one profile, from the aggregator's `session_state` (one key range; lags by
/// one aggregator cycle). Same columns as [`SESSIONS`].
pub static PROFILE_SESSIONS: ListSpec = ListSpec {
    name: "sessions",
    sql: sql::PROFILE_SESSIONS,
    columns: SESSION_COLUMNS,
    default_columns: SESSION_DEFAULT_COLUMNS,
    default_order: SESSION_ORDER,
    key: "session_id",
    then: "user_id",
    windowed: true,
};

/// Sync issues (a user's; a profile's as CSV).
pub static ISSUES: ListSpec = ListSpec {
    name: "issues",
    sql: sql::ISSUES,
    columns: &[
        c("issue_id", Text),
        c("session_id", Text),
        c("user_id", Text),
        c("display_name", Text),
        c("profile_id", Text),
        c("profile_name", Text),
        c("occurred_at_ms", Time),
        c("object_type", Text),
        c("direction", Text),
        c("mail_system", Text),
        c("crm_system", Text),
        c("object_name", Text),
        c("operation", Text),
        c("error_code", Int),
        c("description", Text),
        c("error_source", Text),
        c("target_object_id", Text),
    ],
    default_columns: &[
        "issue_id",
        "occurred_at_ms",
        "display_name",
        "user_id",
        "profile_name",
        "session_id",
        "object_type",
        "direction",
        "object_name",
        "operation",
        "error_code",
        "description",
        "error_source",
        "target_object_id",
    ],
    default_order: "occurred_at_ms DESC, issue_id",
    key: "issue_id",
    then: "",
    windowed: true,
};

/// The audit trail: the current state of every admin request.
pub static AUDIT: ListSpec = ListSpec {
    name: "audit",
    sql: sql::AUDIT,
    columns: &[
        c("request_id", Text),
        c("command_id", Text),
        c("user_id", Text),
        c("profile_id", Text),
        c("action", Text),
        c("issued_by", Text),
        c("issued_at_ms", Time),
        c("result", Text),
        c("detail", Text),
        c("new_mail_account", Text),
        c("new_crm_user_name", Text),
        c("version", Int),
    ],
    default_columns: &[
        "issued_at_ms",
        "issued_by",
        "user_id",
        "profile_id",
        "action",
        "result",
        "detail",
        "request_id",
        "command_id",
    ],
    default_order: "issued_at_ms DESC, request_id",
    key: "request_id",
    then: "",
    windowed: false,
};

/// The metrics of `/trends`: (name, list).
pub const METRICS: &[(&str, &ListSpec)] = &[
    ("sessions", &SESSION_TRENDS),
    ("issues", &ISSUE_TRENDS),
    ("users", &USER_TRENDS),
];

/// Granularities of `/trends`: (name, bucket length in ms, default window in days).
pub const GRANULARITIES: &[(&str, i64, u32)] = &[("hour", 3_600_000, 3), ("day", 86_400_000, 30)];

/// Ended sessions per bucket and status.
pub static SESSION_TRENDS: ListSpec = ListSpec {
    name: "session_trends",
    sql: sql::TREND_SESSIONS,
    columns: &[c("bucket_ms", Time), c("status", Text), c("sessions", Int)],
    default_columns: &["bucket_ms", "status", "sessions"],
    default_order: "bucket_ms, status",
    key: "bucket_ms, status",
    then: "",
    windowed: true,
};

/// Issues per bucket, error code, object type and direction.
pub static ISSUE_TRENDS: ListSpec = ListSpec {
    name: "issue_trends",
    sql: sql::TREND_ISSUES,
    columns: &[
        c("bucket_ms", Time),
        c("error_code", Int),
        c("object_type", Text),
        c("direction", Text),
        c("issues", Int),
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
    sql: sql::TREND_USERS,
    columns: &[
        c("bucket_ms", Time),
        c("effective_status", Text),
        c("sync_state", Text),
        c("users", Int),
    ],
    default_columns: &["bucket_ms", "effective_status", "sync_state", "users"],
    default_order: "bucket_ms, effective_status, sync_state",
    key: "bucket_ms, effective_status, sync_state",
    then: "",
    windowed: true,
};

/// The lists `GET /api/v1/lists` describes.
pub const LISTS: [&ListSpec; 9] = [
    &PROFILES,
    &USERS,
    &CARD_USERS,
    &SESSIONS,
    &ISSUES,
    &AUDIT,
    &SESSION_TRENDS,
    &ISSUE_TRENDS,
    &USER_TRENDS,
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::query::list::{parse, wrap, ParseContext};
    use crate::query::params::Bound;

    fn ctx() -> ParseContext {
        ParseContext {
            default_page_size: 100,
            max_page_size: 1000,
            now_ms: 10 * 86_400_000,
            window_days: 3,
        }
    }

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults() {
        let r = parse(&SESSIONS, &[], ctx()).unwrap();
        assert_eq!(r.from_ms, 7 * 86_400_000);
        assert_eq!(r.to_ms, 10 * 86_400_000);
        assert!(r.order.starts_with("status = 'Error' DESC"));
        assert_eq!(r.limit, 100);
    }

    #[test]
    fn filters_sort_columns() {
        let r = parse(
            &USERS,
            &p(&[
                ("columns", "user_id,display_name"),
                ("display_name.contains", "an'n"),
                ("consecutive_failures.gte", "2"),
                ("crm_token_active", "true"),
                ("sort", "-display_name"),
            ]),
            ctx(),
        )
        .unwrap();
        assert_eq!(r.columns, vec!["user_id", "display_name"]);
        assert_eq!(r.order, "display_name DESC, user_id");
        assert_eq!(
            r.filters[0],
            (
                "positionCaseInsensitiveUTF8(display_name, ?) > 0".to_owned(),
                Bound::Str("an'n".to_owned())
            )
        );
        assert_eq!(r.filters[1].1, Bound::I64(2));
        assert_eq!(r.filters[2].1, Bound::U8(1));
        let sql = wrap(&USERS, &r, &[], true);
        assert!(!sql.contains("an'n"));
        assert!(sql.ends_with("ORDER BY display_name DESC, user_id LIMIT ? OFFSET ?"));
    }

    #[test]
    fn errors_name_the_problem() {
        let e = |pairs: &[(&str, &str)]| parse(&SESSIONS, &p(pairs), ctx()).unwrap_err();
        assert_eq!(e(&[("nope", "1")]).code(), "unknown_column");
        assert_eq!(e(&[("columns", "status,x;DROP")]).code(), "unknown_column");
        assert_eq!(e(&[("sort", "status DESC")]).code(), "unknown_column");
        assert_eq!(e(&[("status.gt", "a")]).code(), "bad_operator");
        assert_eq!(e(&[("duration_ms.contains", "1")]).code(), "bad_operator");
        assert_eq!(e(&[("duration_ms", "1 OR 1=1")]).code(), "bad_value");
        assert_eq!(e(&[("from", "yesterday")]).code(), "bad_value");
        assert_eq!(e(&[("limit", "100000")]).code(), "bad_value");
        assert_eq!(e(&[("Status", "x")]).code(), "unknown_parameter");
        assert_eq!(e(&[("objects_type", "x")]).code(), "bad_operator");
        assert_eq!(e(&[("total", "maybe")]).code(), "bad_value");
        assert!(
            parse(&SESSIONS, &p(&[("total", "true")]), ctx())
                .unwrap()
                .total
        );
        let msg = e(&[("nope", "1")]).to_string();
        assert!(msg.contains("\"nope\""), "{msg}");
        assert!(parse(&USERS, &p(&[("from", "0")]), ctx()).is_err());
    }

    #[test]
    fn times_take_rfc3339() {
        let r = parse(&SESSIONS, &p(&[("from", "1970-01-02T00:00:00Z")]), ctx()).unwrap();
        assert_eq!(r.from_ms, 86_400_000);
    }
}
