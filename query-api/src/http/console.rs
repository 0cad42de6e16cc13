//! The web console's side of the server: its static files at `/` (built by
//! `deploy/console.sh build` into `console.dir`), sign-in and sign-out (the cookie is
//! `crate::auth::cookie`), the principal (`/me`), and the list metadata the console builds
//! its tables from (`/lists`).

use std::path::Path;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use cookie::Cookie;
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::services::ServeDir;

use super::route::{common_responses, op, Route};
use crate::auth::cookie::{sign_in_cookie, sign_out_cookie};
use crate::auth::Principal;
use crate::error::{ApiError, Result};
use crate::query::list::ListSpec;
use crate::query::specs::LISTS;
use crate::state::AppState;

/// The routes of this area.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new("/me", get(me), op("the token's principal", vec![], &[])),
        Route::new(
            "/lists",
            get(lists),
            op(
                "every list's columns (name, kind, filter operators), default columns, key, whether windowed",
                vec![],
                &[],
            ),
        ),
        Route::new(
            "/session",
            post(sign_in).delete(sign_out),
            session_op(),
        ),
    ]
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

/// `GET /api/v1/me`: the principal of the token.
async fn me(p: Principal) -> Json<Principal> {
    Json(p)
}

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// `POST /api/v1/session` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// An API token (`sqa_...`).
    pub token: String,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("token", &crate::config::REDACTED)
            .finish()
    }
}

/// `POST /api/v1/session`: checks the token and answers its principal with the cookie set.
/// The body must be declared JSON (`Content-Type: application/json`, else 415): an HTML
/// form of another site, or of another port of this host, can only send form or text
/// bodies, so it cannot sign a browser in with a token of its choosing.
async fn sign_in(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ApiError::UnsupportedMediaType(
            "the sign-in body must be JSON: Content-Type: application/json",
        ));
    }
    let SignIn { token } = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_value("body", format!("expected {{\"token\": \"sqa_...\"}}: {e}"))
    })?;
    let token = token.trim();
    let principal = s.principal(token).await?.ok_or(ApiError::Unauthorized)?;
    let console = &s.config.console;
    let cookie = sign_in_cookie(token, console.secure_cookie, console.session_max_age_secs);
    Ok(set_cookie(Json(principal), &cookie))
}

/// `DELETE /api/v1/session`: clears the cookie (the token itself stays valid).
async fn sign_out() -> Response {
    set_cookie(StatusCode::NO_CONTENT, &sign_out_cookie())
}

fn set_cookie(body: impl IntoResponse, cookie: &Cookie<'_>) -> Response {
    let mut response = body.into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /api/v1/lists`: every list's columns (name, kind, filter operators), default
/// columns and default order, so clients build their tables from what the server allows.
async fn lists(_p: Principal) -> Json<Value> {
    let mut out = serde_json::Map::new();
    for spec in LISTS {
        out.insert(spec.name.to_owned(), describe(spec));
    }
    Json(Value::Object(out))
}

fn describe(spec: &ListSpec) -> Value {
    let columns: Vec<Value> = spec
        .columns
        .iter()
        .map(|c| {
            json!({"name": c.name, "kind": c.kind.name(), "operators": c.kind.operator_names()})
        })
        .collect();
    json!({
        "columns": columns,
        "default_columns": spec.default_columns,
        "key": spec.key,
        "windowed": spec.windowed,
    })
}

/// Everything outside `/api/v1` and the service routes: the console's files, or a JSON 404
/// for a path under `/api/`.
pub async fn files(State(s): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    if path.starts_with("/api/") || path == "/api" {
        let body = json!({"error": {"code": "not_found", "message": "no such route"}});
        return (StatusCode::NOT_FOUND, Json(body)).into_response();
    }
    // Source maps are never served (an old build may still hold some), however the name
    // is spelled (ServeDir decodes %-escapes).
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    if decoded.to_ascii_lowercase().ends_with(".map") {
        let body = json!({"error": {"code": "not_found", "message": "no such file"}});
        return (StatusCode::NOT_FOUND, Json(body)).into_response();
    }
    let dir = &s.config.console.dir;
    if !dir.join("index.html").is_file() {
        return not_built(dir);
    }
    let immutable = path.starts_with("/assets/");
    let mut response = match ServeDir::new(dir).try_call(request).await {
        Ok(r) => r.into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "serving a console file");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Vite names assets by content hash; everything else (index.html) is revalidated.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    response
}

fn not_built(dir: &Path) -> Response {
    let page = format!(
        "<!doctype html><meta charset=utf-8><title>Sync telemetry</title>\
         <p>The web console is not built in <code>{}</code>. Build it with \
         <code>deploy/console.sh build</code> (or set <code>console.dir</code> / \
         <code>SYNCTEL_CONSOLE_DIR</code>). The API is at <a href=\"/api/v1/openapi.json\">/api/v1</a>.</p>",
        html_escape(&dir.display().to_string())
    );
    (StatusCode::NOT_FOUND, Html(page)).into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn escapes_the_directory_in_the_not_built_page() {
        assert_eq!(html_escape("<a&\"b>"), "&lt;a&amp;&quot;b&gt;");
    }

    #[test]
    fn every_list_is_described_with_its_operators() {
        let users = describe(&crate::query::specs::USERS);
        assert_eq!(users["key"], "user_id");
        let name = users["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "display_name")
            .unwrap();
        assert_eq!(name["kind"], "text");
        assert_eq!(name["operators"], json!(["eq", "ne", "contains"]));
    }
}
