//! Cluster mode: the same migrations, rendered for a ClickHouse cluster.
//!
//! With a [`ClusterConfig`], every statement of `deploy/clickhouse/migrations/` is
//! rendered by [`Renderer`] instead of run as written (pure code, no server):
//!
//! - a table keyed by user ([`SHARDED`]) `t` becomes `t_local`, a `Replicated*` table
//!   whose ZooKeeper path holds `{shard}`, plus `t`, a `Distributed` table over it sharded
//!   by [`SHARDING_KEY`]: all copies of an event and all rows of a user live on one shard,
//!   so `FINAL`, per-user aggregation and joins stay shard-local;
//! - every other table (profiles, tokens, admin actions, progress, series, migrations) is
//!   one `Replicated*` table on every node (a ZooKeeper path without `{shard}`);
//! - views are created on every node, reading the `Distributed` tables by their usual
//!   names, so no query and no analyst document changes a table name.
//!
//! DDL runs `ON CLUSTER` (the node-per-shard cluster [`ClusterConfig::nodes_cluster`] for
//! `CREATE`/`DROP` and `Distributed` tables; [`ClusterConfig::name`] for `ALTER` of the
//! sharded local tables, which ClickHouse then runs once per shard). Each rendered statement
//! carries an [`Expect`]: what must be true on every node once it has run. The migrator
//! skips a statement whose expectation already holds and checks it after an error, so a
//! migration cut short (a node down during DDL) converges when run again.

use std::collections::HashMap;

use serde::Deserialize;

use crate::error::{Result, StoreError};

/// The user-keyed tables, sharded by [`SHARDING_KEY`]. A test checks that every table of
/// the migrations with both `tenant_id` and `user_id` columns is either here or in
/// [`NOT_SHARDED_USER_TABLES`].
pub const SHARDED: &[&str] = &[
    "session_events",
    "issue_events",
    "log_lines",
    "user_state_events",
    "user_state",
    "session_state",
    "ingest_touches",
    "session_state_by_cycle",
];

/// Tables with a `user_id` column that stay whole on every node: admin actions are few
/// and read by request id.
pub const NOT_SHARDED_USER_TABLES: &[&str] = &["admin_actions"];

/// How rows of a sharded table are spread over shards.
pub const SHARDING_KEY: &str = "cityHash64(tenant_id, user_id)";

/// Suffix of the local table under a sharded table's `Distributed` table.
pub const LOCAL_SUFFIX: &str = "_local";

/// Where the tables live on a cluster (`[clickhouse.cluster]` in the services' config).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The cluster of shards and replicas (`remote_servers`, `internal_replication` true):
    /// the `Distributed` tables read and write through it.
    pub name: String,
    /// A cluster naming every node as a shard of its own, for DDL that must reach every
    /// node (ClickHouse 18.16 refuses `ALTER ... ON CLUSTER` of a `Distributed` table under
    /// `internal_replication`). Default: `<name>_nodes`.
    #[serde(default)]
    pub nodes_cluster: String,
    /// Prefix of the replicated tables' ZooKeeper paths.
    #[serde(default = "default_zookeeper_prefix")]
    pub zookeeper_prefix: String,
    /// How long an `ON CLUSTER` statement waits for every node, s
    /// (`distributed_ddl_task_timeout`). A node still down then fails the migration; the
    /// statement stays queued for it and the next run checks that it arrived.
    #[serde(default = "default_ddl_timeout_secs")]
    pub ddl_timeout_secs: u64,
    /// Replicas of a shard that must have an insert before it is acknowledged
    /// (`insert_quorum`); 0 or 1: one. With 2 on 2 replicas per shard, a batch is stored
    /// twice before ingest commits its offsets, so a replica lost with its disk loses
    /// nothing and the aggregator never passes rows only a dead replica holds; the price is
    /// that inserts wait (and ingest retries) while a shard has a replica down.
    #[serde(default)]
    pub insert_quorum: u64,
}

