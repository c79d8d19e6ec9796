//! The emulator against the 100ms docs: its answers have the shapes of the docs' examples, it
//! authenticates as 100ms does, and its control API, faults and counters behave.

mod common;

use common::*;
use hms_emulator::DEFAULT_TEMPLATE_ID;
use serde_json::{Value, json};

#[tokio::test]
async fn answers_have_the_shapes_of_the_docs_examples() {
    let emu = Emu::start().await;
    let r = room(&emu, "shape-room").await;
    same_shape(&example("rooms_create_response.json"), &r, "rooms_create", &[]);
    let (_, got) = emu.v2("GET", &format!("/rooms/{}", r["id"].as_str().unwrap()), None).await;
    // upload_info exists only when recording is configured, which the emulator does not model.
    same_shape(&example("rooms_retrieve_response.json"), &got, "rooms_retrieve", &["upload_info"]);
    let (_, list) = emu.v2("GET", "/rooms", None).await;
    // "recording" appears in one list example only: the legacy name of recording_info.
    same_shape(&example("rooms_list_response.json"), &list, "rooms_list", &["recording"]);

    let room_id = r["id"].as_str().unwrap();
    let joined = emu.control("POST", "join", json!({"token": app_token(room_id, "u1", "host"), "name": "U"})).await;
    let (_, live) = emu.v2("GET", &format!("/sessions?room_id={room_id}"), None).await;
    assert!(live["data"][0]["peers"].as_object().unwrap().values().all(|p| p.get("left_at").is_none()));
    emu.control("POST", "leave", json!({"peer_id": joined["peer_id"]})).await;
    let (_, sessions) = emu.v2("GET", &format!("/sessions?room_id={room_id}"), None).await;
    same_shape(&example("sessions_list_response.json"), &sessions, "sessions_list", &[]);
    let sid = sessions["data"][0]["id"].as_str().unwrap();
    let (_, one) = emu.v2("GET", &format!("/sessions/{sid}"), None).await;
    same_shape(&example("sessions_retrieve_response.json"), &one, "sessions_retrieve", &[]);

    let (s, err) = emu.with_token("GET", "/rooms", None, None).await;
    assert_eq!(s, 401);
    same_shape(&example("error_401_response.json"), &err, "error_401", &[]);
    assert_eq!(err["message"], "Token validation error");
}

#[tokio::test]
async fn management_tokens_are_checked_as_100ms_does() {
    let emu = Emu::start().await;
    let t = now();
    let base = json!({"access_key": KEY, "type": "management", "version": 2, "iat": t, "nbf": t - 5, "exp": t + 600, "jti": "x"});
    let with = |k: &str, v: Value| {
        let mut c = base.clone();
        c[k] = v;
        c
    };
    let mut no_jti = base.clone();
    no_jti.as_object_mut().unwrap().remove("jti");
    let rejected = [
        ("wrong secret", jwt(base.clone(), "another-secret")),
        ("app token", jwt(with("type", json!("app")), SECRET)),
        ("other access key", jwt(with("access_key", json!("someone-else")), SECRET)),
        ("expired", jwt(with("exp", json!(t - 1)), SECRET)),
        ("not yet valid", jwt(with("nbf", json!(t + 60)), SECRET)),
        ("version 1", jwt(with("version", json!(1)), SECRET)),
        ("no jti", jwt(no_jti, SECRET)),
        ("garbage", "not.a.jwt".to_string()),
    ];
    for (what, token) in rejected {
        let (s, body) = emu.with_token("GET", "/rooms", None, Some(&token)).await;
        assert_eq!(s, 401, "{what}: {body}");
        assert_eq!(body["code"], 401);
    }
    assert_eq!(emu.with_token("GET", "/rooms", None, Some(&jwt(base.clone(), SECRET))).await.0, 200);
    let c = emu.control("GET", "counters", json!({})).await;
    assert_eq!(c["auth_failures"], 8);
    // The analytics API answers an invalid or missing token with 403 `insufficient permissions`
    // (100ms-api-beyond.md, 6.7), not the 401 of the rest.
    let wrong = jwt(base.clone(), "another-secret");
    for (method, path) in [
        ("GET", "/analytics/webhooks"),
        ("POST", "/analytics/webhooks/replay"),
        ("GET", "/analytics/webhooks/replay/some-workflow"),
    ] {
        for token in [Some(wrong.as_str()), None] {
            let (s, body) = emu.with_token(method, path, Some(json!({})), token).await;
            assert_eq!((s, body["message"].as_str()), (403, Some("insufficient permissions")), "{method} {path}");
        }
    }
    assert_eq!(emu.with_token("GET", "/analytics/webhooks", None, Some(&jwt(base, SECRET))).await.0, 200);
}

