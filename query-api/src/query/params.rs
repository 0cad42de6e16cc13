//! The bound values of every query file: one struct per shape of `-- params:` header, whose
//! [`named`](Scope::named) lists the binds in the file's order with their names, so the
//! test below compares each file's header with its struct, name by name and type by type.
//! The files sharing a shape are named on the struct. Nothing else assembles a file's binds;
//! a list request adds its own (`extra` clauses, filters, LIMIT/OFFSET) after them.

/// A value bound to a `?`.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// String.
    Str(String),
    /// Int64.
    I64(i64),
    /// UInt8.
    U8(u8),
    /// UInt64.
    U64(u64),
    /// Array(String).
    Strs(Vec<String>),
}

impl Bound {
    /// Its ClickHouse type, as a `-- params:` header writes it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Bound::Str(_) => "String",
            Bound::I64(_) => "Int64",
            Bound::U8(_) => "UInt8",
            Bound::U64(_) => "UInt64",
            Bound::Strs(_) => "Array(String)",
        }
    }
}

/// Named binds, in a file's order.
pub type Named = Vec<(&'static str, Bound)>;

/// The binds of `named` without their names.
fn values(named: Named) -> Vec<Bound> {
    named.into_iter().map(|(_, b)| b).collect()
}

/// Sorts after every id the contract allows (at most 256 bytes of UTF-8): 65 times
/// U+10FFFF, the largest code point, whose encoding `F4 8F BF BF` is bytewise larger than any
/// other character's. `['', ID_MAX]` is the key range of "any id".
pub const ID_MAX: &str = concat!(
    "\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}",
    "\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}",
    "\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}",
    "\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}",
    "\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}",
    "\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}",
    "\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}",
);

/// The key range `[from, to]` of one id, or of any id when `id` is empty. Unlike
/// `(? = '' OR col = ?)`, ClickHouse 18.16's key index can use it.
pub fn id_range(id: &str) -> (Bound, Bound) {
    if id.is_empty() {
        (Bound::Str(String::new()), Bound::Str(ID_MAX.to_owned()))
    } else {
        (Bound::Str(id.to_owned()), Bound::Str(id.to_owned()))
    }
}

fn s(v: &str) -> Bound {
    Bound::Str(v.to_owned())
}

/// What a principal may see of its tenant, as the files bind it: `tenant_id String,
/// all_profiles UInt8, profiles Array(String)`. `profiles` is never empty (`[]` is
/// `Array(Nothing)` on 18.16, which `has` refuses): `['']` stands for "none" (profile ids
/// are never empty). The whole header of `profiles.sql`, `users.sql`, `audit.sql` and
/// `monitor_cards.sql`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The only tenant it sees.
    pub tenant_id: String,
    /// 1: every profile of the tenant.
    pub all_profiles: u8,
    /// The profiles when not all (`['']` for none).
    pub profiles: Vec<String>,
}

impl Scope {
    /// Whether the scope holds `profile_id`.
    pub fn sees_profile(&self, profile_id: &str) -> bool {
        self.all_profiles == 1
            || (!profile_id.is_empty() && self.profiles.iter().any(|p| p == profile_id))
    }

    /// The two profile binds (`all_profiles`, `profiles`).
    fn profile_binds(&self) -> [(&'static str, Bound); 2] {
        [
            ("all_profiles", Bound::U8(self.all_profiles)),
            ("profiles", Bound::Strs(self.profiles.clone())),
        ]
    }

    /// The binds, named.
    pub fn named(&self) -> Named {
        let mut v = vec![("tenant_id", s(&self.tenant_id))];
        v.extend(self.profile_binds());
        v
    }

    /// The binds.
    pub fn binds(&self) -> Vec<Bound> {
        values(self.named())
    }
}

/// `freshness.sql`: one tenant.
#[derive(Debug, Clone)]
pub struct Tenant<'a> {
    /// The tenant.
    pub tenant_id: &'a str,
}