fn default_zookeeper_prefix() -> String {
    "/clickhouse/tables".to_owned()
}

fn default_ddl_timeout_secs() -> u64 {
    60
}

impl ClusterConfig {
    /// A cluster config with the defaults.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            nodes_cluster: String::new(),
            zookeeper_prefix: default_zookeeper_prefix(),
            ddl_timeout_secs: default_ddl_timeout_secs(),
            insert_quorum: 0,
        }
    }

    /// The node-per-shard cluster's name.
    pub fn nodes(&self) -> String {
        if self.nodes_cluster.is_empty() {
            format!("{}_nodes", self.name)
        } else {
            self.nodes_cluster.clone()
        }
    }

    /// Checks the values without connecting.
    pub fn validate(&self) -> Result<()> {
        for (what, value) in [
            ("name", self.name.as_str()),
            ("nodes_cluster", &self.nodes()),
        ] {
            if !is_identifier(value) {
                return Err(StoreError::Config(format!(
                    "cluster.{what} must be a name of letters, digits and _, got {value:?}"
                )));
            }
        }
        let prefix_ok = self.zookeeper_prefix.starts_with('/')
            && self.zookeeper_prefix.len() > 1
            && !self.zookeeper_prefix.ends_with('/')
            && self
                .zookeeper_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_-.".contains(c));
        if !prefix_ok {
            return Err(StoreError::Config(format!(
                "cluster.zookeeper_prefix must be an absolute ZooKeeper path without a trailing /, got {:?}",
                self.zookeeper_prefix
            )));
        }
        if self.ddl_timeout_secs == 0 {
            return Err(StoreError::Config(
                "cluster.ddl_timeout_secs must be at least 1".to_owned(),
            ));
        }
        if self.insert_quorum > 16 {
            return Err(StoreError::Config(
                "cluster.insert_quorum (SYNCTEL_CLICKHOUSE_INSERT_QUORUM) must be a number of replicas, at most 16".to_owned(),
            ));
        }
        Ok(())
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What must hold on every node of the cluster once a rendered statement has run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Nothing checkable (data statements: they run once, on the node the migrator uses).
    Nothing,
    /// The database exists on every node.
    Database {
        /// Database.
        database: String,
    },
    /// The table (or view) exists on every node.
    Table {
        /// Database.
        database: String,
        /// Table.
        table: String,
    },
    /// The table exists on no node.
    NoTable {
        /// Database.
        database: String,
        /// Table.
        table: String,
    },
    /// The column exists in the table on every node.
    Column {
        /// Database.
        database: String,
        /// Table.
        table: String,
        /// Column.
        column: String,
    },
}

/// One statement to run on the cluster and what it achieves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The SQL.
    pub sql: String,
    /// Its effect, checked before (to skip) and after an error (to accept).
    pub expect: Expect,
}

#[derive(Debug, Clone)]
enum Kind {
    /// `t_local` + `Distributed` `t`.
    Sharded,
    /// One replicated table on every node; its engine name, engine arguments and the
    /// clauses after the engine (to render `CREATE TABLE x AS t`).
    Everywhere {
        engine: String,
        args: String,
        tail: String,
    },
    View,
}

/// Renders migration statements for a cluster; remembers what earlier statements created
/// (render every migration in order, applied or not).
#[derive(Debug)]
pub struct Renderer {
    cluster: ClusterConfig,
    database: String,
    objects: HashMap<(String, String), Kind>,
}

impl Renderer {
    /// A renderer for `database` on `cluster`.
    pub fn new(cluster: &ClusterConfig, database: &str) -> Self {
        Self {
            cluster: cluster.clone(),
            database: database.to_owned(),
            objects: HashMap::new(),
        }
    }