#[tokio::test]
async fn create_is_an_upsert_by_name_and_validates() {
    let emu = Emu::start().await;
    let a = room(&emu, "Upsert-Room").await;
    let (_, b) = emu.v2("POST", "/rooms", Some(json!({"name": "upsert-room", "description": "changed"}))).await;
    assert_eq!(a["id"], b["id"], "same name (any case) is the same room");
    assert_eq!(b["description"], "changed");
    let (_, c) = emu.v2("POST", "/rooms", Some(json!({}))).await;
    assert_ne!(c["id"], a["id"], "no name: a new room with a generated name");
    assert!(c["name"].as_str().unwrap().starts_with("room-"));
    for (body, msg) in [
        (json!({"template_id": "0123456789abcdef01234567"}), "template not found"),
        (json!({"region": "mars"}), "region not supported"),
        (json!({"name": "bad name"}), "invalid room name"),
        (json!({"size": 2501}), "invalid room size"),
        (json!({"max_duration_seconds": 60}), "max_duration_seconds should be between 120 and 43200"),
    ] {
        let (s, e) = emu.v2("POST", "/rooms", Some(body.clone())).await;
        assert_eq!((s, e["message"].as_str()), (400, Some(msg)), "{body}");
    }
    let (s, _) = emu.v2("POST", "/rooms", Some(json!({"template_id": DEFAULT_TEMPLATE_ID}))).await;
    assert_eq!(s, 200);
    assert_eq!(emu.v2("GET", "/rooms/0123456789abcdef01234567", None).await.0, 404);
}

#[tokio::test]
async fn sessions_are_listed_newest_first_with_start_last_pagination() {
    let emu = Emu::start().await;
    let r = room(&emu, "paging").await;
    let room_id = r["id"].as_str().unwrap();
    let token = app_token(room_id, "u", "guest");
    for i in 0..25 {
        let j = emu
            .control("POST", "join", json!({"token": token, "at": format!("2026-01-01T{:02}:00:00Z", i % 24)}))
            .await;
        let at = format!("2026-01-01T{:02}:30:00Z", i % 24);
        let (s, _) = emu.control_answer("POST", "leave", json!({"peer_id": j["peer_id"], "at": at})).await;
        assert_eq!(s, 200);
    }
    let mut seen = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let q = match &start {
            Some(s) => format!("/sessions?room_id={room_id}&limit=10&start={s}"),
            None => format!("/sessions?room_id={room_id}&limit=10"),
        };
        let (_, page) = emu.v2("GET", &q, None).await;
        let Some(data) = page["data"].as_array() else { break };
        seen.extend(data.iter().map(|s| s["created_at"].as_str().unwrap().to_string()));
        start = page["last"].as_str().map(String::from);
        if data.len() < 10 {
            break;
        }
    }
    assert_eq!(seen.len(), 25);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first");
    let (_, empty) = emu.v2("GET", "/sessions?room_id=0123456789abcdef01234567", None).await;
    assert!(empty["data"].is_null(), "no sessions: data is null, as the docs allow");
    assert_eq!(emu.v2("GET", &format!("/sessions?room_id={room_id}&limit=101"), None).await.0, 400);
    let (_, active) = emu.v2("GET", &format!("/sessions?room_id={room_id}&active=true"), None).await;
    assert!(active["data"].is_null());
}

