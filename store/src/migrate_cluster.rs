//! The migrator on a cluster: the migrations rendered by [`crate::cluster`], applied
//! `ON CLUSTER`, each statement skipped when its effect is already on every node and
//! accepted after an error when it is (a re-run after a partial failure converges), and a
//! drift check that compares every node's tables and columns.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clickhouse::Client;
use serde::Deserialize;

use crate::client::ClickHouseConfig;
use crate::cluster::LOCAL_SUFFIX;
use crate::cluster::{ClusterConfig, Expect, Rendered, Renderer};
use crate::error::{Result, StoreError};
use crate::migrate::{
    defer, pending, Held, Migration, MigrationReport, NewRow, BOOKKEEPING, MIGRATIONS,
    SECRETS_DATABASE,
};
use crate::rewrite::{self, Mode, Outcome, Plan};

/// How long a statement's effect may take to reach every replica (an `ALTER` of a
/// replicated table travels through ZooKeeper).
const SETTLE: Duration = Duration::from_secs(20);

/// Every migration rendered for the cluster, in order, with its version.
pub fn render_all(
    config: &ClickHouseConfig,
    cluster: &ClusterConfig,
) -> Result<Vec<(u32, Vec<Rendered>)>> {
    let mut renderer = Renderer::new(cluster, &config.database);
    let mut out = vec![(0, renderer.render(BOOKKEEPING)?)];
    for m in MIGRATIONS {
        let mut statements = Vec::new();
        for s in m.statements() {
            let s = s.replace(SECRETS_DATABASE, &config.secrets_database());
            statements.extend(renderer.render(&s)?);
        }
        out.push((m.version, statements));
    }
    Ok(out)
}

