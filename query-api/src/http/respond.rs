//! What the handlers share, below them: the query parameters as pairs, the parse context
//! of the config, answering a list request (a JSON page or a CSV download), and the
//! responses of an [`ApiError`] and a [`Download`].

use axum::body::Body;
use axum::extract::Query;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::auth::Principal;
use crate::error::{ApiError, Result};
use crate::query::export::readable::Readable;
use crate::query::export::Download;
use crate::query::list::{Format, Kind, ListRequest, ListSpec, ParseContext};
use crate::query::pages;
use crate::query::params::Bound;
use crate::state::AppState;

/// The query string as pairs, in order (the list parser reads them).
pub type Params = Query<Vec<(String, String)>>;

/// The parser's limits from the config, and the clock.
pub fn ctx(state: &AppState) -> ParseContext {
    let l = &state.config.limits;
    ParseContext {
        default_page_size: l.default_page_size,
        max_page_size: l.max_page_size,
        now_ms: chrono::Utc::now().timestamp_millis(),
        window_days: l.default_window_days,
    }
}

/// A `column = ?` clause a handler adds to a list (one profile, one card).
pub fn eq(column: &str, value: &str) -> (String, Bound) {
    (format!("{column} = ?"), Bound::Str(value.to_owned()))
}

/// 400 `unknown_parameter` for the first parameter of a route that takes none.
pub fn no_params(q: &[(String, String)]) -> Result<()> {
    match q.first() {
        Some((k, _)) => Err(ApiError::UnknownParameter(k.clone())),
        None => Ok(()),
    }
}

/// Answers a list request: a JSON page or a streamed CSV export.
pub async fn respond(
    state: &AppState,
    p: &Principal,
    spec: &'static ListSpec,
    req: ListRequest,
    base: Vec<Bound>,
    extra: Vec<(String, Bound)>,
) -> Result<Response> {
    match req.format {
        Format::Json => {
            Ok(Json(pages::page(state, spec, &req, base, &extra).await?).into_response())
        }
        Format::Csv => {
            let readable = req.readable.then(|| {
                let columns: Vec<(&str, Kind)> = req
                    .columns
                    .iter()
                    .filter_map(|c| spec.column(c).ok().map(|m| (m.name, m.kind)))
                    .collect();
                Readable::new(&columns)
            });
            let mut download = pages::csv(state, &p.tenant_id, spec, req, base, &extra).await?;
            // A name that says what and when: `users-t0001-2026-12-05.csv`.
            download.file_name = format!(
                "{}-{}-{}.csv",
                spec.name.replace('_', "-"),
                crate::query::logs::sanitize(&p.tenant_id),
                chrono::Utc::now().format("%Y-%m-%d")
            );
            Ok(match readable {
                Some(r) => r.apply(download),
                None => download,
            }
            .into_response())
        }
    }
}

impl IntoResponse for Download {
    fn into_response(self) -> Response {
        let disposition = format!("attachment; filename=\"{}\"", self.file_name);
        (
            [
                (header::CONTENT_TYPE, self.content_type.to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            Body::from_stream(self.body),
        )
            .into_response()
    }
}

/// `Retry-After` of a 429 `too_many_exports`, seconds.
pub const EXPORT_RETRY_AFTER_SECS: &str = "5";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Server errors are logged here, inside the request's span (`middleware::trace`),
        // with their source; the body never carries them.
        let message = match &self {
            ApiError::Storage(e) => {
                tracing::error!(error = %e, "clickhouse query failed");
                "the statistics store is unavailable; retry later".to_owned()
            }
            ApiError::Internal { context, source } => {
                match source {
                    Some(source) => tracing::error!(error = %source, context, "internal error"),
                    None => tracing::error!(context, "internal error"),
                }
                "internal error".to_owned()
            }
            ApiError::PublishFailed(e) => {
                tracing::error!(error = %e, "publishing an admin command failed");
                "the command could not be published (recorded as failed); retry with the same request_id".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = json_error(status, self.code(), &message);
        if let ApiError::TooManyExports { .. } = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(EXPORT_RETRY_AFTER_SECS),
            );
        }
        response
    }
}

/// The JSON error body every failure answers: `{"error": {"code", "message"}}`.
pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    (status, Json(body)).into_response()
}
