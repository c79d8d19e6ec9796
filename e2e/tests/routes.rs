//! Every route of the API through the release binaries: each answers its documented error for
//! bad input (and 100ms's meaning for what it does not have), across five functions that read
//! the secret once and sign one management token between them.

use hms_e2e::{Options, Stack};
use serde_json::{Value, json};

/// Every route (each method and path the functions serve, from their own route lists) with good
/// and bad input; five create-room calls read the secret once and send one management token;
/// nothing secret reaches a log.
#[tokio::test(flavor = "multi_thread")]
async fn every_route_and_one_secret_read_one_management_token() {
    let stack = Stack::start("routes", Options::default()).await;
    let mut room_ids = Vec::new();
    for i in 0..5 {
        let (status, body) = stack.post("/create-room", json!({"name": format!("five-{i}")})).await;
        assert_eq!(status, 200, "{body}");
        room_ids.push(body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(stack.log_lines("create-room", "credentials read from Secrets Manager"), 1);
    let c = stack.hms.counters().await;
    assert_eq!(c["requests"]["POST /rooms"], 5);
    assert_eq!(c["management_tokens_seen"], 1);

    let room = "0123456789abcdef01234567";
    let cases: Vec<(&str, &str, Option<&str>, u16, &str)> = vec![
        ("POST", "/create-room", Some(r#"{"name":"bad name"}"#), 400, "invalid_field"),
        ("POST", "/create-room", Some(r#"{"colour":"red"}"#), 400, "unknown_field"),
        ("POST", "/create-room", Some("{"), 400, "invalid_json"),
        ("POST", "/create-room", None, 400, "missing_body"),
        ("POST", "/create-room", Some(r#"{"template_id":"aaaaaaaaaaaaaaaaaaaaaaaa"}"#), 400, "upstream_rejected"),
        ("GET", "/create-room", None, 405, "method_not_allowed"),
        ("POST", "/auth-token", Some(r#"{"room_id":"x","user_id":"u","role":"host"}"#), 400, "invalid_field"),
        ("POST", "/auth-token", Some(r#"{"room_id":"0123456789abcdef01234567","user_id":"u"}"#), 400, "missing_field"),
        (
            "POST",
            "/auth-token",
            Some(r#"{"room_id":"0123456789abcdef01234567","user_id":"u","role":"admin"}"#),
            403,
            "role_not_allowed",
        ),
        ("POST", "/auth-token", Some("[]"), 400, "invalid_body"),
        ("GET", "/session-analytics-by-room", None, 400, "missing_parameter"),
        ("GET", "/session-analytics-by-room?room_id=nothex", None, 400, "invalid_parameter"),
        ("GET", "/session-analytics-by-room?room_id=0123456789abcdef01234567", None, 404, "session_not_found"),
        ("POST", "/session-list-by-room?room_id=0123456789abcdef01234567", None, 405, "method_not_allowed"),
        ("GET", "/session-list-by-room?room_id=0123456789abcdef01234567&limit=0", None, 400, "invalid_parameter"),
        (
            "POST",
            "/room-codes",
            Some(r#"{"room_id":"0123456789abcdef01234567","roles":["admin"]}"#),
            403,
            "role_not_allowed",
        ),
        ("GET", "/active-peers?room_id=0123456789abcdef01234567", None, 404, "session_not_found"),
        ("POST", "/remove-peer", Some(r#"{"room_id":"0123456789abcdef01234567"}"#), 400, "missing_field"),
        ("GET", "/recording-url?asset_id=0123456789abcdef01234567&duration=10", None, 400, "invalid_parameter"),
        ("POST", "/room-owner", Some(r#"{"room_id":"0123456789abcdef01234567","owner":" "}"#), 400, "invalid_field"),
        ("GET", "/attendance-history?room_id=0123456789abcdef01234567&format=xml", None, 400, "invalid_parameter"),
        ("GET", "/room-codes?room_id=0123456789abcdef01234567&enabled=maybe", None, 400, "invalid_parameter"),
        ("POST", "/room-codes/disable", Some(r#"{"code":"a/b"}"#), 400, "invalid_field"),
        ("POST", "/room-codes/enable", Some("{}"), 400, "missing_field"),
        ("POST", "/end-room", Some(r#"{"room_id":"0123456789abcdef01234567","lock":"yes"}"#), 400, "invalid_field"),
        (
            "POST",
            "/recordings/start",
            Some(r#"{"room_id":"0123456789abcdef01234567","resolution":"720p"}"#),
            400,
            "invalid_field",
        ),
        ("POST", "/recordings/stop", Some(r#"{"room":"0123456789abcdef01234567"}"#), 400, "unknown_field"),
        ("GET", "/recordings?room_id=0123456789abcdef01234567&limit=21", None, 400, "invalid_parameter"),
        ("POST", "/webhooks/100ms", Some("{}"), 401, "unauthenticated"),
        (
            "POST",
            "/room-access",
            Some(r#"{"room_id":"0123456789abcdef01234567","access":"closed"}"#),
            400,
            "invalid_field",
        ),
        ("POST", "/room-members", Some(r#"{"room_id":"0123456789abcdef01234567","members":[]}"#), 400, "invalid_field"),
        ("GET", "/room-members?room_id=0123456789abcdef01234567&limit=0", None, 400, "invalid_parameter"),
        ("POST", "/room-members/remove", Some(r#"{"room_id":"0123456789abcdef01234567"}"#), 400, "missing_field"),
        (
            "POST",
            "/room-members/ban",
            Some(r#"{"room_id":"0123456789abcdef01234567","user_id":""}"#),
            400,
            "invalid_field",
        ),
        ("POST", "/room-members/unban", Some(r#"{"user_id":"u"}"#), 400, "missing_field"),
        ("POST", "/send-message", Some(r#"{"room_id":"0123456789abcdef01234567","message":""}"#), 400, "invalid_field"),
        ("POST", "/update-peer", Some(r#"{"room_id":"0123456789abcdef01234567","peer_id":"p"}"#), 400, "missing_field"),
        ("POST", "/room-enabled", Some(r#"{"room_id":"0123456789abcdef01234567"}"#), 400, "missing_field"),
        ("POST", "/recordings/pause", Some(r#"{"room_id":"0123456789abcdef01234567"}"#), 404, "upstream_not_found"),
        ("POST", "/recordings/resume", Some("{}"), 400, "missing_field"),
        ("GET", "/recording-summary?asset_id=nothex", None, 400, "invalid_parameter"),
        ("GET", "/live-streams?room_id=0123456789abcdef01234567&limit=101", None, 400, "invalid_parameter"),
        ("POST", "/live-streams/start", Some(r#"{"room_id":"0123456789abcdef01234567"}"#), 404, "session_not_found"),
        ("POST", "/live-streams/stop", Some(r#"{"room_id":"0123456789abcdef01234567"}"#), 404, "upstream_not_found"),
        (
            "POST",
            "/live-streams/timed-metadata",
            Some(r#"{"room_id":"0123456789abcdef01234567","stream_id":"s","payload":"p","duration":0}"#),
            400,
            "invalid_field",
        ),
    ];
    let served: std::collections::BTreeSet<(String, String)> =
        cases.iter().map(|c| (c.0.to_string(), c.1.split('?').next().unwrap().to_string())).collect();
    for route in hms_e2e::all_routes() {
        if route.path != "/attendance" {
            assert!(
                served.contains(&(route.method.to_string(), route.path.to_string())),
                "{} {} is not called",
                route.method,
                route.path
            );
        }
    }
    let page = reqwest::get(format!("{}/attendance", stack.api)).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    for (method, path, body, status, code) in cases {
        let (s, b) = stack.call(method, path, body).await;
        assert_eq!((s, b["error"].as_str()), (status, Some(code)), "{method} {path}: {b}");
        assert_eq!(b["success"], false);
        assert!(b["msg"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let big = format!(r#"{{"description":"{}"}}"#, "x".repeat(17 * 1024));
    let (s, b) = stack.call("POST", "/create-room", Some(&big)).await;
    assert_eq!((s, b["error"].as_str()), (413, Some("payload_too_large")));
    let (s, b) = stack.get(&format!("/session-list-by-room?room_id={room}")).await;
    assert_eq!((s, b["count"].as_u64()), (200, Some(0)));
    let (s, b) = stack.post("/room-codes", json!({"room_id": room_ids[0]})).await;
    assert_eq!((s, b["count"].as_u64()), (200, Some(2)), "a code for host and guest: {b}");

    // 100ms's webhooks: kept once, retries answered 200 as duplicates, a wrong secret refused.
    let event = json!({"version": "2.0", "id": format!("e2e-{}", room_ids[0]), "type": "peer.join.success",
        "timestamp": "2026-11-20T10:00:00Z", "data": {"room_id": room_ids[0], "session_id": "s-e2e", "peer_id": "p1"}});
    for duplicate in [false, true, true] {
        let (s, b) = stack.webhook(&event).await;
        assert_eq!((s, b["duplicate"].as_bool()), (200, Some(duplicate)), "{b}");
    }
    let (s, b) = stack.post("/webhooks/100ms", event.clone()).await;
    assert_eq!((s, b["error"].as_str(), b["msg"].as_str()), (401, Some("unauthenticated"), Some("unauthorized")));

    // Tokens and secrets never appear in a log.
    let (_, minted) =
        stack.post("/auth-token", json!({"room_id": room, "user_id": "log-check", "role": "guest"})).await;
    let token = minted["token"].as_str().unwrap();
    for f in hms_e2e::FUNCTIONS {
        let log = stack.log(f);
        assert!(!log.contains(token), "{f} logged an auth token");
        assert!(!log.contains("eyJ"), "{f} logged something that looks like a JWT");
        assert!(!log.contains(&stack.secret), "{f} logged the app secret");
        assert!(!log.contains(&stack.webhook_secret), "{f} logged the webhook secret");
        assert!(log.contains("\"status\":200"), "{f} logged its requests: the checks above read a real log");
    }

    // Every line is JSON; every line written while answering carries the id of that invocation,
    // and each invocation ends with exactly one summary line.
    for f in hms_e2e::FUNCTIONS {
        let lines: Vec<Value> = stack
            .log(f)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{f}: a log line is not JSON ({e}): {l}")))
            .collect();
        let summaries: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request").collect();
        let ids: std::collections::BTreeSet<&str> =
            summaries.iter().map(|l| l["requestId"].as_str().expect("a summary line carries its requestId")).collect();
        assert_eq!(ids.len(), summaries.len(), "{f}: one summary line per invocation");
        assert!(summaries.len() >= 3, "{f}: the requests above were summarised: {summaries:?}");
        for s in &summaries {
            for field in ["route", "method", "status", "ms", "hms_calls", "hms_retries"] {
                assert!(s.get(field).is_some(), "{f}: the summary has {field}: {s}");
            }
            if s["status"].as_u64().unwrap() >= 400 {
                assert!(s["error"].is_string(), "{f}: a failure's summary names its code: {s}");
            }
        }
        let ours = ["request", "100ms call", "credentials read from Secrets Manager", "auth token minted"];
        for line in lines.iter().filter(|l| ours.iter().any(|m| l["message"] == *m)) {
            let id = line["requestId"].as_str().unwrap_or_else(|| panic!("{f}: no requestId: {line}"));
            assert!(ids.contains(id), "{f}: {line} belongs to an invocation that was summarised");
        }
    }
    let create_log = stack.log("create-room");
    let created = create_log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["message"] == "request" && l["status"] == 200)
        .unwrap();
    assert!(created["hms_calls"].as_u64() >= Some(1), "a create calls 100ms: {created}");
}
