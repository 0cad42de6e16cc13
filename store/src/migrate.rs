//! Numbered, append-only migrations and the migrator.
//!
//! Migration files live in `deploy/clickhouse/migrations/NNNN_name.sql` and are embedded
//! here. The migrator creates the database if needed, records each applied migration with
//! its SHA-256 in `schema_migrations`, applies the pending ones in order, and refuses to go
//! on when an applied migration changed (checksum drift) or the database knows a migration
//! this binary does not. Statements are idempotent (`IF NOT EXISTS`), so a migration cut
//! short by a crash is simply applied again.

use clickhouse::Client;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::client::ClickHouseConfig;
use crate::error::{Result, StoreError};
pub use crate::rewrite::Mode;
use crate::rewrite::{self, Outcome, Plan};

/// One migration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Its number; applied in increasing order.
    pub version: u32,
    /// File name without the number and extension.
    pub name: &'static str,
    /// The SQL text, statements separated by `;` at the end of a line.
    pub sql: &'static str,
    /// A rewrite ([`crate::rewrite`]): the statements are a procedure's inputs, not run as
    /// written.
    pub rewrite: bool,
}

/// Written in a migration where the name of the secrets database goes
/// ([`ClickHouseConfig::secrets_database`]); the migrator puts it in.
pub const SECRETS_DATABASE: &str = "$SECRETS_DATABASE";

/// Every migration, in order. A test checks this matches the directory.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "event_tables",
        sql: include_str!("../../deploy/clickhouse/migrations/0001_event_tables.sql"),
        rewrite: false,
    },
    Migration {
        version: 2,
        name: "views",
        sql: include_str!("../../deploy/clickhouse/migrations/0002_views.sql"),
        rewrite: false,
    },
    Migration {
        version: 3,
        name: "aggregator",
        sql: include_str!("../../deploy/clickhouse/migrations/0003_aggregator.sql"),
        rewrite: false,
    },
    Migration {
        version: 4,
        name: "profile_status",
        sql: include_str!("../../deploy/clickhouse/migrations/0004_profile_status.sql"),
        rewrite: false,
    },
    Migration {
        version: 10,
        name: "api_tokens",
        sql: include_str!("../../deploy/clickhouse/migrations/0010_api_tokens.sql"),
        rewrite: false,
    },
    Migration {
        version: 11,
        name: "session_state",
        sql: include_str!("../../deploy/clickhouse/migrations/0011_session_state.sql"),
        rewrite: false,
    },
    Migration {
        version: 12,
        name: "session_end_order",
        sql: include_str!("../../deploy/clickhouse/migrations/0012_session_end_order.sql"),
        rewrite: false,
    },
    Migration {
        version: 13,
        name: "api_tokens_secrets",
        sql: include_str!("../../deploy/clickhouse/migrations/0013_api_tokens_secrets.sql"),
        rewrite: false,
    },
    Migration {
        version: 14,
        name: "dead_letter_digest",
        sql: include_str!("../../deploy/clickhouse/migrations/0014_dead_letter_digest.sql"),
        rewrite: false,
    },
    Migration {
        version: 15,
        name: "ingest_touches",
        sql: include_str!("../../deploy/clickhouse/migrations/0015_ingest_touches.sql"),
        rewrite: false,
    },
    Migration {
        version: 16,
        name: "outcome_sessions",
        sql: include_str!("../../deploy/clickhouse/migrations/0016_outcome_sessions.sql"),
        rewrite: false,
    },
    Migration {
        version: 17,
        name: "session_events_granularity",
        sql: include_str!("../../deploy/clickhouse/migrations/0017_session_events_granularity.sql"),
        rewrite: true,
    },
    Migration {
        version: 18,
        name: "user_state_success_start",
        sql: include_str!("../../deploy/clickhouse/migrations/0018_user_state_success_start.sql"),
        rewrite: false,
    },
    Migration {
        version: 19,
        name: "session_state_by_cycle",
        sql: include_str!("../../deploy/clickhouse/migrations/0019_session_state_by_cycle.sql"),
        rewrite: false,
    },
    Migration {
        version: 20,
        name: "session_touch_earliest",
        sql: include_str!("../../deploy/clickhouse/migrations/0020_session_touch_earliest.sql"),
        rewrite: false,
    },
];

