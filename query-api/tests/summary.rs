//! Summary counts and trends: values checked against ClickHouse (`monitor_users`, the
//! aggregator's series read with `FINAL`), scoping by tenant and profiles (another tenant's
//! data never appears), defaults, CSV, and 400s naming the bad parameter.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use common::{rows, Fixture, TA, TB};
use serde_json::Value;

/// `(key columns joined by '|') -> count` of a trends page or of a ClickHouse query.
type Series = BTreeMap<String, u64>;

fn page_series(v: &Value, keys: &[&str], count: &str) -> Series {
    let mut out = Series::new();
    for r in rows(v) {
        let key: Vec<String> = keys
            .iter()
            .map(|k| match &r[*k] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        *out.entry(key.join("|")).or_default() += r[count].as_u64().unwrap();
    }
    out
}

async fn ch_series(f: &Fixture, sql: &str) -> Series {
    let rows: Vec<(String, u64)> = f.db.client().query(sql).fetch_all().await.unwrap();
    rows.into_iter().collect()
}

#[tokio::test]
async fn summary_counts_users_per_tenant_and_profile() {
    let f = Fixture::new("summary").await;
    let (status, v) = f.json(&f.admin_a, "/api/v1/summary").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // Against monitor_users.
    for (tenant, token) in [(TA, &f.admin_a), (TB, &f.admin_b)] {
        let (_, v) = f.json(token, "/api/v1/summary").await;
        let expected: Vec<(String, String, String, u64)> =
            f.db.client()
                .query(
                    "SELECT profile_id, effective_status, sync_state, count() FROM monitor_users \
                 WHERE tenant_id = ? GROUP BY profile_id, effective_status, sync_state",
                )
                .bind(tenant)
                .fetch_all()
                .await
                .unwrap();
        let total: u64 = expected.iter().map(|r| r.3).sum();
        assert_eq!(v["tenant"]["users"], total, "{tenant}: {v}");
        let mut per_profile = BTreeMap::<String, u64>::new();
        for (profile, effective, state, n) in &expected {
            *per_profile.entry(profile.clone()).or_default() += n;
            let p = v["profiles"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["profile_id"] == profile.as_str())
                .unwrap();
            assert!(p["effective_status"][effective].as_u64().unwrap() >= *n);
            assert!(p["sync_state"][state].as_u64().unwrap() >= *n);
        }
        let got: BTreeMap<String, u64> = v["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["profile_id"].as_str().unwrap().to_owned(),
                    p["users"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, per_profile, "{tenant}");
        // Every status and state is named, zeros included, and they add up.
        let sum = |o: &Value| {
            o.as_object()
                .unwrap()
                .values()
                .map(|n| n.as_u64().unwrap())
                .sum::<u64>()
        };
        assert_eq!(
            v["tenant"]["effective_status"].as_object().unwrap().len(),
            4
        );
        assert_eq!(v["tenant"]["sync_state"].as_object().unwrap().len(), 5);
        assert_eq!(sum(&v["tenant"]["effective_status"]), total);
        assert_eq!(sum(&v["tenant"]["sync_state"]), total);
        assert!(v["as_of_ms"].as_i64().unwrap() > 0);
    }
    // Tenant A: p1 (u1, u2) and p2 (u3); u1 failed last, u2 succeeded, u3 never succeeded.
    let (_, v) = f.json(&f.admin_a, "/api/v1/summary").await;
    assert_eq!(v["tenant"]["users"], 3);
    assert_eq!(v["tenant"]["effective_status"]["Enabled"], 3);
    assert_eq!(v["tenant"]["sync_state"]["LastSyncFailed"], 1);
    assert_eq!(v["tenant"]["sync_state"]["NeverSynced"], 1);
    assert_eq!(v["tenant"]["sync_state"]["LastSyncSucceeded"], 1);
    // The viewer of p1 sees p1 only; tenant B sees none of tenant A's profiles.
    let (_, v) = f.json(&f.viewer_a_p1, "/api/v1/summary").await;
    assert_eq!(v["tenant"]["users"], 2, "{v}");
    assert_eq!(rows_of(&v), vec!["p1"]);
    let (_, v) = f.json(&f.admin_b, "/api/v1/summary").await;
    assert_eq!(rows_of(&v), vec!["p1", "p3"]);
    assert_eq!(v["tenant"]["users"], 2);
    // One profile.
    let (_, v) = f.json(&f.admin_a, "/api/v1/summary?profile_id=p2").await;
    assert_eq!(v["tenant"]["users"], 1, "{v}");
    assert_eq!(rows_of(&v), vec!["p2"]);
    // Another tenant's profile, a hidden one and a missing one answer alike.
    let (s1, missing) = f.json(&f.admin_a, "/api/v1/summary?profile_id=zz").await;
    assert_eq!(s1, StatusCode::NOT_FOUND);
    for (token, id) in [
        (&f.admin_a, "p3"),
        (&f.viewer_a_p1, "p2"),
        (&f.viewer_a_p1, "p3"),
    ] {
        let (s, v) = f
            .json(token, &format!("/api/v1/summary?profile_id={id}"))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(v.to_string(), missing.to_string().replace("zz", id));
    }
    let (s, v) = f.json(&f.admin_a, "/api/v1/summary?x=1").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], "unknown_parameter");
    assert!(v["error"]["message"].as_str().unwrap().contains("\"x\""));
    let (s, _) = f.json("", "/api/v1/summary").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    f.drop().await;
}

