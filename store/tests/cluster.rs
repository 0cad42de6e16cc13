//! A rewrite migration (0017, `session_events` with 1,024-row granules) on the local
//! ClickHouse cluster (`deploy/stack.sh cluster start`: 2 shards x 2 replicas): left
//! pending while the table has rows, then applied with rows arriving through the
//! `Distributed` table; afterwards every node has the new layout, no scratch table is left
//! on any node, every event is there once per shard, and the view over the new local
//! tables writes touches. Named `cluster` so that nextest runs it in the `cluster` group,
//! one at a time with the aggregator's cluster test (which stops nodes).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use store::cluster::ClusterConfig;
use store::migrate::{migrate, migrate_rewriting, migrate_to, verify, Mode};
use store::ClickHouseConfig;
use testkit::TestDatabase;

const REWRITE: u32 = 17;

/// `n` session events (a start and an end per session), ingested `ago_secs` ago.
fn insert_sql(prefix: &str, first: u64, n: u64, ago_secs: u64) -> String {
    format!(
        "INSERT INTO session_events (tenant_id, profile_id, user_id, session_id, event_kind, \
         event_id, occurred_at_ms, started_at_ms, ingested_at) \
         SELECT 't1', 'p1', concat('u', toString(number % 97)), \
         concat('{prefix}', toString(intDiv(number, 2))), \
         if(number % 2 = 0, 'session_started', 'session_ended'), \
         concat('{prefix}e', toString(number)), 1764979200000 + number, 1764979200000, \
         now() - {ago_secs} FROM system.numbers WHERE number >= {first} LIMIT {n}"
    )
}

fn node(url: &str, database: &str) -> clickhouse::Client {
    clickhouse::Client::default()
        .with_url(url)
        .with_database(database)
        .with_validation(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewrite_on_the_cluster_swaps_every_nodes_local_table() {
    let nodes = testkit::cluster_node_urls();
    let cluster = ClusterConfig::new("synctel");
    let db = TestDatabase::on_cluster("rewrite_cluster", &nodes[0], &cluster.nodes());
    let cfg = ClickHouseConfig {
        url: nodes[0].clone(),
        database: db.name.clone(),
        cluster: Some(cluster),
        ..ClickHouseConfig::default()
    };
    migrate_to(&cfg, REWRITE - 1, Mode::IfEmpty).await.unwrap();
    let client = cfg.client();
    // On both replicas of each shard before the count: the migrator counts through the
    // Distributed table, which reads either replica (a lagging one saw 26,288 of 50,000).
    client
        .query(&insert_sql("old", 0, 50_000, 3 * 3600))
        .with_setting("insert_quorum", "2")
        .execute()
        .await
        .unwrap();
    let report = migrate(&cfg).await.unwrap();
    assert_eq!(report.deferred, Some((REWRITE, 50_000)));
    verify(&cfg).await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, written, client) = (stop.clone(), written.clone(), client.clone());
        tokio::spawn(async move {
            let mut after_stop = 0;
            while after_stop < 3 {
                if stop.load(Ordering::SeqCst) {
                    after_stop += 1;
                }
                let first = written.load(Ordering::SeqCst);
                common::insert_as_ingest(&client, &insert_sql("live", first, 100, 0)).await;
                written.fetch_add(100, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let report = migrate_rewriting(&cfg).await.unwrap();
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    // The rewrite, then 0020 (a view over session_events), which waited for it.
    assert_eq!(report.applied, vec![REWRITE, REWRITE + 3]);
    let live = written.load(Ordering::SeqCst);

    for url in &nodes {
        let n = node(url, &db.name);
        let create: String = n
            .query("SHOW CREATE TABLE session_events_local")
            .fetch_one()
            .await
            .unwrap();
        assert!(
            create.contains("index_granularity = 1024"),
            "{url}: {create}"
        );
        let left: Vec<String> = n
            .query(
                "SELECT name FROM system.tables WHERE database = currentDatabase() \
                 AND (name LIKE '%rewrite17%' OR name LIKE '%before17%' OR name = 'schema_rewrite_lock')",
            )
            .fetch_all()
            .await
            .unwrap();
        assert!(left.is_empty(), "{url}: {left:?}");
        n.query("SYSTEM SYNC REPLICA session_events_local")
            .execute()
            .await
            .unwrap();
        verify(&ClickHouseConfig {
            url: url.clone(),
            ..cfg.clone()
        })
        .await
        .unwrap();
    }
    let events: u64 = client
        .query("SELECT uniqExact(event_id) FROM session_events")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(events, 50_000 + live);
    // Each event on one shard only (the copy went through the sharding key), and on both
    // of its replicas: over the four nodes, every event twice.
    let mut on_nodes = 0;
    for url in &nodes {
        on_nodes += node(url, &db.name)
            .query("SELECT uniqExact(event_id) FROM session_events_local")
            .fetch_one::<u64>()
            .await
            .unwrap();
    }
    assert_eq!(on_nodes, 2 * events);

    client
        .query(&insert_sql("after", 0, 2, 0))
        .execute()
        .await
        .unwrap();
    // Written on the replica the insert reached; read once every replica has it.
    for url in &nodes {
        node(url, &db.name)
            .query("SYSTEM SYNC REPLICA ingest_touches_local")
            .execute()
            .await
            .unwrap();
    }
    let touched: u64 = client
        .query("SELECT count() FROM ingest_touches WHERE session_id = 'after0' AND ended = 1")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(touched, 1, "the view over the new local tables");
    db.drop_database().await.unwrap();
}
