//! Lists: filters, sort, column choice, paging, windows; CSV exports parsed back and
//! checked against ClickHouse; injection payloads answer 400 or an empty result, never a
//! storage error; limits; health, readiness and metrics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::{column, rows, rows_read, tagged, Fixture};
use serde_json::Value;

#[tokio::test]
async fn filters_sort_columns_and_pages() {
    let f = Fixture::new("lists_filters").await;
    let t = &f.admin_a;
    // Profiles with status and user counts.
    let (s, v) = f.json(t, "/api/v1/profiles").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(column(&v, "profile_id"), ["p1", "p2"]);
    assert_eq!(column(&v, "users"), ["2", "1"]);
    assert_eq!(column(&v, "status"), ["Enabled", "Enabled"]);
    // Column choice, in the order asked.
    let (_, v) = f
        .json(
            t,
            "/api/v1/users?columns=mail_account,user_id&sort=-user_id",
        )
        .await;
    assert_eq!(v["columns"], serde_json::json!(["mail_account", "user_id"]));
    assert_eq!(column(&v, "user_id"), ["u3", "u2", "u1"]);
    assert_eq!(rows(&v)[0].as_object().unwrap().len(), 2);
    // eq, contains (case-insensitive), ne, numeric range, flag.
    let ids = |v: &Value| column(v, "user_id");
    let (_, v) = f.json(t, "/api/v1/users?display_name.contains=GAMMA").await;
    assert_eq!(ids(&v), ["u3"]);
    let (_, v) = f.json(t, "/api/v1/users?profile_id=p1&sort=user_id").await;
    assert_eq!(ids(&v), ["u1", "u2"]);
    let (_, v) = f.json(t, "/api/v1/users?profile_id.ne=p1").await;
    assert_eq!(ids(&v), ["u3"]);
    let (_, v) = f
        .json(
            t,
            "/api/v1/users?last_session_duration_ms.gte=4000&sort=user_id",
        )
        .await;
    assert_eq!(ids(&v), ["u2", "u3"]);
    let (_, v) = f
        .json(
            t,
            "/api/v1/users?crm_token_active=true&sync_state=LastSyncFailed&sort=user_id",
        )
        .await;
    assert_eq!(ids(&v), ["u1"], "u3 never succeeded: NeverSynced");
    // Paging.
    let (_, v) = f.json(t, "/api/v1/users?sort=user_id&limit=2").await;
    assert_eq!(ids(&v), ["u1", "u2"]);
    assert_eq!(v["next_offset"], 2);
    let (_, v) = f
        .json(t, "/api/v1/users?sort=user_id&limit=2&offset=2")
        .await;
    assert_eq!(ids(&v), ["u3"]);
    assert_eq!(v["next_offset"], Value::Null);
    // Sessions: default window is the last 3 days (sa1 is 5 days old), errors first.
    let (_, v) = f.json(t, "/api/v1/users/u1/sessions").await;
    assert_eq!(column(&v, "session_id"), ["sa3", "sa2"]);
    assert_eq!(column(&v, "status"), ["Error", "Success"]);
    let (_, v) = f
        .json(t, "/api/v1/users/u1/sessions?from=0&sort=started_at_ms")
        .await;
    assert_eq!(column(&v, "session_id"), ["sa1", "sa2", "sa3"]);
    let from = chrono::DateTime::from_timestamp_millis(f.base + 30_000)
        .unwrap()
        .to_rfc3339();
    let (_, v) = f
        .json(
            t,
            &format!(
                "/api/v1/profiles/p1/sessions?from={}",
                from.replace('+', "%2B")
            ),
        )
        .await;
    assert_eq!(column(&v, "session_id"), ["sa3", "sa4"]);
    let (_, v) = f
        .json(
            t,
            "/api/v1/profiles/p1/sessions?status=Success&duration_ms.lt=3000",
        )
        .await;
    assert_eq!(column(&v, "session_id"), ["sa2"]);
    // Issues per user.
    let (_, v) = f.json(t, "/api/v1/users/u1/issues").await;
    assert_eq!(column(&v, "issue_id"), ["ia2", "ia1"], "newest first");
    let (_, v) = f
        .json(
            t,
            "/api/v1/users/u1/issues?columns=issue_id,object_name&sort=issue_id",
        )
        .await;
    assert_eq!(column(&v, "issue_id"), ["ia1", "ia2"]);
    // Session details: objects report and exception.
    let (s, v) = f.json(t, "/api/v1/sessions/sa3").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], "Error");
    assert_eq!(v["exception"], "System.Exception: throttled");
    assert_eq!(v["objects"][0]["object_type"], "Email");
    assert_eq!(v["objects"][0]["mail_to_crm_created"], 3);
    // User details.
    let (_, v) = f.json(t, "/api/v1/users/u1").await;
    assert_eq!(v["status"]["authorized"], true);
    assert_eq!(v["status"]["sync_enabled"], true);
    assert_eq!(v["connectivity"]["mail_system"], "Office365");
    assert_eq!(v["scope"]["saved_searches"][0]["name"], "My contacts");
    assert_eq!(v["history"].as_array().unwrap().len(), 3);
    // Monitor.
    let (_, v) = f.json(t, "/api/v1/monitor/cards").await;
    let card = |state: &str| {
        v["cards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["sync_state"] == state)
            .unwrap()["users"]
            .clone()
    };
    assert_eq!(
        [
            card("NeverSynced"),
            card("LastSyncFailed"),
            card("LastSyncSucceeded"),
            card("Stalled")
        ],
        [1, 1, 1, 0].map(Value::from)
    );
    let (_, v) = f
        .json(t, "/api/v1/monitor/cards/LastSyncFailed/users")
        .await;
    assert_eq!(column(&v, "user_id"), ["u1"]);
    assert_eq!(column(&v, "last_session_status"), ["Error"]);
    let (s, v) = f.json(t, "/api/v1/monitor/cards/Bogus/users").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (_, v) = f.json(t, "/api/v1/freshness").await;
    assert!(v["as_of_ms"].as_i64().unwrap() > 0, "{v}");
    f.drop().await;
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_problem() {
    let f = Fixture::new("lists_errors").await;
    let cases = [
        ("/api/v1/users?nope=1", "unknown_column", "nope"),
        (
            "/api/v1/users?columns=user_id,password",
            "unknown_column",
            "password",
        ),
        ("/api/v1/users?sort=-secret", "unknown_column", "secret"),
        (
            "/api/v1/users?display_name.gt=a",
            "bad_operator",
            "display_name",
        ),
        (
            "/api/v1/users?consecutive_failures=many",
            "bad_value",
            "consecutive_failures",
        ),
        ("/api/v1/users?limit=0", "bad_value", "limit"),
        ("/api/v1/users?limit=1000000", "bad_value", "limit"),
        ("/api/v1/users?from=0", "unknown_column", "from"),
        (
            "/api/v1/users/u1/sessions?from=tomorrow",
            "bad_value",
            "from",
        ),
        (
            "/api/v1/users/u1/sessions?objects_type=Email",
            "bad_operator",
            "objects_type",
        ),
        ("/api/v1/users?format=xml", "bad_value", "format"),
        ("/api/v1/profiles/p1/issues", "csv_only", "CSV"),
        ("/api/v1/sessions/sa3?x=1", "unknown_parameter", "x"),
    ];
    for (uri, code, named) in cases {
        let (s, v) = f.json(&f.admin_a, uri).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}: {v}");
        assert_eq!(v["error"]["code"], code, "{uri}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(named),
            "{uri}: {v}"
        );
    }
    f.drop().await;
}

