//! The live class with the real 100ms client against the emulator: the state each call leaves
//! is the state 100ms would show (a role change in the peer list, a disabled room refusing a
//! join, a paused recording resuming with the pause left out of its length, a transcript and a
//! summary made for a recording that asked for them, a live stream's life and its `hls.*` and
//! `transcription.*` webhooks, a cue in the stream's playlist).

use hms_shared::auth::{CallerAuth, RoleAllowList};
use hms_shared::credentials::{CredentialStore, Credentials, StaticSource};
use hms_shared::handlers::{CreateRoom, RoomControl};
use hms_shared::hms::HmsClient;
use hms_shared::owners::RoomAccess;
use hms_shared::tls::Roots;
use hms_test_support::{CACHE_AGE, Handle, Hms, answer, fresh_secret, get, post};
use reqwest::Method;
use serde_json::{Value, json};

const KEY: &str = "key-live-class";

struct Live {
    hms: Hms,
    control: RoomControl<HmsClient<StaticSource>>,
    create: CreateRoom<HmsClient<StaticSource>>,
}

impl Live {
    async fn start() -> Self {
        let secret = fresh_secret();
        let hms = Hms::start(KEY, &secret).await;
        let client = || {
            let source = StaticSource(Credentials::new(KEY.into(), secret.clone()));
            HmsClient::new(hms.api(), CredentialStore::new(source, CACHE_AGE), Roots::Compiled)
        };
        let access = RoomAccess::new(CallerAuth::Open, Err(hms_shared::config::ConfigError("no table".into())));
        let control = RoomControl {
            hms: client(),
            roles: RoleAllowList::Any,
            access: access.clone(),
            meeting_hosts: Default::default(),
        };
        let create = CreateRoom { hms: client(), access, code_roles: Ok(RoleAllowList::Any) };
        // Events are logged as they are sent; nothing listens on port 9.
        hms.control(Method::PUT, "webhook", json!({"url": "http://127.0.0.1:9/hook"})).await;
        Self { hms, control, create }
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        answer(&self.control.handle(post(path, &body.to_string())).await)
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
        answer(&self.control.handle(get(path, query)).await)
    }

    /// A room with a code per role, and the codes.
    async fn room(&self, name: &str) -> (String, Value) {
        let body = json!({"name": name, "room_codes": true}).to_string();
        let (s, room) = answer(&self.create.handle(post("/create-room", &body)).await);
        assert_eq!(s, 200, "{room}");
        (room["id"].as_str().unwrap().to_string(), room["room_codes"].clone())
    }

    async fn clock(&self, seconds: i64) {
        self.hms.control(Method::POST, "clock", json!({"advance_seconds": seconds})).await;
    }

    /// The webhook events sent so far, of `kind`.
    async fn events(&self, kind: &str) -> Vec<Value> {
        let sent = self.hms.control(Method::GET, "webhooks", json!({})).await;
        sent["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["payload"]["type"] == kind)
            .map(|e| e["payload"].clone())
            .collect()
    }
}

fn code<'a>(codes: &'a Value, role: &str) -> &'a str {
    codes.as_array().unwrap().iter().find(|c| c["role"] == role).unwrap()["code"].as_str().unwrap()
}