impl Migration {
    /// Hex SHA-256 of the SQL text.
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }

    /// The statements of the file, comments removed, without their `;`.
    pub fn statements(&self) -> Vec<String> {
        split_statements(self.sql)
    }
}

/// Splits SQL text into statements at `;` outside quotes; drops `--` comments and empty
/// statements.
pub fn split_statements(sql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                current.push(c);
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        current.push(next);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' | '`' => {
                    quote = Some(c);
                    current.push(c);
                }
                '-' if chars.peek() == Some(&'-') => {
                    for skipped in chars.by_ref() {
                        if skipped == '\n' {
                            current.push('\n');
                            break;
                        }
                    }
                }
                ';' => {
                    let statement = current.trim();
                    if !statement.is_empty() {
                        statements.push(statement.to_owned());
                    }
                    current.clear();
                }
                _ => current.push(c),
            },
        }
    }
    let statement = current.trim();
    if !statement.is_empty() {
        statements.push(statement.to_owned());
    }
    statements
}

/// What [`migrate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this call.
    pub applied: Vec<u32>,
    /// Versions that were already there.
    pub already_applied: Vec<u32>,
    /// A rewrite left pending (its table has rows; see [`crate::rewrite`]), with the rows:
    /// it waits for `migrate --rewrite`, and so does every migration from the first one
    /// after it that is a rewrite or names its table ([`waits_for_rewrite`]).
    pub deferred: Option<(u32, u64)>,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
pub(crate) struct AppliedRow {
    version: u32,
    name: String,
    checksum: String,
}

#[derive(Debug, clickhouse::Row, serde::Serialize)]
pub(crate) struct NewRow<'a> {
    pub(crate) version: u32,
    pub(crate) name: &'a str,
    pub(crate) checksum: String,
}

pub(crate) const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations \
     (version UInt32, name String, checksum String, applied_at DateTime DEFAULT now()) \
     ENGINE = MergeTree() ORDER BY version";

/// Creates the database if needed and applies every pending migration (on a cluster:
/// rendered by [`crate::cluster`], `ON CLUSTER`); a rewrite only when its table is empty
/// (else it is left pending: [`MigrationReport::deferred`]).
pub async fn migrate(config: &ClickHouseConfig) -> Result<MigrationReport> {
    migrate_to(config, u32::MAX, Mode::IfEmpty).await
}

/// [`migrate`], running rewrites whatever their table holds (`migrate --rewrite`).
pub async fn migrate_rewriting(config: &ClickHouseConfig) -> Result<MigrationReport> {
    migrate_to(config, u32::MAX, Mode::Always).await
}

/// [`migrate`] up to version `last` included, rewrites as `mode` says: a database as an
/// older release left it (tests of upgrades).
pub async fn migrate_to(
    config: &ClickHouseConfig,
    last: u32,
    mode: Mode,
) -> Result<MigrationReport> {
    config.validate()?;
    if let Some(cluster) = &config.cluster {
        return crate::migrate_cluster::migrate(config, cluster, last, mode).await;
    }
    config
        .server_client()
        .query(&format!(
            "CREATE DATABASE IF NOT EXISTS {}",
            config.database
        ))
        .execute()
        .await?;
    let client = config.client();
    client.query(BOOKKEEPING).execute().await?;
    let mut pending = pending(&client, MIGRATIONS).await?;
    pending.retain(|m| m.version <= last);
    let mut report = MigrationReport {
        already_applied: MIGRATIONS
            .iter()
            .map(|m| m.version)
            .filter(|v| *v <= last && !pending.iter().any(|p| p.version == *v))
            .collect(),
        ..MigrationReport::default()
    };
    let mut held = Held::default();
    for migration in pending {
        if held.waits(&migration) {
            continue;
        }
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applying migration"
        );
        if migration.rewrite {
            let parts = rewrite::parts(&migration)?;
            let plan = Plan::single(migration.version, &parts);
            if let Outcome::Deferred { rows } = rewrite::run(&client, &plan, mode).await? {
                defer(&migration, rows, &mut report);
                held.table = Some(parts.table);
                continue;
            }
        } else {
            for statement in migration.statements() {
                let statement = statement.replace(SECRETS_DATABASE, &config.secrets_database());
                client.query(&statement).execute().await?;
            }
        }
        let mut insert = client.insert::<NewRow<'_>>("schema_migrations").await?;
        insert
            .write(&NewRow {
                version: migration.version,
                name: migration.name,
                checksum: migration.checksum(),
            })
            .await?;
        insert.end().await?;
        report.applied.push(migration.version);
    }
    Ok(report)
}