    /// The statements that apply `statement` (one migration statement, the secrets
    /// database already put in) on the cluster.
    pub fn render(&mut self, statement: &str) -> Result<Vec<Rendered>> {
        let s = statement.trim();
        let words: Vec<String> = s
            .split_whitespace()
            .take(6)
            .map(str::to_ascii_uppercase)
            .collect();
        let starts = |prefix: &[&str]| {
            words.len() >= prefix.len() && prefix.iter().zip(&words).all(|(a, b)| a == b)
        };
        if starts(&["CREATE", "DATABASE", "IF", "NOT", "EXISTS"]) {
            let (name, _) = next_word(after_words(s, 5));
            return Ok(vec![Rendered {
                sql: format!(
                    "CREATE DATABASE IF NOT EXISTS {name} ON CLUSTER {}",
                    self.cluster.nodes()
                ),
                expect: Expect::Database {
                    database: name.to_owned(),
                },
            }]);
        }
        if starts(&["CREATE", "TABLE", "IF", "NOT", "EXISTS"]) {
            return self.create_table(after_words(s, 5));
        }
        if starts(&["CREATE", "MATERIALIZED", "VIEW", "IF", "NOT", "EXISTS"]) {
            return self.create_materialized_view(after_words(s, 6));
        }
        if starts(&["CREATE", "VIEW", "IF", "NOT", "EXISTS"]) {
            return self.create_view(after_words(s, 5));
        }
        if starts(&["DROP", "TABLE", "IF", "EXISTS"]) {
            return self.drop_table(after_words(s, 4));
        }
        if starts(&["ALTER", "TABLE"]) && words.get(3).map(String::as_str) == Some("ADD") {
            return self.add_column(after_words(s, 2));
        }
        if starts(&["INSERT", "INTO"]) {
            return Ok(vec![Rendered {
                sql: s.to_owned(),
                expect: Expect::Nothing,
            }]);
        }
        Err(unsupported(s, "this kind of statement"))
    }

    fn qualify(&self, name: &str) -> (String, String) {
        match name.split_once('.') {
            Some((db, table)) => (db.to_owned(), table.to_owned()),
            None => (self.database.clone(), name.to_owned()),
        }
    }

    fn zookeeper_path(&self, shard: bool, database: &str, table: &str) -> String {
        let prefix = &self.cluster.zookeeper_prefix;
        let level = if shard { "{shard}" } else { "all" };
        format!("{prefix}/{level}/{database}/{table}")
    }

    fn replicated_engine(&self, engine: &str, args: &str, path: &str) -> Result<String> {
        if !engine.ends_with("MergeTree") || engine.starts_with("Replicated") {
            return Err(StoreError::Config(format!(
                "cluster mode: cannot replicate engine {engine}"
            )));
        }
        let args = args.trim();
        let sep = if args.is_empty() { "" } else { ", " };
        Ok(format!(
            "Replicated{engine}('{path}', '{{replica}}'{sep}{args})"
        ))
    }

