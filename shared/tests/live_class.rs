//! The live class over the in-memory 100ms (`FakeHms`): messages, peer changes, locking,
//! pausing a recording, a summary's sections, live streams. What each route sends 100ms, what it
//! refuses before calling it, and how 100ms's failures come back. `room_control.rs` and the
//! emulator's tests run the same against the emulator.

use std::sync::Arc;

use chrono::Utc;
use hms_shared::ApiError;
use hms_shared::auth::{CallerAuth, ClaimRule, JwtRules, RoleAllowList, RoleClaims};
use hms_shared::handlers::RoomControl;
use hms_shared::input::{Parse, Role, RoomId};
use hms_shared::owners::RoomAccess;
use hms_shared::store::{MemoryStore, Owners, SharedOwners};
use hms_test_support::{FakeHms, GARBAGE, Garbled, Handle, answer, get, post, with_claims};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde_json::{Value, json};

const ROOM: &str = "631b2654f771854d9bf633df";
const OTHER_ROOM: &str = "631b2654f771854d9bf633e0";

fn control(hms: &FakeHms) -> RoomControl<&FakeHms> {
    RoomControl {
        hms,
        roles: RoleAllowList::Only(["host", "guest", "viewer"].iter().map(|r| Role::parse(r).unwrap()).collect()),
        access: hms_test_support::open_access(),
        meeting_hosts: Default::default(),
    }
}

async fn call<H: hms_shared::hms::HmsApi>(f: &RoomControl<H>, ev: ApiGatewayV2httpRequest) -> (u16, Value) {
    answer(&f.handle(ev).await)
}

fn send(path: &str, v: Value) -> ApiGatewayV2httpRequest {
    post(path, &v.to_string())
}

#[tokio::test]
async fn messages_reach_everyone_a_role_or_one_peer_of_the_live_session() {
    let hms = FakeHms::default();
    let f = control(&hms);
    let (s, b) = call(&f, send("/send-message", json!({"room_id": ROOM, "message": "Welcome"}))).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("session_not_found")), "nobody is in the room: {b}");
    hms.join(ROOM, "p-1", "guest", "2024-05-01T10:00:00Z");
    hms.join(ROOM, "p-2", "host", "2024-05-01T10:00:01Z");
    for (body, to) in [
        (json!({"room_id": ROOM, "message": "Welcome"}), json!({})),
        (json!({"room_id": ROOM, "message": "Quiz!", "role": "guest", "type": "quiz-start"}), json!({"role": "guest"})),
        (json!({"room_id": ROOM, "message": "You're up", "peer_id": "p-1"}), json!({"peer_id": "p-1"})),
    ] {
        let (s, b) = call(&f, send("/send-message", body.clone())).await;
        assert_eq!((s, b["message"].as_str()), (200, Some("message sent")), "{b}");
        let sent = hms.messages.lock().unwrap().last().unwrap().clone();
        assert_eq!((&sent["message"], &sent["to"], &sent["type"]), (&body["message"], &to, &body["type"]));
    }
    let (s, b) = call(&f, send("/send-message", json!({"room_id": ROOM, "message": "x", "peer_id": "p-9"}))).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("upstream_not_found")), "{b}");
    assert!(b["msg"].as_str().unwrap().contains("peer p-9"), "{b}");
    let calls = hms.called().len();
    for bad in [
        json!({"room_id": ROOM, "message": "x".repeat(4097)}),
        json!({"room_id": ROOM, "message": "x", "peer_id": "p-1", "role": "guest"}),
        json!({"room_id": ROOM}),
    ] {
        let (s, _) = call(&f, send("/send-message", bad)).await;
        assert_eq!(s, 400);
    }
    assert_eq!(hms.called().len(), calls, "bad input reaches nobody");
}