impl Tenant<'_> {
    /// The binds, named.
    pub fn named(&self) -> Named {
        vec![("tenant_id", s(self.tenant_id))]
    }

    /// The binds.
    pub fn binds(&self) -> Vec<Bound> {
        values(self.named())
    }
}

/// `profile_state.sql`, `profile_users.sql`: one profile of a tenant.
#[derive(Debug, Clone)]
pub struct TenantProfile<'a> {
    /// The tenant.
    pub tenant_id: &'a str,
    /// The profile.
    pub profile_id: &'a str,
}

impl TenantProfile<'_> {
    /// The binds, named.
    pub fn named(&self) -> Named {
        vec![
            ("tenant_id", s(self.tenant_id)),
            ("profile_id", s(self.profile_id)),
        ]
    }

    /// The binds.
    pub fn binds(&self) -> Vec<Bound> {
        values(self.named())
    }
}

/// `user_scope.sql`: one user of a tenant.
#[derive(Debug, Clone)]
pub struct TenantUser<'a> {
    /// The tenant.
    pub tenant_id: &'a str,
    /// The user.
    pub user_id: &'a str,
}

impl TenantUser<'_> {
    /// The binds, named.
    pub fn named(&self) -> Named {
        vec![
            ("tenant_id", s(self.tenant_id)),
            ("user_id", s(self.user_id)),
        ]
    }

    /// The binds.
    pub fn binds(&self) -> Vec<Bound> {
        values(self.named())
    }
}

/// `user_one.sql`, `user_visible.sql`: one user, if the scope sees it.
#[derive(Debug, Clone)]
pub struct ScopedUser<'a> {
    /// The principal's scope.
    pub scope: &'a Scope,
    /// The user.
    pub user_id: &'a str,
}

impl ScopedUser<'_> {
    /// The binds, named.
    pub fn named(&self) -> Named {
        let mut v = vec![
            ("tenant_id", s(&self.scope.tenant_id)),
            ("user_id", s(self.user_id)),
        ];
        v.extend(self.scope.profile_binds());
        v
    }

    /// The binds.
    pub fn binds(&self) -> Vec<Bound> {
        values(self.named())
    }
}

/// `summary.sql`: the scope, optionally one profile (`''`: every profile in scope).
#[derive(Debug, Clone)]
pub struct ScopedProfile<'a> {
    /// The principal's scope.
    pub scope: &'a Scope,
    /// One profile, or `''`.
    pub profile_id: &'a str,
}

impl ScopedProfile<'_> {
    /// The binds, named.
    pub fn named(&self) -> Named {
        let mut v = self.scope.named();
        v.push(("profile_id", s(self.profile_id)));
        v.push(("profile_id", s(self.profile_id)));
        v
    }

    /// The binds.
    pub fn binds(&self) -> Vec<Bound> {
        values(self.named())
    }
}

/// `trend_sessions.sql`, `trend_issues.sql`, `trend_users.sql`: [`ScopedProfile`], the
/// granularity (`hour`, `day`) and the buckets' window `[from_s, to_s)` in seconds.
#[derive(Debug, Clone)]
pub struct Trend<'a> {
    /// The scope and profile.
    pub scoped: ScopedProfile<'a>,
    /// `hour` or `day`.
    pub granularity: &'a str,
    /// Window start, seconds.
    pub from_s: i64,
    /// Window end (exclusive), seconds.
    pub to_s: i64,
}

impl Trend<'_> {
    /// The binds, named.
    pub fn named(&self) -> Named {
        let mut v = self.scoped.named();
        v.push(("granularity", s(self.granularity)));
        v.push(("from_s", Bound::I64(self.from_s)));
        v.push(("to_s", Bound::I64(self.to_s)));
        v
    }

    /// The binds.
    pub fn binds(&self) -> Vec<Bound> {
        values(self.named())
    }
}

/// `sessions.sql`: the tenant, one user and one session (empty for any), the profiles
/// (the principal's) and the window `[from_ms, to_ms)`.
#[derive(Debug, Clone)]
pub struct Sessions<'a> {
    /// The principal's scope.
    pub scope: &'a Scope,
    /// One user, or `''` for any.
    pub user_id: &'a str,
    /// One session, or `''` for any.
    pub session_id: &'a str,
    /// Window start, ms.
    pub from_ms: i64,
    /// Window end (exclusive), ms.
    pub to_ms: i64,
}