    fn create_table(&mut self, rest: &str) -> Result<Vec<Rendered>> {
        let (name, rest) = next_word(rest);
        let (database, table) = self.qualify(name);
        let nodes = self.cluster.nodes();
        if let Some(source) = strip_keyword(rest, "AS") {
            let (source, tail) = next_word(source);
            if !tail.trim().is_empty() {
                return Err(unsupported(rest, "CREATE TABLE ... AS with more clauses"));
            }
            let key = self.qualify(source);
            let Some(Kind::Everywhere { engine, args, tail }) = self.objects.get(&key).cloned()
            else {
                return Err(unsupported(
                    rest,
                    "CREATE TABLE ... AS a table not created before",
                ));
            };
            let path = self.zookeeper_path(false, &database, &table);
            let engine_sql = self.replicated_engine(&engine, &args, &path)?;
            self.objects.insert(
                (database.clone(), table.clone()),
                Kind::Everywhere {
                    engine,
                    args,
                    tail: tail.clone(),
                },
            );
            return Ok(vec![Rendered {
                sql: format!(
                    "CREATE TABLE IF NOT EXISTS {database}.{table} ON CLUSTER {nodes} AS {}.{} ENGINE = {engine_sql} {tail}",
                    key.0, key.1
                ),
                expect: Expect::Table { database, table },
            }]);
        }
        let rest = rest.trim_start();
        let close = matching_paren(rest)
            .ok_or_else(|| unsupported(rest, "a column list without its closing parenthesis"))?;
        let columns = &rest[..=close];
        let after = rest[close + 1..].trim_start();
        let engine_part = strip_keyword(after, "ENGINE")
            .and_then(|e| e.trim_start().strip_prefix('='))
            .ok_or_else(|| unsupported(after, "a table without ENGINE ="))?
            .trim_start();
        let open = engine_part
            .find('(')
            .ok_or_else(|| unsupported(engine_part, "an engine without arguments"))?;
        let engine = engine_part[..open].trim().to_owned();
        let args_close = matching_paren(&engine_part[open..])
            .ok_or_else(|| unsupported(engine_part, "engine arguments"))?
            + open;
        let args = engine_part[open + 1..args_close].to_owned();
        let tail = engine_part[args_close + 1..].trim().to_owned();
        if SHARDED.contains(&table.as_str()) && database == self.database {
            let local = format!("{table}{LOCAL_SUFFIX}");
            let path = self.zookeeper_path(true, &database, &local);
            let engine_sql = self.replicated_engine(&engine, &args, &path)?;
            self.objects
                .insert((database.clone(), table.clone()), Kind::Sharded);
            return Ok(vec![
                Rendered {
                    sql: format!(
                        "CREATE TABLE IF NOT EXISTS {database}.{local} ON CLUSTER {nodes} {columns} ENGINE = {engine_sql} {tail}"
                    ),
                    expect: Expect::Table {
                        database: database.clone(),
                        table: local.clone(),
                    },
                },
                Rendered {
                    sql: format!(
                        "CREATE TABLE IF NOT EXISTS {database}.{table} ON CLUSTER {nodes} AS {database}.{local} ENGINE = Distributed({}, {database}, {local}, {SHARDING_KEY})",
                        self.cluster.name
                    ),
                    expect: Expect::Table { database, table },
                },
            ]);
        }
        let path = self.zookeeper_path(false, &database, &table);
        let engine_sql = self.replicated_engine(&engine, &args, &path)?;
        self.objects.insert(
            (database.clone(), table.clone()),
            Kind::Everywhere {
                engine,
                args,
                tail: tail.clone(),
            },
        );
        Ok(vec![Rendered {
            sql: format!(
                "CREATE TABLE IF NOT EXISTS {database}.{table} ON CLUSTER {nodes} {columns} ENGINE = {engine_sql} {tail}"
            ),
            expect: Expect::Table { database, table },
        }])
    }

    fn create_view(&mut self, rest: &str) -> Result<Vec<Rendered>> {
        let (name, rest) = next_word(rest);
        let (database, table) = self.qualify(name);
        let query = strip_keyword(rest, "AS")
            .ok_or_else(|| unsupported(rest, "a view without AS"))?
            .trim();
        let known: Vec<&str> = self
            .objects
            .keys()
            .filter(|(db, _)| *db == self.database)
            .map(|(_, t)| t.as_str())
            .collect();
        let query = qualify_tables(query, &self.database, &known);
        self.objects
            .insert((database.clone(), table.clone()), Kind::View);
        Ok(vec![Rendered {
            sql: format!(
                "CREATE VIEW IF NOT EXISTS {database}.{table} ON CLUSTER {} AS {query}",
                self.cluster.nodes()
            ),
            expect: Expect::Table { database, table },
        }])
    }