#[tokio::test]
async fn a_student_comes_on_stage_and_back_and_a_locked_room_is_unlocked() {
    let live = Live::start().await;
    let (room, codes) = live.room("stage-101").await;
    live.hms.join_by_code(code(&codes, "host"), "teacher-1").await.unwrap();
    let student = live.hms.join_by_code(code(&codes, "guest"), "student-1").await.unwrap();

    let (s, b) =
        live.post("/send-message", json!({"room_id": room, "message": "Quiz in 5", "type": "quiz-start"})).await;
    assert_eq!((s, b["message"].as_str()), (200, Some("message sent")), "{b}");
    let (s, _) = live.post("/send-message", json!({"room_id": room, "message": "Your turn", "peer_id": student})).await;
    assert_eq!(s, 200);
    let sent = live.hms.control(Method::GET, "messages", json!({})).await;
    let sent = sent["messages"].as_array().unwrap();
    assert_eq!(sent[0]["to"].as_array().unwrap().len(), 2, "everyone: {sent:?}");
    assert_eq!((sent[0]["type"].as_str(), sent[1]["to"].clone()), (Some("quiz-start"), json!([student])));

    for (role, name) in [("host", "Ada (on stage)"), ("guest", "Ada")] {
        let change = json!({"room_id": room, "peer_id": student, "role": role, "name": name});
        let (s, b) = live.post("/update-peer", change).await;
        assert_eq!((s, b["peer"]["role"].as_str()), (200, Some(role)), "{b}");
        let (_, peers) = live.get("/active-peers", &[("room_id", &room)]).await;
        let seen = peers["peers"].as_array().unwrap().iter().find(|p| p["id"] == student.as_str()).unwrap().clone();
        assert_eq!((seen["role"].as_str(), seen["name"].as_str()), (Some(role), Some(name)), "{peers}");
    }
    let changes = live.events("role.change.success").await;
    assert_eq!(changes.len(), 2);
    assert_eq!(
        (changes[0]["data"]["previous_role"].as_str(), changes[0]["data"]["role"].as_str()),
        (Some("guest"), Some("host"))
    );
    assert!(changes[0]["data"].get("role_change_requested_by").is_none(), "absent for a change through the API");
    let (s, b) = live.post("/update-peer", json!({"room_id": room, "peer_id": student, "role": "stage"})).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("upstream_rejected")), "100ms's invalid role: {b}");
    assert!(b["msg"].as_str().unwrap().contains("invalid role"), "{b}");
    let (s, b) = live.post("/update-peer", json!({"room_id": room, "peer_id": "no-such-peer", "name": "x"})).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("upstream_not_found")), "{b}");

    let (s, b) = live.post("/end-room", json!({"room_id": room, "lock": true})).await;
    assert_eq!(s, 200, "{b}");
    assert!(live.hms.join_by_code(code(&codes, "guest"), "student-2").await.is_err(), "a locked room refuses joins");
    let (s, b) = live.post("/room-enabled", json!({"room_id": room, "enabled": true})).await;
    assert_eq!((s, b["enabled"].as_bool()), (200, Some(true)), "{b}");
    assert!(live.hms.join_by_code(code(&codes, "guest"), "student-2").await.is_ok(), "unlocked, the class goes on");
    let (s, b) = live.post("/room-enabled", json!({"room_id": room, "enabled": false})).await;
    assert_eq!((s, b["enabled"].as_bool()), (200, Some(false)), "{b}");
    assert!(live.hms.join_by_code(code(&codes, "guest"), "student-3").await.is_err(), "disabled again");
}

#[tokio::test]
async fn a_paused_recording_resumes_and_leaves_a_transcript_and_a_summary() {
    let live = Live::start().await;
    let (room, codes) = live.room("record-101").await;
    live.hms.join_by_code(code(&codes, "host"), "teacher-1").await.unwrap();
    let sections =
        json!([{"title": "Key Points", "format": "bullets"}, {"title": "Short Summary", "format": "paragraph"}]);
    let start = json!({"room_id": room, "transcription": {"enabled": true, "output_modes": ["txt", "srt"],
        "summary": {"enabled": true, "sections": sections, "temperature": 0.3}}});
    let (s, b) = live.post("/recordings/start", start).await;
    assert_eq!(s, 200, "{b}");
    let id = b["recording"]["id"].as_str().unwrap().to_string();
    live.clock(10).await;
    let (s, b) = live.post("/recordings/pause", json!({"room_id": room})).await;
    assert_eq!((s, b["recording"]["status"].as_str()), (200, Some("running")), "{b}");
    let state = live.hms.control(Method::GET, &format!("recordings/{id}"), json!({})).await;
    assert_eq!(state["paused"], true, "{state}");
    live.clock(20).await;
    let (s, _) = live.post("/recordings/resume", json!({"room_id": room})).await;
    assert_eq!(s, 200);
    let state = live.hms.control(Method::GET, &format!("recordings/{id}"), json!({})).await;
    assert_eq!((state["paused"].as_bool(), state["paused_seconds"].as_i64()), (Some(false), Some(20)), "{state}");
    live.clock(30).await;
    let (s, _) = live.post("/recordings/stop", json!({"room_id": room})).await;
    assert_eq!(s, 200);
    live.clock(60).await;

    let (s, b) = live.get("/recordings", &[("room_id", &room)]).await;
    assert_eq!(s, 200, "{b}");
    let rec = &b["recordings"][0];
    assert_eq!(rec["status"], "completed", "{b}");
    let assets = rec["assets"].as_array().unwrap();
    let of = |kind: &str| assets.iter().filter(|a| a["type"] == kind).cloned().collect::<Vec<_>>();
    let composite = &of("room-composite")[0];
    assert_eq!(composite["duration"], 37, "recorded 7 s + 30 s; the 20 s pause is left out: {composite}");
    let transcripts = of("transcript");
    let mut modes: Vec<&str> = transcripts.iter().map(|a| a["metadata"]["output_mode"].as_str().unwrap()).collect();
    modes.sort();
    assert_eq!(modes, ["srt", "txt"]);
    let summary = of("summary")[0]["id"].as_str().unwrap().to_string();
    let (s, b) = live.get("/recording-summary", &[("asset_id", &summary)]).await;
    assert_eq!(s, 200, "{b}");
    let titles: Vec<&str> = b["sections"].as_array().unwrap().iter().map(|x| x["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Key Points", "Short Summary"], "the sections asked for, in order: {b}");
    assert_eq!(b["sections"][0]["text"].as_array().unwrap().len(), 2, "bullets: {b}");
    assert_eq!(b["sections"][1]["format"], "paragraph");
    let transcript = of("transcript")[0]["id"].as_str().unwrap().to_string();
    let (s, link) = live.get("/recording-url", &[("asset_id", &transcript)]).await;
    assert_eq!(s, 200, "{link}");
    let text = reqwest::get(link["url"].as_str().unwrap()).await.unwrap().text().await.unwrap();
    assert!(text.contains("Good morning, class."), "a transcript is served like any asset: {text}");

    let started = live.events("transcription.started.success").await;
    let done = live.events("transcription.success").await;
    assert_eq!((started.len(), done.len()), (1, 1));
    let d = &done[0]["data"];
    assert_eq!(
        (d["recording_id"].as_str(), d["summary_json_asset_id"].as_str()),
        (Some(id.as_str()), Some(summary.as_str()))
    );
    assert!(d["transcript_srt_presigned_url"].is_string() && d.get("transcript_json_asset_id").is_none(), "{d}");
}