pub(crate) async fn migrate(
    config: &ClickHouseConfig,
    cluster: &ClusterConfig,
    last: u32,
    mode: Mode,
) -> Result<MigrationReport> {
    let timeout = cluster.ddl_timeout_secs.to_string();
    let server = config
        .server_client()
        .with_setting("distributed_ddl_task_timeout", &timeout);
    let client = config
        .client()
        .with_setting("distributed_ddl_task_timeout", &timeout);
    let nodes = node_count(&server, cluster).await?;
    let create_database = Rendered {
        sql: format!(
            "CREATE DATABASE IF NOT EXISTS {} ON CLUSTER {}",
            config.database,
            cluster.nodes()
        ),
        expect: Expect::Database {
            database: config.database.clone(),
        },
    };
    apply(&server, cluster, nodes, &create_database).await?;
    let rendered = render_all(config, cluster)?;
    for r in &rendered[0].1 {
        apply(&client, cluster, nodes, r).await?;
    }
    let pending = pending(&client, MIGRATIONS).await?;
    let mut report = MigrationReport::default();
    let mut held = Held::default();
    for (version, statements) in rendered[1..].iter().filter(|(v, _)| *v <= last) {
        let Some(migration) = pending.iter().find(|m| m.version == *version) else {
            report.already_applied.push(*version);
            continue;
        };
        if held.waits(migration) {
            continue;
        }
        tracing::info!(
            version,
            name = migration.name,
            statements = statements.len(),
            "applying migration on the cluster"
        );
        if migration.rewrite {
            let plan = rewrite_plan(migration, config, cluster, statements)?;
            if let Outcome::Deferred { rows } = rewrite::run(&client, &plan, mode).await? {
                defer(migration, rows, &mut report);
                held.table = Some(rewrite::parts(migration)?.table);
                continue;
            }
        } else {
            for r in statements {
                apply(&client, cluster, nodes, r).await?;
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
        report.applied.push(*version);
    }
    verify(config, cluster).await?;
    Ok(report)
}

/// The rewrite `migration` on the cluster, from its statements as rendered: the table's
/// local `CREATE` and the views'.
fn rewrite_plan(
    migration: &Migration,
    config: &ClickHouseConfig,
    cluster: &ClusterConfig,
    rendered: &[Rendered],
) -> Result<Plan> {
    let parts = rewrite::parts(migration)?;
    let local = format!("{}{LOCAL_SUFFIX}", parts.table);
    let create_local = rendered
        .iter()
        .find(|r| matches!(&r.expect, Expect::Table { table, .. } if *table == local))
        .ok_or_else(|| {
            StoreError::Config(format!(
                "rewrite {:04}_{}: {} is not a sharded table",
                migration.version, migration.name, parts.table
            ))
        })?;
    let views = rendered
        .iter()
        .filter(|r| r.sql.starts_with("CREATE MATERIALIZED VIEW"))
        .map(|r| r.sql.clone())
        .collect();
    Ok(Plan::cluster(
        migration.version,
        &parts,
        &config.database,
        cluster,
        &create_local.sql,
        views,
    ))
}

/// Number of nodes of the node-per-shard cluster, as this node's config says.
async fn node_count(client: &Client, cluster: &ClusterConfig) -> Result<u64> {
    let n = client
        .query("SELECT count() FROM system.clusters WHERE cluster = ?")
        .bind(cluster.nodes())
        .fetch_one::<u64>()
        .await?;
    if n == 0 {
        return Err(StoreError::Config(format!(
            "cluster {:?} is not in the server's remote_servers",
            cluster.nodes()
        )));
    }
    Ok(n)
}

/// Runs one rendered statement unless its effect is already there; after an error,
/// accepts it if the effect is there on every node.
async fn apply(client: &Client, cluster: &ClusterConfig, nodes: u64, r: &Rendered) -> Result<()> {
    if r.expect != Expect::Nothing && holds(client, cluster, nodes, &r.expect).await? {
        tracing::debug!(sql = %r.sql, "already applied on every node");
        return Ok(());
    }
    let result = client.query(&r.sql).execute().await;
    if r.expect == Expect::Nothing {
        return Ok(result?);
    }
    let deadline = Instant::now() + SETTLE;
    loop {
        if holds(client, cluster, nodes, &r.expect).await? {
            if let Err(e) = result {
                tracing::warn!(sql = %r.sql, error = %e, "statement failed but its effect is on every node");
            }
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(match result {
                Err(e) => e.into(),
                Ok(()) => StoreError::Config(format!(
                    "after {:?}, not every node of {} has the effect of: {}",
                    SETTLE,
                    cluster.nodes(),
                    r.sql
                )),
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Whether `expect` holds on every node (reads `system` through `cluster()`; a node down
/// is an error, not a "no").
async fn holds(
    client: &Client,
    cluster: &ClusterConfig,
    nodes: u64,
    expect: &Expect,
) -> Result<bool> {
    let from = |table: &str| format!("cluster('{}', system, {table})", cluster.nodes());
    let (sql, binds, want): (String, Vec<&str>, u64) = match expect {
        Expect::Nothing => return Ok(true),
        Expect::Database { database } => (
            format!("SELECT count() FROM {} WHERE name = ?", from("databases")),
            vec![database],
            nodes,
        ),
        Expect::Table { database, table } => (
            format!(
                "SELECT count() FROM {} WHERE database = ? AND name = ?",
                from("tables")
            ),
            vec![database, table],
            nodes,
        ),
        Expect::NoTable { database, table } => (
            format!(
                "SELECT count() FROM {} WHERE database = ? AND name = ?",
                from("tables")
            ),
            vec![database, table],
            0,
        ),
        Expect::Column {
            database,
            table,
            column,
        } => (
            format!(
                "SELECT count() FROM {} WHERE database = ? AND table = ? AND name = ?",
                from("columns")
            ),
            vec![database, table, column],
            nodes,
        ),
    };
    let mut q = client.query(&sql);
    for b in binds {
        q = q.bind(b);
    }
    Ok(q.fetch_one::<u64>().await? == want)
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct ColumnCount {
    database: String,
    table: String,
    name: String,
    #[serde(rename = "type")]
    ty: String,
    nodes: u64,
}

/// The cluster-wide drift check: every table the applied migrations leave is on every node, and
/// every node has the same columns (name and type) in every table of the databases.
pub(crate) async fn verify(config: &ClickHouseConfig, cluster: &ClusterConfig) -> Result<()> {
    let client = config.client();
    let nodes = node_count(&client, cluster).await?;
    let problems = problems(config, cluster, &client, nodes).await?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StoreError::ClusterDrift {
            cluster: cluster.nodes(),
            problems,
        })
    }
}

async fn problems(
    config: &ClickHouseConfig,
    cluster: &ClusterConfig,
    client: &Client,
    nodes: u64,
) -> Result<Vec<String>> {
    // What the applied migrations leave: created and not dropped later. A migration not
    // applied yet (after `migrate_to`'s last, or held back by a pending rewrite) is not
    // expected.
    let pending: Vec<u32> = pending(client, MIGRATIONS)
        .await?
        .iter()
        .map(|m| m.version)
        .collect();
    let mut expected: BTreeMap<(String, String), bool> = BTreeMap::new();
    for (version, statements) in render_all(config, cluster)? {
        if version != 0 && pending.contains(&version) {
            continue;
        }
        for r in statements {
            match r.expect {
                Expect::Table { database, table } => {
                    expected.insert((database, table), true);
                }
                Expect::NoTable { database, table } => {
                    expected.insert((database, table), false);
                }
                _ => {}
            }
        }
    }
    let rows: Vec<ColumnCount> = client
        .query(&format!(
            "SELECT database, table, name, type, count() AS nodes \
             FROM cluster('{}', system, columns) WHERE database IN (?, ?) \
             GROUP BY database, table, name, type ORDER BY database, table, name, type",
            cluster.nodes()
        ))
        .bind(&config.database)
        .bind(config.secrets_database())
        .fetch_all()
        .await?;
    let mut problems = Vec::new();
    for row in &rows {
        if row.nodes != nodes {
            problems.push(format!(
                "{}.{}: column {} {} is on {} of {} nodes",
                row.database, row.table, row.name, row.ty, row.nodes, nodes
            ));
        }
    }
    let tables: Vec<(String, String, u64)> = client
        .query(&format!(
            "SELECT database, name, count() FROM cluster('{}', system, tables) \
             WHERE database IN (?, ?) GROUP BY database, name",
            cluster.nodes()
        ))
        .bind(&config.database)
        .bind(config.secrets_database())
        .fetch_all()
        .await?;
    for ((database, table), present) in &expected {
        let found = tables
            .iter()
            .find(|(d, t, _)| d == database && t == table)
            .map_or(0, |(_, _, n)| *n);
        if *present && found != nodes {
            problems.push(format!("{database}.{table} is on {found} of {nodes} nodes"));
        }
        if !*present && found != 0 {
            problems.push(format!(
                "{database}.{table} was dropped but is on {found} nodes"
            ));
        }
    }
    Ok(problems)
}
