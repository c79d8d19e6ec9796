//! Attendance that outlives the session, against dynalite: webhook deliveries in any order (a
//! leave before its join, a join without a leave, the close before the last leave), duplicates
//! and replays, the table down and back, end in the exact attendance, read back from
//! `/attendance-history` as JSON and as CSV with the same figures; and 10,000 events from 1,000
//! peers soaked through the receiver.

use std::sync::Arc;

use hms_shared::credentials::{Credentials, StaticSource};
use hms_shared::handlers::session_analytics::{ATTENDANCE_HISTORY_PATH, NEXT_CURSOR_HEADER};
use hms_shared::handlers::webhooks::WEBHOOKS_PATH;
use hms_shared::handlers::{SessionAnalytics, Webhooks};
use hms_shared::store::{EventsTable, Store};
use hms_shared::webhooks::DEFAULT_HEADER_NAME;
use hms_test_support::dynalite::{create_events_table, ddb_client, dynalite_endpoint};
use hms_test_support::forward::{Forward, Mode};
use hms_test_support::{FakeHms, Handle, answer, get, post};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::aws_lambda_events::encodings::Body;
use serde_json::{Value, json};

const SECRET: &str = "history-webhook-secret-0123456789abcdef";
const ROOM: &str = "6383d1c2e8d7f2a3b4c5d6e0";

fn receiver(table: EventsTable) -> Webhooks<StaticSource> {
    let creds = Credentials::new("k".into(), "s".into()).with_webhook_secret(SECRET.into());
    hms_test_support::webhooks_receiver(StaticSource(creds), std::sync::Arc::new(table))
}

async fn deliver(f: &Webhooks<StaticSource>, event: &Value) -> (u16, Value) {
    let mut ev = post(WEBHOOKS_PATH, &event.to_string());
    ev.headers.insert(DEFAULT_HEADER_NAME, SECRET.parse().unwrap());
    answer(&f.handle(ev).await)
}

fn at(time: &str) -> String {
    format!("2026-11-27T{time}Z")
}

/// A peer event of session `session` as 100ms sends it (version 2.0, the documented fields), of
/// peer `who` = (peer id, user id, name).
fn peer(kind: &str, id: &str, session: &str, who: (&str, &str, &str), joined: &str, left: Option<&str>) -> Value {
    let (peer, user, name) = who;
    let mut data = json!({"room_id": ROOM, "room_name": "class", "session_id": session, "peer_id": peer,
        "user_id": user, "user_name": name, "user_data": "", "role": "student", "type": "regular",
        "template_id": "63188115d11d6db790c73c60", "joined_at": at(joined), "session_started_at": at("10:00:00")});
    if let Some(l) = left {
        data["left_at"] = json!(at(l));
        data["reason"] = json!("client request");
        data["duration"] = json!(0);
    }
    json!({"version": "2.0", "id": id, "account_id": "acc", "timestamp": at(left.unwrap_or(joined)),
        "type": format!("peer.{kind}.success"), "data": data})
}

fn close(id: &str, session: &str, started: &str, stopped: &str) -> Value {
    json!({"version": "2.0", "id": id, "timestamp": at(stopped), "type": "session.close.success",
        "data": {"room_id": ROOM, "room_name": "class", "session_id": session, "template_id": "t",
                 "session_started_at": at(started), "session_stopped_at": at(stopped), "session_duration": 0}})
}

fn history_fn(table: EventsTable) -> SessionAnalytics<&'static FakeHms> {
    static HMS: std::sync::OnceLock<FakeHms> = std::sync::OnceLock::new();
    SessionAnalytics {
        history: Ok(std::sync::Arc::new(table)),
        ..hms_test_support::analytics(HMS.get_or_init(FakeHms::from_examples))
    }
}