/// What a rewrite left pending holds back: the migrations after it wait for it from the
/// first one that [`waits_for_rewrite`] on. The others are applied, since the services'
/// code needs them whatever the layout of the rewritten table (0018's column of
/// `user_state` while `session_events` waits for its rewrite).
#[derive(Debug, Default)]
pub(crate) struct Held {
    /// The table of the rewrite left pending.
    pub(crate) table: Option<String>,
    waiting: bool,
}

impl Held {
    /// Whether `migration` waits (and with it every later one).
    pub(crate) fn waits(&mut self, migration: &Migration) -> bool {
        if let Some(table) = &self.table {
            self.waiting = self.waiting || waits_for_rewrite(table, migration);
        }
        self.waiting
    }
}

/// Whether `later` must wait for a pending rewrite of `table`: it is a rewrite too, or one
/// of its statements names the table.
pub fn waits_for_rewrite(table: &str, later: &Migration) -> bool {
    later.rewrite
        || later.statements().iter().any(|s| {
            s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(|word| word == table)
        })
}

/// Records a rewrite left pending in `report`, and says how to apply it.
pub(crate) fn defer(migration: &Migration, rows: u64, report: &mut MigrationReport) {
    tracing::warn!(
        version = migration.version,
        name = migration.name,
        rows,
        "migration {:04}_{} rewrites a table of {rows} rows: left pending, the services run \
         on the layout before it; apply it with `aggregator migrate --rewrite` or `ingest \
         migrate --rewrite` (README, \"Rewrite migrations\")",
        migration.version,
        migration.name
    );
    report.deferred = Some((migration.version, rows));
}

