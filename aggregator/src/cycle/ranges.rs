//! Ranges of users in key order: how a cycle step too large for one statement is split.

use crate::error::{at, Result};

/// The users (tenant_id, user_id) one statement of a cycle's sessions or users step takes,
/// in key order: from `from` (inclusive) to `until` (exclusive; `None`: every key after
/// `from`). A step whose window holds more than one statement takes (a first cycle, a
/// rebuild, a long catch-up) is split into ranges (`sql/session_key_ranges.sql`,
/// `sql/user_key_ranges.sql`); a steady cycle is one range, [`UserRange::all`].
///
/// A range is one contiguous stretch of every raw table (sorted by tenant_id, user_id,
/// ...), so the statement's primary-key analysis reads that stretch only. Hash shards
/// (`cityHash64(tenant_id, user_id) % shards`) spread each statement over the whole table:
/// a first cycle, whose statements take every session of the history a million at a time,
/// decompressed most of the table once per statement, a cost that grew with the square of
/// the history (benches/RESULTS.md, "As history grows").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRange {
    /// The first key, inclusive.
    pub from: (String, String),
    /// The first key after the range; `None`: the range runs to the end.
    pub until: Option<(String, String)>,
}

impl UserRange {
    /// Every user: `("", "")` is the least key.
    pub fn all() -> Self {
        Self {
            from: (String::new(), String::new()),
            until: None,
        }
    }

    /// The ranges that start at `starts` (sorted, as `session_key_ranges.sql` returns
    /// them), the first from the least key and the last to the end: every key is in
    /// exactly one, whatever is inserted after the starts were read.
    pub fn split_at(starts: Vec<(String, String)>) -> Vec<Self> {
        let mut ranges = vec![Self::all()];
        for start in starts {
            if let Some(last) = ranges.last_mut() {
                if start <= last.from {
                    continue;
                }
                last.until = Some(start.clone());
            }
            ranges.push(Self {
                from: start,
                until: None,
            });
        }
        ranges
    }

    /// The ranges that start at the rows `q` returns (`session_key_ranges.sql` or
    /// `user_key_ranges.sql`, its binds bound; `what` names it in an error).
    pub(super) async fn fetch(
        q: clickhouse::query::Query,
        what: &'static str,
    ) -> Result<Vec<Self>> {
        let starts = q.fetch_all::<(String, String)>().await.map_err(at(what))?;
        Ok(Self::split_at(starts))
    }

    /// Binds the range's predicate as the statements write it:
    /// `(tenant_id > ? OR (tenant_id = ? AND user_id >= ?))
    ///  AND (? OR tenant_id < ? OR (tenant_id = ? AND user_id < ?))`
    /// (the form 18.16's primary-key analysis uses; it does not use tuple comparisons).
    pub(super) fn bind(&self, q: clickhouse::query::Query) -> clickhouse::query::Query {
        let (from_tenant, from_user) = &self.from;
        let q = q.bind(from_tenant).bind(from_tenant).bind(from_user);
        match &self.until {
            None => q.bind(1u8).bind("").bind("").bind(""),
            Some((tenant, user)) => q.bind(0u8).bind(tenant).bind(tenant).bind(user),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::UserRange;

    fn key(t: &str, u: &str) -> (String, String) {
        (t.to_owned(), u.to_owned())
    }

    #[test]
    fn no_starts_is_one_range_of_every_user() {
        assert_eq!(UserRange::split_at(vec![]), vec![UserRange::all()]);
    }

    #[test]
    fn the_ranges_cover_every_key_once_from_the_least_to_the_end() {
        let ranges = UserRange::split_at(vec![key("a", "u5"), key("b", "u1")]);
        assert_eq!(
            ranges,
            vec![
                UserRange {
                    from: key("", ""),
                    until: Some(key("a", "u5"))
                },
                UserRange {
                    from: key("a", "u5"),
                    until: Some(key("b", "u1"))
                },
                UserRange {
                    from: key("b", "u1"),
                    until: None
                },
            ]
        );
    }

    #[test]
    fn a_repeated_or_least_start_makes_no_empty_range() {
        let ranges = UserRange::split_at(vec![key("", ""), key("a", "u"), key("a", "u")]);
        assert_eq!(
            ranges,
            vec![
                UserRange {
                    from: key("", ""),
                    until: Some(key("a", "u"))
                },
                UserRange {
                    from: key("a", "u"),
                    until: None
                },
            ]
        );
    }
}
