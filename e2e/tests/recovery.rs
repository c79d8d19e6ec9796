//! Nothing lost, end to end, through the release binaries, the 100ms emulator and dynalite:
//! - the receiver is down while a class runs; 100ms's three retries fail and its delivery log
//!   records the failures; the receiver comes back; `reconcile` (invoked as the schedule does)
//!   reads the log, has 100ms replay the window, follows the replay to its end; the table then
//!   holds every event 100ms sent, event for event, and the attendance history is 100ms's own
//!   attendance of the class;
//! - a flood of refused requests runs while a class's webhooks are delivered: each is a 401, and
//!   afterwards (with the reconciliation) no event of the class is missing;
//! - the webhook route's authorizer says yes to the secret header only.

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use hms_e2e::{Options, Stack};
use hms_shared::store::{EventsTable, Store, is_hms_id};
use hms_test_support::dynalite::{ddb_client, dynalite_endpoint};
use hms_test_support::forward::{Forward, Mode};
use serde_json::{Value, json};

/// The reconciliation as the template's schedule runs it, quick: events settle after 1 s, and a
/// running replay is asked after every second.
const QUICK: &[(&str, &str)] = &[("RECONCILE_SETTLE_SECONDS", "1"), ("RECONCILE_POLL_SECONDS", "1")];

/// What EventBridge's schedule sends (reconcile does not read it).
fn scheduled() -> Value {
    json!({"version": "0", "source": "aws.events", "detail-type": "Scheduled Event", "detail": {}})
}

