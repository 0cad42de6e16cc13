//! Logs: one session's log and a user's sessions as ZIP (unzipped with the `zip` crate) and
//! CSV, parsed back and compared with ClickHouse; chosen sessions; caps; bad parameters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;

use axum::http::StatusCode;
use common::{rows_read, tagged, Fixture};
use query_api::query::logs::time;

#[derive(Debug, serde::Deserialize, clickhouse::Row)]
struct Line {
    session_id: String,
    at_ms: i64,
    level: String,
    text: String,
}

/// The lines of the tenant's sessions, as ClickHouse has them, in log order.
async fn stored(f: &Fixture, tenant: &str, sessions: &[&str]) -> Vec<Line> {
    f.db.client()
        .query(
            "SELECT session_id, at_ms, level, text FROM session_logs \
             WHERE tenant_id = ? AND has(?, session_id) \
             ORDER BY indexOf(?, session_id), sequence, line_no",
        )
        .bind(tenant)
        .bind(sessions)
        .bind(sessions)
        .fetch_all()
        .await
        .unwrap()
}

fn log_text(lines: &[Line], session: &str) -> String {
    lines
        .iter()
        .filter(|l| l.session_id == session)
        .map(|l| format!("{} {} {}\n", time(l.at_ms), l.level, l.text))
        .collect()
}

/// Entries of a ZIP, in order: (name, text).
fn unzip(body: &[u8]) -> Vec<(String, String)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(body)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            (entry.name().unwrap().to_string(), text)
        })
        .collect()
}

fn csv_rows(body: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn neutral(text: &str) -> String {
    query_api::query::export::neutralize(text.to_owned())
}

#[tokio::test]
async fn one_session_as_zip_and_csv() {
    let f = Fixture::new("logs_session").await;
    let lines = stored(&f, "ta", &["sa3"]).await;
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0].text, "starting sa3", "chunks in sequence order");
    let (status, headers, body) = f.get(&f.admin_a, "/api/v1/sessions/sa3/logs").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "application/zip");
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("sa3.zip"));
    let entries = unzip(&body);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, "sa3.log");
    assert_eq!(entries[0].1, log_text(&lines, "sa3"));
    assert!(entries[0]
        .1
        .starts_with(&format!("{} Info starting sa3\n", time(f.base + 60_000))));
    // The same as CSV.
    let (status, headers, body) = f
        .get(&f.admin_a, "/api/v1/sessions/sa3/logs?format=csv")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    let rows = csv_rows(&body);
    assert_eq!(rows[0], ["session_id", "time", "level", "text"]);
    let expected: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            vec![
                l.session_id.clone(),
                time(l.at_ms),
                l.level.clone(),
                neutral(&l.text),
            ]
        })
        .collect();
    assert_eq!(rows[1..], expected[..]);
    assert!(rows[3][3].starts_with("'="), "formula neutralized");
    // A session without log lines: an empty entry.
    let (status, _, body) = f.get(&f.admin_a, "/api/v1/sessions/sa4/logs").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unzip(&body), [("sa4.log".to_owned(), String::new())]);
    f.drop().await;
}