#[tokio::test]
async fn joins_verify_the_auth_token_as_100ms_does() {
    let emu = Emu::start().await;
    let r = room(&emu, "joins").await;
    let room_id = r["id"].as_str().unwrap();
    let t = now();
    let good = json!({"access_key": KEY, "type": "app", "version": 2, "iat": t, "nbf": t - 5, "exp": t + 600,
                      "jti": "j", "room_id": room_id, "user_id": "u", "role": "host"});
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let cases = [
        (jwt(good.clone(), "wrong"), 401),
        (jwt(with("type", json!("management")), SECRET), 401),
        (jwt(with("access_key", json!("x")), SECRET), 401),
        (jwt(with("exp", json!(t - 1)), SECRET), 401),
        (jwt(with("nbf", json!(t + 60)), SECRET), 401),
        (jwt(with("room_id", json!("0123456789abcdef01234567")), SECRET), 404),
        (jwt(with("role", json!("Host")), SECRET), 403),
    ];
    for (token, status) in cases {
        assert_eq!(emu.control_answer("POST", "join", json!({"token": token})).await.0, status);
    }
    let (s, j) = emu.control_answer("POST", "join", json!({"token": jwt(good, SECRET)})).await;
    assert_eq!(s, 200, "{j}");
    let (s, l) = emu.control_answer("POST", "leave", json!({"peer_id": j["peer_id"]})).await;
    assert_eq!((s, &l["active"]), (200, &json!(false)), "the last leave closes the session");
    assert_eq!(emu.control_answer("POST", "leave", json!({"peer_id": j["peer_id"]})).await.0, 404);
}

#[tokio::test]
async fn faults_apply_to_the_next_n_requests_and_counters_count() {
    let emu = Emu::start().await;
    emu.control(
        "POST",
        "faults",
        json!({"route": "GET /rooms", "kind": "status", "status": 429, "retry_after": 3, "count": 2}),
    )
    .await;
    for _ in 0..2 {
        let resp = emu.http.get(format!("{}/v2/rooms", emu.base)).bearer_auth(&emu.token).send().await.unwrap();
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after"], "3");
    }
    assert_eq!(emu.v2("GET", "/rooms", None).await.0, 200);

    emu.control("POST", "faults", json!({"route": "*", "kind": "malformed"})).await;
    let resp = emu.http.get(format!("{}/v2/rooms", emu.base)).bearer_auth(&emu.token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(serde_json::from_str::<Value>(&resp.text().await.unwrap()).is_err());

    emu.control("POST", "faults", json!({"route": "GET /rooms", "kind": "close"})).await;
    let resp = emu.http.get(format!("{}/v2/rooms", emu.base)).bearer_auth(&emu.token).send().await.unwrap();
    assert!(resp.text().await.is_err(), "the connection drops mid-body");

    emu.control("POST", "faults", json!({"route": "GET /rooms", "kind": "delay", "ms": 300})).await;
    let started = std::time::Instant::now();
    assert_eq!(emu.v2("GET", "/rooms", None).await.0, 200);
    assert!(started.elapsed().as_millis() >= 300);

    emu.control("POST", "faults", json!({"route": "GET /rooms", "kind": "hang"})).await;
    let hung = emu
        .http
        .get(format!("{}/v2/rooms", emu.base))
        .bearer_auth(&emu.token)
        .timeout(std::time::Duration::from_millis(500))
        .send()
        .await;
    assert!(hung.unwrap_err().is_timeout());

    let other = management(SECRET);
    emu.with_token("GET", "/rooms", None, Some(&other)).await;
    let c = emu.control("GET", "counters", json!({})).await;
    assert_eq!(c["requests"]["GET /rooms"], 8);
    assert_eq!(c["management_tokens_seen"], 2);
    assert_eq!(c["faults_pending"], 0);
    assert_eq!(c["most_delayed_at_once"], 1, "one delayed request so far");
    emu.control("POST", "counters/reset", json!({})).await;
    let c = emu.control("GET", "counters", json!({})).await;
    assert_eq!((&c["requests"], &c["most_delayed_at_once"]), (&json!({}), &json!(0)));

    // Three requests held together count as three at once (each is held 2 s: the time all three
    // have to arrive).
    emu.control("POST", "faults", json!({"route": "GET /rooms", "kind": "delay", "ms": 2000, "count": 3})).await;
    let three =
        tokio::join!(emu.v2("GET", "/rooms", None), emu.v2("GET", "/rooms", None), emu.v2("GET", "/rooms", None));
    assert_eq!((three.0.0, three.1.0, three.2.0), (200, 200, 200));
    let c = emu.control("GET", "counters", json!({})).await;
    assert_eq!(c["most_delayed_at_once"], 3, "{c}");
    emu.control("POST", "counters/reset", json!({})).await;

    // Rotation: only the new secret is accepted afterwards.
    emu.http
        .put(format!("{}/_emulator/credentials", emu.base))
        .json(&json!({"access_key": KEY, "secret": "rotated-secret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(emu.v2("GET", "/rooms", None).await.0, 401);
    assert_eq!(emu.with_token("GET", "/rooms", None, Some(&management("rotated-secret"))).await.0, 200);
}
