//! What every response goes through (layers of [`super::app`]):
//!
//! - [`trace_layer`]: the request's span (`request`, with the method, the route template and
//!   the token id once the principal is known), inside which handlers and errors log.
//! - [`track`]: the latency of every request under its route template.
//! - [`harden`]: `X-Content-Type-Options: nosniff` on every response, `Cache-Control:
//!   no-store` where the handler set no caching of its own (the console's files do), and a
//!   JSON error body `{"error": {"code", "message"}}` on error answers that the framework
//!   made without one (405 with its `Allow`, 413, 400 of a body that could not be read,
//!   ...); a request target longer than `http.max_uri_bytes` is a 414 `uri_too_long`.
//! - A pause longer than `http.idle_timeout_ms` in a request body ends the request
//!   (`tower_http`'s request body timeout, in [`super::app`]).

use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{MakeSpan, TraceLayer};

use super::respond::json_error;
use crate::metrics::{method_label, RouteLabel};
use crate::state::AppState;

/// The span of one request: `request{method, route, token_id}`. The route is its template
/// (`/api/v1/users/{user_id}`) or `unmatched`, never the raw path; `token_id` is recorded
/// by the principal's extractor.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &axum::http::Request<B>) -> tracing::Span {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str);
        tracing::info_span!(
            "request",
            method = method_label(request.method()),
            route,
            token_id = tracing::field::Empty,
        )
    }
}

/// The trace layer: a [`RequestSpan`] around every request and its body. It logs nothing
/// itself: the latency is a metric ([`track`]), and an [`crate::error::ApiError`] logs its
/// server errors with their source inside the span.
pub fn trace_layer(
) -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan, (), (), (), (), ()> {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        .on_request(())
        .on_response(())
        .on_body_chunk(())
        .on_eos(())
        .on_failure(())
}

/// Longest framework error text kept as the message of its JSON body, bytes.
const MAX_MESSAGE_BYTES: usize = 1024;

/// Middleware: the URI limit, the security and caching headers, JSON error bodies.
pub async fn harden(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.config.http.max_uri_bytes;
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    let mut response = if target > limit {
        json_error(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            &format!(
                "the request target has {target} bytes, more than http.max_uri_bytes = {limit}"
            ),
        )
    } else {
        let method = request.method().clone();
        let response = next.run(request).await;
        if response.status().is_client_error() || response.status().is_server_error() {
            json_body(response, &method, state.config.http.max_body_bytes).await
        } else {
            response
        }
    };
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// An error response with a JSON body: unchanged when it has one (or is the console's
/// HTML page), else the same status and headers with `{"error": {"code", "message"}}`.
async fn json_body(response: Response, method: &axum::http::Method, max_body: usize) -> Response {
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return response;
    }
    let status = response.status();
    let (mut parts, body) = response.into_parts();
    let text = if content_type.starts_with("text/plain") {
        axum::body::to_bytes(body, MAX_MESSAGE_BYTES)
            .await
            .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
            .unwrap_or_default()
    } else {
        String::new()
    };
    let allow = parts
        .headers
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            format!("method {method} is not allowed here; allowed: {allow}"),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "body_too_large",
            format!("the request body is larger than http.max_body_bytes = {max_body}"),
        ),
        StatusCode::URI_TOO_LONG => ("uri_too_long", "the request target is too long".to_owned()),
        StatusCode::REQUEST_TIMEOUT => (
            "request_timeout",
            "the request took too long to arrive".to_owned(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", text),
        StatusCode::NOT_FOUND => ("not_found", "no such route".to_owned()),
        s if s.is_server_error() => ("internal", "internal error".to_owned()),
        _ => ("bad_request", text),
    };
    let message = if message.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("the request was refused")
            .to_owned()
    } else {
        message
    };
    let json = json_error(status, code, &message);
    let (json_parts, json_body) = json.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    drop(json_parts);
    Response::from_parts(parts, Body::new(json_body))
}

/// Middleware: observes every request's latency under its route template.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state
        .metrics
        .request_seconds
        .get_or_create(&RouteLabel {
            method,
            route,
            status: response.status().as_u16(),
        })
        .observe(start.elapsed().as_secs_f64());
    response
}