    /// `CREATE MATERIALIZED VIEW v TO t AS SELECT ... FROM s`: a sharded target and source
    /// become their local tables (the view runs on the replica an insert reaches, and a
    /// user's rows stay on their shard); a target and source both replicated everywhere are
    /// only qualified. Mixing the two is refused.
    fn create_materialized_view(&mut self, rest: &str) -> Result<Vec<Rendered>> {
        let (name, rest) = next_word(rest);
        let (database, view) = self.qualify(name);
        let after_to = strip_keyword(rest, "TO")
            .ok_or_else(|| unsupported(rest, "a materialized view without TO"))?;
        let (target, after_target) = next_word(after_to);
        let query = strip_keyword(after_target, "AS")
            .ok_or_else(|| unsupported(after_target, "a materialized view without AS"))?
            .trim();
        let target = self.qualify(target);
        let sharded = match self.objects.get(&target) {
            Some(Kind::Sharded) => true,
            Some(Kind::Everywhere { .. }) => false,
            _ => {
                return Err(unsupported(
                    rest,
                    "a materialized view into a table not created before",
                ))
            }
        };
        let mut mixed = false;
        let query = rename_tables(query, |word| {
            let key = self.qualify(word);
            match self.objects.get(&key) {
                Some(Kind::Sharded) => {
                    mixed |= !sharded;
                    Some(format!("{}.{}{LOCAL_SUFFIX}", key.0, key.1))
                }
                Some(Kind::Everywhere { .. }) => {
                    mixed |= sharded;
                    Some(format!("{}.{}", key.0, key.1))
                }
                _ => None,
            }
        });
        if mixed {
            return Err(unsupported(
                rest,
                "a materialized view between a sharded and a replicated-everywhere table",
            ));
        }
        let target_sql = if sharded {
            format!("{}.{}{LOCAL_SUFFIX}", target.0, target.1)
        } else {
            format!("{}.{}", target.0, target.1)
        };
        self.objects
            .insert((database.clone(), view.clone()), Kind::View);
        Ok(vec![Rendered {
            sql: format!(
                "CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.{view} ON CLUSTER {} TO {target_sql} AS {query}",
                self.cluster.nodes()
            ),
            expect: Expect::Table {
                database,
                table: view,
            },
        }])
    }

    fn drop_table(&mut self, rest: &str) -> Result<Vec<Rendered>> {
        let (name, tail) = next_word(rest);
        if !tail.trim().is_empty() {
            return Err(unsupported(rest, "DROP TABLE with more clauses"));
        }
        let key = self.qualify(name);
        let kind = self.objects.remove(&key);
        let mut names = vec![key.1.clone()];
        if matches!(kind, Some(Kind::Sharded)) {
            names.push(format!("{}{LOCAL_SUFFIX}", key.1));
        }
        Ok(names
            .into_iter()
            .map(|table| Rendered {
                sql: format!(
                    "DROP TABLE IF EXISTS {}.{table} ON CLUSTER {}",
                    key.0,
                    self.cluster.nodes()
                ),
                expect: Expect::NoTable {
                    database: key.0.clone(),
                    table,
                },
            })
            .collect())
    }

    fn add_column(&mut self, rest: &str) -> Result<Vec<Rendered>> {
        let (name, rest) = next_word(rest);
        let key = self.qualify(name);
        let definition = strip_keyword(rest, "ADD")
            .and_then(|r| strip_keyword(r, "COLUMN"))
            .ok_or_else(|| unsupported(rest, "ALTER TABLE other than ADD COLUMN"))?
            .trim();
        let (column, _) = next_word(definition);
        let (database, table) = key.clone();
        let column = column.to_owned();
        match self.objects.get(&key) {
            Some(Kind::Sharded) => {
                let local = format!("{table}{LOCAL_SUFFIX}");
                Ok(vec![
                    Rendered {
                        sql: format!(
                            "ALTER TABLE {database}.{local} ON CLUSTER {} ADD COLUMN {definition}",
                            self.cluster.name
                        ),
                        expect: Expect::Column {
                            database: database.clone(),
                            table: local,
                            column: column.clone(),
                        },
                    },
                    Rendered {
                        sql: format!(
                            "ALTER TABLE {database}.{table} ON CLUSTER {} ADD COLUMN {definition}",
                            self.cluster.nodes()
                        ),
                        expect: Expect::Column {
                            database,
                            table,
                            column,
                        },
                    },
                ])
            }
            // A replicated table's ALTER reaches every replica through ZooKeeper (a replica
            // down catches up when it starts): run once, on the migrator's node.
            Some(Kind::Everywhere { .. }) => Ok(vec![Rendered {
                sql: format!("ALTER TABLE {database}.{table} ADD COLUMN {definition}"),
                expect: Expect::Column {
                    database,
                    table,
                    column,
                },
            }]),
            _ => Err(unsupported(name, "ALTER of a table not created before")),
        }
    }
}

