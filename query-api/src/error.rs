//! The one error type of the API: every failure of a request becomes an [`ApiError`], with
//! a status code and a stable machine-readable code; `crate::http` answers it with a JSON
//! body `{"error": {"code", "message"}}`. Client errors name the problem; server errors
//! keep their source, are logged (inside the request's span) and answer with a generic
//! message, never the internals.

use axum::http::StatusCode;
use thiserror::Error;

use crate::commands::PublishError;

/// Any error kept as the source of an [`ApiError::Internal`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a request failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No token, or a token that is unknown or revoked.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// The principal may not do this (a viewer acting).
    #[error("{0}")]
    Forbidden(String),
    /// The thing does not exist, or belongs to another tenant or profile.
    #[error("{kind} {id:?} not found")]
    NotFound {
        /// What was looked for (`profile`, `user`, `session`).
        kind: &'static str,
        /// The id the client gave.
        id: String,
    },
    /// A query parameter that this list does not take.
    #[error("unknown parameter {0:?}")]
    UnknownParameter(String),
    /// A column that is not in this list's whitelist.
    #[error("unknown column {column:?}; columns: {allowed}")]
    UnknownColumn {
        /// The column asked for.
        column: String,
        /// The columns of the list, comma separated.
        allowed: String,
    },
    /// An operator that the column does not support.
    #[error("operator {op:?} is not supported on column {column:?}; supported: {allowed}")]
    BadOperator {
        /// The column.
        column: String,
        /// The operator asked for.
        op: String,
        /// What the column supports.
        allowed: &'static str,
    },
    /// A value that does not parse or is out of range.
    #[error("bad value for {param}: {message}")]
    BadValue {
        /// The parameter.
        param: String,
        /// What is wrong.
        message: String,
    },
    /// More filters than one request may carry ([`crate::query::list::MAX_FILTERS`]).
    #[error("more than {limit} filters in one request; the limit is {limit}")]
    TooManyFilters {
        /// The limit.
        limit: usize,
    },
    /// The body is not of the media type the route takes.
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    /// The list exists only as CSV.
    #[error("{0}")]
    CsvOnly(&'static str),
    /// The export would hold more rows than allowed.
    #[error("the export would hold {rows} rows, more than the limit of {limit}; narrow the filters or the time window")]
    ExportTooLarge {
        /// Rows the export would hold.
        rows: u64,
        /// The configured cap.
        limit: u64,
    },
    /// A log export would pass one of its caps (`limits.log_max_*`).
    #[error("the log export would hold {actual} {what}, more than limits.{cap} = {limit}; choose fewer sessions or a shorter window")]
    LogCapExceeded {
        /// The config key of the cap, e.g. `log_max_lines`.
        cap: &'static str,
        /// What is counted: `sessions`, `lines`, `bytes`.
        what: &'static str,
        /// How many the export would hold.
        actual: u64,
        /// The cap.
        limit: u64,
    },
    /// The request clashes with an earlier one (a request id reused for something else).
    #[error("{0}")]
    Conflict(String),
    /// The admin command could not be published to Kafka (details logged, never sent).
    #[error("publishing the command failed: {0}")]
    PublishFailed(#[source] PublishError),
    /// Too many exports of the tenant are running.
    #[error("{limit} exports of this tenant are already running; retry when one finishes")]
    TooManyExports {
        /// The configured limit.
        limit: usize,
    },
    /// The query ran past the configured timeout.
    #[error("the query took longer than {0} ms; narrow the filters or the time window")]
    Timeout(u64),
    /// ClickHouse failed or is unreachable (details logged, never sent).
    #[error("storage error")]
    Storage(#[source] clickhouse::error::Error),
    /// Anything else unexpected (details logged, never sent).
    #[error("internal error: {context}")]
    Internal {
        /// What was being done.
        context: &'static str,
        /// Why it failed, when another error says so.
        #[source]
        source: Option<BoxError>,
    },
}

impl ApiError {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::UnknownParameter(_)
            | ApiError::UnknownColumn { .. }
            | ApiError::BadOperator { .. }
            | ApiError::BadValue { .. }
            | ApiError::TooManyFilters { .. }
            | ApiError::CsvOnly(_) => StatusCode::BAD_REQUEST,
            ApiError::ExportTooLarge { .. } | ApiError::LogCapExceeded { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PublishFailed(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyExports { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code of the body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound { .. } => "not_found",
            ApiError::UnknownParameter(_) => "unknown_parameter",
            ApiError::UnknownColumn { .. } => "unknown_column",
            ApiError::BadOperator { .. } => "bad_operator",
            ApiError::BadValue { .. } => "bad_value",
            ApiError::TooManyFilters { .. } => "too_many_filters",
            ApiError::CsvOnly(_) => "csv_only",
            ApiError::ExportTooLarge { .. } => "export_too_large",
            ApiError::LogCapExceeded { .. } => "log_export_too_large",
            ApiError::Conflict(_) => "conflict",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::PublishFailed(_) => "publish_failed",
            ApiError::TooManyExports { .. } => "too_many_exports",
            ApiError::Timeout(_) => "query_timeout",
            ApiError::Storage(_) => "storage_unavailable",
            ApiError::Internal { .. } => "internal",
        }
    }

    /// An unexpected failure of `context`, keeping its source.
    pub fn internal(context: &'static str, source: impl Into<BoxError>) -> Self {
        ApiError::Internal {
            context,
            source: Some(source.into()),
        }
    }

    /// An unexpected failure of `context` that no other error explains.
    pub fn bug(context: &'static str) -> Self {
        ApiError::Internal {
            context,
            source: None,
        }
    }

    /// A bad value for `param`.
    pub fn bad_value(param: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadValue {
            param: param.into(),
            message: message.into(),
        }
    }
}

impl From<clickhouse::error::Error> for ApiError {
    fn from(e: clickhouse::error::Error) -> Self {
        ApiError::Storage(e)
    }
}

/// Result alias of the API.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internals_never_reach_the_body() {
        let e = ApiError::internal("reading", std::io::Error::other("secret path /etc"));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            std::error::Error::source(&e).is_some(),
            "the source is kept"
        );
        let e = ApiError::Storage(clickhouse::error::Error::BadResponse(
            "Code: 60, table x".to_owned(),
        ));
        assert_eq!(e.code(), "storage_unavailable");
    }
}