impl Sessions<'_> {
    /// The binds, named.
    pub fn named(&self) -> Named {
        let ((u0, u1), (s0, s1)) = (id_range(self.user_id), id_range(self.session_id));
        let tenant = || ("tenant_id", s(&self.scope.tenant_id));
        let mut v = vec![
            // The candidates: sessions with a row started in the window.
            tenant(),
            ("user_from", u0.clone()),
            ("user_to", u1.clone()),
            ("session_from", s0.clone()),
            ("session_to", s1.clone()),
            ("from_ms", Bound::I64(self.from_ms)),
            ("to_ms", Bound::I64(self.to_ms)),
        ];
        v.extend(self.scope.profile_binds());
        // The merge.
        v.extend([
            tenant(),
            ("user_from", u0),
            ("user_to", u1),
            ("session_from", s0),
            ("session_to", s1),
        ]);
        // The merged row.
        v.extend(self.scope.profile_binds());
        v.push(("from_ms", Bound::I64(self.from_ms)));
        v.push(("to_ms", Bound::I64(self.to_ms)));
        v
    }

    /// The binds.
    pub fn binds(&self) -> Vec<Bound> {
        values(self.named())
    }
}

/// `profile_sessions.sql`: the tenant, the profile, the window `[from_ms, to_ms)` and the
/// principal's profiles.
#[derive(Debug, Clone)]
pub struct ProfileSessions<'a> {
    /// The principal's scope.
    pub scope: &'a Scope,
    /// The profile.
    pub profile_id: &'a str,
    /// Window start, ms.
    pub from_ms: i64,
    /// Window end (exclusive), ms.
    pub to_ms: i64,
}

impl ProfileSessions<'_> {
    /// The binds, named.
    pub fn named(&self) -> Named {
        let mut v = vec![
            ("tenant_id", s(&self.scope.tenant_id)),
            ("profile_id", s(self.profile_id)),
            ("from_ms", Bound::I64(self.from_ms)),
            ("to_ms", Bound::I64(self.to_ms)),
        ];
        v.extend(self.scope.profile_binds());
        v
    }

    /// The binds.
    pub fn binds(&self) -> Vec<Bound> {
        values(self.named())
    }
}

/// The key of one row of a profile's session page: start (decimal text), user, session.
pub type PageKey = (String, String, String);

/// `profile_sessions_page.sql`: the tenant, the profile, the page's keys and the
/// principal's profiles.
#[derive(Debug, Clone)]
pub struct ProfileSessionsPage<'a> {
    /// The principal's scope.
    pub scope: &'a Scope,
    /// The profile.
    pub profile_id: &'a str,
    /// The keys the page's first step found.
    pub keys: &'a [PageKey],
}

impl ProfileSessionsPage<'_> {
    /// The binds, named.
    pub fn named(&self) -> Named {
        let starts: Vec<String> = self.keys.iter().map(|k| k.0.clone()).collect();
        let mut v = vec![
            ("tenant_id", s(&self.scope.tenant_id)),
            ("profile_id", s(self.profile_id)),
            ("starts", Bound::Strs(starts.clone())),
            ("starts", Bound::Strs(starts)),
            (
                "users",
                Bound::Strs(self.keys.iter().map(|k| k.1.clone()).collect()),
            ),
            (
                "sessions",
                Bound::Strs(self.keys.iter().map(|k| k.2.clone()).collect()),
            ),
        ];
        v.extend(self.scope.profile_binds());
        v
    }

    /// The binds.
    pub fn binds(&self) -> Vec<Bound> {
        values(self.named())
    }
}

