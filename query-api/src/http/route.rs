//! What a route is: its path under `/api/v1`, its handlers, and its OpenAPI path item, side
//! by side so the router and the document come from one table (`super::routes`). The
//! builders of the path items live here too; list parameters come from the column
//! whitelists, so the document names exactly the columns the API accepts.

use axum::routing::MethodRouter;
use serde_json::{json, Value};

use crate::query::list::{Kind, ListSpec, MAX_FILTERS};
use crate::state::AppState;

/// One route of `/api/v1`.
pub struct Route {
    /// The path under `/api/v1`, with `{param}` segments.
    pub path: &'static str,
    /// Its handlers by method.
    pub handlers: MethodRouter<AppState>,
    /// Its OpenAPI path item (`{"get": {...}}`, ...).
    pub doc: Value,
}

impl Route {
    /// A route.
    pub fn new(path: &'static str, handlers: MethodRouter<AppState>, doc: Value) -> Self {
        Self {
            path,
            handlers,
            doc,
        }
    }
}

/// The query parameters of a list: columns, sort, page, format, window, and a filter per
/// column and operator, from the list's whitelist.
pub fn list_params(spec: &ListSpec) -> Vec<Value> {
    let names: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
    let mut params = vec![
        json!({"name": "columns", "in": "query", "description": format!("comma-separated columns, in order; one of: {}", names.join(", ")), "schema": {"type": "string", "minLength": 1}}),
        json!({"name": "sort", "in": "query", "description": "comma-separated columns, `-` for descending", "schema": {"type": "string", "minLength": 1}}),
        json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}}),
        json!({"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}),
        json!({"name": "total", "in": "query", "description": "the page also carries `total`, the number of rows the view matches (one count over the same filtered query; skipped when the page is the last)", "schema": {"type": "boolean"}}),
        json!({"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]}}),
        json!({"name": "bom", "in": "query", "description": "UTF-8 BOM before the CSV", "schema": {"type": "boolean"}}),
        json!({"name": "readable", "in": "query", "description": "the CSV for a spreadsheet: headers in words, times `YYYY-MM-DD hh:mm:ss` UTC, durations `h:mm:ss`, yes/no, codes as words", "schema": {"type": "boolean"}}),
    ];
    if spec.windowed {
        for w in ["from", "to"] {
            params.push(json!({"name": w, "in": "query", "description": "ms since the epoch or RFC 3339; default: the last 3 days", "schema": {"type": "string", "minLength": 1}}));
        }
    }
    for c in spec.columns {
        for op in c.kind.operator_names() {
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
            params.push(json!({"name": name, "in": "query", "required": false, "description": format!("filter; at most {} filters per request (400 too_many_filters)", MAX_FILTERS), "schema": schema}));
        }
    }
    params
}

/// A path parameter.
pub fn id(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}})
}

/// A GET operation (JSON, a page for lists, or CSV) with its parameters.
pub fn op(summary: &str, mut params: Vec<Value>, path_ids: &[&str]) -> Value {
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
pub fn common_responses(mut responses: Value) -> Value {
    for code in ["405", "413", "414", "503", "504"] {
        responses[code] = json!({"$ref": "#/components/responses/Error"});
    }
    responses
}

/// A list route: [`op`] plus the answers of CSV exports (422 over the row cap, 429 when
/// the tenant's export slots are busy).
pub fn list_op(summary: &str, spec: &ListSpec, path_ids: &[&str]) -> Value {
    let mut v = op(summary, list_params(spec), path_ids);
    v["get"]["responses"]["422"] = json!({"$ref": "#/components/responses/Error"});
    v["get"]["responses"]["429"] = json!({"$ref": "#/components/responses/TooMany"});
    v
}

/// A query parameter.
pub fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": schema})
}

/// A log export (ZIP or CSV) of one session, or of several (`per_user`: a window or
/// chosen sessions).
pub fn log_op(summary: &str, per_user: bool, path_id: &str) -> Value {
    let mut params = vec![query(
        "format",
        "zip (default) or csv",
        json!({"type": "string", "enum": ["zip", "csv"]}),
    )];
    params.push(query(
        "summary",
        "true: answer what the export would hold (sessions, lines, bytes, caps) as JSON instead of the file",
        json!({"type": "boolean"}),
    ));
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
