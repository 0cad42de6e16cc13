//! Rewrites: migrations that change what a table's layout cannot be altered to (its index
//! granularity, its sort key), run as a procedure instead of as written.
//!
//! A rewrite migration's file holds the procedure's inputs, in this order:
//! - `CREATE TABLE IF NOT EXISTS <table> (...)`: the table's new definition;
//! - `CREATE MATERIALIZED VIEW IF NOT EXISTS <view> TO ... FROM <table> ...`: every view that
//!   reads the table, created again over the new one;
//! - one `INSERT INTO ... SELECT ... FROM <table> WHERE ingested_at >= toDateTime(?) ...`:
//!   what marks the rows ingested since a time for the aggregator to recompute (stamped now).
//!
//! The procedure, on one server or a cluster (where the rows live in `<table>_local` and
//! the statements run `ON CLUSTER`):
//! 1. the new definition is created as `<table>_rewrite<N>` (N: the migration's version)
//!    and every row is copied into it;
//! 2. `RENAME` swaps the tables: `<table>` is the new one, the old is `<table>_before<N>`;
//! 3. the views are dropped and created again (after a rename, ClickHouse 18.16 leaves a
//!    view reading the name, current ClickHouse the renamed table: created again, both read
//!    the new one);
//! 4. the rows the old table got since the copy began are copied over (duplicates merge
//!    away: the raw tables are `ReplacingMergeTree`s keyed by the event's identity);
//! 5. the rows ingested since the copy began are marked for recomputation, stamped now: an
//!    aggregator cycle that ran between 2 and 4 saw them only in part, and the views missed
//!    the inserts of the moment between 2 and 3;
//! 6. the old table is dropped.
//!
//! Writers may go on during it. A crash leaves a state the next run recognises and takes
//! up: a scratch table without the swap is dropped and the copy starts again; after the
//! swap, steps 3 to 6 run again (from a day before the old table's last row, the copy's
//! start being unknown then). A lock table (`schema_rewrite_lock`, created without
//! `IF NOT EXISTS`: one creator wins) keeps two migrators from rewriting at once; one left
//! by a killed run is dropped by hand (the error says so).
//!
//! Services apply a rewrite at start only when the table is empty (a new install, a test);
//! otherwise they leave it pending and run on the old layout ([`Outcome::Deferred`]) until
//! an operator runs `migrate --rewrite`, because a copy of a large table takes minutes and
//! doubles its disk use meanwhile.

use std::time::Duration;

use clickhouse::Client;

use crate::cluster::{ClusterConfig, LOCAL_SUFFIX, SHARDING_KEY};
use crate::error::{Result, StoreError};
use crate::migrate::Migration;

/// The lock table's name.
pub const LOCK_TABLE: &str = "schema_rewrite_lock";

/// How far before the copy's start rows are copied over again: a batch is stamped with
/// `ingested_at` when ingest builds it, a little before it is inserted.
const MARGIN_SECS: u32 = 3_600;

/// After a crash past the swap, how far before the old table's last row the copy is taken
/// to have begun.
const RESUME_MARGIN_SECS: u32 = 86_400;

/// Whether a rewrite runs when its table has rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only on an empty table (services at start).
    IfEmpty,
    /// Always (`migrate --rewrite`, an operator's choice).
    Always,
}

/// What [`run`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The table has its new layout.
    Applied,
    /// Left pending: the table has `rows` rows and the mode was [`Mode::IfEmpty`], or another
    /// migrator holds the lock (`rows` is then 0 when it was empty).
    Deferred {
        /// Rows in the table.
        rows: u64,
    },
}

/// The statements of one rewrite, for one server or a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    version: u32,
    /// The table's name in queries (on a cluster its `Distributed` table).
    table: String,
    /// The table holding the rows (on a cluster `<table>_local`).
    data: String,
    old_data: String,
    /// What `INSERT ... SELECT` reads the old rows from (on a cluster a `Distributed`
    /// table over `old_data`, created after the swap).
    old_read: String,
    /// Text of `SHOW CREATE TABLE <data>` once rewritten.
    marker: String,
    lock_create: String,
    lock_drop: String,
    create_scratch: Vec<String>,
    drop_scratch: Vec<String>,
    copy: String,
    rename: String,
    /// On a cluster: the scratch `Distributed` table dropped, one over the old rows created.
    after_rename: Vec<String>,
    drop_views: Vec<String>,
    create_views: Vec<String>,
    catch_up: String,
    touches: String,
    drop_old: Vec<String>,
}

