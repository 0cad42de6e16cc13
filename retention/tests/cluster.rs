//! Retention on the local ClickHouse cluster (`deploy/stack.sh cluster start`: ZooKeeper
//! and 2 shards x 2 replicas): a user-keyed table's old month goes from its local table on
//! every shard and replica, a table replicated on every node loses it on every node, and
//! the current month stays. Runs in the `cluster` test group (`.config/nextest.toml`):
//! the aggregator's cluster test stops nodes and ZooKeeper.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Datelike, Months, NaiveDate};
use retention::RetentionConfig;
use store::cluster::ClusterConfig;
use store::ClickHouseConfig;
use testkit::{cluster_node_urls, TestDatabase};

const CLUSTER: &str = "synctel";
const USERS: u64 = 200;

/// Noon of the 15th, `n` months before the server's current month, s.
fn months_ago_s(today: NaiveDate, n: u32) -> i64 {
    let first = today.with_day0(0).unwrap();
    let day = first.checked_sub_months(Months::new(n)).unwrap() + chrono::Days::new(14);
    day.and_hms_opt(12, 0, 0).unwrap().and_utc().timestamp()
}

fn yyyymm(s: i64) -> String {
    chrono::DateTime::from_timestamp(s, 0)
        .unwrap()
        .format("%Y%m")
        .to_string()
}

/// Waits until every node has fetched and applied what its replication queue holds for
/// the two tables.
async fn sync_replicas(urls: &[String], database: &str) {
    for url in urls {
        let ch = ClickHouseConfig {
            url: url.clone(),
            ..ClickHouseConfig::default()
        };
        for table in ["session_events_local", "dead_letters"] {
            ch.server_client()
                .query(&format!("SYSTEM SYNC REPLICA {database}.{table}"))
                .execute()
                .await
                .unwrap();
        }
    }
}

/// `(partition, rows)` of `table`'s active parts on the node at `url`.
async fn parts_at(url: &str, database: &str, table: &str) -> Vec<(String, u64)> {
    let ch = ClickHouseConfig {
        url: url.to_owned(),
        database: database.to_owned(),
        ..ClickHouseConfig::default()
    };
    ch.server_client()
        .query(
            "SELECT partition_id, toUInt64(sum(rows)) FROM system.parts \
             WHERE database = ? AND table = ? AND active GROUP BY partition_id ORDER BY partition_id",
        )
        .bind(database)
        .bind(table)
        .fetch_all()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_months_go_from_every_shard_and_replica() {
    let urls = cluster_node_urls();
    let mut cluster = ClusterConfig::new(CLUSTER);
    cluster.insert_quorum = 2;
    let db = TestDatabase::on_cluster("retention_cluster", &urls[0], &cluster.nodes());
    let ch = ClickHouseConfig {
        url: urls[0].clone(),
        database: db.name.clone(),
        cluster: Some(cluster),
        ..ClickHouseConfig::default()
    };
    store::migrate::migrate(&ch)
        .await
        .expect("migrate on the cluster");
    let client = ch.client();
    let today: String = client
        .query("SELECT toString(today())")
        .fetch_one()
        .await
        .unwrap();
    let today = NaiveDate::parse_from_str(&today, "%Y-%m-%d").unwrap();
    let (old_s, kept_s) = (months_ago_s(today, 14), months_ago_s(today, 0));
    let (old, kept) = (yyyymm(old_s), yyyymm(kept_s));

    // Session events of USERS users in an old and the current month (spread over both
    // shards by the sharding key), and dead letters (replicated on every node) likewise.
    for s in [old_s, kept_s] {
        client
            .query(
                "INSERT INTO session_events (tenant_id, profile_id, user_id, session_id, \
                 event_kind, event_id, occurred_at_ms, started_at_ms) \
                 SELECT 't1', 'p1', concat('u', toString(number)), concat('s', toString(number)), \
                 'session_started', concat('e', toString(number), '-', toString(?)), \
                 ? * 1000, ? * 1000 FROM system.numbers LIMIT ?",
            )
            .bind(s)
            .bind(s)
            .bind(s)
            .bind(USERS)
            .execute()
            .await
            .unwrap();
        client
            .query(
                "INSERT INTO dead_letters (topic, partition, offset, error_kind, received_at_ms) \
                 SELECT 'events', 0, toInt64(number) + ?, 'truncated', ? * 1000 \
                 FROM system.numbers LIMIT 10",
            )
            .bind(s)
            .bind(s)
            .execute()
            .await
            .unwrap();
    }
    sync_replicas(&urls, &ch.database).await;
    for url in &urls {
        let rows: u64 = parts_at(url, &ch.database, "session_events_local")
            .await
            .iter()
            .filter(|(p, _)| *p == old)
            .map(|(_, r)| r)
            .sum();
        assert!(
            rows > 0 && rows < USERS,
            "{url}: {rows} old rows (every shard holds some, none all)"
        );
    }

    let config = RetentionConfig {
        clickhouse: ch.clone(),
        ..RetentionConfig::default()
    };
    let plan = retention::plan_drops(&config).await.unwrap();
    let found: Vec<(&str, String, u64)> = plan
        .candidates
        .iter()
        .map(|c| (c.table.name, c.month.to_string(), c.rows))
        .collect();
    assert!(
        found.contains(&("session_events", old.clone(), USERS)),
        "the plan counts every shard's rows once: {found:?}"
    );
    assert!(
        found.contains(&("dead_letters", old.clone(), 10)),
        "{found:?}"
    );

    retention::run(&config, false).await.unwrap();
    sync_replicas(&urls, &ch.database).await;
    for url in &urls {
        for (table, kept_rows) in [("session_events_local", None), ("dead_letters", Some(10))] {
            let parts = parts_at(url, &ch.database, table).await;
            assert!(
                parts.iter().all(|(p, _)| *p != old),
                "{url} {table}: {old} still there: {parts:?}"
            );
            let kept_here: u64 = parts
                .iter()
                .filter(|(p, _)| *p == kept)
                .map(|(_, r)| r)
                .sum();
            match kept_rows {
                Some(n) => assert_eq!(kept_here, n, "{url} {table}: {parts:?}"),
                None => assert!(kept_here > 0, "{url} {table}: {parts:?}"),
            }
        }
    }
    let kept_total: u64 = client
        .query("SELECT count() FROM session_events")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(kept_total, USERS, "the current month is whole");
    let again = retention::plan_drops(&config).await.unwrap();
    assert!(again.candidates.is_empty(), "{:?}", again.candidates);
    db.drop_database().await.unwrap();
}