/// `/attendance-history` with `query`: status, body text, and the next-cursor header.
async fn history(table: &EventsTable, query: &[(&str, &str)]) -> (u16, String, Option<String>) {
    let resp: ApiGatewayV2httpResponse = history_fn(table.clone()).handle(get(ATTENDANCE_HISTORY_PATH, query)).await;
    let text = match resp.body {
        Some(Body::Text(t)) => t,
        other => panic!("a text body: {other:?}"),
    };
    let next = resp.headers.get(NEXT_CURSOR_HEADER).map(|v| v.to_str().unwrap().to_string());
    (resp.status_code as u16, text, next)
}

async fn history_json(table: &EventsTable, query: &[(&str, &str)]) -> Value {
    let (status, text, _) = history(table, query).await;
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

async fn table() -> EventsTable {
    EventsTable::new(ddb_client(&dynalite_endpoint()), create_events_table().await)
}

/// (user_id, duration_seconds, joins) of each attendee of a report.
fn figures(report: &Value) -> Vec<(String, f64, u64)> {
    report["user_duration_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["user_id"].as_str().unwrap().to_string(),
                a["duration_seconds"].as_f64().unwrap(),
                a["joins"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn any_order_any_repeats_the_same_attendance() {
    let t = table().await;
    let f = receiver(t.clone());
    let s = "6383d1c2e8d7f2a3b4c5d6e1";
    let events = [
        // Bea's leave comes before her join.
        peer("leave", "e1", s, ("p-bea", "bea", "Bea"), "10:05:00", Some("10:35:00")),
        peer("join", "e2", s, ("p-bea", "bea", "Bea"), "10:05:00", None),
        // Al joins twice from two devices that overlap, and rejoins.
        peer("join", "e3", s, ("p-al-1", "al", "Al"), "10:00:00", None),
        peer("join", "e4", s, ("p-al-2", "al", "Al"), "10:10:00", None),
        peer("leave", "e5", s, ("p-al-1", "al", "Al"), "10:00:00", Some("10:20:00")),
        peer("leave", "e6", s, ("p-al-2", "al", "Al"), "10:10:00", Some("10:30:00")),
        peer("join", "e7", s, ("p-al-3", "al", "Al"), "10:40:00", None),
        // Cy joins and never leaves: present until the session ends.
        peer("join", "e8", s, ("p-cy", "cy", "Cy"), "10:50:00", None),
    ];
    for e in &events {
        assert_eq!(deliver(&f, e).await.0, 200);
    }
    // The close comes before Al's last leave.
    assert_eq!(deliver(&f, &close("e9", s, "10:00:00", "11:00:00")).await.0, 200);
    let early = history_json(&t, &[("room_id", ROOM)]).await;
    assert_eq!(early["count"], 1);
    let al_at_close = figures(&early["reports"][0]).into_iter().find(|r| r.0 == "al").unwrap();
    assert_eq!(al_at_close.1, 3600.0 - 600.0, "before the late leave, Al is there until the close");

    let late = peer("leave", "e10", s, ("p-al-3", "al", "Al"), "10:40:00", Some("10:45:00"));
    assert_eq!(deliver(&f, &late).await.0, 200);
    // Retries and a replay of everything: nothing changes.
    for e in events.iter().chain([&late]) {
        let mut replay = e.clone();
        replay["is_replay"] = json!(true);
        for again in [e, e, &replay] {
            let (s, b) = deliver(&f, again).await;
            assert_eq!((s, b["duplicate"].as_bool()), (200, Some(true)), "{b}");
        }
    }
    let stored = || async { t.report_page(ROOM, 10, None).await.unwrap().0 };
    let stale = stored().await.remove(0);
    assert!(
        stale.built.is_some() && !stale.is_fresh(),
        "a late leave asks for another build; the report stays till then"
    );
    let report = &history_json(&t, &[("room_id", ROOM)]).await["reports"][0];
    assert!(stored().await[0].is_fresh(), "the read built the report and kept it");
    assert_eq!(
        figures(report),
        vec![("al".into(), 1800.0 + 300.0, 3), ("bea".into(), 1800.0, 1), ("cy".into(), 600.0, 1)],
        "{report}"
    );
    assert_eq!(report["session_id"], s);
    assert_eq!(report["session_duration"], 60.0);
    let al = &report["user_duration_list"][0];
    assert_eq!(
        al["visits"],
        json!([{"joined_at": at("10:00:00"), "left_at": at("10:30:00")}, {"joined_at": at("10:40:00"), "left_at": at("10:45:00")}])
    );
}

#[tokio::test]
async fn storage_down_is_a_5xx_then_nothing_is_lost() {
    let name = create_events_table().await;
    let mut gate = Forward::to(&dynalite_endpoint()).await;
    let through_gate = EventsTable::new(ddb_client(&gate.url()), name.clone());
    let direct = EventsTable::new(ddb_client(&dynalite_endpoint()), name);
    let f = receiver(through_gate);
    let s = "6383d1c2e8d7f2a3b4c5d6e2";
    let events = [
        peer("join", "d1", s, ("p1", "u1", "One"), "10:00:00", None),
        peer("leave", "d2", s, ("p1", "u1", "One"), "10:00:00", Some("10:10:00")),
        close("d3", s, "10:00:00", "10:30:00"),
    ];
    gate.close().await;
    for e in &events {
        let (status, b) = deliver(&f, e).await;
        assert_eq!(
            (status, b["error"].as_str()),
            (503, Some("events_table_unavailable")),
            "the table is down: never a 200 ({b})"
        );
    }
    assert_eq!(history_json(&direct, &[("room_id", ROOM)]).await["count"], 0, "nothing half-kept");
    gate.open().await;
    gate.set(Mode::Pass);
    // 100ms's retry of each.
    for e in &events {
        assert_eq!(deliver(&f, e).await.0, 200);
    }
    let report = &history_json(&direct, &[("room_id", ROOM)]).await["reports"][0];
    assert_eq!(figures(report), vec![("u1".into(), 600.0, 1)]);
}

#[tokio::test]
async fn a_report_that_could_not_be_built_is_built_on_first_read() {
    let t = table().await;
    let f = receiver(t.clone());
    let s = "6383d1c2e8d7f2a3b4c5d6e3";
    for e in [peer("join", "b1", s, ("p1", "u1", "One"), "10:00:00", None), close("b2", s, "10:00:00", "10:20:00")] {
        assert_eq!(deliver(&f, &e).await.0, 200);
    }
    // What is left when the build failed at the close: the report item without its report.
    let client = ddb_client(&dynalite_endpoint());
    let name = create_events_table().await;
    let stored = client.scan().table_name(t.name()).send().await.unwrap().items.unwrap();
    for mut item in stored {
        item.remove("report");
        item.remove("events");
        client.put_item().table_name(&name).set_item(Some(item)).send().await.unwrap();
    }
    let fresh = EventsTable::new(ddb_client(&dynalite_endpoint()), name);
    let report = &history_json(&fresh, &[("room_id", ROOM)]).await["reports"][0];
    assert_eq!(figures(report), vec![("u1".into(), 1200.0, 1)], "built from the kept events");
}

#[tokio::test]
async fn history_pages_newest_first_and_csv_has_the_json_figures() {
    let t = table().await;
    let f = receiver(t.clone());
    let sessions = ["6383d1c2e8d7f2a3b4c5d6f1", "6383d1c2e8d7f2a3b4c5d6f2", "6383d1c2e8d7f2a3b4c5d6f3"];
    let names = ["=cmd|' /C calc'!A0", "+1", "@x", "Smith, \"Jo\""];
    for (i, s) in sessions.iter().enumerate() {
        let start = format!("1{i}:00:00");
        for (j, name) in names.iter().enumerate() {
            let joined = format!("1{i}:0{j}:00");
            let left = format!("1{i}:{}:30", 10 + j);
            let (p, u) = (format!("p{j}"), format!("u{j}"));
            assert_eq!(deliver(&f, &peer("join", &format!("j{i}{j}"), s, (&p, &u, name), &joined, None)).await.0, 200);
            assert_eq!(
                deliver(&f, &peer("leave", &format!("l{i}{j}"), s, (&p, &u, name), &joined, Some(&left))).await.0,
                200
            );
        }
        assert_eq!(deliver(&f, &close(&format!("c{i}"), s, &start, &format!("1{i}:30:00"))).await.0, 200);
    }
    // Newest first, two at a time.
    let first = history_json(&t, &[("room_id", ROOM), ("limit", "2")]).await;
    let order: Vec<&str> =
        first["reports"].as_array().unwrap().iter().map(|r| r["session_id"].as_str().unwrap()).collect();
    assert_eq!(order, [sessions[2], sessions[1]]);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let second = history_json(&t, &[("room_id", ROOM), ("limit", "2"), ("cursor", &cursor)]).await;
    assert_eq!(second["reports"][0]["session_id"], sessions[0]);
    assert_eq!(second["next_cursor"], Value::Null);
    let (status, body, _) = history(&t, &[("room_id", ROOM), ("cursor", "bm9wZQ")]).await;
    assert_eq!(status, 400, "{body}");

    // One session's report by its id: the same report the pages hold, alone; none for a session
    // the table does not have or of another room (404); no cursor with it.
    let one = history_json(&t, &[("room_id", ROOM), ("session_id", sessions[1])]).await;
    assert_eq!((one["count"].as_u64(), &one["next_cursor"]), (Some(1), &Value::Null), "{one}");
    assert_eq!(one["reports"][0], first["reports"][1]);
    for (room, session) in [(ROOM, "6383d1c2e8d7f2a3b4c5d6f9"), ("6383d1c2e8d7f2a3b4c5d6ff", sessions[1])] {
        let (status, body, _) = history(&t, &[("room_id", room), ("session_id", session)]).await;
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((status, body["error"].as_str()), (404, Some("session_not_found")), "{body}");
    }
    let (status, body, _) = history(&t, &[("room_id", ROOM), ("session_id", sessions[1]), ("cursor", &cursor)]).await;
    assert_eq!(status, 400, "{body}");
    let (status, csv, next) = history(&t, &[("room_id", ROOM), ("session_id", sessions[1]), ("format", "csv")]).await;
    assert_eq!((status, next), (200, None), "{csv}");
    assert_eq!(csv_rows(&csv).len(), 1 + names.len(), "{csv}");
    assert!(csv.contains(sessions[1]) && !csv.contains(sessions[0]) && !csv.contains(sessions[2]), "{csv}");

    // The CSV of the same page: one row per attendee and session, the JSON's figures.
    let (status, csv, next) = history(&t, &[("room_id", ROOM), ("limit", "2"), ("format", "csv")]).await;
    assert_eq!(status, 200, "{csv}");
    assert_eq!(next.as_deref(), Some(cursor.as_str()), "the next page's cursor in the header");
    let mut reader = csv_rows(&csv);
    let header = reader.remove(0);
    assert_eq!(header, hms_shared::csv::COLUMNS.iter().map(|c| c.to_string()).collect::<Vec<_>>());
    let mut expected = Vec::new();
    for report in first["reports"].as_array().unwrap() {
        for a in report["user_duration_list"].as_array().unwrap() {
            expected.push(vec![
                report["session_id"].as_str().unwrap().to_string(),
                a["user_id"].as_str().unwrap().to_string(),
                a["name"].as_str().unwrap().to_string(),
                a["duration"].to_string(),
                a["duration_seconds"].to_string(),
                a["joins"].to_string(),
            ]);
        }
    }
    let col = |name: &str| hms_shared::csv::COLUMNS.iter().position(|c| *c == name).unwrap();
    let got: Vec<Vec<String>> = reader
        .iter()
        .map(|r| {
            let name = &r[col("name")];
            // A neutralised formula reads back as the name with a leading apostrophe.
            let name = name.strip_prefix('\'').unwrap_or(name).to_string();
            vec![
                r[col("session_id")].clone(),
                r[col("user_id")].clone(),
                name,
                r[col("duration_minutes")].clone(),
                r[col("duration_seconds")].clone(),
                r[col("joins")].clone(),
            ]
        })
        .collect();
    assert_eq!(got, expected);
    for r in &reader {
        let name = &r[col("name")];
        assert!(!name.starts_with(['=', '+', '-', '@']), "a spreadsheet would run {name:?}");
    }
    assert_eq!(reader.len(), 8);
}

/// RFC 4180 read back: fields, quotes doubled inside quoted fields, CRLF between records.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted, mut chars) = (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CRLF ends a record");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(row.is_empty() && field.is_empty(), "the last record ends in CRLF");
    rows
}

/// 10,000 events from 1,000 peers in one session (1,000 users, each joining and leaving 5 times),
/// delivered 16 at a time in shuffled order, then the close: the report has every attendee with
/// the exact duration and number of joins.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_events_from_a_thousand_peers_give_the_exact_attendance() {
    const PEERS: usize = 1_000;
    const VISITS: usize = 5;
    let t = table().await;
    let f = Arc::new(receiver(t.clone()));
    let s = "6383d1c2e8d7f2a3b4c5d6aa";
    let mut events = Vec::with_capacity(PEERS * VISITS * 2);
    for p in 0..PEERS {
        for v in 0..VISITS {
            // Visit v of peer p: minute 10v to 10v + 5, offset by p seconds.
            let (start, end) = (v * 600 + p % 60, v * 600 + 300 + p % 60);
            let hms = |secs: usize| format!("1{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
            let (peer_id, user) = (format!("peer-{p}-{v}"), format!("user-{p}"));
            let name = format!("Student {p}");
            let who = (peer_id.as_str(), user.as_str(), name.as_str());
            events.push(peer("join", &format!("j-{p}-{v}"), s, who, &hms(start), None));
            events.push(peer("leave", &format!("l-{p}-{v}"), s, who, &hms(start), Some(&hms(end))));
        }
    }
    // A fixed shuffle (an LCG): leaves before joins, peers interleaved.
    let mut order: Vec<usize> = (0..events.len()).collect();
    let mut x: u64 = 42;
    for i in (1..order.len()).rev() {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        order.swap(i, (x >> 33) as usize % (i + 1));
    }
    let events = Arc::new(events);
    let order = Arc::new(order);
    let workers = 16;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (f, events, order) = (f.clone(), events.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            for i in (w..order.len()).step_by(workers) {
                let (status, b) = deliver(&f, &events[order[i]]).await;
                assert_eq!(status, 200, "{b}");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(deliver(&f, &close("close-soak", s, "10:00:00", "11:00:00")).await.0, 200);
    let page = history_json(&t, &[("room_id", ROOM)]).await;
    let report = &page["reports"][0];
    assert_eq!(report["attendee_count"], PEERS);
    let rows = figures(report);
    assert_eq!(rows.len(), PEERS);
    for (user, seconds, joins) in &rows {
        assert_eq!((*seconds, *joins), ((VISITS * 300) as f64, VISITS as u64), "{user}");
    }
    assert_eq!(report["total_peer_duration"], json!((PEERS * VISITS * 300) as f64 / 60.0));
    let (items, _) = t.report_page(ROOM, 10, None).await.unwrap();
    let kept = items[0].built.as_ref().expect("a report of 1,000 attendees is kept (gzip), not rebuilt on each read");
    assert_eq!(kept.events, (PEERS * VISITS * 2) as u64);
}