/// The parts of a rewrite migration's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parts {
    /// The table rewritten.
    pub(crate) table: String,
    /// Its `CREATE TABLE` statement.
    pub(crate) create: String,
    /// The views' names and `CREATE MATERIALIZED VIEW` statements.
    pub(crate) views: Vec<(String, String)>,
    /// The recomputation mark, with one `?` (the time since when).
    pub(crate) touches: String,
    /// The setting that tells the new layout in `SHOW CREATE TABLE`.
    pub(crate) marker: String,
}

fn invalid(migration: &Migration, what: &str) -> StoreError {
    StoreError::Config(format!(
        "rewrite migration {:04}_{}: {what}",
        migration.version, migration.name
    ))
}

/// Splits a rewrite migration's statements into [`Parts`].
pub(crate) fn parts(migration: &Migration) -> Result<Parts> {
    let statements = migration.statements();
    let mut create = None;
    let mut views = Vec::new();
    let mut touches = None;
    for s in statements {
        let words: Vec<String> = s
            .split_whitespace()
            .take(6)
            .map(str::to_ascii_uppercase)
            .collect();
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        if w.starts_with(&["CREATE", "TABLE", "IF", "NOT", "EXISTS"]) && create.is_none() {
            create = Some(s);
        } else if w.starts_with(&["CREATE", "MATERIALIZED", "VIEW", "IF", "NOT", "EXISTS"]) {
            let name = s.split_whitespace().nth(6).unwrap_or_default().to_owned();
            views.push((name, s));
        } else if w.starts_with(&["INSERT", "INTO"]) && touches.is_none() {
            touches = Some(s);
        } else {
            return Err(invalid(migration, &format!("unexpected statement: {s}")));
        }
    }
    let create = create.ok_or_else(|| invalid(migration, "no CREATE TABLE"))?;
    let touches =
        touches.ok_or_else(|| invalid(migration, "no INSERT (the recomputation mark)"))?;
    if touches.matches('?').count() != 1 {
        return Err(invalid(migration, "the INSERT must have exactly one `?`"));
    }
    let table = create
        .split_whitespace()
        .nth(5)
        .map(|t| t.trim_end_matches('('))
        .unwrap_or_default()
        .to_owned();
    let marker = create
        .rsplit_once("SETTINGS")
        .map(|(_, s)| s.trim().to_owned())
        .ok_or_else(|| {
            invalid(
                migration,
                "the new definition has no SETTINGS to tell it by",
            )
        })?;
    Ok(Parts {
        table,
        create,
        views,
        touches,
        marker,
    })
}

/// `statement` with its first `CREATE TABLE IF NOT EXISTS <from>` naming `to` instead.
fn renamed_create(statement: &str, from: &str, to: &str) -> String {
    let head = format!("CREATE TABLE IF NOT EXISTS {from}");
    match statement.strip_prefix(&head) {
        Some(rest) => format!("CREATE TABLE IF NOT EXISTS {to}{rest}"),
        None => statement.to_owned(),
    }
}

impl Plan {
    /// The plan on one server.
    pub(crate) fn single(version: u32, parts: &Parts) -> Self {
        let table = parts.table.clone();
        let scratch = format!("{table}_rewrite{version}");
        let old = format!("{table}_before{version}");
        Plan {
            version,
            data: table.clone(),
            old_data: old.clone(),
            old_read: old.clone(),
            marker: parts.marker.clone(),
            lock_create: format!(
                "CREATE TABLE {LOCK_TABLE} (version UInt32, started DateTime) ENGINE = Log"
            ),
            lock_drop: format!("DROP TABLE IF EXISTS {LOCK_TABLE}"),
            create_scratch: vec![renamed_create(&parts.create, &table, &scratch)],
            drop_scratch: vec![format!("DROP TABLE IF EXISTS {scratch}")],
            copy: format!("INSERT INTO {scratch} SELECT * FROM {table}"),
            rename: format!("RENAME TABLE {table} TO {old}, {scratch} TO {table}"),
            after_rename: Vec::new(),
            drop_views: parts
                .views
                .iter()
                .map(|(name, _)| format!("DROP TABLE IF EXISTS {name}"))
                .collect(),
            create_views: parts.views.iter().map(|(_, sql)| sql.clone()).collect(),
            catch_up: format!(
                "INSERT INTO {table} SELECT * FROM {old} WHERE ingested_at >= toDateTime(?)"
            ),
            touches: parts.touches.clone(),
            drop_old: vec![format!("DROP TABLE IF EXISTS {old}")],
            table,
        }
    }