#[tokio::test]
async fn a_webinar_streams_to_viewers_with_cues_until_it_stops() {
    let live = Live::start().await;
    let (room, codes) = live.room("webinar-101").await;
    let (s, b) = live.post("/live-streams/start", json!({"room_id": room})).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("session_not_found")), "{b}");
    live.hms.join_by_code(code(&codes, "host"), "speaker-1").await.unwrap();
    let (s, b) = live
        .post(
            "/live-streams/start",
            json!({"room_id": room, "recording": {"hls_vod": true, "single_file_per_layer": true}}),
        )
        .await;
    assert_eq!((s, b["stream"]["status"].as_str()), (200, Some("starting")), "{b}");
    let id = b["stream"]["id"].as_str().unwrap().to_string();
    let playback = b["stream"]["playback"]["url"].as_str().unwrap().to_string();
    let (s, b) = live.post("/live-streams/start", json!({"room_id": room})).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("upstream_rejected")), "one stream at a time: {b}");
    let cue = json!({"room_id": room, "stream_id": id, "payload": "poll-1", "duration": 10});
    let (s, b) = live.post("/live-streams/timed-metadata", cue.clone()).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("upstream_rejected")), "not running yet: {b}");
    live.clock(5).await;
    let (s, b) = live.get("/live-streams", &[("room_id", &room)]).await;
    assert_eq!((s, b["streams"][0]["status"].as_str()), (200, Some("running")), "{b}");
    let (s, b) = live.post("/live-streams/timed-metadata", cue).await;
    assert_eq!(s, 200, "{b}");
    let playlist = reqwest::get(&playback).await.unwrap().text().await.unwrap();
    assert!(playlist.contains("X-100MSLIVE-PAYLOAD=\"poll-1\"") && playlist.contains("DURATION=10"), "{playlist}");
    // Viewers join with a viewer role's code, as for any room.
    assert!(live.hms.join_by_code(code(&codes, "viewer"), "viewer-1").await.is_ok());

    let (s, b) = live.post("/live-streams/stop", json!({"room_id": room, "stream_id": id})).await;
    assert_eq!((s, b["streams"][0]["status"].as_str()), (200, Some("stopping")), "{b}");
    let (s, b) = live.post("/live-streams/stop", json!({"room_id": room})).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("upstream_not_found")), "{b}");
    live.clock(60).await;
    let (s, b) = live.get("/live-streams", &[("room_id", &room)]).await;
    assert_eq!((s, b["streams"][0]["status"].as_str()), (200, Some("completed")), "{b}");
    let started = live.events("hls.started.success").await;
    let stopped = live.events("hls.stopped.success").await;
    let recorded = live.events("hls.recording.success").await;
    assert_eq!((started.len(), stopped.len(), recorded.len()), (1, 1, 1));
    assert_eq!(started[0]["data"]["url"].as_str(), Some(playback.as_str()));
    assert_eq!(stopped[0]["data"]["reason"], "client request");
    assert_eq!(recorded[0]["data"]["recording_single_files"].as_array().unwrap().len(), 2);
    assert!(recorded[0]["data"]["hls_vod_recording_path"].as_str().unwrap().ends_with(".m3u8"));

    // A stream still running when the room ends stops with it.
    let (s, _) = live.post("/live-streams/start", json!({"room_id": room})).await;
    assert_eq!(s, 200);
    live.post("/end-room", json!({"room_id": room})).await;
    let stopped = live.events("hls.stopped.success").await;
    assert_eq!(stopped.last().unwrap()["data"]["reason"], "room ended");
}
