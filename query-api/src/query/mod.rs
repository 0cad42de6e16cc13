//! The query layer: everything that reads or writes ClickHouse for a request, without HTTP
//! (no axum types; `crate::http` turns these answers into responses).
//!
//! - [`sql`]: the query files of `query-api/sql/`, embedded once; [`params`]: their binds,
//!   one struct per file's `-- params:` header, tested against it.
//! - [`list`]: the column model and the parsing of a list request (pure); [`specs`]: the
//!   lists (query, whitelist, defaults).
//! - [`run`]: running SQL with the timeout, rows as maps or typed; [`pages`]: a list's
//!   JSON page or CSV export; [`export`]: the streamed CSV and its cells.
//! - [`visibility`]: whether the principal's scope sees a profile or a user.
//! - [`summary`], [`details`]: the fixed-shape answers, typed.
//! - [`logs`]: session logs as ZIP or CSV; [`audit`]: the admin requests' trail.
//!
//! Depends on `crate::{state, error, config, metrics}` only; `crate::auth` and
//! `crate::http` sit above it.

pub mod audit;
pub mod details;
pub mod export;
pub mod list;
pub mod logs;
pub mod pages;
pub mod params;
pub mod run;
pub mod specs;
pub mod sql;
pub mod summary;
pub mod visibility;