fn unsupported(sql: &str, what: &str) -> StoreError {
    let head: String = sql.chars().take(80).collect();
    StoreError::Config(format!(
        "cluster mode cannot render {what}: {head:?}; extend store::cluster"
    ))
}

/// `s` after its first `n` whitespace-separated words.
fn after_words(s: &str, n: usize) -> &str {
    let mut rest = s.trim_start();
    for _ in 0..n {
        rest = next_word(rest).1;
    }
    rest
}

/// The first word of `s` (up to whitespace or `(`), and what follows it.
fn next_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let end = s
        .find(|c: char| c.is_whitespace() || c == '(')
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// `s` after the keyword `kw` (case-insensitive, leading whitespace skipped), if it starts
/// with it as a whole word.
fn strip_keyword<'a>(s: &'a str, kw: &str) -> Option<&'a str> {
    let s = s.trim_start();
    let head = s.get(..kw.len())?;
    let after = &s[kw.len()..];
    let boundary = after
        .chars()
        .next()
        .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
    (head.eq_ignore_ascii_case(kw) && boundary).then_some(after)
}

/// Index of the `)` matching the `(` that `s` starts with, outside quotes.
fn matching_paren(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' | '`' => quote = Some(c),
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `query` with every table of `known` named right after `FROM` or `JOIN` (outside quotes)
/// prefixed by `database.`: a view created `ON CLUSTER` runs on each node without the
/// migrator's current database, and ClickHouse binds a view's tables when it is created.
pub fn qualify_tables(query: &str, database: &str, known: &[&str]) -> String {
    rename_tables(query, |word| {
        known.contains(&word).then(|| format!("{database}.{word}"))
    })
}

/// `query` with every table named right after `FROM` or `JOIN` (outside quotes and
/// comments, not already qualified) replaced by what `rename` gives for it (kept when `None`).
fn rename_tables(query: &str, mut rename: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(query.len() + 64);
    let chars: Vec<(usize, char)> = query.char_indices().collect();
    let mut quote: Option<char> = None;
    let mut i = 0;
    let word_at = |i: usize| -> Option<(usize, usize)> {
        let start = chars[i].0;
        let mut j = i;
        while j < chars.len() && (chars[j].1.is_ascii_alphanumeric() || chars[j].1 == '_') {
            j += 1;
        }
        (j > i).then(|| (start, chars.get(j).map_or(query.len(), |c| c.0)))
    };
    let mut pending_keyword = false;
    while i < chars.len() {
        let (pos, c) = chars[i];
        if let Some(q) = quote {
            out.push(c);
            if c == '\\' && i + 1 < chars.len() {
                out.push(chars[i + 1].1);
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == '-' && chars.get(i + 1).is_some_and(|n| n.1 == '-') {
            // A comment, to the end of its line, as it is (an apostrophe in it is no quote).
            while i < chars.len() && chars[i].1 != '\n' {
                out.push(chars[i].1);
                i += 1;
            }
            continue;
        }
        if matches!(c, '\'' | '"' | '`') {
            quote = Some(c);
            pending_keyword = false;
            out.push(c);
            i += 1;
            continue;
        }
        let at_boundary =
            i == 0 || !(chars[i - 1].1.is_ascii_alphanumeric() || chars[i - 1].1 == '_');
        if (c.is_ascii_alphabetic() || c == '_') && at_boundary {
            let (start, end) = word_at(i).unwrap_or((pos, pos));
            let word = &query[start..end];
            let next = query[end..].chars().next();
            match (pending_keyword && next != Some('.'))
                .then(|| rename(word))
                .flatten()
            {
                Some(renamed) => out.push_str(&renamed),
                None => out.push_str(word),
            }
            pending_keyword =
                word.eq_ignore_ascii_case("FROM") || word.eq_ignore_ascii_case("JOIN");
            i += word.chars().count();
            continue;
        }
        if !c.is_whitespace() {
            pending_keyword = false;
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::{MIGRATIONS, SECRETS_DATABASE};

    fn render_all(db: &str) -> Vec<Rendered> {
        let cluster = ClusterConfig::new("synctel");
        let mut r = Renderer::new(&cluster, db);
        let mut out = Vec::new();
        for m in MIGRATIONS {
            for s in m.statements() {
                let s = s.replace(SECRETS_DATABASE, &format!("{db}_secrets"));
                out.extend(r.render(&s).expect("every migration renders"));
            }
        }
        out
    }

    #[test]
    fn every_migration_renders_for_a_cluster() {
        let all = render_all("db");
        for r in &all {
            if r.expect != Expect::Nothing {
                assert!(
                    r.sql.contains(" ON CLUSTER ") || r.sql.starts_with("ALTER TABLE db."),
                    "{}",
                    r.sql
                );
            }
        }
        let sql: Vec<&str> = all.iter().map(|r| r.sql.as_str()).collect();
        let joined = sql.join("\n");
        assert!(joined.contains(
            "CREATE TABLE IF NOT EXISTS db.session_events ON CLUSTER synctel_nodes AS db.session_events_local ENGINE = Distributed(synctel, db, session_events_local, cityHash64(tenant_id, user_id))"
        ));
        assert!(joined.contains(
            "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/user_state_local', '{replica}', version)"
        ));
        assert!(joined.contains(
            "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/db/aggregator_progress', '{replica}', version)"
        ));
        assert!(joined.contains(
            "CREATE TABLE IF NOT EXISTS db.api_tokens ON CLUSTER synctel_nodes AS db_secrets.api_tokens ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/db/api_tokens', '{replica}', version) ORDER BY token_id"
        ));
        assert!(joined.contains("ALTER TABLE db.dead_letters ADD COLUMN payload_bytes"));
        assert!(
            joined.contains("FROM db.session_events\n"),
            "views read qualified tables"
        );
        // Only the passed-through INSERTs (run in the migrator's database) name it bare.
        assert!(all
            .iter()
            .filter(|r| r.expect != Expect::Nothing)
            .all(|r| !r.sql.contains("FROM session_events")));
        assert!(joined.contains(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS db.ingest_touches_sessions ON CLUSTER synctel_nodes TO db.ingest_touches_local AS SELECT"
        ));
        assert!(joined.contains("FROM db.session_events_local\nGROUP BY"));
    }

    #[test]
    fn a_materialized_view_cannot_mix_sharded_and_everywhere_tables() {
        let cluster = ClusterConfig::new("synctel");
        let mut r = Renderer::new(&cluster, "db");
        r.render("CREATE TABLE IF NOT EXISTS session_events (tenant_id String, user_id String) ENGINE = MergeTree() ORDER BY tenant_id")
            .unwrap();
        r.render(
            "CREATE TABLE IF NOT EXISTS progress (name String) ENGINE = MergeTree() ORDER BY name",
        )
        .unwrap();
        let err = r
            .render("CREATE MATERIALIZED VIEW IF NOT EXISTS v TO progress AS SELECT tenant_id AS name FROM session_events")
            .unwrap_err();
        assert!(
            err.to_string().contains("materialized view between"),
            "{err}"
        );
    }

    #[test]
    fn every_user_keyed_table_is_sharded_or_listed() {
        for m in MIGRATIONS {
            for s in m.statements() {
                let upper = s.to_ascii_uppercase();
                if !upper.starts_with("CREATE TABLE")
                    || upper.contains(" AS ") && !upper.contains('(')
                {
                    continue;
                }
                let (name, _) = next_word(after_words(&s, 5));
                let table = name.rsplit('.').next().unwrap_or(name);
                let columns = &s[..s.find("ENGINE").unwrap_or(s.len())];
                let user_keyed =
                    columns.contains("tenant_id String") && columns.contains("user_id String");
                if user_keyed {
                    assert!(
                        SHARDED.contains(&table) || NOT_SHARDED_USER_TABLES.contains(&table),
                        "{table} has tenant_id and user_id: shard it (SHARDED) or list it in NOT_SHARDED_USER_TABLES"
                    );
                }
            }
        }
    }

    #[test]
    fn sharded_alters_run_per_shard_and_on_the_distributed_table() {
        let cluster = ClusterConfig::new("c");
        let mut r = Renderer::new(&cluster, "db");
        r.render("CREATE TABLE IF NOT EXISTS log_lines (tenant_id String, user_id String) ENGINE = ReplacingMergeTree() ORDER BY (tenant_id, user_id)")
            .unwrap();
        let out = r
            .render("ALTER TABLE log_lines ADD COLUMN extra UInt8 DEFAULT 0 AFTER user_id")
            .unwrap();
        assert_eq!(
            out.iter().map(|r| r.sql.as_str()).collect::<Vec<_>>(),
            vec![
                "ALTER TABLE db.log_lines_local ON CLUSTER c ADD COLUMN extra UInt8 DEFAULT 0 AFTER user_id",
                "ALTER TABLE db.log_lines ON CLUSTER c_nodes ADD COLUMN extra UInt8 DEFAULT 0 AFTER user_id",
            ]
        );
        assert!(r.render("ALTER TABLE nope ADD COLUMN x UInt8").is_err());
        assert!(r.render("OPTIMIZE TABLE log_lines").is_err());
        let dropped = r.render("DROP TABLE IF EXISTS log_lines").unwrap();
        assert_eq!(dropped.len(), 2);
    }

    #[test]
    fn qualifies_only_known_tables_after_from_and_join() {
        let q = "SELECT 'FROM t' AS s, x FROM t FINAL JOIN (SELECT y FROM u) USING x \
                 LEFT JOIN other.t USING z WHERE a IN (SELECT a FROM\n  t) AND from_t = 1";
        assert_eq!(
            qualify_tables(q, "db", &["t", "u"]),
            "SELECT 'FROM t' AS s, x FROM db.t FINAL JOIN (SELECT y FROM db.u) USING x \
             LEFT JOIN other.t USING z WHERE a IN (SELECT a FROM\n  db.t) AND from_t = 1"
        );
        // An apostrophe in a comment opens no quote; a comment's words stay as they are.
        let q = "-- the user's rows FROM t\nSELECT x FROM t";
        assert_eq!(
            qualify_tables(q, "db", &["t"]),
            "-- the user's rows FROM t\nSELECT x FROM db.t"
        );
    }

    #[test]
    fn config_is_validated() {
        assert!(ClusterConfig::new("synctel").validate().is_ok());
        assert!(ClusterConfig::new("bad name").validate().is_err());
        let mut c = ClusterConfig::new("c");
        c.zookeeper_prefix = "relative".to_owned();
        assert!(c.validate().is_err());
        c.zookeeper_prefix = "/x/".to_owned();
        assert!(c.validate().is_err());
        assert_eq!(ClusterConfig::new("c").nodes(), "c_nodes");
    }
}