fn stamp(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Sends 100ms's webhooks to `url` with the stack's secret header.
async fn webhooks_to(stack: &Stack, url: &str) {
    let header = json!({hms_shared::webhooks::DEFAULT_HEADER_NAME: stack.webhook_secret});
    stack.hms.control(reqwest::Method::PUT, "webhook", json!({"url": url, "headers": header})).await;
}

/// A class in a new room, an hour ago: four students, one of whom comes back; the last to leave
/// closes the session. Answers the room id.
async fn class(stack: &Stack, name: &str) -> String {
    let (status, room) = stack.post("/create-room", json!({"name": name})).await;
    assert_eq!(status, 200, "{room}");
    let room_id = room["id"].as_str().unwrap().to_string();
    let start = Utc::now() - TimeDelta::hours(1);
    let at = |minutes: i64| stamp(start + TimeDelta::minutes(minutes));
    let mut peers = Vec::new();
    for (n, user) in ["ada", "bo", "cy", "di"].iter().enumerate() {
        let (s, t) = stack.post("/auth-token", json!({"room_id": room_id, "user_id": user, "role": "guest"})).await;
        assert_eq!(s, 200, "{t}");
        let token = t["token"].as_str().unwrap().to_string();
        let peer = stack.hms.join(&token, user, &at(n as i64)).await;
        peers.push((token, peer));
    }
    stack.hms.leave(&peers[1].1, &at(10)).await;
    let back = stack.hms.join(&peers[1].0, "bo", &at(15)).await;
    for (minute, peer) in [(20, &peers[0].1), (25, &back), (30, &peers[2].1), (40, &peers[3].1)] {
        stack.hms.leave(peer, &at(minute)).await;
    }
    room_id
}

/// The events 100ms sent for `room_id`, with how their delivery went, once every delivery is
/// finished (its retries included).
async fn sent_for(stack: &Stack, room_id: &str, within: Duration) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let log = stack.hms.control(reqwest::Method::GET, "webhooks", json!({})).await;
        let events: Vec<Value> = log["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["payload"]["data"]["room_id"] == room_id)
            .cloned()
            .collect();
        if !events.is_empty() && events.iter().all(|e| !e["delivered"].is_null()) {
            return events;
        }
        assert!(Instant::now() < deadline, "100ms's deliveries for {room_id} did not finish within {within:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Each event 100ms sent is kept as it was sent (a replay carries `is_replay`, nothing else
/// differs): event for event.
async fn every_event_kept(stack: &Stack, sent: &[Value]) {
    let table = EventsTable::new(ddb_client(&dynalite_endpoint()), stack.events_table.clone());
    for e in sent {
        let payload = &e["payload"];
        let id = payload["id"].as_str().unwrap();
        let session = payload["data"]["session_id"].as_str().filter(|s| is_hms_id(s));
        let body = table.event_body(id, session).await.unwrap().unwrap_or_else(|| panic!("{id} is missing: {e}"));
        let mut kept: Value = serde_json::from_str(&body).unwrap();
        if let Some(map) = kept.as_object_mut() {
            map.remove("is_replay");
        }
        assert_eq!(&kept, payload, "{id} kept as sent");
    }
}

/// The attendance history of `room_id` (its one session) is 100ms's attendance of it.
async fn history_is_100ms_attendance(stack: &Stack, room_id: &str) {
    let (status, history) = stack.get(&format!("/attendance-history?room_id={room_id}")).await;
    assert_eq!((status, history["count"].as_u64()), (200, Some(1)), "{history}");
    let (status, live) = stack.get(&format!("/session-analytics-by-room?room_id={room_id}")).await;
    assert_eq!(status, 200, "{live}");
    let rows = |v: &Value| -> Vec<(String, f64)> {
        v["user_duration_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["user_id"].as_str().unwrap().to_string(), r["duration_seconds"].as_f64().unwrap()))
            .collect()
    };
    let report = &history["reports"][0];
    assert_eq!(rows(report), rows(&live), "history {report}\nanalytics {live}");
    assert_eq!(rows(report).len(), 4, "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_class_delivered_while_the_receiver_was_down_is_recovered_event_for_event() {
    let stack = Stack::start("recovery", Options { env: QUICK, ..Options::default() }).await;
    let receiver = Forward::with_mode(&stack.api, Mode::Drop).await;
    webhooks_to(&stack, &format!("{}/webhooks/100ms", receiver.url())).await;
    let room_id = class(&stack, "recovery-class").await;
    let sent = sent_for(&stack, &room_id, Duration::from_secs(60)).await;
    for e in &sent {
        assert_eq!((e["delivered"].as_bool(), e["attempts"].as_u64()), (Some(false), Some(4)), "retried 3 times: {e}");
    }
    let (status, history) = stack.get(&format!("/attendance-history?room_id={room_id}")).await;
    assert_eq!((status, history["count"].as_u64()), (200, Some(0)), "nothing reached us: {history}");

    receiver.set(Mode::Pass);
    // 100ms answers the replay request 429 "retry after 45 seconds" (not waited for: the call
    // fails at once): the run fails, alarmed, and the next one takes up from where it stopped.
    let limited = json!({"kind": "status", "status": 429, "retry_after": 45, "count": 1});
    stack.hms.fault("POST /analytics/webhooks/replay", limited).await;
    let (ok, failed) = stack.invoke("reconcile", &scheduled()).await;
    assert!(!ok, "a run 100ms rate-limits fails: {failed}");
    let (ok, report) = stack.invoke("reconcile", &scheduled()).await;
    assert!(ok, "{report}");
    assert_eq!(report["missing"].as_u64(), Some(sent.len() as u64), "{report}");
    assert_eq!(
        (report["replays_started"].as_u64(), report["replays_finished"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
    assert_eq!((report["given_up"].as_u64(), report["replay_running"].as_bool()), (Some(0), Some(false)), "{report}");
    every_event_kept(&stack, &sent).await;
    history_is_100ms_attendance(&stack, &room_id).await;

    // The next run finds nothing missing and asks for no replay.
    let (ok, again) = stack.invoke("reconcile", &scheduled()).await;
    assert!(ok, "{again}");
    assert_eq!((again["missing"].as_u64(), again["replays_started"].as_u64()), (Some(0), Some(0)), "{again}");
    assert_eq!(
        stack.log_lines("reconcile", "reconcile run failed"),
        1,
        "the rate-limited run only: {}",
        stack.log("reconcile")
    );
    assert_eq!(stack.log_lines("reconcile", "gave events up"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_refused_requests_starves_no_delivery_for_good() {
    let stack = Stack::start("flood", Options { env: QUICK, ..Options::default() }).await;
    webhooks_to(&stack, &format!("{}/webhooks/100ms", stack.api)).await;
    // 2,000 refused requests from 16 connections at once, some without the header, some with a
    // wrong value, while the class runs; bounded in count and time.
    let flood = {
        let url = format!("{}/webhooks/100ms", stack.api);
        tokio::spawn(async move {
            let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
            let workers = (0..16).map(|w| {
                let (http, url) = (http.clone(), url.clone());
                async move {
                    let mut statuses = Vec::new();
                    for n in 0..125 {
                        let mut req = http.post(&url).body(format!(r#"{{"id":"junk-{w}-{n}"}}"#));
                        if n % 2 == 0 {
                            req = req.header(hms_shared::webhooks::DEFAULT_HEADER_NAME, format!("wrong-{w}-{n}"));
                        }
                        statuses.push(req.send().await.map(|r| r.status().as_u16()).unwrap_or(0));
                    }
                    statuses
                }
            });
            futures_util::future::join_all(workers).await.concat()
        })
    };
    let room_id = class(&stack, "flooded-class").await;
    let statuses = tokio::time::timeout(Duration::from_secs(120), flood).await.expect("the flood ends").unwrap();
    assert_eq!(statuses.len(), 2_000);
    assert!(
        statuses.iter().all(|s| *s == 401),
        "every flood request refused: {:?}",
        statuses.iter().find(|s| **s != 401)
    );
    let sent = sent_for(&stack, &room_id, Duration::from_secs(60)).await;
    let failed = sent.iter().filter(|e| e["delivered"] == false).count();
    let (ok, report) = stack.invoke("reconcile", &scheduled()).await;
    assert!(ok, "{report}");
    assert_eq!(report["missing"].as_u64(), Some(failed as u64), "the reconciliation recovers what failed: {report}");
    every_event_kept(&stack, &sent).await;
    history_is_100ms_attendance(&stack, &room_id).await;
    println!(
        "flood: 2,000 refused requests; {} of the class's {} deliveries failed and were recovered",
        failed,
        sent.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_webhook_authorizer_lets_in_the_secret_header_only() {
    let stack = Stack::start("webhook-authorizer", Options::default()).await;
    let event = |headers: Value| {
        json!({"version": "2.0", "type": "REQUEST", "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api/$default/POST/webhooks/100ms",
            "identitySource": [], "routeKey": "ANY /webhooks/100ms", "rawPath": "/webhooks/100ms", "headers": headers,
            "requestContext": {"http": {"method": "POST", "path": "/webhooks/100ms", "sourceIp": "34.100.213.146"}}})
    };
    let header = hms_shared::webhooks::DEFAULT_HEADER_NAME;
    for (headers, want) in [
        (json!({header: stack.webhook_secret}), true),
        (json!({header: "not-the-secret-0123456789abcdef0123456789"}), false),
        (json!({"content-type": "application/json"}), false),
    ] {
        let (ok, verdict) = stack.invoke("webhook-authorizer", &event(headers.clone())).await;
        assert!(ok, "{verdict}");
        assert_eq!(verdict, json!({"isAuthorized": want}), "{headers}");
    }
    assert!(!stack.log("webhook-authorizer").contains(&stack.webhook_secret), "the secret is never logged");
}
