//! Admin actions against the real servers: the command read back from a per-test topic and
//! decoded, the audit rows, idempotency by request id, roles and isolation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::{column, Fixture};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use schemas::AdminAction;
use testkit::TestTopics;

/// Every message of partition 0 of `topic`: (key, payload), until `expected` arrived and
/// then `quiet` passed without another.
fn read_all(
    consumer: &BaseConsumer,
    topic: &str,
    expected: usize,
    quiet: Duration,
) -> Vec<(String, Vec<u8>)> {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut quiet_until: Option<Instant> = None;
    while Instant::now() < deadline {
        if let Some(q) = quiet_until {
            if Instant::now() > q {
                break;
            }
        }
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
            out.push((key, m.payload().unwrap_or_default().to_vec()));
        }
        if out.len() >= expected && quiet_until.is_none() {
            quiet_until = Some(Instant::now() + quiet);
        }
    }
    out
}

#[tokio::test]
async fn actions_are_published_audited_and_idempotent() {
    let topics = TestTopics::create("api_actions", &[("commands", 1)])
        .await
        .unwrap();
    let topic = topics.name("commands").to_owned();
    let t = topic.clone();
    let f = Fixture::with_limits("actions", move |c| c.kafka.commands_topic = t).await;
    let (_, me) = f.json(&f.admin_a, "/api/v1/me").await;
    let token_id = me["token_id"].as_str().unwrap().to_owned();
    let uri = "/api/v1/users/u1/actions";

    let (status, first) = f
        .post(
            &f.admin_a,
            uri,
            r#"{"action": "force_sync", "request_id": "req-1"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    assert_eq!(first["result"], "published");
    assert_eq!(first["action"], "force_sync");
    let command_id = first["command_id"].as_str().unwrap().to_owned();
    // The same request id again: the original answer, nothing new published.
    let (status, again) = f
        .post(
            &f.admin_a,
            uri,
            r#"{"action": "force_sync", "request_id": "req-1"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["command_id"], command_id.as_str());
    assert_eq!(again["result"], "published");
    // The same request id for another action: 409.
    let (status, v) = f
        .post(
            &f.admin_a,
            uri,
            r#"{"action": "pause", "request_id": "req-1"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    // Another tenant may use the same request id: its own request.
    let (status, b) = f
        .post(
            &f.admin_b,
            "/api/v1/users/u9/actions",
            r#"{"action": "suspend", "request_id": "req-1"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{b}");
    assert_ne!(b["command_id"], command_id.as_str());
    // Credentials.
    let (status, creds) = f
        .post(
            &f.admin_a,
            "/api/v1/users/u3/actions",
            r#"{"action": "update_credentials", "request_id": "req-2", "new_mail_account": "new@ta.example"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{creds}");

    // Three messages on the topic, each decoded and keyed by tenant/user.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", testkit::kafka_brokers())
        .set("group.id", testkit::unique_name("api_actions"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let messages = read_all(&consumer, &topic, 3, Duration::from_secs(2));
    drop(consumer);
    assert_eq!(messages.len(), 3, "one message per request");
    let commands: Vec<_> = messages
        .iter()
        .map(|(key, payload)| {
            let c = schemas::wire::decode_command(payload).unwrap();
            schemas::validate::validate_command(&c).unwrap();
            assert_eq!(key, &c.partition_key());
            c
        })
        .collect();
    let c1 = commands
        .iter()
        .find(|c| c.command_id == command_id)
        .unwrap();
    assert_eq!(
        (
            c1.tenant_id.as_str(),
            c1.user_id.as_str(),
            c1.profile_id.as_str()
        ),
        ("ta", "u1", "p1")
    );
    assert_eq!(c1.action, AdminAction::ForceSync);
    assert_eq!(c1.request_id, "req-1");
    assert_eq!(c1.issued_by, token_id);
    let c2 = commands.iter().find(|c| c.request_id == "req-2").unwrap();
    assert_eq!(c2.action, AdminAction::UpdateCredentials);
    assert_eq!(c2.new_mail_account.as_deref(), Some("new@ta.example"));
    assert_eq!((c2.user_id.as_str(), c2.profile_id.as_str()), ("u3", "p2"));
    let cb = commands.iter().find(|c| c.tenant_id == "tb").unwrap();
    assert_eq!(cb.user_id, "u9");

    // The audit trail: the current state of each request, scoped like everything else.
    let (status, audit) = f.json(&f.admin_a, "/api/v1/audit?sort=request_id").await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    assert_eq!(column(&audit, "request_id"), ["req-1", "req-2"]);
    assert_eq!(column(&audit, "result"), ["published", "published"]);
    assert_eq!(column(&audit, "action"), ["ForceSync", "UpdateCredentials"]);
    assert_eq!(column(&audit, "issued_by"), [token_id.clone(), token_id]);
    assert_eq!(column(&audit, "command_id")[0], command_id);
    let (_, audit) = f
        .json(
            &f.admin_a,
            "/api/v1/audit?columns=request_id,version&request_id=req-1",
        )
        .await;
    assert_eq!(
        column(&audit, "version"),
        ["2"],
        "accepted (1), then published (2)"
    );
    let (_, viewer) = f.json(&f.viewer_a_p1, "/api/v1/audit").await;
    assert_eq!(
        column(&viewer, "request_id"),
        ["req-1"],
        "p2's action hidden"
    );
    let (_, other) = f.json(&f.admin_b, "/api/v1/audit").await;
    assert_eq!(column(&other, "user_id"), ["u9"]);
    let (status, _, csv) = f
        .get(
            &f.admin_a,
            "/api/v1/audit?format=csv&columns=request_id,result&sort=request_id",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "request_id,result\r\nreq-1,published\r\nreq-2,published\r\n"
    );
    // Both states were written (accepted, version 1; published, version 2); the table may
    // already have merged them into the current one.
    let states: Vec<(String, u64)> = f
        .db
        .client()
        .query("SELECT result, version FROM admin_actions WHERE tenant_id = ? AND request_id = ? ORDER BY version")
        .bind("ta")
        .bind("req-1")
        .fetch_all()
        .await
        .unwrap();
    assert!(
        states == [("accepted".to_owned(), 1), ("published".to_owned(), 2)]
            || states == [("published".to_owned(), 2)],
        "{states:?}"
    );
    f.drop().await;
    topics.delete().await.unwrap();
}

#[tokio::test]
async fn roles_bad_bodies_and_other_tenants() {
    // Nothing here reaches Kafka: every request is refused before publishing.
    let f = Fixture::with_limits("actions_refused", |c| {
        c.kafka.commands_topic = "api_actions_refused_never_created".to_owned();
    })
    .await;
    let body = r#"{"action": "suspend", "request_id": "r1"}"#;
    // Viewers cannot act, on any user.
    for user in ["u1", "u3", "u9", "zz-missing"] {
        let (status, v) = f
            .post(
                &f.viewer_a_p1,
                &format!("/api/v1/users/{user}/actions"),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user}: {v}");
        assert_eq!(v["error"]["code"], "forbidden");
    }
    // Another tenant's user answers like a missing one.
    let (status, missing) = f
        .post(&f.admin_a, "/api/v1/users/zz-missing/actions", body)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, other) = f.post(&f.admin_a, "/api/v1/users/u9/actions", body).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        other.to_string(),
        missing.to_string().replace("zz-missing", "u9")
    );
    // Bad bodies: 400 naming the problem.
    for (body, names) in [
        (r#"{"action": "reboot", "request_id": "r1"}"#, "action"),
        (r#"{"request_id": "r1"}"#, "action"),
        (r#"{"action": "pause"}"#, "request_id"),
        (r#"{"action": "pause", "request_id": ""}"#, "request_id"),
        (
            r#"{"action": "update_credentials", "request_id": "r1"}"#,
            "new_mail_account",
        ),
        (
            r#"{"action": "pause", "request_id": "r1", "new_crm_user_name": "x"}"#,
            "update_credentials",
        ),
        (
            r#"{"action": "pause", "request_id": "r1", "role": "x"}"#,
            "role",
        ),
        ("not json", "body"),
    ] {
        let (status, v) = f.post(&f.admin_a, "/api/v1/users/u1/actions", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(names), "{body}: {message}");
    }
    // Nothing was audited.
    let (_, audit) = f.json(&f.admin_a, "/api/v1/audit").await;
    assert_eq!(common::rows(&audit).len(), 0);
    f.drop().await;
}

#[tokio::test]
async fn a_failed_publish_is_audited_and_retried_under_the_same_command_id() {
    let f = Fixture::with_limits("actions_failed", |c| {
        c.kafka.brokers = "127.0.0.1:1".to_owned();
        c.kafka
            .extra
            .insert("message.timeout.ms".to_owned(), "1000".to_owned());
    })
    .await;
    let body = r#"{"action": "resume", "request_id": "r-fail"}"#;
    let (status, v) = f.post(&f.admin_a, "/api/v1/users/u1/actions", body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["error"]["code"], "publish_failed");
    let (_, audit) = f
        .json(
            &f.admin_a,
            "/api/v1/audit?columns=request_id,command_id,result,detail,version",
        )
        .await;
    assert_eq!(column(&audit, "result"), ["failed"]);
    assert_eq!(column(&audit, "version"), ["2"]);
    assert!(!column(&audit, "detail")[0].is_empty());
    let command_id = column(&audit, "command_id")[0].clone();
    // A retry with the same request id tries again, same command id.
    let (status, _) = f.post(&f.admin_a, "/api/v1/users/u1/actions", body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (_, audit) = f
        .json(
            &f.admin_a,
            "/api/v1/audit?columns=command_id,result,version",
        )
        .await;
    assert_eq!(column(&audit, "command_id"), [command_id]);
    assert_eq!(column(&audit, "version"), ["4"]);
    f.drop().await;
}

/// An action is pending until the engine reports its effect: `GET .../actions/pending` lists
/// it after the publish, and no more once a user state with the admin's setting is stored
/// (a state from before the action, or with another setting, does not count); force sync
/// waits for a session forced by an admin.
#[tokio::test]
async fn actions_are_pending_until_the_engine_reports_them() {
    let topics = TestTopics::create("api_pending", &[("commands", 1)])
        .await
        .unwrap();
    let t = topics.name("commands").to_owned();
    let f = Fixture::with_limits("pending", move |c| c.kafka.commands_topic = t).await;
    let pending = "/api/v1/users/u1/actions/pending";
    let (status, v) = f.json(&f.viewer_a_p1, pending).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["pending"], serde_json::json!([]));

    let (status, sent) = f
        .post(
            &f.admin_a,
            "/api/v1/users/u1/actions",
            r#"{"action": "disable", "request_id": "p-1"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    let issued = sent["issued_at_ms"].as_i64().unwrap();
    let (_, v) = f.json(&f.admin_a, pending).await;
    let list = v["pending"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    assert_eq!(list[0]["action"], "disable");
    assert_eq!(list[0]["state"], "pending");
    assert_eq!(list[0]["request_id"], "p-1");

    // An answer of another setting does not confirm it; the admin's setting does.
    let state = |setting: schemas::SyncSetting, at: i64, id: &str| {
        let mut e = common::user("ta", "p1", "u1", "Ann", at);
        if let schemas::Event::UserState(s) = &mut e {
            s.change = schemas::ChangeKind::Updated;
            s.sync_setting = setting;
            s.header.event_id = id.to_owned();
        }
        e
    };
    common::insert(
        &f.db.client(),
        &[state(schemas::SyncSetting::Suspended, issued + 10, "e1")],
    )
    .await;
    let (_, v) = f.json(&f.admin_a, pending).await;
    assert_eq!(v["pending"].as_array().unwrap().len(), 1, "{v}");
    common::insert(
        &f.db.client(),
        &[state(
            schemas::SyncSetting::DisabledByAdmin,
            issued + 20,
            "e2",
        )],
    )
    .await;
    let (_, v) = f.json(&f.admin_a, pending).await;
    assert_eq!(v["pending"], serde_json::json!([]), "{v}");

    // Force sync: pending until a session forced by an admin starts.
    let (_, sent) = f
        .post(
            &f.admin_a,
            "/api/v1/users/u1/actions",
            r#"{"action": "force_sync", "request_id": "p-2"}"#,
        )
        .await;
    let issued = sent["issued_at_ms"].as_i64().unwrap();
    let (_, v) = f.json(&f.admin_a, pending).await;
    assert_eq!(v["pending"][0]["action"], "force_sync", "{v}");
    let mut forced = common::session(
        "ta",
        "p1",
        "u1",
        "forced-1",
        issued + 500,
        1_000,
        schemas::SessionStatus::Success,
        "ok",
    );
    if let schemas::Event::SessionStarted(s) = &mut forced[0] {
        s.trigger = schemas::Trigger::ForcedByAdmin;
    }
    common::insert(&f.db.client(), &forced).await;
    let (_, v) = f.json(&f.admin_a, pending).await;
    assert_eq!(v["pending"], serde_json::json!([]), "{v}");

    // Another tenant's user: 404 like a missing one.
    let (status, _) = f.json(&f.admin_b, "/api/v1/users/u3/actions/pending").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    f.drop().await;
    topics.delete().await.unwrap();
}
