//! End to end: release binaries under cargo-lambda's Runtime API, called over HTTP on the
//! production paths, with moto's Secrets Manager and the 100ms emulator behind them.

use hms_e2e::{Options, Stack};
use serde_json::{Value, json};

const DAY: &str = "2026-11-20T";

fn at(time: &str) -> String {
    format!("{DAY}{time}Z")
}

async fn token(stack: &Stack, room_id: &str, user: &str, role: &str) -> String {
    let (status, body) = stack.post("/auth-token", json!({"room_id": room_id, "user_id": user, "role": role})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    body["token"].as_str().unwrap().to_string()
}

fn rows(report: &Value) -> Vec<(Value, f64, String, u64)> {
    report["user_duration_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (r["user_id"].clone(), r["duration"].as_f64().unwrap(), r["name"].as_str().unwrap().to_string(), {
                r["joins"].as_u64().unwrap()
            })
        })
        .collect()
}

/// The walkthrough: a room, three users (one rejoins, one on two devices at once), exact figures.
#[tokio::test(flavor = "multi_thread")]
async fn walkthrough_gives_the_defined_attendance() {
    let stack = Stack::start("walkthrough", Options::default()).await;
    let (status, room) = stack.post("/create-room", json!({"name": "e2e-standup", "region": "eu"})).await;
    assert_eq!(status, 200, "{room}");
    let room_id = room["id"].as_str().unwrap().to_string();
    assert_eq!(room["name"], "e2e-standup");

    let alice = token(&stack, &room_id, "alice", "host").await;
    let bob = token(&stack, &room_id, "bob", "guest").await;
    let carol = token(&stack, &room_id, "carol", "guest").await;

    // Alice on two devices at once (phone 10:00-10:30, laptop 10:10-10:20): 30 min, not 40.
    // Bob leaves and rejoins (10:00-10:10, 10:15-10:25): 20 min. Carol 10:05-10:35.5: 30.5 min.
    let alice_phone = stack.hms.join(&alice, "Alice (phone)", &at("10:00:00")).await;
    let bob_1 = stack.hms.join(&bob, "Bob", &at("10:00:00")).await;
    let carol_1 = stack.hms.join(&carol, "Carol", &at("10:05:00")).await;
    let alice_laptop = stack.hms.join(&alice, "Alice (laptop)", &at("10:10:00")).await;
    stack.hms.leave(&bob_1, &at("10:10:00")).await;
    let bob_2 = stack.hms.join(&bob, "Bob (again)", &at("10:15:00")).await;
    stack.hms.leave(&alice_laptop, &at("10:20:00")).await;
    stack.hms.leave(&bob_2, &at("10:25:00")).await;
    stack.hms.leave(&alice_phone, &at("10:30:00")).await;
    stack.hms.leave(&carol_1, &at("10:35:30")).await;

    let (status, report) = stack.get(&format!("/session-analytics-by-room?room_id={room_id}")).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["active"], false);
    assert_eq!(report["session_duration"], 35.5);
    assert_eq!(report["total_peer_duration"], 80.5);
    assert_eq!(
        rows(&report),
        vec![
            (json!("alice"), 30.0, "Alice (laptop)".to_string(), 2),
            (json!("bob"), 20.0, "Bob (again)".to_string(), 2),
            (json!("carol"), 30.5, "Carol".to_string(), 1),
        ]
    );

    let (status, list) = stack.get(&format!("/session-list-by-room?room_id={room_id}")).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["count"], 1);
    assert_eq!(list["sessions"][0]["id"], report["session_id"]);
}