/// [`migrate`] (or with [`Mode::Always`] [`migrate_rewriting`]), waiting up to `wait` for
/// ClickHouse to answer (a service started beside its database). Errors from ClickHouse
/// itself (drift, bad SQL) are not waited out.
pub async fn migrate_waiting(
    config: &ClickHouseConfig,
    wait: std::time::Duration,
    mode: Mode,
) -> Result<MigrationReport> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        match migrate_to(config, u32::MAX, mode).await {
            Ok(report) => {
                tracing::info!(applied = ?report.applied, already = ?report.already_applied, deferred = ?report.deferred, "schema up to date");
                return Ok(report);
            }
            Err(e @ StoreError::ClickHouse(_))
                if e.server_code().is_none() && std::time::Instant::now() < deadline =>
            {
                tracing::warn!(error = %e, "clickhouse not reachable yet; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Checks that the database is fully migrated, without changing anything: the check a
/// service runs at start. A pending rewrite (and what follows it) passes: the services
/// run on the layout before it until an operator applies it.
pub async fn verify(config: &ClickHouseConfig) -> Result<()> {
    let client = config.client();
    let mut pending = pending(&client, MIGRATIONS).await?;
    if pending.first().is_some_and(|m| m.rewrite) {
        pending.clear();
    }
    if let (Some(cluster), true) = (&config.cluster, pending.is_empty()) {
        return crate::migrate_cluster::verify(config, cluster).await;
    }
    match pending.first() {
        None => Ok(()),
        Some(first) => Err(StoreError::Pending {
            count: pending.len(),
            first: format!("{:04}_{}", first.version, first.name),
        }),
    }
}

/// The migrations of `known` not applied yet; errors on drift.
pub(crate) async fn pending(
    client: &Client,
    known: &'static [Migration],
) -> Result<Vec<Migration>> {
    let applied: Vec<AppliedRow> = match client
        .query("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
        .fetch_all()
        .await
    {
        Ok(rows) => rows,
        // 60: table does not exist (nothing applied yet).
        Err(e) if crate::error::server_code(&e) == Some(60) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    check_drift(&applied, known)?;
    Ok(known
        .iter()
        .filter(|m| !applied.iter().any(|a| a.version == m.version))
        .copied()
        .collect())
}

fn check_drift(applied: &[AppliedRow], known: &[Migration]) -> Result<()> {
    for row in applied {
        match known.iter().find(|m| m.version == row.version) {
            None => {
                return Err(StoreError::UnknownMigration {
                    version: row.version,
                    name: row.name.clone(),
                })
            }
            Some(m) if m.checksum() != row.checksum => {
                return Err(StoreError::ChecksumDrift {
                    version: row.version,
                    name: row.name.clone(),
                    recorded: row.checksum.clone(),
                    current: m.checksum(),
                })
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_rewrite_holds_back_what_names_its_table_and_all_after() {
        let by_version = |v: u32| *MIGRATIONS.iter().find(|m| m.version == v).unwrap();
        let rewrite = by_version(17);
        assert!(waits_for_rewrite("session_events", &rewrite));
        assert!(!waits_for_rewrite("session_events", &by_version(18)));
        assert!(waits_for_rewrite("user_state", &by_version(18)));
        // A longer name is another word.
        assert!(!waits_for_rewrite("user_state_events", &by_version(18)));
        let mut held = Held {
            table: Some("user_state".into()),
            ..Held::default()
        };
        assert!(!held.waits(&by_version(14)));
        assert!(held.waits(&by_version(16)));
        assert!(
            held.waits(&by_version(14)),
            "everything after the first waits too"
        );
    }

    #[test]
    fn splits_statements_outside_quotes_and_comments() {
        let sql = "-- a comment; with a semicolon\nCREATE TABLE a (x String DEFAULT 'a;b');\n\n\
                   SELECT 'it''s', \"q;\" -- trailing; comment\n;\n;";
        assert_eq!(
            split_statements(sql),
            vec![
                "CREATE TABLE a (x String DEFAULT 'a;b')".to_owned(),
                "SELECT 'it''s', \"q;\"".to_owned(),
            ]
        );
    }

    #[test]
    fn embedded_list_matches_the_directory() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/clickhouse/migrations"
        );
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("migrations dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(files, listed);
        for pair in MIGRATIONS.windows(2) {
            assert!(pair[0].version < pair[1].version);
        }
        for m in MIGRATIONS {
            assert_eq!(
                m.sql,
                std::fs::read_to_string(format!("{dir}/{:04}_{}.sql", m.version, m.name))
                    .expect("read")
            );
            assert!(!m.statements().is_empty());
        }
    }

    #[test]
    fn drift_is_refused() {
        let row = |version, checksum: &str| AppliedRow {
            version,
            name: "x".to_owned(),
            checksum: checksum.to_owned(),
        };
        let good = MIGRATIONS[0].checksum();
        assert!(check_drift(&[row(1, &good)], MIGRATIONS).is_ok());
        assert!(matches!(
            check_drift(&[row(1, "beef")], MIGRATIONS),
            Err(StoreError::ChecksumDrift { version: 1, .. })
        ));
        assert!(matches!(
            check_drift(&[row(9_999, "beef")], MIGRATIONS),
            Err(StoreError::UnknownMigration { version: 9_999, .. })
        ));
    }
}
