//! The OpenAPI 3.0 document served at `/api/v1/openapi.json`, built from the list
//! whitelists so the columns it names are always the ones the API accepts.

use serde_json::{json, Map, Value};

use crate::list::{self, Kind, ListSpec};

/// The filter operators of a column kind (`eq` is the bare `column=value`).
pub(crate) fn operators(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Text => &["eq", "ne", "contains"],
        Kind::Int | Kind::Time => &["eq", "ne", "gt", "gte", "lt", "lte"],
        Kind::Flag => &["eq", "ne"],
        Kind::Array => &[],
    }
}

fn list_params(spec: &ListSpec) -> Vec<Value> {
    let names: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
    let mut params = vec![
        json!({"name": "columns", "in": "query", "description": format!("comma-separated columns, in order; one of: {}", names.join(", ")), "schema": {"type": "string", "minLength": 1}}),
        json!({"name": "sort", "in": "query", "description": "comma-separated columns, `-` for descending", "schema": {"type": "string", "minLength": 1}}),
        json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}}),
        json!({"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}),
        json!({"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]}}),
        json!({"name": "bom", "in": "query", "description": "UTF-8 BOM before the CSV", "schema": {"type": "boolean"}}),
    ];
    if spec.windowed {
        for w in ["from", "to"] {
            params.push(json!({"name": w, "in": "query", "description": "ms since the epoch or RFC 3339; default: the last 3 days", "schema": {"type": "string", "minLength": 1}}));
        }
    }
    for c in spec.columns {
        for op in operators(c.kind) {
            let name = if *op == "eq" {
                c.name.to_owned()
            } else {
                format!("{}.{op}", c.name)
            };
            let schema = if c.kind == Kind::Text {
                json!({"type": "string"})
            } else {
                json!({"type": "string", "minLength": 1})
            };
            params.push(json!({"name": name, "in": "query", "required": false, "description": format!("filter; at most {} filters per request (400 too_many_filters)", list::MAX_FILTERS), "schema": schema}));
        }
    }
    params
}

fn id(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}})
}

fn op(summary: &str, mut params: Vec<Value>, path_ids: &[&str]) -> Value {
    for p in path_ids {
        params.insert(0, id(p));
    }
    json!({"get": {
        "summary": summary,
        "security": [{"bearer": []}],
        "parameters": params,
        "responses": common_responses(json!({
            "200": {"description": "JSON (a page for lists), or CSV with format=csv"},
            "400": {"$ref": "#/components/responses/Error"},
            "401": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"}
        }))
    }})
}

/// Adds the answers every route may give: 405, 413, 414, 503 and 504.
fn common_responses(mut responses: Value) -> Value {
    for code in ["405", "413", "414", "503", "504"] {
        responses[code] = json!({"$ref": "#/components/responses/Error"});
    }
    responses
}

/// A list route: [`op`] plus the answers of CSV exports (422 over the row cap, 429 when
/// the tenant's export slots are busy).
fn list_op(summary: &str, spec: &ListSpec, path_ids: &[&str]) -> Value {
    let mut v = op(summary, list_params(spec), path_ids);
    v["get"]["responses"]["422"] = json!({"$ref": "#/components/responses/Error"});
    v["get"]["responses"]["429"] = json!({"$ref": "#/components/responses/TooMany"});
    v
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": schema})
}

fn log_op(summary: &str, per_user: bool, path_id: &str) -> Value {
    let mut params = vec![query(
        "format",
        "zip (default) or csv",
        json!({"type": "string", "enum": ["zip", "csv"]}),
    )];
    if per_user {
        for w in ["from", "to"] {
            params.push(query(
                w,
                "ms since the epoch or RFC 3339; default: the last 3 days",
                json!({"type": "string", "minLength": 1}),
            ));
        }
        params.push(query(
            "sessions",
            "comma-separated session ids (instead of from/to)",
            json!({"type": "string", "minLength": 1}),
        ));
    }
    let mut v = op(summary, params, &[path_id]);
    v["get"]["responses"]["200"] = json!({
        "description": "ZIP (`<session>.log` entries: `time level text` lines; several sessions: plus `index.csv` with session_id,start,end,status,lines) or CSV (session_id,time,level,text)",
        "content": {"application/zip": {}, "text/csv": {}}
    });
    v["get"]["responses"]["422"] = json!({"$ref": "#/components/responses/Error"});
    v["get"]["responses"]["429"] = json!({"$ref": "#/components/responses/TooMany"});
    v
}

fn action_op() -> Value {
    let names: Vec<&str> = crate::actions::ACTIONS.iter().map(|(n, _)| *n).collect();
    let error = json!({"$ref": "#/components/responses/Error"});
    json!({"post": {
        "summary": "an admin action on a user: published as a command to Kafka and audited; idempotent by request_id",
        "security": [{"bearer": []}],
        "parameters": [id("user_id")],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["action", "request_id"],
            "additionalProperties": false,
            "properties": {
                "action": {"type": "string", "enum": names},
                "request_id": {"type": "string", "minLength": 1, "maxLength": 256, "description": "client-chosen idempotency key (1-256 bytes), per tenant (per token for a token limited to some profiles)"},
                "new_mail_account": {"type": "string", "minLength": 1, "description": "update_credentials only"},
                "new_crm_user_name": {"type": "string", "minLength": 1, "description": "update_credentials only"}
            }
        }}}},
        "responses": common_responses(json!({
            "202": {"description": "published: {request_id, command_id, user_id, action, issued_by, issued_at_ms, result}"},
            "200": {"description": "a repeated request_id: the original result, nothing published again"},
            "400": error.clone(),
            "401": error.clone(),
            "403": error.clone(),
            "404": error.clone(),
            "409": error
        }))
    }})
}

