//! The console's sign-in cookie: sign-in trades an API token for an `HttpOnly`,
//! `SameSite=Strict` cookie holding it, so the console's script never keeps the token and
//! downloads (CSV, ZIP) are plain links that stream like any other request. A
//! cookie-authenticated request that changes something must also carry `X-Requested-With`
//! ([`CSRF_HEADER`]), which a foreign page cannot add without a CORS preflight this server
//! never grants.

use axum::http::{header, HeaderMap};
use cookie::{Cookie, SameSite};

/// The cookie holding a console sign-in.
pub const COOKIE: &str = "synctel_token";

/// The header a cookie-authenticated request that changes something must carry.
pub const CSRF_HEADER: &str = "x-requested-with";

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

/// The cookie of a sign-in with `token`, for `max_age_secs`.
pub fn sign_in_cookie(token: &str, secure: bool, max_age_secs: u64) -> Cookie<'static> {
    let max_age = i64::try_from(max_age_secs).unwrap_or(i64::MAX);
    Cookie::build((COOKIE, token.to_owned()))
        .path("/api/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build()
}

/// The cookie that clears a sign-in.
pub fn sign_out_cookie() -> Cookie<'static> {
    Cookie::build((COOKIE, ""))
        .path("/api/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(cookie::time::Duration::ZERO)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

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
}