    /// The plan on a cluster: `create_local` and `create_views` are the migration's
    /// statements as [`crate::cluster::Renderer`] rendered them.
    pub(crate) fn cluster(
        version: u32,
        parts: &Parts,
        database: &str,
        cluster: &ClusterConfig,
        create_local: &str,
        create_views: Vec<String>,
    ) -> Self {
        let nodes = cluster.nodes();
        let table = parts.table.clone();
        let data = format!("{table}{LOCAL_SUFFIX}");
        let scratch = format!("{table}_rewrite{version}");
        let scratch_data = format!("{scratch}{LOCAL_SUFFIX}");
        let old = format!("{table}_before{version}");
        let old_data = format!("{old}{LOCAL_SUFFIX}");
        let q = |t: &str| format!("{database}.{t}");
        let distributed = |name: &str, local: &str| {
            format!(
                "CREATE TABLE IF NOT EXISTS {} ON CLUSTER {nodes} AS {} ENGINE = Distributed({}, {database}, {local}, {SHARDING_KEY})",
                q(name),
                q(local),
                cluster.name
            )
        };
        let drop = |t: &str| format!("DROP TABLE IF EXISTS {} ON CLUSTER {nodes}", q(t));
        Plan {
            version,
            marker: parts.marker.clone(),
            lock_create: format!(
                "CREATE TABLE {} ON CLUSTER {nodes} (version UInt32, started DateTime) ENGINE = Log",
                q(LOCK_TABLE)
            ),
            lock_drop: drop(LOCK_TABLE),
            // The local table's ZooKeeper path names the scratch table: a path is never
            // reused while the old table still holds it.
            create_scratch: vec![
                create_local.replace(&data, &scratch_data),
                distributed(&scratch, &scratch_data),
            ],
            drop_scratch: vec![drop(&scratch), drop(&scratch_data)],
            copy: format!("INSERT INTO {} SELECT * FROM {}", q(&scratch), q(&table)),
            rename: format!(
                "RENAME TABLE {} TO {}, {} TO {} ON CLUSTER {nodes}",
                q(&data),
                q(&old_data),
                q(&scratch_data),
                q(&data)
            ),
            after_rename: vec![drop(&scratch), distributed(&old, &old_data)],
            drop_views: parts.views.iter().map(|(name, _)| drop(name)).collect(),
            create_views,
            catch_up: format!(
                "INSERT INTO {} SELECT * FROM {} WHERE ingested_at >= toDateTime(?)",
                q(&table),
                q(&old)
            ),
            touches: parts.touches.clone(),
            drop_old: vec![drop(&old), drop(&old_data)],
            table,
            data,
            old_data,
            old_read: old,
        }
    }
}