#[tokio::test]
async fn a_users_sessions_as_zip_with_index_and_as_csv() {
    let f = Fixture::new("logs_user").await;
    let lines = stored(&f, "ta", &["sa1", "sa2", "sa3"]).await;
    let (status, _, body) = f.get(&f.admin_a, "/api/v1/users/u1/logs?from=0").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let entries = unzip(&body);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["index.csv", "sa1.log", "sa2.log", "sa3.log"]);
    for (name, text) in &entries[1..] {
        assert_eq!(
            text,
            &log_text(&lines, name.trim_end_matches(".log")),
            "{name}"
        );
    }
    // The index against the sessions list of the API.
    let index = csv_rows(entries[0].1.as_bytes());
    assert_eq!(
        index[0],
        ["session_id", "user_id", "start", "end", "status", "lines"]
    );
    let (_, sessions) = f
        .json(
            &f.admin_a,
            "/api/v1/users/u1/sessions?from=0&sort=started_at_ms",
        )
        .await;
    let listed = common::rows(&sessions);
    assert_eq!(index.len() - 1, listed.len());
    for (row, s) in index[1..].iter().zip(&listed) {
        assert_eq!(row[0], s["session_id"].as_str().unwrap());
        assert_eq!(row[1], "u1");
        assert_eq!(row[2], time(s["started_at_ms"].as_i64().unwrap()));
        assert_eq!(row[3], time(s["ended_at_ms"].as_i64().unwrap()));
        assert_eq!(row[4], s["status"].as_str().unwrap());
    }
    let counts: Vec<&str> = index[1..].iter().map(|r| r[5].as_str()).collect();
    assert_eq!(counts, ["0", "1", "4"]);
    // Default window: the last 3 days (sa1 is older).
    let (_, _, body) = f.get(&f.admin_a, "/api/v1/users/u1/logs").await;
    let names: Vec<String> = unzip(&body).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["index.csv", "sa2.log", "sa3.log"]);
    // Chosen sessions.
    let (status, _, body) = f
        .get(&f.admin_a, "/api/v1/users/u1/logs?sessions=sa3")
        .await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<String> = unzip(&body).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["index.csv", "sa3.log"]);
    // A chosen session of another tenant, of another user, or missing: 404 alike.
    let (s_missing, missing) = f
        .json(&f.admin_a, "/api/v1/users/u1/logs?sessions=sa3,zz-missing")
        .await;
    assert_eq!(s_missing, StatusCode::NOT_FOUND);
    for other in ["sb1", "sa5"] {
        let (status, v) = f
            .json(
                &f.admin_a,
                &format!("/api/v1/users/u1/logs?sessions=sa3,{other}"),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            v.to_string(),
            missing.to_string().replace("zz-missing", other)
        );
    }
    // CSV of every line, with the session id.
    let (status, _, body) = f
        .get(&f.admin_a, "/api/v1/users/u1/logs?from=0&format=csv")
        .await;
    assert_eq!(status, StatusCode::OK);
    let rows = csv_rows(&body);
    let expected: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            vec![
                l.session_id.clone(),
                time(l.at_ms),
                l.level.clone(),
                neutral(&l.text),
            ]
        })
        .collect();
    assert_eq!(rows[1..], expected[..]);
    // Bad parameters.
    for (uri, code) in [
        ("/api/v1/users/u1/logs?format=pdf", "bad_value"),
        ("/api/v1/users/u1/logs?sessions=sa3&from=0", "bad_value"),
        ("/api/v1/users/u1/logs?sessions=", "bad_value"),
        ("/api/v1/users/u1/logs?from=yesterday", "bad_value"),
        ("/api/v1/users/u1/logs?nope=1", "unknown_parameter"),
        ("/api/v1/sessions/sa3/logs?from=0", "unknown_parameter"),
    ] {
        let (status, v) = f.json(&f.admin_a, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {v}");
        assert_eq!(v["error"]["code"], code, "{uri}");
    }
    f.drop().await;
}

#[tokio::test]
async fn caps_answer_422_naming_the_cap() {
    let f = Fixture::with_limits("logs_caps", |c| {
        c.limits.log_max_lines = 3;
        c.limits.log_max_sessions = 2;
    })
    .await;
    for (uri, cap) in [
        ("/api/v1/sessions/sa3/logs", "log_max_lines"),
        (
            "/api/v1/users/u1/logs?format=csv&sessions=sa2,sa3",
            "log_max_lines",
        ),
        ("/api/v1/users/u1/logs?from=0", "log_max_sessions"),
        (
            "/api/v1/users/u1/logs?sessions=sa1,sa2,sa3",
            "log_max_sessions",
        ),
    ] {
        let (status, v) = f.json(&f.admin_a, uri).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {v}");
        assert_eq!(v["error"]["code"], "log_export_too_large");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(cap), "{uri}: {message}");
    }
    let (status, _, _) = f.get(&f.admin_a, "/api/v1/sessions/sa2/logs").await;
    assert_eq!(status, StatusCode::OK);
    f.drop().await;
    let f = Fixture::with_limits("logs_caps_bytes", |c| c.limits.log_max_bytes = 30).await;
    let (status, v) = f.json(&f.admin_a, "/api/v1/sessions/sa3/logs").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("log_max_bytes"));
    let (status, _, _) = f.get(&f.admin_a, "/api/v1/sessions/sa2/logs").await;
    assert_eq!(status, StatusCode::OK);
    f.drop().await;
}