/// A signed-in teacher runs their room; bringing a student on stage as `host` needs what a host
/// token needs (here the `teachers` group, `ROLE_CLAIMS`).
#[tokio::test]
async fn a_role_change_needs_what_a_token_of_that_role_needs() {
    let rules = JwtRules {
        admin: ClaimRule::parse("cognito:groups=admins").unwrap(),
        creator: Some(ClaimRule::parse("cognito:groups=teachers").unwrap()),
        role_claims: RoleClaims::parse("host=cognito:groups=teachers").unwrap(),
        join: Default::default(),
    };
    let owners = Arc::new(MemoryStore::default());
    let room = RoomId::parse(ROOM).unwrap();
    owners.claim_owner(&room, "owner-1", Utc::now()).await.unwrap();
    let hms = FakeHms::default();
    hms.join(ROOM, "p-1", "guest", "2024-05-01T10:00:00Z");
    let f =
        RoomControl { access: RoomAccess::new(CallerAuth::Jwt(rules), Ok(owners as SharedOwners)), ..control(&hms) };
    let on_stage = json!({"room_id": ROOM, "peer_id": "p-1", "role": "host"});
    // The room's owner who is no longer a teacher could not mint a host token: no host made.
    let former = |ev| with_claims(ev, &[("sub", "owner-1"), ("cognito:groups", "[alumni]")]);
    let (s, b) = call(&f, former(send("/update-peer", on_stage.clone()))).await;
    assert_eq!((s, b["error"].as_str()), (403, Some("role_not_allowed")), "{b}");
    assert!(!hms.called().contains(&"update_peer"), "100ms was not asked");
    let (s, b) =
        call(&f, former(send("/update-peer", json!({"room_id": ROOM, "peer_id": "p-1", "name": "Ada L."})))).await;
    assert_eq!((s, b["peer"]["name"].as_str()), (200, Some("Ada L.")), "a name needs no role: {b}");
    let teacher = |ev| with_claims(ev, &[("sub", "owner-1"), ("cognito:groups", "[teachers]")]);
    let (s, b) = call(&f, teacher(send("/update-peer", on_stage))).await;
    assert_eq!((s, b["peer"]["role"].as_str()), (200, Some("host")), "{b}");
    let back = json!({"room_id": ROOM, "peer_id": "p-1", "role": "guest"});
    let (s, b) = call(&f, teacher(send("/update-peer", back))).await;
    assert_eq!((s, b["peer"]["role"].as_str()), (200, Some("guest")), "and back: {b}");
    // Someone else's room is not found, whatever the change.
    let stranger = |ev| with_claims(ev, &[("sub", "teacher-2"), ("cognito:groups", "[teachers]")]);
    let (s, b) =
        call(&f, stranger(send("/update-peer", json!({"room_id": ROOM, "peer_id": "p-1", "name": "x"})))).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("room_not_found")), "{b}");
    // A role outside ALLOWED_ROLES is refused here, before 100ms could say the template lacks it.
    let (s, b) =
        call(&f, teacher(send("/update-peer", json!({"room_id": ROOM, "peer_id": "p-1", "role": "viewer2"})))).await;
    assert_eq!((s, b["error"].as_str()), (403, Some("role_not_allowed")), "{b}");
}

#[tokio::test]
async fn hundred_ms_errors_keep_their_meaning() {
    let hms = FakeHms::default();
    hms.join(ROOM, "p-1", "guest", "2024-05-01T10:00:00Z");
    let f = control(&hms);
    let change = json!({"room_id": ROOM, "peer_id": "p-1", "role": "viewer"});
    for (err, status, code) in [
        (ApiError::UpstreamRejected { status: 400, msg: "invalid role".into() }, 400, "upstream_rejected"),
        (ApiError::UpstreamRejected { status: 404, msg: "peer not found".into() }, 404, "upstream_not_found"),
        (
            ApiError::Conflict { code: hms_shared::ErrorCode::UpstreamConflict, msg: "100ms: busy".into() },
            409,
            "upstream_conflict",
        ),
        (
            ApiError::upstream(hms_shared::ErrorCode::UpstreamRateLimited, "100ms is rate-limiting us"),
            429,
            "upstream_rate_limited",
        ),
    ] {
        hms.fail_next("update_peer", err);
        let (s, b) = call(&f, send("/update-peer", change.clone())).await;
        assert_eq!((s, b["error"].as_str()), (status, Some(code)), "{b}");
    }
    let (s, b) = call(&f, send("/update-peer", change)).await;
    assert_eq!((s, b["peer"]["role"].as_str()), (200, Some("viewer")), "{b}");
}

