//! The emulator's webhooks as 100ms documents them: the payloads of the docs' samples (same fields,
//! same types), the configured headers, retries 1, 3 and 10 s apart until a 200, the delivery log,
//! and replays marked `is_replay`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::*;
use serde_json::{Value, json};

/// A webhook receiver on a free port: keeps what it is sent, answers 500 to the first `fail`
/// deliveries of each event (every one when `fail` is `usize::MAX`), 200 after.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<(Instant, HeaderMap, Value)>>>,
}

impl Receiver {
    async fn start(fail: usize) -> Self {
        let got: Arc<Mutex<Vec<(Instant, HeaderMap, Value)>>> = Arc::default();
        let kept = got.clone();
        let app = axum::Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, Json(body): Json<Value>| {
                let kept = kept.clone();
                async move {
                    let mut kept = kept.lock().unwrap();
                    let before = kept.iter().filter(|(_, _, b)| b["id"] == body["id"]).count();
                    kept.push((Instant::now(), headers, body));
                    if before < fail { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, got }
    }

    fn bodies(&self) -> Vec<Value> {
        self.got.lock().unwrap().iter().map(|(_, _, b)| b.clone()).collect()
    }
}

/// A client joins `room_id` as `user`; its peer id.
async fn join(emu: &Emu, room_id: &str, user: &str) -> Value {
    let token = app_token(room_id, user, "guest");
    emu.control("POST", "join", json!({"token": token, "name": user})).await["peer_id"].clone()
}

async fn point_at(emu: &Emu, url: &str) {
    let (s, _) = emu
        .control_answer("PUT", "webhook", json!({"url": url, "headers": {"x-100ms-webhook-secret": "emu-hook-secret"}}))
        .await;
    assert_eq!(s, 200);
}

/// Waits until every event the emulator sent has a final outcome; answers them. `within` only
/// keeps a broken emulator from hanging the suite: it is several times what the retries take.
async fn settled(emu: &Emu, within: Duration) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let log = emu.control("GET", "webhooks", json!({})).await;
        let events = log["events"].as_array().unwrap().clone();
        if !events.is_empty() && events.iter().all(|e| !e["delivered"].is_null()) {
            return events;
        }
        assert!(started.elapsed() < within, "deliveries not finished within {within:?}: {log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_class_sends_the_documented_events_and_a_200_ends_the_retries() {
    let emu = Emu::start().await;
    let hook = Receiver::start(2).await;
    point_at(&emu, &hook.url).await;
    let room_id = room(&emu, "webhook-class").await["id"].as_str().unwrap().to_string();
    let a = join(&emu, &room_id, "ann").await;
    join(&emu, &room_id, "bob").await;
    assert_eq!(emu.control_answer("POST", "leave", json!({"peer_id": a})).await.0, 200);
    let (s, _) =
        emu.v2("POST", &format!("/active-rooms/{room_id}/end-room"), Some(json!({"reason": "class over"}))).await;
    assert_eq!(s, 200);

    let log = settled(&emu, Duration::from_secs(120)).await;
    let kinds: Vec<&str> = log.iter().map(|e| e["payload"]["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "session.open.success",
            "peer.join.success",
            "peer.join.success",
            "peer.leave.success",
            "room.end.success",
            "peer.leave.success",
            "session.close.success"
        ]
    );
    assert!(log.iter().all(|e| e["delivered"] == true), "{log:?}");
    assert!(log.iter().all(|e| e["attempts"] == 3), "each refused twice, then a 200, then no more: {log:?}");

    // Each payload has the fields and types of the docs' sample of its type.
    let sample = |kind: &str| example(&format!("webhook_{}.json", kind.replace('.', "_")));
    for e in &log {
        let payload = &e["payload"];
        let kind = payload["type"].as_str().unwrap();
        // room.end.success's peer fields name the peer who ended it; ended through the API, none did.
        let ignore: &[&str] =
            if kind == "room.end.success" { &["peer_id", "user_id", "user_name", "role"] } else { &[] };
        same_shape(&sample(kind), payload, kind, ignore);
    }
    let leaves: Vec<&Value> = log.iter().map(|e| &e["payload"]).filter(|p| p["type"] == "peer.leave.success").collect();
    assert_eq!(
        (leaves[0]["data"]["reason"].as_str(), leaves[1]["data"]["reason"].as_str()),
        (Some("client request"), Some("peer kicked"))
    );
    assert_eq!(leaves[1]["data"]["message"], "class over");

    // What the receiver saw: the header with each delivery, the retries at least 1 s and then 3 s
    // apart.
    {
        let got = hook.got.lock().unwrap();
        assert_eq!(got.len(), 21);
        assert!(got.iter().all(|(_, h, _)| h.get("x-100ms-webhook-secret").is_some_and(|v| v == "emu-hook-secret")));
        for e in &log {
            let tries: Vec<Instant> =
                got.iter().filter(|(_, _, b)| b["id"] == e["payload"]["id"]).map(|(t, _, _)| *t).collect();
            let (gap1, gap2) = (tries[1] - tries[0], tries[2] - tries[1]);
            // At least the documented waits (a loaded machine only makes them longer; how much
            // longer is not this test's business).
            assert!(gap1 >= Duration::from_millis(950), "{gap1:?}");
            assert!(gap2 >= Duration::from_millis(2950), "{gap2:?}");
        }
    }

    // The delivery log: every event, delivered.
    let (s, page) = emu.v2("GET", &format!("/analytics/webhooks?room_id={room_id}&limit=5"), None).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["pagination"]["total_items"], 7);
    assert_eq!(
        (page["pagination"]["total_pages"].as_u64(), page["pagination"]["has_next"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(page["events"].as_array().unwrap().len(), 5);
    same_shape(
        &example("webhooks_delivery_list_response.json"),
        &page,
        "delivery log",
        &["error_reason", "user_id", "peer_id"],
    );
    assert!(page["events"].as_array().unwrap().iter().all(|e| e["event_name"] == "reporter.webhook.delivery.success"));
    let (s, failed) = emu.v2("GET", "/analytics/webhooks?status=failed", None).await;
    assert_eq!(s, 200, "{failed}");
    assert_eq!(
        (failed["summary"]["total_events"].as_u64(), failed["events"].as_array().map(Vec::len)),
        (Some(0), Some(0)),
        "every delivery succeeded: {failed}"
    );
}

#[tokio::test]
async fn failed_deliveries_are_retried_three_times_logged_and_replayed() {
    let emu = Emu::start().await;
    let down = Receiver::start(usize::MAX).await;
    point_at(&emu, &down.url).await;
    let room_id = room(&emu, "webhook-down").await["id"].as_str().unwrap().to_string();
    join(&emu, &room_id, "cy").await;

    let log = settled(&emu, Duration::from_secs(120)).await;
    assert_eq!(log.len(), 2, "session.open and peer.join");
    for e in &log {
        assert_eq!(
            (e["delivered"].as_bool(), e["attempts"].as_u64()),
            (Some(false), Some(4)),
            "one attempt and 3 retries"
        );
    }
    assert_eq!(down.bodies().len(), 8);

    let (s, failed) = emu.v2("GET", "/analytics/webhooks?status=failed", None).await;
    assert_eq!(s, 200, "{failed}");
    assert_eq!(failed["summary"]["total_events"], 2);
    let entry = &failed["events"][0];
    assert_eq!(entry["event_name"], "reporter.webhook.delivery.failed");
    assert_eq!(entry["payload"]["error_reason"], "status 500");
    assert_eq!(entry["payload"]["webhook_url"], down.url.as_str());

    // The receiver is fixed; the failed events are replayed (status defaults to failed).
    let up = Receiver::start(0).await;
    point_at(&emu, &up.url).await;
    let names = json!(["session.open.success", "peer.join.success"]);
    let (s, started) =
        emu.v2("POST", "/analytics/webhooks/replay", Some(json!({"room_id": room_id, "event_names": names}))).await;
    assert_eq!((s, &started["filters"]["event_types"]), (200, &names), "{started}");
    same_shape(&example("webhooks_replay_response.json"), &started, "replay", &["room_id"]);
    let id = started["workflow_id"].as_str().unwrap().to_string();
    let begun = Instant::now();
    let status = loop {
        let (_, w) = emu.v2("GET", &format!("/analytics/webhooks/replay/{id}"), None).await;
        if w["status"] != "Running" {
            break w;
        }
        assert!(begun.elapsed() < Duration::from_secs(120), "the replay never ended: {w}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status["status"], "completed", "{status}");
    assert_eq!((status["result"]["total"].as_u64(), status["result"]["completed"].as_u64()), (Some(2), Some(2)));
    let replayed = up.bodies();
    assert_eq!(replayed.len(), 2);
    assert!(replayed.iter().all(|b| b["is_replay"] == true), "{replayed:?}");
    let ids: Vec<&Value> = log.iter().map(|e| &e["payload"]["id"]).collect();
    assert!(replayed.iter().all(|b| ids.contains(&&b["id"])), "the same event ids");

    let old = (chrono::Utc::now() - chrono::TimeDelta::days(31)).to_rfc3339();
    let (s, b) = emu.v2("GET", &format!("/analytics/webhooks?start_time={}", old.replace('+', "%2B")), None).await;
    assert_eq!((s, b["message"].as_str()), (400, Some("start_time must be within the last 30 days")));
}