#[cfg(test)]
impl Plan {
    /// Every statement of a run that goes through without a hitch, in order, with
    /// `-- params:` comments for the portability check
    /// (`deploy/clickhouse/portability/rewrite.sql` is this, for migration 0017 on one
    /// server; a unit test keeps them equal). `since` is the literal the check binds.
    pub(crate) fn script(&self, since: u32) -> String {
        let params = |name: &str, value: u32| format!("-- params: {name} UInt32 = {value}\n");
        let mut out = vec![
            self.lock_create.clone(),
            format!(
                "{}INSERT INTO {LOCK_TABLE} (version, started) VALUES (?, now())",
                params("version", self.version)
            ),
        ];
        out.extend(self.drop_scratch.iter().cloned());
        out.extend(self.create_scratch.iter().cloned());
        out.push(self.copy.clone());
        out.push(self.rename.clone());
        out.extend(self.after_rename.iter().cloned());
        out.extend(self.drop_views.iter().cloned());
        out.extend(self.create_views.iter().cloned());
        out.push(format!("{}{}", params("since_s", since), self.catch_up));
        out.push(format!("{}{}", params("since_s", since), self.touches));
        out.extend(self.drop_old.iter().cloned());
        out.push(self.lock_drop.clone());
        out.into_iter()
            .map(|s| format!("{s};\n"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Where a rewrite stands, read off the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The table has its old layout (a scratch table may be left from a crash).
    Before,
    /// Swapped; the old table is still there.
    Swapped,
    /// Done.
    Done,
}

async fn exists(client: &Client, table: &str) -> Result<bool> {
    Ok(client
        .query("SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = ?")
        .bind(table)
        .fetch_one::<u64>()
        .await?
        > 0)
}

async fn state(client: &Client, plan: &Plan) -> Result<State> {
    let create: String = client
        .query(&format!("SHOW CREATE TABLE {}", plan.data))
        .fetch_one()
        .await?;
    let rewritten = create.contains(&plan.marker);
    Ok(match (rewritten, exists(client, &plan.old_data).await?) {
        (false, _) => State::Before,
        (true, true) => State::Swapped,
        (true, false) => State::Done,
    })
}

async fn run_all(client: &Client, statements: &[String]) -> Result<()> {
    for s in statements {
        client.query(s).execute().await?;
    }
    Ok(())
}

/// Runs the rewrite of `plan` (see the module's documentation).
pub(crate) async fn run(client: &Client, plan: &Plan, mode: Mode) -> Result<Outcome> {
    let rows: u64 = client
        .query(&format!("SELECT count() FROM {}", plan.table))
        .fetch_one()
        .await?;
    let before = state(client, plan).await?;
    if before == State::Done {
        return Ok(Outcome::Applied);
    }
    if mode == Mode::IfEmpty && rows > 0 {
        return Ok(Outcome::Deferred { rows });
    }
    if let Err(e) = client
        .query(&plan.lock_create)
        .execute()
        .await
        .map_err(StoreError::from)
    {
        if !exists(client, LOCK_TABLE).await? {
            return Err(e);
        }
        if mode == Mode::IfEmpty {
            return Ok(Outcome::Deferred { rows });
        }
        return Err(StoreError::Config(format!(
            "another migrator is rewriting {} ({LOCK_TABLE} exists); if none is running (one was \
             killed), DROP TABLE {LOCK_TABLE} and run again",
            plan.table
        )));
    }
    let _ = client
        .query(&format!(
            "INSERT INTO {LOCK_TABLE} (version, started) VALUES (?, now())"
        ))
        .bind(plan.version)
        .execute()
        .await;
    let result = steps(client, plan).await;
    if let Err(e) = client.query(&plan.lock_drop).execute().await {
        tracing::warn!(error = %e, "could not drop {LOCK_TABLE}: drop it by hand");
    }
    result.map(|()| Outcome::Applied)
}

async fn steps(client: &Client, plan: &Plan) -> Result<()> {
    let mut since: Option<u32> = None;
    loop {
        match state(client, plan).await? {
            State::Done => return Ok(()),
            State::Before => {
                run_all(client, &plan.drop_scratch).await?;
                run_all(client, &plan.create_scratch).await?;
                let now: u32 = client.query("SELECT toUInt32(now())").fetch_one().await?;
                since = Some(now.saturating_sub(MARGIN_SECS));
                tracing::info!(table = %plan.table, "rewrite: copying every row");
                let started = std::time::Instant::now();
                client.query(&plan.copy).execute().await?;
                tracing::info!(table = %plan.table, secs = started.elapsed().as_secs_f64(), "rewrite: copied; swapping");
                client.query(&plan.rename).execute().await?;
            }
            State::Swapped => {
                run_all(client, &plan.after_rename).await?;
                run_all(client, &plan.drop_views).await?;
                run_all(client, &plan.create_views).await?;
                let since = match since {
                    Some(s) => s,
                    None => {
                        let last: u32 = client
                            .query(&format!(
                                "SELECT toUInt32(max(ingested_at)) FROM {}",
                                plan.old_read
                            ))
                            .fetch_one()
                            .await?;
                        last.saturating_sub(RESUME_MARGIN_SECS)
                    }
                };
                client.query(&plan.catch_up).bind(since).execute().await?;
                client.query(&plan.touches).bind(since).execute().await?;
                run_all(client, &plan.drop_old).await?;
                tracing::info!(table = %plan.table, "rewrite: done");
            }
        }
        // A statement of ON CLUSTER DDL answers once every node ran it; give the state
        // query a moment on a busy server.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::migrate::MIGRATIONS;

    fn session_events() -> (&'static Migration, Parts) {
        let m = MIGRATIONS.iter().find(|m| m.rewrite).unwrap();
        (m, parts(m).unwrap())
    }

    #[test]
    fn the_session_events_rewrite_reads_as_a_plan() {
        let (m, p) = session_events();
        assert_eq!(m.version, 17);
        assert_eq!(p.table, "session_events");
        assert_eq!(p.marker, "index_granularity = 1024");
        assert_eq!(p.views.len(), 1);
        assert_eq!(p.views[0].0, "ingest_touches_sessions");
        let plan = Plan::single(m.version, &p);
        assert!(plan.create_scratch[0]
            .starts_with("CREATE TABLE IF NOT EXISTS session_events_rewrite17\n("));
        assert!(plan.create_scratch[0].ends_with("SETTINGS index_granularity = 1024"));
        assert_eq!(
            plan.rename,
            "RENAME TABLE session_events TO session_events_before17, \
             session_events_rewrite17 TO session_events"
        );
        assert_eq!(plan.touches.matches('?').count(), 1);
    }

    #[test]
    fn on_a_cluster_the_local_tables_are_swapped_and_the_paths_not_reused() {
        let (m, p) = session_events();
        let cluster = ClusterConfig::new("c");
        let local = "CREATE TABLE IF NOT EXISTS db.session_events_local ON CLUSTER c_nodes (x String) \
             ENGINE = ReplicatedReplacingMergeTree('/synctel/{shard}/db/session_events_local', '{replica}') \
             ORDER BY x SETTINGS index_granularity = 1024";
        let plan = Plan::cluster(
            m.version,
            &p,
            "db",
            &cluster,
            local,
            vec!["CREATE MATERIALIZED VIEW v".into()],
        );
        assert!(plan.create_scratch[0].contains("db.session_events_rewrite17_local ON CLUSTER"));
        assert!(
            plan.create_scratch[0].contains("'/synctel/{shard}/db/session_events_rewrite17_local'")
        );
        assert!(plan.create_scratch[1].contains(
            "db.session_events_rewrite17 ON CLUSTER c_nodes AS db.session_events_rewrite17_local \
             ENGINE = Distributed(c, db, session_events_rewrite17_local, cityHash64(tenant_id, user_id))"
        ));
        assert_eq!(
            plan.rename,
            "RENAME TABLE db.session_events_local TO db.session_events_before17_local, \
             db.session_events_rewrite17_local TO db.session_events_local ON CLUSTER c_nodes"
        );
        assert_eq!(
            plan.copy,
            "INSERT INTO db.session_events_rewrite17 SELECT * FROM db.session_events"
        );
        assert!(plan
            .catch_up
            .contains("FROM db.session_events_before17 WHERE"));
        assert_eq!(
            plan.drop_views,
            vec!["DROP TABLE IF EXISTS db.ingest_touches_sessions ON CLUSTER c_nodes"]
        );
        assert_eq!(plan.data, "session_events_local");
        assert_eq!(plan.old_data, "session_events_before17_local");
    }

    /// The portability check runs the rewrite's statements on 18.16 and current ClickHouse
    /// from this file: it must be what the plan runs.
    #[test]
    fn the_portability_file_is_the_plan() {
        let (m, p) = session_events();
        let header = "-- Migration 0017's rewrite on one server, statement by statement, as \
                      store::rewrite runs it\n-- when nothing goes wrong (generated: a unit test \
                      of store/src/rewrite.rs keeps this file equal\n-- to the plan). The check \
                      binds a `since` in the future, so the catch-up copies nothing.\n\n";
        let want = format!(
            "{header}{}",
            Plan::single(m.version, &p).script(4_000_000_000)
        );
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/clickhouse/portability/rewrite.sql"
        );
        let have = std::fs::read_to_string(path).unwrap_or_default();
        if have != want {
            if std::env::var_os("SYNCTEL_WRITE_REWRITE_SQL").is_some() {
                std::fs::write(path, &want).unwrap();
            }
            panic!("{path} differs from the plan; SYNCTEL_WRITE_REWRITE_SQL=1 writes it");
        }
    }

    #[test]
    fn a_malformed_rewrite_is_refused() {
        let bad = Migration {
            version: 99,
            name: "bad",
            sql: "CREATE TABLE IF NOT EXISTS t (x String) ENGINE = MergeTree() ORDER BY x;\nSELECT 1;",
            rewrite: true,
        };
        assert!(parts(&bad)
            .unwrap_err()
            .to_string()
            .contains("unexpected statement"));
        let no_settings = Migration {
            sql: "CREATE TABLE IF NOT EXISTS t (x String) ENGINE = MergeTree() ORDER BY x;\n\
                  INSERT INTO u SELECT x FROM t WHERE y >= ?;",
            ..bad
        };
        assert!(parts(&no_settings)
            .unwrap_err()
            .to_string()
            .contains("SETTINGS"));
    }
}