#[tokio::test]
async fn a_room_is_locked_and_unlocked() {
    let hms = FakeHms::default();
    let f = control(&hms);
    let (s, b) = call(&f, send("/room-enabled", json!({"room_id": ROOM, "enabled": false}))).await;
    assert_eq!((s, b["enabled"].as_bool()), (200, Some(false)), "{b}");
    assert!(hms.disabled.lock().unwrap().contains(ROOM));
    let (s, b) = call(&f, send("/room-enabled", json!({"room_id": ROOM, "enabled": true}))).await;
    assert_eq!((s, b["enabled"].as_bool()), (200, Some(true)), "{b}");
    assert!(hms.disabled.lock().unwrap().is_empty());
    hms.fail_next("set_room_enabled", ApiError::UpstreamRejected { status: 404, msg: "room not found".into() });
    let (s, b) = call(&f, send("/room-enabled", json!({"room_id": ROOM, "enabled": true}))).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("upstream_not_found")), "{b}");
}

#[tokio::test]
async fn a_recording_pauses_and_resumes() {
    let hms = FakeHms::default();
    let f = control(&hms);
    let room = json!({"room_id": ROOM});
    let (s, b) = call(&f, send("/recordings/pause", room.clone())).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("upstream_not_found")), "no recording runs: {b}");
    hms.join(ROOM, "p-1", "host", "2024-05-01T10:00:00Z");
    let start = json!({"room_id": ROOM, "transcription": {"enabled": true, "summary": {"enabled": true}}});
    let (s, started) = call(&f, send("/recordings/start", start)).await;
    assert_eq!(s, 200, "{started}");
    let id = started["recording"]["id"].as_str().unwrap().to_string();
    hms.recordings.lock().unwrap()[0]["status"] = json!("running");
    let (s, b) = call(&f, send("/recordings/pause", room.clone())).await;
    assert_eq!((s, b["paused"].as_bool(), b["recording"]["status"].as_str()), (200, Some(true), Some("running")));
    assert_eq!(hms.paused.lock().unwrap().get(&id), Some(&true));
    let (s, b) = call(&f, send("/recordings/resume", room)).await;
    assert_eq!((s, b["paused"].as_bool()), (200, Some(false)), "{b}");
    assert_eq!(hms.paused.lock().unwrap().get(&id), Some(&false));
}

#[tokio::test]
async fn a_summary_is_read_through_a_short_link_and_shown_as_sections() {
    let file = json!({"sections": [
        {"title": "Agenda", "format": "bullets", "bullets": ["Fractions", "Quiz"]},
        {"title": "Short Summary", "format": "paragraph", "paragraph": "We added fractions."}]});
    let hms = FakeHms { summary_file: Some(file.to_string().into_bytes()), ..Default::default() };
    let rec = hms.completed_recording(ROOM, 7);
    let asset_of = |kind: &str| {
        rec["recording_assets"].as_array().unwrap().iter().find(|a| a["type"] == kind).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let f = control(&hms);
    let (s, b) = call(&f, get("/recording-summary", &[("asset_id", &asset_of("summary"))])).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["sections"],
        json!([{"title": "Agenda", "format": "bullets", "text": ["Fractions", "Quiz"]},
               {"title": "Short Summary", "format": "paragraph", "text": ["We added fractions."]}])
    );
    let fetched = hms.fetched.lock().unwrap().clone();
    assert!(fetched[0].contains("X-Amz-Expires=60"), "a link of a minute: {fetched:?}");
    assert!(!b.to_string().contains("storage.example"), "the link stays in the function: {b}");
    let (s, b) = call(&f, get("/recording-summary", &[("asset_id", &asset_of("transcript"))])).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_parameter")), "{b}");
    let garbled = FakeHms { summary_file: Some(b"<html>".to_vec()), ..Default::default() };
    let rec = garbled.completed_recording(ROOM, 8);
    let id = rec["recording_assets"][4]["id"].as_str().unwrap().to_string();
    let (s, b) = call(&control(&garbled), get("/recording-summary", &[("asset_id", &id)])).await;
    assert_eq!((s, b["error"].as_str()), (502, Some("upstream_invalid_response")), "{b}");
    // A session's recordings, with the transcript's output mode.
    let (s, b) =
        call(&f, get("/recordings", &[("room_id", ROOM), ("session_id", rec["session_id"].as_str().unwrap())])).await;
    assert_eq!(s, 200, "{b}");
    let modes: Vec<&str> = b["recordings"][0]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["metadata"]["output_mode"].as_str())
        .collect();
    assert!(modes.contains(&"txt") && modes.contains(&"json"), "{modes:?}");
    let (_, none) =
        call(&f, get("/recordings", &[("room_id", ROOM), ("session_id", "0123456789abcdef01234567")])).await;
    assert_eq!(none["count"], 0, "{none}");
}