/// room-control over HTTP, as a host's app calls it: codes, a join by code, who is in, a removal,
/// the room ended with lock and a rejoin refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_host_runs_the_class_through_room_control() {
    let stack = Stack::start("room-control", Options::default()).await;
    let (status, room) = stack.post("/create-room", json!({"name": "e2e-class", "room_codes": true})).await;
    assert_eq!(status, 200, "{room}");
    let room_id = room["id"].as_str().unwrap().to_string();
    let codes = room["room_codes"].as_array().unwrap();
    let guest = codes.iter().find(|c| c["role"] == "guest").unwrap()["code"].as_str().unwrap();
    let join = |user: &'static str| stack.hms.join_by_code(guest, user);
    let first = join("s1").await.unwrap();
    join("s2").await.unwrap();
    let (s, peers) = stack.get(&format!("/active-peers?room_id={room_id}")).await;
    assert_eq!((s, peers["count"].as_u64()), (200, Some(2)), "{peers}");
    let (s, removed) = stack.post("/remove-peer", json!({"room_id": room_id, "peer_id": first, "reason": "bye"})).await;
    assert_eq!(s, 200, "{removed}");
    let (s, ended) = stack.post("/end-room", json!({"room_id": room_id, "lock": true})).await;
    assert_eq!((s, &ended["locked"]), (200, &json!(true)), "{ended}");
    let (s, refused) = join("s3").await.unwrap_err();
    assert_eq!((s, refused["message"].as_str()), (403, Some("room is disabled")), "{refused}");
    let (s, gone) = stack.get(&format!("/active-peers?room_id={room_id}")).await;
    assert_eq!((s, gone["error"].as_str()), (404, Some("session_not_found")), "{gone}");
    let log = stack.log("room-control");
    let answered = log.lines().filter(|l| l.contains(r#""message":"request""#) && l.contains(r#""status":200"#));
    assert_eq!(answered.count(), 3, "peers, remove, end: {log}");
}

/// 100ms rejects the management token: a fresh one is signed and the call succeeds.
#[tokio::test(flavor = "multi_thread")]
async fn a_401_is_refreshed_away() {
    let stack = Stack::start("refresh", Options::default()).await;
    assert_eq!(stack.post("/create-room", json!({"name": "r1"})).await.0, 200);
    stack.hms.fault("POST /rooms", json!({"kind": "status", "status": 401})).await;
    let (status, body) = stack.post("/create-room", json!({"name": "r2"})).await;
    assert_eq!(status, 200, "{body}");
    let c = stack.hms.counters().await;
    assert_eq!(c["management_tokens_seen"], 2);
    assert_eq!(c["requests"]["POST /rooms"], 3);
    assert_eq!(stack.log_lines("create-room", "credentials read from Secrets Manager"), 1);
    // The summary of the second request tells what it took: two calls, one of them a retry.
    let summaries: Vec<Value> = stack
        .log("create-room")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["message"] == "request")
        .collect();
    let counts: Vec<(u64, u64)> =
        summaries.iter().map(|l| (l["hms_calls"].as_u64().unwrap(), l["hms_retries"].as_u64().unwrap())).collect();
    assert_eq!(counts, vec![(1, 0), (2, 1)], "{summaries:?}");
}

/// 5xx and a hang give clean 502/504 answers, then the next call succeeds in the same process.
#[tokio::test(flavor = "multi_thread")]
async fn upstream_failures_are_clean_and_recover() {
    let mut stack = Stack::start("upstream", Options::default()).await;
    let (_, room) = stack.post("/create-room", json!({"name": "upstream"})).await;
    let q = format!("/session-list-by-room?room_id={}", room["id"].as_str().unwrap());
    let pid = stack.pid("session-analytics");

    stack.hms.fault("GET /sessions", json!({"kind": "status", "status": 500, "count": 3})).await;
    let (s, b) = stack.get(&q).await;
    assert_eq!((s, b["error"].as_str()), (502, Some("upstream_error")), "{b}");
    assert_eq!(stack.get(&q).await.0, 200);

    stack.hms.fault("GET /sessions", json!({"kind": "hang"})).await;
    let (s, b) = stack.get(&q).await;
    assert_eq!((s, b["error"].as_str()), (504, Some("upstream_timeout")), "{b}");
    assert_eq!(stack.get(&q).await.0, 200);

    stack.hms.fault("POST /rooms", json!({"kind": "status", "status": 503})).await;
    let (s, b) = stack.post("/create-room", json!({})).await;
    assert_eq!((s, b["error"].as_str()), (502, Some("upstream_error")), "a nameless create is not retried: {b}");

    assert!(stack.all_running(), "no function crashed");
    assert_eq!(stack.pid("session-analytics"), pid);
}

