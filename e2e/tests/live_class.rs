//! The live class end to end: the release binaries under cargo-lambda's Runtime API, over HTTP
//! on the production paths, the 100ms emulator behind them. A teacher's class from an
//! announcement to a webinar: a student on stage and back, a recording paused and resumed with
//! its transcript and summary, the room unlocked after `end-room` locked it, a live stream with a
//! cue; bad input refused before 100ms is called.

use hms_e2e::{Options, Stack};
use reqwest::Method;
use serde_json::{Value, json};

fn code(room: &Value, role: &str) -> String {
    let codes = room["room_codes"].as_array().unwrap();
    codes.iter().find(|c| c["role"] == role).unwrap()["code"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_teacher_runs_a_live_class_through_the_release_binaries() {
    let stack = Stack::start("live-class", Options::default()).await;
    let (s, room) = stack.post("/create-room", json!({"name": "live-class", "room_codes": true})).await;
    assert_eq!(s, 200, "{room}");
    let room_id = room["id"].as_str().unwrap().to_string();
    stack.hms.join_by_code(&code(&room, "host"), "teacher").await.unwrap();
    let student = stack.hms.join_by_code(&code(&room, "guest"), "student").await.unwrap();

    // Bad input: a 400, and 100ms is not called.
    stack.hms.reset_counters().await;
    for (path, body, error) in [
        ("/send-message", json!({"room_id": room_id, "message": ""}), "invalid_field"),
        ("/update-peer", json!({"room_id": room_id, "peer_id": student}), "missing_field"),
        (
            "/live-streams/timed-metadata",
            json!({"room_id": room_id, "stream_id": "s", "payload": "p"}),
            "missing_field",
        ),
        ("/recordings/start", json!({"room_id": room_id, "transcription": {"output_modes": ["pdf"]}}), "invalid_field"),
    ] {
        let (s, b) = stack.post(path, body).await;
        assert_eq!((s, b["error"].as_str()), (400, Some(error)), "{path}: {b}");
    }
    let counters = stack.hms.counters().await;
    let requests = counters["requests"].as_object().expect("the emulator's requests by route");
    assert!(requests.values().all(|n| n == 0), "nothing reached 100ms: {counters}");

    let (s, b) =
        stack.post("/send-message", json!({"room_id": room_id, "message": "Quiz in 5 minutes", "type": "quiz"})).await;
    assert_eq!((s, b["message"].as_str()), (200, Some("message sent")), "{b}");
    for role in ["host", "guest"] {
        let (s, b) = stack.post("/update-peer", json!({"room_id": room_id, "peer_id": student, "role": role})).await;
        assert_eq!((s, b["peer"]["role"].as_str()), (200, Some(role)), "{b}");
    }

    let start = json!({"room_id": room_id, "transcription": {"enabled": true, "summary": {"enabled": true}}});
    let (s, b) = stack.post("/recordings/start", start).await;
    assert_eq!(s, 200, "{b}");
    stack.hms.control(Method::POST, "clock", json!({"advance_seconds": 10})).await;
    for path in ["/recordings/pause", "/recordings/resume"] {
        let (s, b) = stack.post(path, json!({"room_id": room_id})).await;
        assert_eq!((s, b["recording"]["status"].as_str()), (200, Some("running")), "{path}: {b}");
    }
    let (s, b) = stack.post("/recordings/stop", json!({"room_id": room_id})).await;
    assert_eq!(s, 200, "{b}");
    stack.hms.control(Method::POST, "clock", json!({"advance_seconds": 60})).await;
    let (s, b) = stack.get(&format!("/recordings?room_id={room_id}")).await;
    assert_eq!(s, 200, "{b}");
    let assets = b["recordings"][0]["assets"].as_array().unwrap();
    let summary = assets.iter().find(|a| a["type"] == "summary").expect("a summary asset")["id"].as_str().unwrap();
    let (s, b) = stack.get(&format!("/recording-summary?asset_id={summary}")).await;
    assert_eq!((s, b["sections"].as_array().map(Vec::len)), (200, Some(4)), "the docs' four sections: {b}");

    let (s, b) = stack.post("/live-streams/start", json!({"room_id": room_id, "recording": {"hls_vod": true}})).await;
    assert_eq!(s, 200, "{b}");
    let stream = b["stream"]["id"].as_str().unwrap().to_string();
    stack.hms.control(Method::POST, "clock", json!({"advance_seconds": 5})).await;
    let cue = json!({"room_id": room_id, "stream_id": stream, "payload": "poll-1", "duration": 15});
    let (s, b) = stack.post("/live-streams/timed-metadata", cue).await;
    assert_eq!((s, b["stream"]["status"].as_str()), (200, Some("running")), "{b}");
    let (s, b) = stack.get(&format!("/live-streams?room_id={room_id}")).await;
    assert_eq!((s, b["count"].as_u64()), (200, Some(1)), "{b}");

    let (s, b) = stack.post("/end-room", json!({"room_id": room_id, "lock": true})).await;
    assert_eq!(s, 200, "{b}");
    let (_, b) = stack.get(&format!("/live-streams?room_id={room_id}")).await;
    let after = b["streams"][0]["status"].as_str().unwrap_or_default();
    assert!(["stopping", "post_processing"].contains(&after), "the stream stopped with the room: {b}");
    assert!(stack.hms.join_by_code(&code(&room, "guest"), "late").await.is_err(), "locked");
    let (s, b) = stack.post("/room-enabled", json!({"room_id": room_id, "enabled": true})).await;
    assert_eq!((s, b["enabled"].as_bool()), (200, Some(true)), "{b}");
    assert!(stack.hms.join_by_code(&code(&room, "guest"), "late").await.is_ok(), "unlocked");
    let log = stack.log("room-control");
    assert!(!log.contains("X-Amz") && !log.contains("?token="), "no presigned link in the log");
}