fn rows_of(v: &Value) -> Vec<&str> {
    v["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["profile_id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn trends_match_the_series_tables() {
    let f = Fixture::new("trends").await;
    // Sessions, by hour over everything, against session_counts FINAL.
    for (tenant, token) in [(TA, &f.admin_a), (TB, &f.admin_b)] {
        for g in ["hour", "day"] {
            let uri = format!("/api/v1/trends?metric=sessions&granularity={g}&from=0&limit=1000");
            let (status, v) = f.json(token, &uri).await;
            assert_eq!(status, StatusCode::OK, "{v}");
            let expected = ch_series(
                &f,
                &format!(
                    "SELECT concat(toString(toInt64(toUInt32(bucket)) * 1000), '|', status), \
                     sum(sessions) FROM session_counts FINAL \
                     WHERE tenant_id = '{tenant}' AND granularity = '{g}' \
                     GROUP BY bucket, status"
                ),
            )
            .await;
            assert!(!expected.is_empty());
            assert_eq!(
                page_series(&v, &["bucket_ms", "status"], "sessions"),
                expected,
                "{tenant} {g}"
            );
            let expected = ch_series(
                &f,
                &format!(
                    "SELECT concat(toString(toInt64(toUInt32(bucket)) * 1000), '|', toString(error_code), '|', object_type, '|', direction), \
                     sum(issues) FROM issue_counts FINAL \
                     WHERE tenant_id = '{tenant}' AND granularity = '{g}' \
                     GROUP BY bucket, error_code, object_type, direction"
                ),
            )
            .await;
            let uri = format!("/api/v1/trends?metric=issues&granularity={g}&from=0");
            let (_, v) = f.json(token, &uri).await;
            assert!(!expected.is_empty());
            assert_eq!(
                page_series(
                    &v,
                    &["bucket_ms", "error_code", "object_type", "direction"],
                    "issues"
                ),
                expected,
                "{tenant} {g}"
            );
        }
    }
    // Totals: tenant A ended 3 Success (one 5 days ago) and 2 Error sessions, 3 issues.
    let total = |v: &Value, key: &str, value: &str, count: &str| -> u64 {
        rows(v)
            .iter()
            .filter(|r| value.is_empty() || r[key] == value)
            .map(|r| r[count].as_u64().unwrap())
            .sum()
    };
    let (_, v) = f
        .json(&f.admin_a, "/api/v1/trends?granularity=day&from=0")
        .await;
    assert_eq!(total(&v, "status", "Success", "sessions"), 3);
    assert_eq!(total(&v, "status", "Error", "sessions"), 2);
    // The default window (hour: the last 3 days) leaves out the old session.
    let (_, v) = f.json(&f.admin_a, "/api/v1/trends").await;
    assert_eq!(total(&v, "status", "Success", "sessions"), 2, "{v}");
    assert_eq!(total(&v, "status", "Error", "sessions"), 2);
    let first = rows(&v)[0]["bucket_ms"].as_i64().unwrap();
    assert_eq!(first % 3_600_000, 0);
    // Scope: the viewer of p1 sees p1's sessions; profile_id narrows to one profile.
    let (_, v) = f.json(&f.viewer_a_p1, "/api/v1/trends?from=0").await;
    assert_eq!(total(&v, "status", "", "sessions"), 4, "{v}");
    let (_, v) = f
        .json(
            &f.admin_a,
            "/api/v1/trends?metric=issues&profile_id=p2&from=0",
        )
        .await;
    assert_eq!(total(&v, "", "", "issues"), 1, "{v}");
    let (_, v) = f
        .json(&f.viewer_a_p1, "/api/v1/trends?metric=issues&from=0")
        .await;
    assert_eq!(total(&v, "", "", "issues"), 2, "{v}");
    // Tenant B: its own 2 sessions and 1 issue, none of tenant A's.
    let (_, v) = f.json(&f.admin_b, "/api/v1/trends?from=0").await;
    assert_eq!(total(&v, "status", "", "sessions"), 2, "{v}");
    let (_, v) = f
        .json(&f.admin_b, "/api/v1/trends?metric=issues&from=0")
        .await;
    assert_eq!(total(&v, "", "", "issues"), 1, "{v}");
    // Users: the latest bucket holds the current users.
    let (status, v) = f
        .json(&f.admin_a, "/api/v1/trends?metric=users&sort=-bucket_ms")
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let latest = rows(&v)[0]["bucket_ms"].clone();
    let users: u64 = rows(&v)
        .iter()
        .filter(|r| r["bucket_ms"] == latest)
        .map(|r| r["users"].as_u64().unwrap())
        .sum();
    assert_eq!(users, 3, "{v}");
    // Filters, columns and CSV of the list machinery.
    let (status, headers, body) = f
        .get(
            &f.admin_a,
            "/api/v1/trends?from=0&status=Error&columns=status,sessions&format=csv",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(body.as_slice());
    assert_eq!(reader.headers().unwrap(), vec!["status", "sessions"]);
    let sum: u64 = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            assert_eq!(&r[0], "Error");
            r[1].parse::<u64>().unwrap()
        })
        .sum();
    assert_eq!(sum, 2);
    // Another tenant's profile answers like a missing one.
    let (s1, missing) = f.json(&f.admin_a, "/api/v1/trends?profile_id=zz").await;
    assert_eq!(s1, StatusCode::NOT_FOUND);
    let (s2, other) = f.json(&f.admin_a, "/api/v1/trends?profile_id=p3").await;
    assert_eq!(s2, StatusCode::NOT_FOUND);
    assert_eq!(other.to_string(), missing.to_string().replace("zz", "p3"));
    f.drop().await;
}

#[tokio::test]
async fn trends_name_bad_parameters() {
    let f = Fixture::new("trends_errors").await;
    for (query, code, names) in [
        ("granularity=week", "bad_value", "granularity"),
        ("metric=bytes", "bad_value", "metric"),
        ("metric=sessions&metric=issues", "bad_value", "metric"),
        ("from=yesterday", "bad_value", "from"),
        ("from=10&to=5", "bad_value", "from"),
        ("nope=1", "unknown_column", "nope"),
        ("status.gt=x", "bad_operator", "status"),
        ("sessions=1%20OR%201=1", "bad_value", "sessions"),
        ("sort=bucket_ms;DROP", "unknown_column", "bucket_ms;DROP"),
        ("Metric=x", "unknown_parameter", "Metric"),
        ("metric=issues&status=Error", "unknown_column", "status"),
    ] {
        let (status, v) = f.json(&f.admin_a, &format!("/api/v1/trends?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {v}");
        assert_eq!(v["error"]["code"], code, "{query}: {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(names), "{query}: {message}");
    }
    // Injection in a bound value: an empty answer, never a storage error.
    let (status, v) = f
        .json(&f.admin_a, "/api/v1/trends?status=x'%20OR%20'1'='1&from=0")
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(rows(&v).is_empty());
    f.drop().await;
}