#[tokio::test]
async fn injection_payloads_answer_400_or_empty_never_a_storage_error() {
    let f = Fixture::new("lists_injection").await;
    let payloads = [
        "' OR 1=1 --",
        "x'); DROP TABLE sessions; --",
        "\\' OR ''='",
        "?",
        "??",
        "?fields",
        "1 UNION ALL SELECT * FROM system.tables",
        "%00",
        "ta",
        "${jndi:x}",
        "\u{202e}é😀",
    ];
    let templates = [
        "/api/v1/users?display_name={}",
        "/api/v1/users?display_name.contains={}",
        "/api/v1/users?consecutive_failures.gte={}",
        "/api/v1/users?columns={}",
        "/api/v1/users?sort={}",
        "/api/v1/users?{}=1",
        "/api/v1/users?limit={}",
        "/api/v1/profiles/{}/users",
        "/api/v1/profiles/{}/sessions",
        "/api/v1/profiles/{}/issues?format=csv",
        "/api/v1/users/{}",
        "/api/v1/users/{}/sessions?from={}",
        "/api/v1/users/{}/issues",
        "/api/v1/sessions/{}",
        "/api/v1/monitor/cards/{}/users",
        "/api/v1/users/u1/sessions?message.contains={}&format=csv",
    ];
    let enc = |p: &str| p.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    for t in templates {
        for p in payloads {
            let uri = t.replace("{}", &enc(p));
            let (s, _, body) = f.get(&f.admin_a, &uri).await;
            let text = String::from_utf8_lossy(&body);
            match s {
                StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND => {
                    assert!(text.contains("\"error\""), "{uri}: {text}")
                }
                StatusCode::OK => assert!(
                    !text.contains("u1@ta") || t.contains("users/u1/"),
                    "{uri} matched rows: {text}"
                ),
                other => panic!("{uri}: {other} {text}"),
            }
        }
    }
    // The tables are all still there.
    let (s, v) = f.json(&f.admin_a, "/api/v1/users").await;
    assert_eq!((s, rows(&v).len()), (StatusCode::OK, 3));
    f.drop().await;
}