#[tokio::test]
async fn live_streams_start_list_cue_and_stop_within_their_room() {
    let hms = FakeHms::default();
    let f = control(&hms);
    let start = json!({"room_id": ROOM, "recording": {"hls_vod": true}});
    let (s, b) = call(&f, send("/live-streams/start", start.clone())).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("session_not_found")), "{b}");
    hms.join(ROOM, "p-1", "host", "2024-05-01T10:00:00Z");
    hms.join(OTHER_ROOM, "p-2", "host", "2024-05-01T10:00:00Z");
    let (s, b) = call(&f, send("/live-streams/start", start)).await;
    assert_eq!((s, b["stream"]["status"].as_str()), (200, Some("starting")), "{b}");
    assert!(b["stream"]["playback"]["url"].is_string(), "{b}");
    let id = b["stream"]["id"].as_str().unwrap().to_string();
    let (_, other) = call(&f, send("/live-streams/start", json!({"room_id": OTHER_ROOM}))).await;
    let other_id = other["stream"]["id"].as_str().unwrap().to_string();
    let (s, b) = call(&f, get("/live-streams", &[("room_id", ROOM)])).await;
    assert_eq!((s, b["count"].as_u64()), (200, Some(1)), "{b}");
    let cue = json!({"room_id": ROOM, "stream_id": id, "payload": "quiz-1", "duration": 10});
    let (s, b) = call(&f, send("/live-streams/timed-metadata", cue)).await;
    assert_eq!((s, b["payload"].as_str()), (200, Some("quiz-1")), "{b}");
    let misplaced = json!({"room_id": ROOM, "stream_id": other_id, "payload": "x", "duration": 5});
    let (s, b) = call(&f, send("/live-streams/timed-metadata", misplaced)).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("upstream_not_found")), "another room's stream: {b}");
    let (s, _) = call(&f, send("/live-streams/stop", json!({"room_id": ROOM, "stream_id": other_id}))).await;
    assert_eq!(s, 404);
    assert_eq!(hms.cues.lock().unwrap().len(), 1, "one cue went out");
    assert!(!hms.called().contains(&"stop_live_stream"), "nothing of the other room was stopped");
    let (s, b) = call(&f, send("/live-streams/stop", json!({"room_id": ROOM}))).await;
    assert_eq!((s, b["count"].as_u64(), b["streams"][0]["status"].as_str()), (200, Some(1), Some("stopping")), "{b}");
    let (s, b) = call(&f, send("/live-streams/stop", json!({"room_id": ROOM}))).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("upstream_not_found")), "none runs now: {b}");
}

#[tokio::test]
async fn an_unreadable_answer_is_502_on_every_new_route() {
    for garbage in GARBAGE {
        let f = hms_test_support::room_control(Garbled(garbage));
        for ev in [
            send("/update-peer", json!({"room_id": ROOM, "peer_id": "p-1", "role": "host"})),
            send("/room-enabled", json!({"room_id": ROOM, "enabled": true})),
            send("/recordings/pause", json!({"room_id": ROOM})),
            send("/live-streams/start", json!({"room_id": ROOM})),
            send("/live-streams/stop", json!({"room_id": ROOM})),
            get("/live-streams", &[("room_id", ROOM)]),
            send(
                "/live-streams/timed-metadata",
                json!({"room_id": ROOM, "stream_id": "s-1", "payload": "p", "duration": 1}),
            ),
            get("/recording-summary", &[("asset_id", "6425320e94091a5af841456f")]),
        ] {
            let path = ev.raw_path.clone().unwrap();
            let (s, b) = call(&f, ev).await;
            if path == "/room-enabled" && garbage.starts_with(b"{") {
                assert_eq!(s, 200, "a room object without `enabled` is read as done: {b}");
                continue;
            }
            assert_eq!((s, b["error"].as_str()), (502, Some("upstream_invalid_response")), "{path}: {b}");
        }
        let (s, b) = call(&f, send("/send-message", json!({"room_id": ROOM, "message": "hi"}))).await;
        assert_eq!((s, b["message"].as_str()), (200, Some("")), "only 100ms's message is read: {b}");
    }
}
