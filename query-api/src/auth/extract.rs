//! The [`Principal`] of a request: its bearer token, or the console's sign-in cookie (with
//! the CSRF header on a request that changes something). Records the token id on the
//! request's span.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};

use super::Principal;
use crate::error::ApiError;
use crate::state::AppState;

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Exactly one Authorization header: with two, proxies and the API could each
        // believe a different one.
        let mut authorizations = parts.headers.get_all(header::AUTHORIZATION).iter();
        let first = authorizations.next();
        if authorizations.next().is_some() {
            return Err(ApiError::Unauthorized);
        }
        let bearer = first
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|v| v.trim().to_owned());
        let token = match bearer {
            Some(token) => token,
            None => {
                // The console's sign-in cookie. A request that changes something must
                // also carry `X-Requested-With`, which a foreign page cannot add.
                let token =
                    super::cookie::cookie_token(&parts.headers).ok_or(ApiError::Unauthorized)?;
                let safe = parts.method == Method::GET || parts.method == Method::HEAD;
                if !safe && !parts.headers.contains_key(super::cookie::CSRF_HEADER) {
                    return Err(ApiError::Forbidden(
                        "a request signed in by cookie that changes something needs the X-Requested-With header".to_owned(),
                    ));
                }
                token
            }
        };
        let principal = state
            .principal(&token)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        tracing::Span::current().record("token_id", principal.token_id.as_str());
        Ok(principal)
    }
}
