//! `retention`: keeps each kind of telemetry for its own period by dropping whole monthly
//! partitions (ClickHouse 18.16 has no TTL; every managed table is
//! `PARTITION BY toYYYYMM(...)`).
//!
//! - [`config`]: the periods per kind of data, in days, and the database (and cluster).
//! - [`tables`]: which tables hold which kind (derived tables go with their source).
//! - [`plan`]: the pure rule of what goes: a partition whose whole month is older than its
//!   period, never the current month.
//! - [`plan_drops`] lists what goes from `system.parts` (rows, bytes); [`run`] drops it,
//!   or only lists it with `dry_run`. Every run plans from scratch, so running it again,
//!   or on a schedule, is a no-op until another month ages out.
//!
//! How it works with the aggregator's derived tables: `docs/ops/retention.md`.

pub mod config;
mod error;
pub mod plan;
pub mod tables;

use chrono::NaiveDate;
use clickhouse::sql::Identifier;
use clickhouse::Client;
use store::ClusterConfig;
use tracing::info;

pub use config::RetentionConfig;
use error::at;
pub use error::{Result, RetentionError};
use plan::{Candidate, Month, Partition};
use tables::{Kind, TABLES};

/// The SQL, one file per statement.
mod sql {
    pub const SERVER_TODAY: &str = include_str!("../sql/server_today.sql");
    pub const TABLES: &str = include_str!("../sql/tables.sql");
    pub const PARTITIONS: &str = include_str!("../sql/partitions.sql");
    pub const DROP_PARTITION: &str = include_str!("../sql/drop_partition.sql");
    pub const DROP_PARTITION_ON_CLUSTER: &str =
        include_str!("../sql-cluster/drop_partition_on_cluster.sql");
    pub const PARTITIONS_ON_CLUSTER: &str =
        include_str!("../sql-cluster/partitions_on_cluster.sql");
    pub const USERS_LAST_SESSION_BEFORE: &str =
        include_str!("../sql/users_last_session_before.sql");
}

/// What a run drops (or, dry, would drop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The server's date the periods count back from.
    pub today: NaiveDate,
    /// The partitions, by table then month.
    pub candidates: Vec<Candidate>,
    /// Current users (`user_state`, not deleted) whose last session started in a month of
    /// `session_events` that goes: recomputed later, they would lose it (see the docs).
    pub users_losing_last_session: u64,
}

impl Plan {
    /// Rows in all candidates.
    pub fn rows(&self) -> u64 {
        self.candidates.iter().map(|c| c.rows).sum()
    }

    /// Bytes on disk of all candidates.
    pub fn bytes(&self) -> u64 {
        self.candidates.iter().map(|c| c.bytes).sum()
    }

    /// A plain-text table of the candidates, for the dry run.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{:<20} {:>9} {:>12} {:>14} {:>6} {:>9}\n",
            "table", "partition", "rows", "bytes", "parts", "keep_days"
        );
        for c in &self.candidates {
            out.push_str(&format!(
                "{:<20} {:>9} {:>12} {:>14} {:>6} {:>9}\n",
                c.table.name, c.month, c.rows, c.bytes, c.parts, c.keep_days
            ));
        }
        out.push_str(&format!(
            "{} partitions, {} rows, {} bytes (server date {})\n",
            self.candidates.len(),
            self.rows(),
            self.bytes(),
            self.today
        ));
        if self.users_losing_last_session > 0 {
            out.push_str(&format!(
                "note: {} current users have their last session in a month that goes \
                 (docs/ops/retention.md, \"Derived tables\")\n",
                self.users_losing_last_session
            ));
        }
        out
    }
}

/// The server's date (its time zone is the one of the partitions' months).
async fn server_today(client: &Client) -> Result<NaiveDate> {
    let text = client
        .query(sql::SERVER_TODAY)
        .fetch_one::<String>()
        .await
        .map_err(at("server_today"))?;
    NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| RetentionError::ServerDate(text))
}

/// Where a managed table's partitions live: on one server the table itself; on a cluster
/// a user-keyed table's local replicated table (`<t>_local`, one per shard, under the
/// `Distributed` table), and the table itself for the others (replicated on every node).
fn stored_in(table: &tables::Table, cluster: Option<&ClusterConfig>) -> (String, bool) {
    match cluster {
        Some(_) if store::cluster::SHARDED.contains(&table.name) => (
            format!("{}{}", table.name, store::cluster::LOCAL_SUFFIX),
            true,
        ),
        _ => (table.name.to_owned(), false),
    }
}