#[tokio::test]
async fn a_large_log_streams_in_chunks_and_unzips_whole() {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let f = Fixture::new("logs_large").await;
    // 8,000 lines of ~110 random hex characters (deflate cannot shrink them much).
    let texts: Vec<String> = (0..8_000)
        .map(|i| {
            let u = || uuid::Uuid::new_v4().simple().to_string();
            format!("line {i} {}{}{}", u(), u(), &u()[..8])
        })
        .collect();
    let lines: Vec<(schemas::LogLevel, &str)> = texts
        .iter()
        .map(|t| (schemas::LogLevel::Debug, t.as_str()))
        .collect();
    let event = common::log("ta", "p1", "u2", "sa4", 0, f.base + 120_000, &lines);
    common::insert(&f.db.client(), &[event]).await;
    let req = axum::http::Request::get("/api/v1/sessions/sa4/logs")
        .header("authorization", format!("Bearer {}", f.admin_a))
        .body(Body::empty())
        .unwrap();
    let resp = f.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let (mut frames, mut bytes) = (0, Vec::new());
    while let Some(frame) = body.frame().await {
        let data = frame.unwrap().into_data().unwrap();
        assert!(data.len() <= 2 * (64 << 10), "chunks stay small");
        bytes.extend_from_slice(&data);
        frames += 1;
    }
    assert!(frames > 3, "streamed in {frames} chunks");
    let entries = unzip(&bytes);
    assert_eq!(entries.len(), 1);
    let got: Vec<&str> = entries[0].1.lines().collect();
    assert_eq!(got.len(), 8_000);
    for (i, line) in got.iter().enumerate() {
        assert!(line.ends_with(&format!(" Debug {}", texts[i])), "line {i}");
    }
    f.drop().await;
}