/// Secrets Manager unreachable at cold start: 503; once it is back the same process recovers.
#[tokio::test(flavor = "multi_thread")]
async fn secrets_manager_down_then_back() {
    let mut stack = Stack::start("sm-down", Options { secrets_manager_up: false, ..Options::default() }).await;
    let (s, b) = stack.post("/create-room", json!({"name": "down"})).await;
    assert_eq!((s, b["error"].as_str()), (503, Some("credentials_unavailable")), "{b}");
    let (s, b) =
        stack.post("/auth-token", json!({"room_id": "0123456789abcdef01234567", "user_id": "u", "role": "host"})).await;
    assert_eq!((s, b["error"].as_str()), (503, Some("credentials_unavailable")), "{b}");
    stack.set_secrets_manager_up(true);
    assert_eq!(stack.post("/create-room", json!({"name": "down"})).await.0, 200);
    let (s, _) =
        stack.post("/auth-token", json!({"room_id": "0123456789abcdef01234567", "user_id": "u", "role": "host"})).await;
    assert_eq!(s, 200);
    assert!(stack.all_running(), "recovered without a restart");
}

/// The secret is rotated in Secrets Manager and 100ms accepts only the new one: the functions
/// pick it up without a restart.
#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_secret_is_picked_up() {
    let mut stack = Stack::start("rotation", Options::default()).await;
    let (_, room) = stack.post("/create-room", json!({"name": "rotation"})).await;
    let room_id = room["id"].as_str().unwrap().to_string();
    let old_token = token(&stack, &room_id, "before", "host").await;
    // Warm both 100ms-calling functions with the old secret.
    assert_eq!(stack.get(&format!("/session-list-by-room?room_id={room_id}")).await.0, 200);

    stack.rotate_secret().await;

    let (s, b) = stack.get(&format!("/session-list-by-room?room_id={room_id}")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(stack.log_lines("session-analytics", "credentials read from Secrets Manager"), 2);
    assert_eq!(stack.post("/create-room", json!({"name": "rotation"})).await.0, 200);
    assert_eq!(stack.log_lines("create-room", "credentials read from Secrets Manager"), 2);
    assert!(stack.all_running());
    // An auth token signed with the old secret no longer lets a client join.
    let resp = reqwest::Client::new()
        .post(format!("{}/_emulator/join", stack.hms.base))
        .json(&json!({"token": old_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

/// `/auth-token` never hears a 401, so it picks a rotated secret up when its cache ages out:
/// tokens minted after that let clients join again.
#[tokio::test(flavor = "multi_thread")]
async fn auth_tokens_follow_a_rotation_once_the_cache_ages_out() {
    let stack = Stack::start("rotation-auth", Options { secret_cache_seconds: Some(2), ..Options::default() }).await;
    let (_, room) = stack.post("/create-room", json!({"name": "rotation-auth"})).await;
    let room_id = room["id"].as_str().unwrap().to_string();
    let before = token(&stack, &room_id, "u1", "host").await;
    stack.hms.join(&before, "U1", &at("09:00:00")).await;

    stack.rotate_secret().await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;

    let after = token(&stack, &room_id, "u2", "guest").await;
    stack.hms.join(&after, "U2", &at("09:01:00")).await;
    assert_eq!(stack.log_lines("auth-token", "credentials read from Secrets Manager"), 2);
}

/// Release builds carry info and above: `RUST_LOG=debug` is reported at start and opens up
/// nothing, though the calls go through the SDK's and hyper's code, which has debug events.
#[tokio::test(flavor = "multi_thread")]
async fn release_builds_report_a_rust_log_above_info_and_log_no_debug() {
    let stack = Stack::start("rust-log-debug", Options { rust_log: "debug", ..Options::default() }).await;
    let (status, room) = stack.post("/create-room", json!({"name": "e2e-logs", "region": "eu"})).await;
    assert_eq!(status, 200, "{room}");
    token(&stack, room["id"].as_str().unwrap(), "alice", "host").await;
    let (status, list) = stack.get(&format!("/session-list-by-room?room_id={}", room["id"].as_str().unwrap())).await;
    assert_eq!(status, 200, "{list}");
    for f in ["create-room", "auth-token", "session-analytics"] {
        let log = stack.log(f);
        let notice = r#"RUST_LOG \"debug\" asks for debug events; this build carries info and above"#;
        assert_eq!(stack.log_lines(f, notice), 1, "{f}: the notice, once:\n{log}");
        assert_eq!(stack.log_lines(f, r#""message":"request""#), 1, "{f}: its one request, logged at info:\n{log}");
        assert_eq!(
            stack.log_lines(f, r#""level":"DEBUG""#) + stack.log_lines(f, r#""level":"TRACE""#),
            0,
            "{f}:\n{log}"
        );
    }
}

/// `AWS_LAMBDA_MAX_CONCURRENCY`, as Lambda Managed Instances set it (and `cargo lambda watch`
/// sets it to 1): each function polls with that many workers, answers every request, and logs
/// no warning about it. Eight session lists sent at once, each held 1.5 s by 100ms: the emulator
/// sees exactly as many of them waiting at once as the function has workers.
#[tokio::test(flavor = "multi_thread")]
async fn managed_concurrency_is_honoured_without_a_warning() {
    for n in [1, 4] {
        let stack =
            Stack::start(&format!("max-concurrency-{n}"), Options { max_concurrency: Some(n), ..Options::default() })
                .await;
        let (status, room) = stack.post("/create-room", json!({"name": format!("e2e-concurrency-{n}")})).await;
        assert_eq!(status, 200, "{room}");
        let room_id = room["id"].as_str().unwrap().to_string();
        let calls = (0..8).map(|i| {
            let (stack, room_id) = (&stack, &room_id);
            async move { token(stack, room_id, &format!("user-{i}"), "guest").await }
        });
        let tokens = futures_util::future::join_all(calls).await;
        assert_eq!(tokens.iter().collect::<std::collections::HashSet<_>>().len(), 8);
        stack.hms.fault("GET /sessions", json!({"kind": "delay", "ms": 1500, "count": 8})).await;
        stack.hms.reset_counters().await;
        let path = format!("/session-list-by-room?room_id={room_id}");
        let lists = (0..8).map(|_| stack.get(&path));
        for (status, list) in futures_util::future::join_all(lists).await {
            assert_eq!(status, 200, "{list}");
        }
        let c = stack.hms.counters().await;
        assert_eq!(
            (c["requests"]["GET /sessions"].as_u64(), c["most_delayed_at_once"].as_u64()),
            (Some(8), Some(n as u64)),
            "{c}"
        );
        for f in ["create-room", "auth-token", "session-analytics"] {
            let log = stack.log(f);
            assert_eq!(stack.log_lines(f, r#""level":"WARN""#), 0, "{f} with {n}:\n{log}");
            assert!(stack.log_lines(f, r#""message":"request""#) >= 1, "{f} with {n}:\n{log}");
        }
        assert_eq!(stack.log_lines("auth-token", r#""message":"request""#), 8);
    }
}

/// `Accept-Encoding: gzip`, as mobile HTTP clients send it: an answer of more than a few hundred
/// bytes comes gzip-compressed (through the Runtime API and the router as API Gateway passes it),
/// and unpacks to the very answer a client without gzip gets; a small one comes plain.
#[tokio::test(flavor = "multi_thread")]
async fn answers_are_gzip_for_clients_that_take_it() {
    use std::io::Read as _;
    let stack = Stack::start("gzip", Options::default()).await;
    let (status, room) = stack.post("/create-room", json!({"name": "e2e-gzip"})).await;
    assert_eq!(status, 200, "{room}");
    let room_id = room["id"].as_str().unwrap();
    let mut peers = Vec::new();
    for i in 0..30 {
        let t = token(&stack, room_id, &format!("student-{i:02}"), "guest").await;
        peers.push(stack.hms.join(&t, &format!("Student {i:02}"), &at("09:00:00")).await);
    }
    for peer in peers {
        stack.hms.leave(&peer, &at("09:45:00")).await;
    }
    let http = reqwest::Client::new();
    let url = format!("{}/session-analytics-by-room?room_id={room_id}", stack.api);
    let plain = http.get(&url).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain: Value = plain.json().await.unwrap();
    let packed = http.get(&url).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(packed.status(), 200);
    assert_eq!(
        packed.headers().get("content-encoding").map(|v| v.to_str().unwrap()),
        Some("gzip"),
        "{:?}",
        packed.headers()
    );
    assert_eq!(packed.headers()["vary"], "accept-encoding");
    let bytes = packed.bytes().await.unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut text).unwrap();
    let unpacked: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(unpacked["user_duration_list"], plain["user_duration_list"]);
    assert_eq!(unpacked["attendee_count"], 30);
    assert!(bytes.len() * 3 < text.len(), "{} -> {} bytes", text.len(), bytes.len());

    let small =
        http.get(format!("{}/session-list-by-room", stack.api)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(small.status(), 400);
    assert!(small.headers().get("content-encoding").is_none(), "a small error goes plain");
}