/// Checks that every managed table is in the database (on a cluster, the local tables of
/// the user-keyed ones on the node connected to).
pub async fn check_tables(config: &RetentionConfig) -> Result<()> {
    let client = config.clickhouse.client();
    let names = client
        .query(sql::TABLES)
        .bind(&config.clickhouse.database)
        .fetch_all::<String>()
        .await
        .map_err(at("tables"))?;
    let cluster = config.cluster_config();
    for table in TABLES {
        let (name, _) = stored_in(table, cluster.as_ref());
        if !names.contains(&name) {
            return Err(RetentionError::MissingTable {
                table: table.name,
                database: config.clickhouse.database.clone(),
            });
        }
    }
    Ok(())
}

/// Lists what a run would drop now, from `system.parts` (on a cluster, a user-keyed
/// table's from one replica of every shard); changes nothing.
pub async fn plan_drops(config: &RetentionConfig) -> Result<Plan> {
    check_tables(config).await?;
    let client = config.clickhouse.client();
    let cluster = config.cluster_config();
    let today = server_today(&client).await?;
    let mut candidates = Vec::new();
    for &table in TABLES {
        let keep_days = config.keep_days.of(table.kind);
        if keep_days == 0 {
            continue;
        }
        let (name, sharded) = stored_in(&table, cluster.as_ref());
        let query = match &cluster {
            Some(c) if sharded => client.query(sql::PARTITIONS_ON_CLUSTER).bind(&c.name),
            _ => client.query(sql::PARTITIONS),
        };
        let partitions = query
            .bind(&config.clickhouse.database)
            .bind(&name)
            .fetch_all::<(String, u64, u64, u64)>()
            .await
            .map_err(at("partitions"))?
            .into_iter()
            .map(|(id, rows, bytes, parts)| Partition {
                id,
                rows,
                bytes,
                parts,
            })
            .collect::<Vec<_>>();
        let found = plan::candidates(table, keep_days, today, &partitions).map_err(|e| {
            RetentionError::NotAMonth {
                table: e.table,
                partition_id: e.partition_id,
            }
        })?;
        candidates.extend(found);
    }
    let users_losing_last_session =
        match plan::first_kept(today, config.keep_days.of(Kind::Sessions)) {
            Some(first_kept) => client
                .query(sql::USERS_LAST_SESSION_BEFORE)
                .bind(first_kept.yyyymm())
                .fetch_one::<u64>()
                .await
                .map_err(at("users_last_session_before"))?,
            None => 0,
        };
    Ok(Plan {
        today,
        candidates,
        users_losing_last_session,
    })
}

/// Drops every partition of [`plan_drops`] (or only plans, with `dry_run`), logging each
/// with its table, partition, rows and bytes. Returns the plan it carried out.
pub async fn run(config: &RetentionConfig, dry_run: bool) -> Result<Plan> {
    let plan = plan_drops(config).await?;
    if plan.users_losing_last_session > 0 {
        tracing::warn!(
            users = plan.users_losing_last_session,
            "current users have their last session in a month of session_events that goes"
        );
    }
    if dry_run {
        return Ok(plan);
    }
    let client = config.clickhouse.client();
    let cluster = config.cluster_config();
    let current = Month::of(plan.today);
    for c in &plan.candidates {
        // plan::candidates never yields the current month; checked again before the
        // irreversible step.
        if c.month >= current {
            continue;
        }
        let partition_id = c.month.to_string();
        let (name, sharded) = stored_in(&c.table, cluster.as_ref());
        let query = match &cluster {
            Some(cl) if sharded => client
                .query(sql::DROP_PARTITION_ON_CLUSTER)
                .bind(Identifier(&config.clickhouse.database))
                .bind(Identifier(&name))
                .bind(Identifier(&cl.name))
                .bind(partition_id.as_str()),
            // One server, or a table replicated on every node: its replicas follow.
            _ => client
                .query(sql::DROP_PARTITION)
                .bind(Identifier(&name))
                .bind(partition_id.as_str()),
        };
        query.execute().await.map_err(at("drop_partition"))?;
        info!(
            table = c.table.name,
            partition = %c.month,
            rows = c.rows,
            bytes = c.bytes,
            keep_days = c.keep_days,
            "dropped partition"
        );
    }
    info!(
        partitions = plan.candidates.len(),
        rows = plan.rows(),
        bytes = plan.bytes(),
        "retention run done"
    );
    Ok(plan)
}