fn parse_csv(body: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new().from_reader(body);
    let header = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

#[tokio::test]
async fn csv_exports_match_clickhouse() {
    let f = Fixture::new("lists_csv").await;
    let t = &f.admin_a;
    // Sessions of a profile, every session column that is not an array.
    let cols = "session_id,user_id,started_at_ms,duration_ms,status,message,error_category,changes";
    let (s, headers, body) = f
        .get(
            t,
            &format!(
                "/api/v1/profiles/p1/sessions?format=csv&from=0&columns={cols}&sort=session_id"
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        headers.get("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
    assert!(headers
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .ends_with(&format!(
            "filename=\"sessions-ta-{}.csv\"",
            chrono::Utc::now().format("%Y-%m-%d")
        )));
    let (header, got) = parse_csv(&body);
    assert_eq!(header.join(","), cols);
    #[derive(serde::Deserialize, clickhouse::Row)]
    struct S {
        session_id: String,
        user_id: String,
        started_at_ms: i64,
        duration_ms: i64,
        status: String,
        message: String,
        error_category: String,
        changes: i64,
    }
    let expected: Vec<S> = f
        .db
        .client()
        .query(&format!(
            "SELECT {cols} FROM sessions WHERE tenant_id = 'ta' AND profile_id = 'p1' ORDER BY session_id"
        ))
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(got.len(), expected.len());
    assert_eq!(got.len(), 4);
    for (g, e) in got.iter().zip(&expected) {
        let message = if e.message.starts_with('=') {
            format!("'{}", e.message)
        } else {
            e.message.clone()
        };
        assert_eq!(
            g,
            &vec![
                e.session_id.clone(),
                e.user_id.clone(),
                e.started_at_ms.to_string(),
                e.duration_ms.to_string(),
                e.status.clone(),
                message,
                e.error_category.clone(),
                e.changes.to_string(),
            ]
        );
    }
    // Formula injection neutralized, quotes and commas per RFC 4180, BOM on request.
    let (_, _, body) = f
        .get(t, "/api/v1/profiles/p1/issues?format=csv&bom=true&columns=issue_id,object_name,description&sort=issue_id")
        .await;
    assert!(body.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(body[3..].to_vec()).unwrap();
    assert!(text.contains("\r\n"));
    let (_, got) = parse_csv(&body[3..]);
    assert_eq!(
        got,
        vec![
            vec!["ia1", "'-minus subject", "ENTITY_IS_LOCKED, \"quoted\""],
            vec!["ia2", "'@at subject", "ENTITY_IS_LOCKED, \"quoted\""],
        ]
    );
    // The same filters as the JSON list.
    let (_, v) = f
        .json(
            t,
            "/api/v1/users?sync_state=LastSyncFailed&columns=user_id,mail_account&sort=user_id",
        )
        .await;
    let (_, _, body) = f
        .get(t, "/api/v1/users?sync_state=LastSyncFailed&columns=user_id,mail_account&sort=user_id&format=csv")
        .await;
    let (_, got) = parse_csv(&body);
    let from_json: Vec<Vec<String>> = rows(&v)
        .iter()
        .map(|r| {
            vec![
                r["user_id"].as_str().unwrap().to_owned(),
                r["mail_account"].as_str().unwrap().to_owned(),
            ]
        })
        .collect();
    assert_eq!(got, from_json);
    f.drop().await;
}

/// `readable=true`: the same rows for a spreadsheet: headers in words, times in UTC as
/// `YYYY-MM-DD hh:mm:ss`, durations `h:mm:ss`, flags yes/no, codes as words.
#[tokio::test]
async fn readable_csv_is_the_same_view_in_words() {
    let f = Fixture::new("lists_readable").await;
    let t = &f.admin_a;
    let q = "columns=user_id,sync_state,last_session_started_at_ms,last_session_duration_ms,crm_token_active&sort=user_id";
    let (_, v) = f.json(t, &format!("/api/v1/users?{q}")).await;
    let (s, headers, body) = f
        .get(
            t,
            &format!("/api/v1/users?{q}&format=csv&readable=true&bom=true"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("users-ta-"));
    assert!(body.starts_with(b"\xEF\xBB\xBF"));
    let (header, got) = parse_csv(&body[3..]);
    assert_eq!(
        header,
        [
            "User ID",
            "Sync state",
            "Last session started (UTC)",
            "Last session duration (h:mm:ss)",
            "CRM token active"
        ]
    );
    let listed = rows(&v);
    assert_eq!(got.len(), listed.len());
    assert!(!got.is_empty());
    for (row, r) in got.iter().zip(&listed) {
        assert_eq!(row[0], r["user_id"].as_str().unwrap());
        let state = r["sync_state"].as_str().unwrap();
        assert_eq!(
            row[1],
            query_api::query::export::readable::code_words(state),
            "{state}"
        );
        let started = r["last_session_started_at_ms"].as_i64().unwrap();
        let expect = if started == 0 {
            String::new()
        } else {
            chrono::DateTime::from_timestamp_millis(started)
                .unwrap()
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        };
        assert_eq!(row[2], expect);
        let d = r["last_session_duration_ms"].as_i64().unwrap();
        if d > 0 {
            let s = (d + 500) / 1000;
            assert_eq!(
                row[3],
                format!("{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
            );
        }
        let flag = if r["crm_token_active"].as_i64().unwrap() == 1 {
            "yes"
        } else {
            "no"
        };
        assert_eq!(row[4], flag);
    }
    // A bad value names the parameter.
    let (s, v) = f.json(t, "/api/v1/users?format=csv&readable=maybe").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["error"]["message"].as_str().unwrap().contains("readable"));
    f.drop().await;
}

#[tokio::test]
async fn export_caps_and_operations() {
    let f = Fixture::with_limits("lists_limits", |c| {
        c.limits.export_max_rows = 2;
        c.limits.exports_per_tenant = 1;
    })
    .await;
    let t = &f.admin_a;
    let (s, v) = f.json(t, "/api/v1/users?format=csv").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "export_too_large");
    assert!(v["error"]["message"].as_str().unwrap().contains("3 rows"));
    let (s, _, _) = f.get(t, "/api/v1/users?format=csv&profile_id=p1").await;
    assert_eq!(s, StatusCode::OK);
    // One export slot per tenant: held while a body streams, free again after.
    let permit = f.state.export_permit("ta").unwrap();
    let (s, v) = f.json(t, "/api/v1/users?format=csv&profile_id=p1").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_exports"))
    );
    let (s, _, _) = f.get(&f.admin_b, "/api/v1/users?format=csv").await;
    assert_eq!(s, StatusCode::OK, "another tenant has its own slots");
    drop(permit);
    let (s, _, _) = f.get(t, "/api/v1/users?format=csv&profile_id=p1").await;
    assert_eq!(s, StatusCode::OK);
    // Health, readiness, metrics with latency per route template.
    let (s, _, body) = f.get("", "/health").await;
    assert_eq!((s, body.as_slice()), (StatusCode::OK, &b"ok\n"[..]));
    let (s, _, _) = f.get("", "/ready").await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = f.json(t, "/api/v1/nope").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (s, doc) = f.json("", "/api/v1/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["paths"]["/api/v1/users/{user_id}/sessions"].is_object());
    let (_, _, body) = f.get("", "/metrics").await;
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("query_api_request_seconds_count{method=\"GET\",route=\"/api/v1/users\",status=\"200\"}"), "{text}");
    assert!(text.contains("query_api_export_rows_total"));
    assert!(!text.contains("u1"), "no ids in labels");
    f.drop().await;
}

#[tokio::test]
async fn a_users_issues_read_its_key_range_not_the_tenant() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let f = Fixture::new("lists_issue_key").await;
    // 300,000 issues of 300 other users of tenant A, sorting before and after u1, in the
    // default window.
    f.db.client()
        .query(
            "INSERT INTO issue_events (tenant_id, profile_id, user_id, session_id, issue_id, \
             event_id, occurred_at_ms, engine_id, engine_version, object_type, direction, \
             mail_system, crm_system, object_name, operation, error_code, description, \
             error_source, target_object_id) \
             SELECT 'ta', 'p1', \
                 concat(if(intDiv(number, 1000) % 2 = 0, 'a-bulk-', 'v-bulk-'), \
                     toString(intDiv(number, 1000))), \
                 'bulk', concat('bulk-', toString(number)), 'bulk', ? + toInt64(number), \
                 'e1', '1.0', 'Email', 'MailToCrm', 'Office365', 'Salesforce', 'bulk', \
                 'Create', toUInt8(1), 'bulk', 'Crm', '' \
             FROM numbers(300000)",
        )
        .bind(f.base)
        .execute()
        .await
        .unwrap();
    // The app's queries logged and tagged.
    let (tagged, tag) = tagged(&f.state.client);
    let mut state = f.state.clone();
    state.client = tagged.clone();
    let app = query_api::app(state);
    let get = |uri: &'static str| {
        let app = app.clone();
        let token = f.admin_a.clone();
        async move {
            let req = axum::http::Request::get(uri)
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::empty())
                .unwrap();
            let resp = app.oneshot(req).await.unwrap();
            let status = resp.status();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            (status, body.to_vec())
        }
    };
    let (status, body) = get("/api/v1/users/u1/issues").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(column(&v, "issue_id"), ["ia2", "ia1"]);
    let (status, body) =
        get("/api/v1/users/u1/issues?format=csv&columns=issue_id&sort=issue_id").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(String::from_utf8_lossy(&body), "issue_id\r\nia1\r\nia2\r\n");
    // The control, "user empty or equal", reads the whole tenant; the list's page, the CSV's
    // count and its rows read about the granules (8,192 rows) of u1's key range.
    let scan = "SELECT count() FROM issue_events FINAL WHERE tenant_id = 'ta' AND ('u1' = '' OR user_id = 'u1')";
    assert_eq!(tagged.query(scan).fetch_one::<u64>().await.unwrap(), 2);
    let read = rows_read(&f.db.client(), &tag, "issue_events", 4).await;
    assert_eq!(read.len(), 4, "{read:?}");
    let (control, api): (Vec<_>, Vec<_>) = read.iter().partition(|(_, q)| q.starts_with(scan));
    assert!(control.len() == 1 && control[0].0 >= 300_000, "{control:?}");
    for (rows, query) in api {
        assert!(*rows < 50_000, "{rows} rows read by {query}");
    }
    // A profile's issues are not on the key (the tenant is read): exact, without the limit.
    let (status, _, body) = f
        .get(
            &f.admin_a,
            "/api/v1/profiles/p1/issues?format=csv&columns=issue_id,user_id&user_id=u1&sort=issue_id",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        String::from_utf8_lossy(&body),
        "issue_id,user_id\r\nia1,u1\r\nia2,u1\r\n"
    );
    f.drop().await;
}

/// A profile's session pages are found in two steps (keys first, then the rows by key);
/// walked page by page they hold exactly the rows, in the order, of the one-step CSV export
/// of the same request, for several sorts and filters.
#[tokio::test]
async fn a_profiles_session_pages_equal_its_export() {
    let f = Fixture::new("lists_profile_pages").await;
    let t = &f.admin_a;
    let cols = "session_id,user_id,started_at_ms,duration_ms,status,message";
    for query in [
        "",
        "&sort=-duration_ms",
        "&status=Error",
        "&sort=user_id,-started_at_ms",
        "&status.ne=Error&sort=message",
        "&message.contains=a&sort=-session_id",
        "&user_id=u1",
        "&status=NoSuchStatus",
    ] {
        let base = format!("/api/v1/profiles/p1/sessions?from=0&columns={cols}{query}");
        let (s, _, body) = f.get(t, &format!("{base}&format=csv")).await;
        assert_eq!(s, StatusCode::OK, "{base}");
        let (_, export) = parse_csv(&body);
        let mut paged: Vec<Vec<String>> = Vec::new();
        let mut offset = 0;
        loop {
            let (s, v) = f.json(t, &format!("{base}&limit=2&offset={offset}")).await;
            assert_eq!(s, StatusCode::OK, "{base}: {v}");
            for r in rows(&v) {
                paged.push(
                    // As the export writes a cell (formula-like text gets an apostrophe).
                    cols.split(',')
                        .map(|c| query_api::query::export::cell(r.get(c)))
                        .collect(),
                );
            }
            match v["next_offset"].as_u64() {
                Some(next) => offset = next,
                None => break,
            }
        }
        assert_eq!(paged, export, "{base}");
    }
    let (_, v) = f
        .json(t, "/api/v1/profiles/p1/sessions?from=0&limit=100")
        .await;
    assert!(rows(&v).len() > 2, "the fixture has several sessions: {v}");
    f.drop().await;
}

/// `total=true`: every list's page says how many rows its view matches (filters, window,
/// the card or profile of its path), on every page, also past the end; without it the page
/// has no `total`.
#[tokio::test]
async fn pages_carry_the_total_of_their_view() {
    let f = Fixture::new("lists_total").await;
    let t = &f.admin_a;
    let total = |v: &Value| v["total"].as_u64();
    // The first page of three users, then the last, then past the end.
    for (offset, want_rows) in [(0, 2), (2, 1), (10, 0)] {
        let (s, v) = f
            .json(
                t,
                &format!("/api/v1/users?sort=user_id&limit=2&offset={offset}&total=true"),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(rows(&v).len(), want_rows, "{v}");
        assert_eq!(total(&v), Some(3), "offset {offset}: {v}");
    }
    let (_, v) = f.json(t, "/api/v1/users?limit=2").await;
    assert!(v.get("total").is_none(), "not asked: {v}");
    // Filters, the profile of the path, a card, a window.
    for (uri, want) in [
        ("/api/v1/users?profile_id=p1&limit=1&total=true", 2),
        ("/api/v1/users?display_name.contains=gamma&total=true", 1),
        ("/api/v1/profiles/p1/users?limit=1&total=true", 2),
        (
            "/api/v1/monitor/cards/LastSyncFailed/users?limit=1&total=true",
            1,
        ),
        ("/api/v1/profiles?limit=1&total=true", 2),
        ("/api/v1/users/u1/sessions?from=0&limit=1&total=true", 3),
        ("/api/v1/users/u1/sessions?limit=1&total=true", 2),
        (
            "/api/v1/users/u1/sessions?from=0&status=Error&limit=1&total=true",
            1,
        ),
        ("/api/v1/users/u1/issues?limit=1&total=true", 2),
        ("/api/v1/audit?total=true", 0),
    ] {
        let (s, v) = f.json(t, uri).await;
        assert_eq!(s, StatusCode::OK, "{uri}: {v}");
        assert_eq!(total(&v), Some(want), "{uri}: {v}");
    }
    // A profile's sessions (two-step pages): the total is the export's row count.
    let base = "/api/v1/profiles/p1/sessions?from=0&columns=session_id";
    let (_, _, body) = f.get(t, &format!("{base}&format=csv")).await;
    let (_, export) = parse_csv(&body);
    assert!(export.len() > 2, "{export:?}");
    for offset in [0, 1, export.len() - 1, export.len() + 5] {
        let (s, v) = f
            .json(t, &format!("{base}&limit=1&offset={offset}&total=true"))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(total(&v), Some(export.len() as u64), "offset {offset}: {v}");
    }
    // Scoped like the rows: a viewer of p1 counts p1's users only; tenant B its own.
    let (_, v) = f
        .json(&f.viewer_a_p1, "/api/v1/users?limit=1&total=true")
        .await;
    assert_eq!(total(&v), Some(2), "{v}");
    let (_, v) = f.json(&f.admin_b, "/api/v1/users?limit=1&total=true").await;
    assert_eq!(total(&v), Some(2), "{v}");
    let (s, v) = f.json(t, "/api/v1/users?total=perhaps").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_value"))
    );
    f.drop().await;
}

/// Issues carry the user's display name and the profile's name (filterable like any
/// column, in the CSV too), each tenant's own; and a From/To window.
#[tokio::test]
async fn issues_carry_user_and_profile_names_and_a_window() {
    let f = Fixture::new("lists_issue_names").await;
    let t = &f.admin_a;
    let cols = "columns=issue_id,user_id,display_name,profile_id,profile_name";
    let (s, v) = f
        .json(t, &format!("/api/v1/users/u1/issues?{cols}&sort=issue_id"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(column(&v, "issue_id"), ["ia1", "ia2"]);
    assert_eq!(column(&v, "display_name"), ["Anna Alpha", "Anna Alpha"]);
    assert_eq!(column(&v, "profile_name"), ["Sales", "Sales"]);
    // The default columns name both.
    let (_, v) = f.json(t, "/api/v1/users/u3/issues").await;
    let columns = v["columns"].as_array().unwrap();
    assert!(
        columns.contains(&Value::from("display_name"))
            && columns.contains(&Value::from("profile_name")),
        "{v}"
    );
    assert_eq!(column(&v, "display_name"), ["Cora Gamma"]);
    assert_eq!(column(&v, "profile_name"), ["Support"]);
    // Filterable by name.
    let (_, v) = f
        .json(
            t,
            "/api/v1/users/u1/issues?display_name.contains=ANNA&total=true",
        )
        .await;
    assert_eq!(v["total"], 2, "{v}");
    let (_, v) = f
        .json(t, "/api/v1/users/u1/issues?profile_name=Support")
        .await;
    assert_eq!(rows(&v).len(), 0, "{v}");
    // A profile's CSV: the names of its users.
    let (s, _, body) = f
        .get(
            t,
            &format!("/api/v1/profiles/p2/issues?format=csv&{cols}&sort=issue_id"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        String::from_utf8_lossy(&body),
        "issue_id,user_id,display_name,profile_id,profile_name\r\nia3,u3,Cora Gamma,p2,Support\r\n"
    );
    // Tenant B's u1 and p1 have names of their own; tenant A's never show there.
    let (_, v) = f
        .json(&f.admin_b, &format!("/api/v1/users/u1/issues?{cols}"))
        .await;
    assert_eq!(column(&v, "issue_id"), ["ib1"]);
    assert_eq!(column(&v, "display_name"), ["Other tenant one"]);
    assert_eq!(column(&v, "profile_name"), ["Other sales"]);
    // The window: ia1 at base + 61 s, ia2 at base + 62 s.
    let at = |ms: i64| (f.base + ms).to_string();
    let window = |from: i64, to: i64| {
        format!(
            "/api/v1/users/u1/issues?columns=issue_id&from={}&to={}",
            at(from),
            at(to)
        )
    };
    let (_, v) = f.json(t, &window(61_500, 3_600_000)).await;
    assert_eq!(column(&v, "issue_id"), ["ia2"]);
    let (_, v) = f.json(t, &window(0, 61_500)).await;
    assert_eq!(column(&v, "issue_id"), ["ia1"]);
    let (s, v) = f.json(t, &window(62_000, 61_000)).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_value"))
    );
    f.drop().await;
}