/// `issues.sql`: the tenant, the user as a key range (empty: any user), the profile
/// (empty: any), the principal's profiles, the window `[from_ms, to_ms)`; then the tenant
/// and the user range again for the users' names, and the tenant for the profiles' names.
#[derive(Debug, Clone)]
pub struct Issues<'a> {
    /// The principal's scope.
    pub scope: &'a Scope,
    /// One user, or `''`.
    pub user_id: &'a str,
    /// One profile, or `''`.
    pub profile_id: &'a str,
    /// Window start, ms.
    pub from_ms: i64,
    /// Window end (exclusive), ms.
    pub to_ms: i64,
}

impl Issues<'_> {
    /// The binds, named.
    pub fn named(&self) -> Named {
        let (user_from, user_to) = id_range(self.user_id);
        let mut v = vec![
            ("tenant_id", s(&self.scope.tenant_id)),
            ("user_from", user_from),
            ("user_to", user_to),
            ("profile_id", s(self.profile_id)),
            ("profile_id", s(self.profile_id)),
        ];
        v.extend(self.scope.profile_binds());
        v.push(("from_ms", Bound::I64(self.from_ms)));
        v.push(("to_ms", Bound::I64(self.to_ms)));
        // The names: the users' (same key range) and the tenant's profiles'.
        let (user_from, user_to) = id_range(self.user_id);
        v.push(("tenant_id", s(&self.scope.tenant_id)));
        v.push(("user_from", user_from));
        v.push(("user_to", user_to));
        v.push(("tenant_id", s(&self.scope.tenant_id)));
        v
    }

    /// The binds.
    pub fn binds(&self) -> Vec<Bound> {
        values(self.named())
    }
}

/// `log_counts.sql`: the tenant, the user as a key range (empty: any user, a profile's
/// export whose sessions were checked already), the (user, session) pairs of the export as
/// two arrays of the same length, and the principal's profiles.
#[derive(Debug, Clone)]
pub struct LogCounts<'a> {
    /// The principal's scope.
    pub scope: &'a Scope,
    /// One user, or `''`.
    pub user_id: &'a str,
    /// The (user, session) pairs.
    pub pairs: Vec<(String, String)>,
}

impl LogCounts<'_> {
    /// The binds, named.
    pub fn named(&self) -> Named {
        let (user_from, user_to) = id_range(self.user_id);
        // An empty array is Array(Nothing), which fails on 18.16; no user or session id is
        // empty.
        let (users, ids): (Vec<String>, Vec<String>) = if self.pairs.is_empty() {
            (vec![String::new()], vec![String::new()])
        } else {
            self.pairs.iter().cloned().unzip()
        };
        let mut v = vec![
            ("tenant_id", s(&self.scope.tenant_id)),
            ("user_from", user_from),
            ("user_to", user_to),
            ("users", Bound::Strs(users)),
            ("sessions", Bound::Strs(ids)),
        ];
        v.extend(self.scope.profile_binds());
        v
    }

    /// The binds.
    pub fn binds(&self) -> Vec<Bound> {
        values(self.named())
    }
}

/// `log_lines.sql`: `in_order` (the export's session ids in its order, each once), then
/// the binds of [`LogCounts`].
#[derive(Debug, Clone)]
pub struct LogLines<'a> {
    /// The session ids in the export's order, each once.
    pub in_order: Vec<String>,
    /// The sessions.
    pub counts: &'a LogCounts<'a>,
}

impl LogLines<'_> {
    /// The binds, named.
    pub fn named(&self) -> Named {
        let in_order = if self.in_order.is_empty() {
            vec![String::new()]
        } else {
            self.in_order.clone()
        };
        let mut v = vec![("in_order", Bound::Strs(in_order))];
        v.extend(self.counts.named());
        v
    }

    /// The binds.
    pub fn binds(&self) -> Vec<Bound> {
        values(self.named())
    }
}

/// `admin_action_lookup.sql`: one admin request of a tenant.
#[derive(Debug, Clone)]
pub struct ActionLookup<'a> {
    /// The tenant.
    pub tenant_id: &'a str,
    /// The stored request id.
    pub request_id: &'a str,
}