fn session_op() -> Value {
    let error = json!({"$ref": "#/components/responses/Error"});
    json!({
        "post": {
            "summary": "console sign-in: checks the token and sets it as an HttpOnly, SameSite=Strict cookie (synctel_token, path /api/); requests then need no Authorization header, and those that change something need X-Requested-With",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["token"],
                "additionalProperties": false,
                "properties": {"token": {"type": "string", "pattern": "^sqa_[0-9a-f]{64}$", "description": "an API token, sqa_ + 64 hex"}}
            }}}},
            "responses": common_responses(json!({
                "200": {"description": "the principal (as GET /me), with Set-Cookie"},
                "400": error.clone(),
                "401": error.clone(),
                "415": error
            }))
        },
        "delete": {
            "summary": "console sign-out: clears the cookie (the token stays valid)",
            "responses": {"204": {"description": "signed out"}}
        }
    })
}

fn trends_op(profile: Value) -> Value {
    use crate::summary::{GRANULARITIES, METRICS};
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

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {
            "type": "object",
            "properties": {"error": {"type": "object", "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}
            }}}
        }}}
    })
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    let mut add = |path: &str, v: Value| {
        paths.insert(format!("/api/v1{path}"), v);
    };
    add("/me", op("the token's principal", vec![], &[]));
    add(
        "/profiles",
        list_op(
            "profiles with sync status and user counts",
            &list::PROFILES,
            &[],
        ),
    );
    add(
        "/users",
        list_op("users with effective and profile status", &list::USERS, &[]),
    );
    add(
        "/profiles/{profile_id}/users",
        list_op("one profile's users", &list::USERS, &["profile_id"]),
    );
    add(
        "/profiles/{profile_id}/sessions",
        list_op(
            "sessions of a profile (errors first)",
            &list::SESSIONS,
            &["profile_id"],
        ),
    );
    add(
        "/profiles/{profile_id}/issues",
        list_op(
            "sync issues of a profile, CSV only",
            &list::ISSUES,
            &["profile_id"],
        ),
    );
    add(
        "/users/{user_id}",
        op(
            "user details: status triple, connectivity, scope, history",
            vec![],
            &["user_id"],
        ),
    );
    add(
        "/users/{user_id}/sessions",
        list_op(
            "sessions of a user (errors first)",
            &list::SESSIONS,
            &["user_id"],
        ),
    );
    add(
        "/users/{user_id}/issues",
        list_op("sync issues of a user", &list::ISSUES, &["user_id"]),
    );
    add(
        "/sessions/{session_id}",
        op(
            "one session: objects report, exception",
            vec![],
            &["session_id"],
        ),
    );
    add(
        "/sessions/{session_id}/logs",
        log_op("one session's log as ZIP or CSV", false, "session_id"),
    );
    add(
        "/users/{user_id}/logs",
        log_op(
            "a user's sessions' logs (a window or chosen sessions) as ZIP or CSV",
            true,
            "user_id",
        ),
    );
    add(
        "/profiles/{profile_id}/logs",
        log_op(
            "a profile's sessions' logs, every user's (a window or chosen sessions) as ZIP or CSV",
            true,
            "profile_id",
        ),
    );
    add("/users/{user_id}/actions", action_op());
    add(
        "/lists",
        op(
            "every list's columns (name, kind, filter operators), default columns, key, whether windowed",
            vec![],
            &[],
        ),
    );
    add("/session", session_op());
    add(
        "/audit",
        list_op(
            "the audit trail of admin actions",
            &crate::actions::AUDIT,
            &[],
        ),
    );
    add("/monitor/cards", op("users per sync state", vec![], &[]));
    add(
        "/monitor/cards/{sync_state}/users",
        list_op(
            "the user table behind a card",
            &list::CARD_USERS,
            &["sync_state"],
        ),
    );
    add("/freshness", op("statistics as of", vec![], &[]));
    let profile = || {
        query(
            "profile_id",
            "one profile (default: every profile the token sees)",
            json!({"type": "string"}),
        )
    };
    add(
        "/summary",
        op(
            "current users by effective status and by sync state, for the tenant and per profile",
            vec![profile()],
            &[],
        ),
    );
    add("/trends", trends_op(profile()));
    json!({
        "openapi": "3.0.3",
        "info": {"title": "synctel query API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": error_response(
                "{\"error\": {\"code\", \"message\"}}"
            ), "TooMany": {
                "description": "429 too_many_exports: the tenant's export slots are busy; retry after Retry-After seconds",
                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                "content": error_response("")["content"]
            }}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_column_is_documented() {
        let doc = document();
        let text = doc.to_string();
        for spec in [
            &list::PROFILES,
            &list::USERS,
            &list::SESSIONS,
            &list::ISSUES,
            &crate::actions::AUDIT,
        ] {
            for c in spec.columns {
                assert!(text.contains(c.name), "{}", c.name);
            }
        }
        assert_eq!(doc["paths"].as_object().map(Map::len), Some(22));
        assert!(doc["paths"]["/api/v1/users/{user_id}/actions"]["post"].is_object());
        assert!(doc["paths"]["/api/v1/session"]["post"].is_object());
        assert!(doc["paths"]["/api/v1/session"]["delete"].is_object());
        assert!(doc["paths"]["/api/v1/lists"]["get"].is_object());
        assert!(doc["paths"]["/api/v1/profiles/{profile_id}/logs"]["get"].is_object());
        let users = &doc["paths"]["/api/v1/users"]["get"]["responses"];
        for code in ["400", "422", "429", "503", "504"] {
            assert!(users[code].is_object(), "{code}");
        }
        assert_eq!(
            doc["paths"]["/api/v1/users/{user_id}"]["get"]["parameters"][0]["schema"]["minLength"],
            1
        );
    }
}