#[tokio::test]
async fn a_profiles_sessions_of_every_user_as_zip_and_csv() {
    let f = Fixture::new("logs_profile").await;
    // Default window (last 3 days): sa2, sa3 of u1 and sa4 of u2; sa1 is older.
    let (status, headers, body) = f.get(&f.admin_a, "/api/v1/profiles/p1/logs").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"p1-logs.zip\""
    );
    let entries = unzip(&body);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["index.csv", "sa2.log", "sa3.log", "sa4.log"]);
    let index = csv_rows(entries[0].1.as_bytes());
    let users: Vec<&str> = index[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(users, ["u1", "u1", "u2"]);
    let lines = stored(&f, "ta", &["sa3"]).await;
    assert_eq!(entries[2].1, log_text(&lines, "sa3"));

    // Chosen sessions of two users; CSV of every line.
    let (status, _, body) = f
        .get(
            &f.admin_a,
            "/api/v1/profiles/p1/logs?sessions=sa4,sa3&format=csv",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let rows = csv_rows(&body);
    assert_eq!(rows[0], ["session_id", "time", "level", "text"]);
    assert_eq!(
        rows.len() - 1,
        lines.len(),
        "sa4 logged nothing, sa3 all its lines"
    );

    // A session of another profile, of another tenant, or missing: 404 naming it.
    for other in ["sa5", "sb1", "zz"] {
        let (status, v) = f
            .json(
                &f.admin_a,
                &format!("/api/v1/profiles/p1/logs?sessions=sa3,{other}"),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{other}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(other));
    }
    // A profile the token does not see: like a missing one.
    let (status, _) = f.json(&f.viewer_a_p1, "/api/v1/profiles/p2/logs").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    f.drop().await;
}

/// A window of 1,200 sessions (more than two of the export's query batches): the ZIP holds
/// every session's entry in order with the index, the CSV every line, `summary=true` says
/// what the export holds, and the byte cap, not a session count, refuses a larger one.
#[tokio::test]
async fn a_window_of_1200_sessions_as_zip_csv_and_summary() {
    const N: i64 = 1_200;
    let f = Fixture::new("logs_window").await;
    let start = f.base - 2 * 86_400_000;
    let mut events = vec![common::user(
        "ta",
        "p1",
        "u7",
        "Window User",
        start - 60_000,
    )];
    for i in 0..N {
        let id = format!("w{i:05}");
        let at = start + i * 60_000;
        events.extend(common::session(
            "ta",
            "p1",
            "u7",
            &id,
            at,
            30_000,
            schemas::SessionStatus::Success,
            "ok",
        ));
        // Every third session logged nothing: batches may start or end without lines.
        if i % 3 != 0 {
            let text = format!("line of {id}");
            let lines = [(schemas::LogLevel::Info, text.as_str())];
            events.push(common::log("ta", "p1", "u7", &id, 0, at + 1_000, &lines));
        }
    }
    common::insert(&f.db.client(), &events).await;
    common::aggregate(&f.state.config.clickhouse).await;
    let logged = (0..N).filter(|i| i % 3 != 0).count();
    let from = start - 1;

    let (status, v) = f
        .json(
            &f.admin_a,
            &format!("/api/v1/users/u7/logs?from={from}&summary=true"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["sessions"], N);
    assert_eq!(v["lines"], logged);
    assert_eq!(v["max_bytes"], 256u64 << 20);
    let text_bytes = v["bytes"].as_u64().unwrap();
    assert!(text_bytes > 0);

    let (status, headers, body) = f
        .get(&f.admin_a, &format!("/api/v1/users/u7/logs?from={from}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"u7-logs.zip\""
    );
    let entries = unzip(&body);
    assert_eq!(entries.len() as i64, N + 1);
    assert_eq!(entries[0].0, "index.csv");
    let index = csv_rows(entries[0].1.as_bytes());
    assert_eq!(index.len() as i64, N + 1);
    for (i, (name, text)) in entries[1..].iter().enumerate() {
        let id = format!("w{i:05}");
        assert_eq!(name, &format!("{id}.log"));
        assert_eq!(index[i + 1][0], id);
        if i % 3 == 0 {
            assert_eq!(text, "", "{id} logged nothing");
            assert_eq!(index[i + 1][5], "0");
        } else {
            assert!(
                text.ends_with(&format!(" Info line of {id}\n")),
                "{id}: {text}"
            );
            assert_eq!(index[i + 1][5], "1");
        }
    }

    let (status, _, body) = f
        .get(
            &f.admin_a,
            &format!("/api/v1/users/u7/logs?from={from}&format=csv"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let rows = csv_rows(&body);
    assert_eq!(rows.len(), logged + 1);
    let ids: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "lines in the sessions' order");

    // The profile's window holds them too (with u1's and u2's sessions).
    let (status, v) = f
        .json(
            &f.admin_a,
            &format!("/api/v1/profiles/p1/logs?from={from}&summary=true"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v["sessions"].as_i64().unwrap() >= N, "{v}");
    f.drop().await;

    // The byte cap refuses the window, in the summary and the export alike.
    let f = Fixture::with_limits("logs_window_cap", |c| c.limits.log_max_bytes = 1_000).await;
    common::insert(&f.db.client(), &events).await;
    common::aggregate(&f.state.config.clickhouse).await;
    for uri in [
        format!("/api/v1/users/u7/logs?from={from}&summary=true"),
        format!("/api/v1/users/u7/logs?from={from}"),
    ] {
        let (status, v) = f.json(&f.admin_a, &uri).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains("log_max_bytes"), "{message}");
        assert!(message.contains(&text_bytes.to_string()), "{message}");
    }
    f.drop().await;
}

/// The fixture's app with every ClickHouse query logged in `system.query_log` and tagged with
/// a setting of no effect (`max_rows_to_read` of a unique, huge value); and the tag.
fn logged(f: &Fixture) -> (axum::Router, String) {
    let (client, tag) = tagged(&f.state.client);
    let mut state = f.state.clone();
    state.client = client;
    (query_api::app(state), tag)
}

async fn get_with(
    app: &axum::Router,
    token: &str,
    uri: &str,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = axum::http::Request::get(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

/// 300,000 log lines of 300 other users of tenant A's profile p1 (one session of 1,000
/// lines each), sorting before and after u1 and u2.
async fn bulk_logs(f: &Fixture) {
    f.db.client()
        .query(
            "INSERT INTO log_lines (tenant_id, profile_id, user_id, session_id, sequence, \
             line_no, event_id, chunk_at_ms, at_ms, level, text) \
             SELECT 'ta', 'p1', \
                 concat(if(intDiv(number, 1000) % 2 = 0, 'a-bulk-', 'v-bulk-'), \
                     toString(intDiv(number, 1000))), \
                 concat('bulk-', toString(intDiv(number, 1000))), toInt32(0), \
                 toUInt32(number % 1000), 'bulk', ?, ? + toInt64(number), 'Debug', 'bulk line' \
             FROM numbers(300000)",
        )
        .bind(f.base)
        .bind(f.base)
        .execute()
        .await
        .unwrap();
}

#[tokio::test]
async fn exports_read_the_key_range_of_their_sessions_not_the_tenant() {
    let f = Fixture::new("logs_key_range").await;
    bulk_logs(&f).await;
    let (app, tag) = logged(&f);
    // A user's sessions, one session, a profile's chosen sessions of two users: every line,
    // none of the bulk.
    let lines = stored(&f, "ta", &["sa1", "sa2", "sa3"]).await;
    let (status, _, body) = get_with(&app, &f.admin_a, "/api/v1/users/u1/logs?from=0").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let entries = unzip(&body);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["index.csv", "sa1.log", "sa2.log", "sa3.log"]);
    for (name, text) in &entries[1..] {
        let session = name.trim_end_matches(".log");
        assert_eq!(text, &log_text(&lines, session), "{name}");
    }
    let (status, _, body) =
        get_with(&app, &f.admin_a, "/api/v1/users/u1/logs?from=0&format=csv").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(csv_rows(&body).len(), lines.len() + 1);
    let (status, _, body) = get_with(&app, &f.admin_a, "/api/v1/sessions/sa3/logs").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(unzip(&body)[0].1, log_text(&lines, "sa3"));
    let (status, _, body) = get_with(
        &app,
        &f.admin_a,
        "/api/v1/profiles/p1/logs?sessions=sa4,sa3&format=csv",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let rows = csv_rows(&body);
    let sessions: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(sessions, ["sa3"; 4], "sa4 logged nothing");
    // The control: "user empty or equal" reads the whole tenant.
    let scan = "SELECT count() FROM log_lines FINAL WHERE tenant_id = 'ta' AND ('u1' = '' OR user_id = 'u1')";
    let (client, control) = tagged(&f.state.client);
    assert_eq!(client.query(scan).fetch_one::<u64>().await.unwrap(), 5);
    let read = rows_read(&f.db.client(), &control, "log_lines", 1).await;
    assert!(read.len() == 1 && read[0].0 >= 300_000, "{read:?}");
    // The exports' counts and lines: each reads about the granules (8,192 rows) of its
    // sessions' key ranges, not the tenant's 300,000 lines.
    let read = rows_read(&f.db.client(), &tag, "log_lines", 8).await;
    assert_eq!(read.len(), 8, "{read:?}");
    for (rows, query) in &read {
        assert!(*rows < 50_000, "{rows} rows read by {query}");
    }
    f.drop().await;
}

#[tokio::test]
async fn lines_follow_the_order_of_the_sessions_not_their_ids() {
    let f = Fixture::new("logs_order").await;
    // Two more sessions of u1 whose ids sort against their start times: by start, the
    // export is sa1, sa2, sz0, sa3, a-last; by id, a-last comes first and sz0 last.
    let mut events = common::session(
        "ta",
        "p1",
        "u1",
        "sz0",
        f.base + 30_000,
        1_000,
        schemas::SessionStatus::Success,
        "between",
    );
    events.extend(common::session(
        "ta",
        "p1",
        "u1",
        "a-last",
        f.base + 90_000,
        1_000,
        schemas::SessionStatus::Success,
        "last",
    ));
    use schemas::LogLevel::{Debug, Info};
    for (session, at) in [("sz0", f.base + 30_000), ("a-last", f.base + 90_000)] {
        events.push(common::log(
            "ta",
            "p1",
            "u1",
            session,
            0,
            at,
            &[(Info, "first"), (Debug, "second")],
        ));
    }
    common::insert(&f.db.client(), &events).await;
    let order = ["sa1", "sa2", "sz0", "sa3", "a-last"];
    let lines = stored(&f, "ta", &order).await;
    let (status, _, body) = f.get(&f.admin_a, "/api/v1/users/u1/logs?from=0").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let entries = unzip(&body);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "index.csv",
            "sa1.log",
            "sa2.log",
            "sz0.log",
            "sa3.log",
            "a-last.log"
        ]
    );
    for (name, text) in &entries[1..] {
        let session = name.trim_end_matches(".log");
        assert_eq!(text, &log_text(&lines, session), "{name}");
    }
    let (status, _, body) = f
        .get(&f.admin_a, "/api/v1/users/u1/logs?from=0&format=csv")
        .await;
    assert_eq!(status, StatusCode::OK);
    let got: Vec<(String, String)> = csv_rows(&body)[1..]
        .iter()
        .map(|r| (r[0].clone(), r[3].clone()))
        .collect();
    let expected: Vec<(String, String)> = lines
        .iter()
        .map(|l| (l.session_id.clone(), neutral(&l.text)))
        .collect();
    assert_eq!(got, expected);
    let sessions: Vec<&str> = got.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(sessions.first(), Some(&"sa2"), "sa1 logged nothing");
    assert_eq!(sessions.last(), Some(&"a-last"));
    f.drop().await;
}