impl ActionLookup<'_> {
    /// The binds, named.
    pub fn named(&self) -> Named {
        vec![
            ("tenant_id", s(self.tenant_id)),
            ("request_id", s(self.request_id)),
        ]
    }

    /// The binds.
    pub fn binds(&self) -> Vec<Bound> {
        values(self.named())
    }
}

/// `pending_actions.sql` (and `user_reports.sql`, twice): one user of a tenant, since a time.
#[derive(Debug, Clone)]
pub struct UserSince<'a> {
    /// The tenant.
    pub tenant_id: &'a str,
    /// The user.
    pub user_id: &'a str,
    /// From, ms since the epoch.
    pub since_ms: i64,
}

impl UserSince<'_> {
    /// The binds, named.
    pub fn named(&self) -> Named {
        vec![
            ("tenant_id", s(self.tenant_id)),
            ("user_id", s(self.user_id)),
            ("since_ms", Bound::I64(self.since_ms)),
        ]
    }

    /// The binds of `user_reports.sql`.
    pub fn report_binds(&self) -> Vec<Bound> {
        values(self.named_twice())
    }

    /// The binds of `user_reports.sql`, named: these, twice.
    pub fn named_twice(&self) -> Named {
        let mut v = self.named();
        v.extend(self.named());
        v
    }

    /// The binds.
    pub fn binds(&self) -> Vec<Bound> {
        values(self.named())
    }
}

/// `token_lookup.sql`: a token's SHA-256 (hex).
#[derive(Debug, Clone)]
pub struct TokenLookup<'a> {
    /// Hex SHA-256 of the token.
    pub token_hash: &'a str,
}

impl TokenLookup<'_> {
    /// The binds, named.
    pub fn named(&self) -> Named {
        vec![("token_hash", s(self.token_hash))]
    }

    /// The binds.
    pub fn binds(&self) -> Vec<Bound> {
        values(self.named())
    }
}

/// `token_revoke.sql`: the new version of the token's row, and the token.
#[derive(Debug, Clone)]
pub struct TokenRevoke<'a> {
    /// The new row's version.
    pub version: u64,
    /// The token id.
    pub token_id: &'a str,
}

