//! The emulator's room codes, active rooms and recordings against the 100ms docs: the shapes of
//! the docs' examples, and the behaviour the docs describe (codes that stop working when
//! disabled, removals with their reason, a locked room refusing joins, a recording's lifecycle
//! and URLs that expire).

mod common;

use common::*;
use serde_json::{Value, json};

/// A room with a live session: one peer per `(user, role)`, joined with backend-minted tokens.
async fn live_room(emu: &Emu, name: &str, peers: &[(&str, &str)]) -> (String, Vec<String>) {
    let r = room(emu, name).await;
    let room_id = r["id"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for (user, role) in peers {
        let (s, j) =
            emu.control_answer("POST", "join", json!({"token": app_token(&room_id, user, role), "name": user})).await;
        assert_eq!(s, 200, "{j}");
        ids.push(j["peer_id"].as_str().unwrap().to_string());
    }
    (room_id, ids)
}

async fn token_by_code(emu: &Emu, code: &str, user: Option<&str>) -> (u16, Value) {
    let body = match user {
        Some(u) => json!({"code": code, "user_id": u}),
        None => json!({"code": code}),
    };
    let resp = emu.http.post(format!("{}/v2/token", emu.base)).json(&body).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn room_codes_per_role_as_the_docs_describe() {
    let emu = Emu::start().await;
    let r = room(&emu, "codes").await;
    let room_id = r["id"].as_str().unwrap();
    let (s, all) = emu.v2("POST", &format!("/room-codes/room/{room_id}"), None).await;
    assert_eq!(s, 200, "{all}");
    same_shape(&example("room_codes_create_response.json"), &all, "room_codes_create", &[]);
    let codes = all["data"].as_array().unwrap();
    let roles: Vec<&str> = codes.iter().map(|c| c["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["host", "guest", "viewer"], "one per role of the template");
    for c in codes {
        let code = c["code"].as_str().unwrap();
        let parts: Vec<usize> = code.split('-').map(str::len).collect();
        assert_eq!(parts, [3, 4, 3], "the docs' ***-****-*** form: {code}");
        assert!(code.bytes().all(|b| b == b'-' || b.is_ascii_lowercase()));
    }
    let (_, again) = emu.v2("POST", &format!("/room-codes/room/{room_id}"), None).await;
    assert_eq!(again["data"], all["data"], "create-for-all keeps a role's enabled code");

    let (s, one) = emu.v2("POST", &format!("/room-codes/room/{room_id}/role/host"), None).await;
    assert_eq!(s, 200);
    same_shape(&example("room_codes_create_for_role_response.json"), &one, "create_for_role", &[]);
    assert_ne!(one["code"], codes[0]["code"], "create-for-role adds a code");
    let (s, e) = emu.v2("POST", &format!("/room-codes/room/{room_id}/role/Host"), None).await;
    assert_eq!((s, e["message"].as_str()), (404, Some("role not found")), "roles are case-sensitive");
    let unknown = "0123456789abcdef01234567";
    assert_eq!(emu.v2("POST", &format!("/room-codes/room/{unknown}"), None).await.0, 404);

    let host = one["code"].as_str().unwrap();
    let (s, upd) = emu.v2("POST", "/room-codes/code", Some(json!({"code": host, "enabled": false}))).await;
    assert_eq!((s, &upd["enabled"]), (200, &json!(false)));
    same_shape(&example("room_codes_update_response.json"), &upd, "room_codes_update", &[]);
    for bad in [
        json!({"code": host}),
        json!({"code": host, "enabled": "no"}),
        json!({"code": host, "enabled": true, "role": "x"}),
    ] {
        assert_eq!(emu.v2("POST", "/room-codes/code", Some(bad.clone())).await.0, 400, "{bad}");
    }
    assert_eq!(emu.v2("POST", "/room-codes/code", Some(json!({"code": "nop-nope-nop", "enabled": true}))).await.0, 404);

    let (s, list) = emu.v2("GET", &format!("/room-codes/room/{room_id}"), None).await;
    assert_eq!(s, 200);
    same_shape(&example("room_codes_list_response.json"), &list, "room_codes_list", &[]);
    assert_eq!(list["data"].as_array().unwrap().len(), 4);
    let (_, hosts) = emu.v2("GET", &format!("/room-codes/room/{room_id}?role=host&enabled=false"), None).await;
    assert_eq!(hosts["data"].as_array().unwrap().len(), 1);
    assert_eq!(hosts["data"][0]["code"], host);
    let (_, p1) = emu.v2("GET", &format!("/room-codes/room/{room_id}?limit=3"), None).await;
    let last = p1["last"].as_str().unwrap();
    let (_, p2) = emu.v2("GET", &format!("/room-codes/room/{room_id}?limit=3&start={last}"), None).await;
    assert_eq!(p2["data"].as_array().unwrap().len(), 1, "start=<last> pages on");
    assert_eq!(emu.v2("GET", &format!("/room-codes/room/{room_id}?enabled=maybe"), None).await.0, 400);
}

#[tokio::test]
async fn a_room_code_gives_a_token_that_joins_until_it_is_disabled() {
    let emu = Emu::start().await;
    let r = room(&emu, "code-join").await;
    let room_id = r["id"].as_str().unwrap();
    let (_, all) = emu.v2("POST", &format!("/room-codes/room/{room_id}"), None).await;
    let guest = all["data"][1]["code"].as_str().unwrap();
    let (s, t) = token_by_code(&emu, guest, Some("student-7")).await;
    assert_eq!(s, 200, "{t}");
    assert!(t["expiresAt"].as_str().is_some_and(|e| chrono::DateTime::parse_from_rfc3339(e).is_ok()));
    let (s, j) = emu.control_answer("POST", "join", json!({"token": t["token"]})).await;
    assert_eq!(s, 200, "the emulator's join accepts the token: {j}");
    let (_, peers) = emu.v2("GET", &format!("/active-rooms/{room_id}/peers"), None).await;
    let peer = &peers["peers"][j["peer_id"].as_str().unwrap()];
    assert_eq!((peer["user_id"].as_str(), peer["role"].as_str()), (Some("student-7"), Some("guest")));
    let (s, anon) = token_by_code(&emu, guest, None).await;
    assert_eq!(s, 200, "user_id is optional: {anon}");

    emu.v2("POST", "/room-codes/code", Some(json!({"code": guest, "enabled": false}))).await;
    let (s, e) = token_by_code(&emu, guest, Some("student-8")).await;
    assert_eq!((s, e["message"].as_str()), (403, Some("room code is disabled")));
    assert_eq!(token_by_code(&emu, "xxx-xxxx-xxx", None).await.0, 404);

    let (s, _) = emu.v2("POST", &format!("/rooms/{room_id}"), Some(json!({"enabled": false}))).await;
    assert_eq!(s, 200);
    assert_eq!(emu.v2("POST", &format!("/room-codes/room/{room_id}"), None).await.0, 403, "room is disabled");
    assert_eq!(emu.v2("GET", &format!("/room-codes/room/{room_id}"), None).await.0, 403);
}

#[tokio::test]
async fn active_rooms_list_remove_and_end_as_the_docs_describe() {
    let emu = Emu::start().await;
    let (room_id, peers) =
        live_room(&emu, "live", &[("teacher-1", "host"), ("s1", "guest"), ("s2", "guest"), ("s3", "viewer")]).await;
    let (s, active) = emu.v2("GET", &format!("/active-rooms/{room_id}"), None).await;
    assert_eq!(s, 200);
    same_shape(&example("active_room_retrieve_response.json"), &active, "active_room", &[]);
    assert_eq!(active["session"]["peers"].as_array().unwrap().len(), 4);
    let (_, list) = emu.v2("GET", &format!("/active-rooms/{room_id}/peers"), None).await;
    same_shape(&example("active_room_peers_response.json"), &list, "active_room_peers", &[]);
    let (_, guests) = emu.v2("GET", &format!("/active-rooms/{room_id}/peers?role=guest"), None).await;
    assert_eq!(guests["peers"].as_object().unwrap().len(), 2);

    let path = format!("/active-rooms/{room_id}/remove-peers");
    let (s, removed) = emu.v2("POST", &path, Some(json!({"peer_id": peers[1], "reason": "misconduct"}))).await;
    assert_eq!(s, 200);
    same_shape(&example("remove_peers_response.json"), &removed, "remove_peers", &[]);
    assert_eq!(emu.v2("POST", &path, Some(json!({"reason": "x"}))).await.0, 400, "peer_id or role");
    assert_eq!(emu.v2("POST", &path, Some(json!({"peer_id": peers[1]}))).await.0, 404, "already gone");
    assert_eq!(emu.v2("POST", &path, Some(json!({"role": "viewer"}))).await.0, 200);
    let all = emu.control("GET", &format!("peers?room_id={room_id}"), json!({})).await;
    let left = |id: &str| all["peers"].as_array().unwrap().iter().find(|p| p["id"] == id).unwrap().clone();
    assert_eq!(
        (left(&peers[1])["reason"].as_str(), left(&peers[1])["message"].as_str()),
        (Some("peer kicked"), Some("misconduct"))
    );
    assert_eq!(left(&peers[3])["reason"], "peer kicked");
    assert!(left(&peers[0])["left_at"].is_null());

    // Disabling the room does not end the live session; it refuses new joins.
    emu.v2("POST", &format!("/rooms/{room_id}"), Some(json!({"enabled": false}))).await;
    assert_eq!(emu.v2("GET", &format!("/active-rooms/{room_id}"), None).await.0, 200);
    assert_eq!(emu.control_answer("POST", "join", json!({"token": app_token(&room_id, "late", "guest")})).await.0, 403);
    emu.v2("POST", &format!("/rooms/{room_id}"), Some(json!({"enabled": true}))).await;

    let end = format!("/active-rooms/{room_id}/end-room");
    let (s, ended) = emu.v2("POST", &end, Some(example("end_room_request.json"))).await;
    assert_eq!(s, 200);
    same_shape(&example("end_room_response.json"), &ended, "end_room", &[]);
    assert_eq!(emu.v2("GET", &format!("/active-rooms/{room_id}"), None).await.0, 404, "the session ended");
    assert_eq!(emu.v2("GET", &format!("/active-rooms/{room_id}/peers"), None).await.0, 404);
    assert_eq!(emu.v2("POST", &end, Some(json!({}))).await.0, 404);
    let (_, sessions) = emu.v2("GET", &format!("/sessions?room_id={room_id}"), None).await;
    assert_eq!(sessions["data"][0]["active"], false);
    assert!(sessions["data"][0]["peers"].as_object().unwrap().values().all(|p| p["left_at"].is_string()));

    // Not locked: a rejoin opens a new session. Locked: the room is disabled and refuses joins.
    assert_eq!(emu.control_answer("POST", "join", json!({"token": app_token(&room_id, "s1", "guest")})).await.0, 200);
    let (s, _) = emu.v2("POST", &end, Some(json!({"reason": "class over", "lock": true}))).await;
    assert_eq!(s, 200);
    let (_, r) = emu.v2("GET", &format!("/rooms/{room_id}"), None).await;
    assert_eq!(r["enabled"], false);
    let (s, e) = emu.control_answer("POST", "join", json!({"token": app_token(&room_id, "s1", "guest")})).await;
    assert_eq!((s, e["message"].as_str()), (403, Some("room is disabled")));
    let (_, disabled) = emu.v2("POST", &format!("/rooms/{room_id}"), Some(json!({"enabled": false}))).await;
    same_shape(
        &example("rooms_enable_disable_response.json"),
        &disabled,
        "rooms_enable_disable",
        &["enabled_source_template", "recording", "customer"],
    );
}

#[tokio::test]
async fn recordings_go_through_their_lifecycle_and_their_urls_expire() {
    let emu = Emu::start().await;
    let (room_id, _) = live_room(&emu, "rec", &[("teacher-1", "host"), ("s1", "guest")]).await;
    let start = format!("/recordings/room/{room_id}/start");
    let (s, rec) = emu.v2("POST", &start, Some(example("recording_start_request_resolution_only.json"))).await;
    assert_eq!(s, 200, "{rec}");
    same_shape(&example("recording_start_response.json"), &rec, "recording_start", &[]);
    assert_eq!((rec["status"].as_str(), &rec["started_at"]), (Some("starting"), &Value::Null));
    assert_eq!(emu.v2("POST", &start, Some(json!({}))).await.0, 400, "one recording at a time");
    let bad = json!({"resolution": {"width": 4000, "height": 720}});
    let (other, _) = live_room(&emu, "rec-2", &[("t", "host")]).await;
    assert_eq!(emu.v2("POST", &format!("/recordings/room/{other}/start"), Some(bad)).await.0, 400);
    let (idle, _) = live_room(&emu, "idle", &[]).await;
    assert_eq!(emu.v2("POST", &format!("/recordings/room/{idle}/start"), None).await.0, 404, "no live session");

    let id = rec["id"].as_str().unwrap();
    let status = |v: &Value| v["status"].as_str().unwrap().to_string();
    emu.control("POST", "clock", json!({"advance_seconds": 60})).await;
    let (_, running) = emu.v2("GET", &format!("/recordings/{id}"), None).await;
    assert_eq!(status(&running), "running");
    assert!(running["started_at"].is_string());

    let (s, stopped) = emu.v2("POST", &format!("/recordings/room/{room_id}/stop"), None).await;
    assert_eq!(s, 200);
    same_shape(&example("recording_stop_for_room_response.json"), &stopped, "recording_stop_room", &[]);
    assert_eq!(status(&stopped["data"][0]), "stopping");
    assert_eq!(emu.v2("POST", &format!("/recordings/room/{room_id}/stop"), None).await.0, 404, "nothing runs");
    emu.control("POST", "clock", json!({"advance_seconds": 5})).await;
    let (_, pp) = emu.v2("GET", &format!("/recordings/{id}"), None).await;
    assert_eq!((status(&pp), &pp["recording_assets"]), ("post_processing".into(), &Value::Null));
    emu.control("POST", "clock", json!({"advance_seconds": 60})).await;
    let (_, done) = emu.v2("GET", &format!("/recordings/{id}"), None).await;
    assert_eq!(status(&done), "completed");
    same_shape(&example("recording_get_response.json"), &done, "recording_get", &[]);
    let (_, list) = emu.v2("GET", &format!("/recordings?room_id={room_id}"), None).await;
    same_shape(&example("recordings_list_response.json"), &list, "recordings_list", &[]);
    assert!(list["data"][0].get("recording_assets").is_none(), "the list has no assets");

    let (_, assets) = emu.v2("GET", &format!("/recording-assets?room_id={room_id}"), None).await;
    same_shape(
        &example("recording_assets_list_response.json"),
        &assets,
        "assets_list",
        &["num_layers", "max_width", "max_height"],
    );
    let composite =
        done["recording_assets"].as_array().unwrap().iter().find(|a| a["type"] == "room-composite").unwrap();
    // The asset's duration is the recording's own span on the emulator's clock (whatever the wall
    // clock did meanwhile): at least the 60 s advanced less the 3 s of starting.
    let at = |k: &str| chrono::DateTime::parse_from_rfc3339(done[k].as_str().unwrap()).unwrap();
    let span = (at("stopped_at") - at("started_at")).num_seconds();
    let duration = composite["duration"].as_u64().unwrap();
    assert_eq!(duration as i64, span, "{done}");
    assert!(duration >= 57, "60 s on the emulator's clock less 3 s starting: {duration}");
    let asset_id = composite["id"].as_str().unwrap();
    let (_, asset) = emu.v2("GET", &format!("/recording-assets/{asset_id}"), None).await;
    same_shape(&example("recording_asset_get_response_room_composite.json"), &asset, "asset_get", &[]);
    let (s, url) =
        emu.v2("GET", &format!("/recording-assets/{asset_id}/presigned-url?presign_duration=120"), None).await;
    assert_eq!(s, 200);
    same_shape(&example("recording_asset_presigned_url_response.json"), &url, "presigned_url", &[]);
    assert_eq!(url["expiry"], 120);
    let fetch = |u: &str| emu.http.get(u).send();
    let link = url["url"].as_str().unwrap();
    assert_eq!(fetch(link).await.unwrap().status(), 200);
    assert_eq!(fetch(&link.replace("token=", "token=x")).await.unwrap().status(), 403, "a forged URL");
    emu.control("POST", "clock", json!({"advance_seconds": 121})).await;
    assert_eq!(fetch(link).await.unwrap().status(), 403, "expired");

    // The last peer leaving stops a running recording.
    let (s, _) = emu.v2("POST", &format!("/recordings/room/{other}/start"), None).await;
    assert_eq!(s, 200);
    let (_, p) = emu.v2("GET", &format!("/active-rooms/{other}"), None).await;
    emu.control("POST", "leave", json!({"peer_id": p["session"]["peers"][0]})).await;
    let (_, l) = emu.v2("GET", &format!("/recordings?room_id={other}"), None).await;
    assert_eq!(status(&l["data"][0]), "stopping");
}
