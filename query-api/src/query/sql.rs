//! The query files of `query-api/sql/`, each embedded once here, and what turns one into a
//! subquery. Their bound values are built by the structs of [`super::params`], one per file,
//! in the order of the file's `-- params:` header (a test compares the two).

/// `sql/admin_action_lookup.sql`.
pub const ADMIN_ACTION_LOOKUP: &str = include_str!("../../sql/admin_action_lookup.sql");
/// `sql/audit.sql`.
pub const AUDIT: &str = include_str!("../../sql/audit.sql");
/// `sql/freshness.sql`.
pub const FRESHNESS: &str = include_str!("../../sql/freshness.sql");
/// `sql/issues.sql`.
pub const ISSUES: &str = include_str!("../../sql/issues.sql");
/// `sql/log_counts.sql`.
pub const LOG_COUNTS: &str = include_str!("../../sql/log_counts.sql");
/// `sql/log_lines.sql`.
pub const LOG_LINES: &str = include_str!("../../sql/log_lines.sql");
/// `sql/monitor_cards.sql`.
pub const MONITOR_CARDS: &str = include_str!("../../sql/monitor_cards.sql");
/// `sql/pending_actions.sql`.
pub const PENDING_ACTIONS: &str = include_str!("../../sql/pending_actions.sql");
/// `sql/profile_sessions.sql`.
pub const PROFILE_SESSIONS: &str = include_str!("../../sql/profile_sessions.sql");
/// `sql/profile_sessions_page.sql`.
pub const PROFILE_SESSIONS_PAGE: &str = include_str!("../../sql/profile_sessions_page.sql");
/// `sql/profile_state.sql`.
pub const PROFILE_STATE: &str = include_str!("../../sql/profile_state.sql");
/// `sql/profile_users.sql`.
pub const PROFILE_USERS: &str = include_str!("../../sql/profile_users.sql");
/// `sql/profiles.sql`.
pub const PROFILES: &str = include_str!("../../sql/profiles.sql");
/// `sql/sessions.sql`.
pub const SESSIONS: &str = include_str!("../../sql/sessions.sql");
/// `sql/summary.sql`.
pub const SUMMARY: &str = include_str!("../../sql/summary.sql");
/// `sql/token_list.sql`.
pub const TOKEN_LIST: &str = include_str!("../../sql/token_list.sql");
/// `sql/token_lookup.sql`.
pub const TOKEN_LOOKUP: &str = include_str!("../../sql/token_lookup.sql");
/// `sql/token_revoke.sql`.
pub const TOKEN_REVOKE: &str = include_str!("../../sql/token_revoke.sql");
/// `sql/trend_issues.sql`.
pub const TREND_ISSUES: &str = include_str!("../../sql/trend_issues.sql");
/// `sql/trend_sessions.sql`.
pub const TREND_SESSIONS: &str = include_str!("../../sql/trend_sessions.sql");
/// `sql/trend_users.sql`.
pub const TREND_USERS: &str = include_str!("../../sql/trend_users.sql");
/// `sql/user_one.sql`.
pub const USER_ONE: &str = include_str!("../../sql/user_one.sql");
/// `sql/user_reports.sql`.
pub const USER_REPORTS: &str = include_str!("../../sql/user_reports.sql");
/// `sql/user_scope.sql`.
pub const USER_SCOPE: &str = include_str!("../../sql/user_scope.sql");
/// `sql/user_visible.sql`.
pub const USER_VISIBLE: &str = include_str!("../../sql/user_visible.sql");
/// `sql/users.sql`.
pub const USERS: &str = include_str!("../../sql/users.sql");

/// Every file, by name (for the test of [`super::params`] against the headers).
pub const ALL: &[(&str, &str)] = &[
    ("admin_action_lookup.sql", ADMIN_ACTION_LOOKUP),
    ("audit.sql", AUDIT),
    ("freshness.sql", FRESHNESS),
    ("issues.sql", ISSUES),
    ("log_counts.sql", LOG_COUNTS),
    ("log_lines.sql", LOG_LINES),
    ("monitor_cards.sql", MONITOR_CARDS),
    ("pending_actions.sql", PENDING_ACTIONS),
    ("profile_sessions.sql", PROFILE_SESSIONS),
    ("profile_sessions_page.sql", PROFILE_SESSIONS_PAGE),
    ("profile_state.sql", PROFILE_STATE),
    ("profile_users.sql", PROFILE_USERS),
    ("profiles.sql", PROFILES),
    ("sessions.sql", SESSIONS),
    ("summary.sql", SUMMARY),
    ("token_list.sql", TOKEN_LIST),
    ("token_lookup.sql", TOKEN_LOOKUP),
    ("token_revoke.sql", TOKEN_REVOKE),
    ("trend_issues.sql", TREND_ISSUES),
    ("trend_sessions.sql", TREND_SESSIONS),
    ("trend_users.sql", TREND_USERS),
    ("user_one.sql", USER_ONE),
    ("user_reports.sql", USER_REPORTS),
    ("user_scope.sql", USER_SCOPE),
    ("user_visible.sql", USER_VISIBLE),
    ("users.sql", USERS),
];

/// A query file without its comments and final `;`, ready to be a subquery.
pub fn base_sql(file: &str) -> String {
    let text: Vec<&str> = file
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect();
    text.join("\n").trim().trim_end_matches(';').to_owned()
}

/// The `(name, type)` pairs of a file's `-- params:` lines, in order (several lines add
/// up), as `deploy/clickhouse/portability/check.py` reads them.
pub fn header_params(file: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in file.lines() {
        let Some(list) = line.trim_start().strip_prefix("-- params:") else {
            continue;
        };
        // Split on commas outside quotes and brackets: `profiles Array(String) = ['']`.
        let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
        let mut items = Vec::new();
        for (i, ch) in list.char_indices() {
            match ch {
                '\'' => quoted = !quoted,
                '(' | '[' if !quoted => depth += 1,
                ')' | ']' if !quoted => depth -= 1,
                ',' if !quoted && depth == 0 => {
                    items.push(&list[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.push(&list[start..]);
        for item in items {
            let decl = item.split_once('=').map_or(item, |(d, _)| d).trim();
            if let Some((name, ty)) = decl.split_once(' ') {
                out.push((name.trim().to_owned(), ty.trim().to_owned()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_sql_drops_comments_and_semicolon() {
        let s = base_sql("-- a ? comment\nSELECT 1\nFROM t;\n");
        assert_eq!(s, "SELECT 1\nFROM t");
    }

    #[test]
    fn headers_are_read_in_order() {
        let h = header_params(
            "-- x\n-- params: a String = 'p,q', b Array(String) = ['', 'x']\n-- params: c Int64\nSELECT ?",
        );
        let names: Vec<&str> = h
            .iter()
            .map(|(n, t)| if t.is_empty() { "" } else { n.as_str() })
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(h[1].1, "Array(String)");
    }

    #[test]
    fn every_file_in_the_folder_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = ALL.iter().map(|(n, _)| *n).collect();
        assert_eq!(on_disk, embedded);
    }
}
