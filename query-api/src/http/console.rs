//! The web console's side of the server: its static files at `/` (built by
//! `deploy/console.sh build` into `console.dir`), the sign-in cookie, and the list metadata
//! the console builds its tables from.
//!
//! Sign-in trades an API token for an `HttpOnly`, `SameSite=Strict` cookie holding it, so
//! the console's script never keeps the token and downloads (CSV, ZIP) are plain links
//! that stream like any other request. A cookie-authenticated request that changes
//! something must also carry `X-Requested-With` (see [`crate::auth`]), which a foreign page
//! cannot add without a CORS preflight this server never grants.

use std::path::Path;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use cookie::{Cookie, SameSite};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::services::ServeDir;

use crate::auth::{self, Principal};
use crate::error::{ApiError, Result};
use crate::list::{self, Kind, ListSpec};
use crate::openapi::operators;
use crate::{actions, summary, AppState};

/// The lists `GET /api/v1/lists` describes.
const LISTS: [&ListSpec; 9] = [
    &list::PROFILES,
    &list::USERS,
    &list::CARD_USERS,
    &list::SESSIONS,
    &list::ISSUES,
    &actions::AUDIT,
    &summary::SESSION_TRENDS,
    &summary::ISSUE_TRENDS,
    &summary::USER_TRENDS,
];

/// The cookie holding a console sign-in.
pub const COOKIE: &str = "synctel_token";

/// The header a cookie-authenticated request that changes something must carry.
pub const CSRF_HEADER: &str = "x-requested-with";

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// `POST /api/v1/session` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// An API token (`sqa_...`).
    pub token: String,
}

/// `POST /api/v1/session`: checks the token and answers its principal with the cookie set.
/// The body must be declared JSON (`Content-Type: application/json`, else 415): an HTML
/// form of another site, or of another port of this host, can only send form or text
/// bodies, so it cannot sign a browser in with a token of its choosing.
pub async fn sign_in(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
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
    let principal = auth::lookup(&s.client, token)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let console = &s.config.console;
    let max_age = i64::try_from(console.session_max_age_secs).unwrap_or(i64::MAX);
    let cookie = Cookie::build((COOKIE, token.to_owned()))
        .path("/api/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(console.secure_cookie)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    Ok(set_cookie(Json(principal), &cookie))
}

/// `DELETE /api/v1/session`: clears the cookie (the token itself stays valid).
pub async fn sign_out() -> Response {
    let cookie = Cookie::build((COOKIE, ""))
        .path("/api/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(cookie::time::Duration::ZERO)
        .build();
    set_cookie(StatusCode::NO_CONTENT, &cookie)
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

/// The token in the request's sign-in cookie, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(std::result::Result::ok)
        .find(|c| c.name() == COOKIE && !c.value().is_empty())
        .map(|c| c.value().to_owned())
}

/// `GET /api/v1/lists`: every list's columns (name, kind, filter operators), default
/// columns and default order, so clients build their tables from what the server allows.
pub async fn lists(_p: Principal) -> Json<Value> {
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
            let kind = match c.kind {
                Kind::Text => "text",
                Kind::Int => "int",
                Kind::Time => "time",
                Kind::Flag => "flag",
                Kind::Array => "array",
            };
            json!({"name": c.name, "kind": kind, "operators": operators(c.kind)})
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
    fn reads_the_sign_in_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; synctel_token=sqa_x; b=2"),
        );
        assert_eq!(cookie_token(&h).as_deref(), Some("sqa_x"));
        let mut empty = HeaderMap::new();
        empty.append(header::COOKIE, HeaderValue::from_static("synctel_token="));
        assert_eq!(cookie_token(&empty), None);
        assert_eq!(cookie_token(&HeaderMap::new()), None);
    }

    #[test]
    fn escapes_the_directory_in_the_not_built_page() {
        assert_eq!(html_escape("<a&\"b>"), "&lt;a&amp;&quot;b&gt;");
    }

    #[test]
    fn every_list_is_described_with_its_operators() {
        let users = describe(&list::USERS);
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