impl TokenRevoke<'_> {
    /// The binds, named.
    pub fn named(&self) -> Named {
        vec![
            ("version", Bound::U64(self.version)),
            ("token_id", s(self.token_id)),
        ]
    }

    /// The binds.
    pub fn binds(&self) -> Vec<Bound> {
        values(self.named())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::query::sql;

    fn scope() -> Scope {
        Scope {
            tenant_id: "t".to_owned(),
            all_profiles: 1,
            profiles: vec![String::new()],
        }
    }

    /// Every file with the binds its struct makes, for a sample request.
    fn every_file() -> Vec<(&'static str, Named)> {
        let sc = scope();
        let pair = vec![("u".to_owned(), "s".to_owned())];
        let counts = LogCounts {
            scope: &sc,
            user_id: "u",
            pairs: pair,
        };
        let key = [("1".to_owned(), "u".to_owned(), "s".to_owned())];
        let scoped = ScopedProfile {
            scope: &sc,
            profile_id: "",
        };
        let trend = Trend {
            scoped: scoped.clone(),
            granularity: "hour",
            from_s: 0,
            to_s: 1,
        };
        let tp = TenantProfile {
            tenant_id: "t",
            profile_id: "p",
        };
        let su = ScopedUser {
            scope: &sc,
            user_id: "u",
        };
        let since = UserSince {
            tenant_id: "t",
            user_id: "u",
            since_ms: 0,
        };
        vec![
            (
                "admin_action_lookup.sql",
                ActionLookup {
                    tenant_id: "t",
                    request_id: "r",
                }
                .named(),
            ),
            ("audit.sql", sc.named()),
            ("freshness.sql", Tenant { tenant_id: "t" }.named()),
            (
                "issues.sql",
                Issues {
                    scope: &sc,
                    user_id: "",
                    profile_id: "p",
                    from_ms: 0,
                    to_ms: 1,
                }
                .named(),
            ),
            ("log_counts.sql", counts.named()),
            (
                "log_lines.sql",
                LogLines {
                    in_order: vec!["s".to_owned()],
                    counts: &counts,
                }
                .named(),
            ),
            ("monitor_cards.sql", sc.named()),
            ("pending_actions.sql", since.named()),
            (
                "profile_sessions.sql",
                ProfileSessions {
                    scope: &sc,
                    profile_id: "p",
                    from_ms: 0,
                    to_ms: 1,
                }
                .named(),
            ),
            (
                "profile_sessions_page.sql",
                ProfileSessionsPage {
                    scope: &sc,
                    profile_id: "p",
                    keys: &key,
                }
                .named(),
            ),
            ("profile_state.sql", tp.named()),
            ("profile_users.sql", tp.named()),
            ("profiles.sql", sc.named()),
            (
                "sessions.sql",
                Sessions {
                    scope: &sc,
                    user_id: "",
                    session_id: "s1",
                    from_ms: 0,
                    to_ms: 10,
                }
                .named(),
            ),
            ("summary.sql", scoped.named()),
            ("token_list.sql", Vec::new()),
            ("token_lookup.sql", TokenLookup { token_hash: "h" }.named()),
            (
                "token_revoke.sql",
                TokenRevoke {
                    version: 2,
                    token_id: "tok",
                }
                .named(),
            ),
            ("trend_issues.sql", trend.named()),
            ("trend_sessions.sql", trend.named()),
            ("trend_users.sql", trend.named()),
            ("user_one.sql", su.named()),
            ("user_reports.sql", since.named_twice()),
            (
                "user_scope.sql",
                TenantUser {
                    tenant_id: "t",
                    user_id: "u",
                }
                .named(),
            ),
            ("user_visible.sql", su.named()),
            ("users.sql", sc.named()),
        ]
    }

    #[test]
    fn every_file_is_bound_in_the_order_of_its_header() {
        let files = every_file();
        let covered: Vec<&str> = files.iter().map(|(f, _)| *f).collect();
        let all: Vec<&str> = sql::ALL.iter().map(|(f, _)| *f).collect();
        assert_eq!(covered, all, "one entry per file of sql/");
        for ((file, named), (_, text)) in files.iter().zip(sql::ALL) {
            let header = sql::header_params(text);
            let ours: Vec<(String, String)> = named
                .iter()
                .map(|(n, b)| ((*n).to_owned(), b.type_name().to_owned()))
                .collect();
            assert_eq!(ours, header, "{file}: binds against its -- params: header");
            assert_eq!(
                named.len(),
                sql::base_sql(text).matches('?').count(),
                "{file}: one bind per placeholder"
            );
        }
    }

    #[test]
    fn id_max_sorts_after_every_allowed_id() {
        assert_eq!(ID_MAX.len(), 260);
        let largest = "\u{10FFFF}".repeat(64);
        for id in [
            "",
            "u-1",
            "zzz",
            "\u{FFFF}\u{FFFF}",
            largest.as_str(),
            "\u{10FFFF}\u{10FFFE}",
        ] {
            assert!(id.as_bytes() < ID_MAX.as_bytes(), "{id:?}");
        }
        assert_eq!(id_range(""), (s(""), s(ID_MAX)));
        assert_eq!(id_range("u_1%"), (s("u_1%"), s("u_1%")));
    }

    #[test]
    fn session_binds_range_one_session() {
        let sc = scope();
        let binds = Sessions {
            scope: &sc,
            user_id: "",
            session_id: "s1",
            from_ms: 0,
            to_ms: 10,
        }
        .binds();
        assert_eq!(binds[2], s(ID_MAX));
        assert_eq!(binds[3], s("s1"));
        assert_eq!(binds[4], s("s1"));
    }

    #[test]
    fn a_scope_sees_its_profiles_only() {
        let mut sc = scope();
        assert!(sc.sees_profile("x"));
        sc.all_profiles = 0;
        sc.profiles = vec!["p1".to_owned()];
        assert!(sc.sees_profile("p1") && !sc.sees_profile("p2"));
        sc.profiles = vec![String::new()];
        assert!(!sc.sees_profile(""));
    }
}
