//! The functions' behaviour beyond the sample events: pagination, caps, configuration errors,
//! ids that do not belong together, validation ranges.

use hms_shared::app;
use hms_shared::auth::{CallerAuth, RoleAllowList};
use hms_shared::config::Config;
use hms_shared::credentials::{CredentialStore, Credentials, StaticSource};
use hms_shared::handlers::{self, AuthToken, CreateRoom, SessionAnalytics};
use hms_shared::hms::rooms::NewRoom;
use hms_shared::hms::sessions::{LIST_MAX_PAGES, LIST_PAGE_LIMIT};
use hms_shared::input::{RoomId, SessionId};
use hms_test_support::{FakeHms, Handle, answer, event, get, post};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

/// How long the functions' credential cache keeps a value (their default).
const CACHE_AGE: std::time::Duration = std::time::Duration::from_secs(300);

const ROOM: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";

fn session(i: usize) -> Value {
    json!({
        "id": format!("{i:024x}"),
        "room_id": ROOM,
        "active": false,
        "peers": {},
        "created_at": format!("2024-01-01T00:00:00Z"),
        "updated_at": "2024-01-01T00:10:00Z"
    })
}

fn open<H>(hms: H) -> CreateRoom<H> {
    CreateRoom { hms, caller_auth: CallerAuth::Open }
}

fn any_role(secret: &str) -> AuthToken<StaticSource> {
    AuthToken {
        credentials: CredentialStore::new(StaticSource(Credentials::new("k".into(), secret.into())), CACHE_AGE),
        roles: RoleAllowList::Any,
        ttl_seconds: 60,
        caller_auth: CallerAuth::Open,
    }
}

#[tokio::test]
async fn session_list_follows_every_page() {
    let hms = FakeHms { sessions: (0..250).map(session).collect(), ..Default::default() };
    let f = SessionAnalytics { hms: &hms };
    let (status, body) = answer(&f.handle(get("/session-list-by-room", &[("room_id", ROOM)])).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 250);
    assert_eq!(body["truncated"], false);
    let ids: Vec<&str> = body["sessions"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids.first(), Some(&format!("{:024x}", 0).as_str()));
    assert_eq!(ids.last(), Some(&format!("{:024x}", 249).as_str()));
    let calls = hms.list_calls.lock().unwrap();
    assert_eq!(calls.len(), 3, "100 + 100 + 50: the short page ends the walk");
    assert_eq!(calls[0], (ROOM.to_string(), LIST_PAGE_LIMIT, None));
    assert_eq!(calls[1].2.as_deref(), Some(format!("{:024x}", 99).as_str()));
    assert_eq!(calls[2].2.as_deref(), Some(format!("{:024x}", 199).as_str()));
}

#[tokio::test]
async fn session_list_exact_multiple_of_the_page_ends_on_the_empty_page() {
    let hms = FakeHms { sessions: (0..200).map(session).collect(), ..Default::default() };
    let f = SessionAnalytics { hms: &hms };
    let (_, body) = answer(&f.handle(get("/session-list-by-room", &[("room_id", ROOM)])).await);
    assert_eq!(body["count"], 200);
    assert_eq!(hms.list_calls.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn session_list_stops_at_the_cap_and_says_so() {
    let n = LIST_MAX_PAGES * LIST_PAGE_LIMIT as usize + 5;
    let hms = FakeHms { sessions: (0..n).map(session).collect(), ..Default::default() };
    let f = SessionAnalytics { hms: &hms };
    let (status, body) = answer(&f.handle(get("/session-list-by-room", &[("room_id", ROOM)])).await);
    assert_eq!(status, 200);
    assert_eq!(body["truncated"], true);
    assert_eq!(body["count"], LIST_MAX_PAGES * LIST_PAGE_LIMIT as usize);
    assert_eq!(body["max_sessions"], LIST_MAX_PAGES * LIST_PAGE_LIMIT as usize);
    assert_eq!(hms.list_calls.lock().unwrap().len(), LIST_MAX_PAGES);
}

#[tokio::test]
async fn session_list_of_a_room_without_sessions_is_an_empty_list() {
    let hms = FakeHms::default();
    let f = SessionAnalytics { hms: &hms };
    let (status, body) = answer(&f.handle(get("/session-list-by-room", &[("room_id", ROOM)])).await);
    assert_eq!(status, 200);
    assert_eq!(body["count"], 0);
    assert_eq!(body["sessions"], json!([]));
}

#[tokio::test]
async fn analytics_rejects_a_session_of_another_room_and_an_unknown_session() {
    let hms = FakeHms::from_examples();
    let f = SessionAnalytics { hms: &hms };
    let other_room = get(
        "/session-analytics-by-room",
        &[("room_id", "631a0f990e6ffae22efa610c"), ("session_id", "63172c2d3e3d9fdb008322e1")],
    );
    let (status, body) = answer(&f.handle(other_room).await);
    assert_eq!((status, body["error"].as_str()), (404, Some("session_not_found")), "{body}");
    let unknown = get("/session-analytics-by-room", &[("room_id", ROOM), ("session_id", "bbbbbbbbbbbbbbbbbbbbbbbb")]);
    let (status, body) = answer(&f.handle(unknown).await);
    assert_eq!((status, body["error"].as_str()), (404, Some("session_not_found")), "{body}");
    let bad = get("/session-analytics-by-room", &[("room_id", ROOM), ("session_id", "nope")]);
    let (status, body) = answer(&f.handle(bad).await);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_parameter")), "{body}");
    let bad_room = get("/session-analytics-by-room", &[("room_id", "x,y")]);
    assert_eq!(answer(&f.handle(bad_room).await).0, 400);
}

#[tokio::test]
async fn analytics_picks_the_latest_created_session_whatever_the_order() {
    let mut older = session(1);
    older["created_at"] = json!("2024-01-01T00:00:00Z");
    let mut newer = session(2);
    newer["created_at"] = json!("2024-02-01T00:00:00.000000001Z");
    newer["updated_at"] = json!("2024-02-01T00:30:00.000000001Z");
    let hms = FakeHms { sessions: vec![older, newer], ..Default::default() };
    let f = SessionAnalytics { hms: &hms };
    let (status, body) = answer(&f.handle(get("/session-analytics-by-room", &[("room_id", ROOM)])).await);
    assert_eq!(status, 200);
    assert_eq!(body["session_id"], format!("{:024x}", 2));
    assert_eq!(body["session_duration"], 30.0);
}

#[tokio::test]
async fn unknown_route_is_404_json() {
    let hms = FakeHms::default();
    let f = SessionAnalytics { hms: &hms };
    let (status, body) = answer(&f.handle(get("/nope", &[])).await);
    assert_eq!((status, body["error"].as_str()), (404, Some("route_not_found")));
}

#[tokio::test]
async fn create_room_validation_ranges() {
    let hms = FakeHms::default();
    let f = open(&hms);
    let cases = [
        (r#"{}"#, 200, ""),
        (r#"{"name":null,"region":null}"#, 200, ""),
        (r#"{"size":2500}"#, 200, ""),
        (r#"{"size":2501}"#, 400, "'size'"),
        (r#"{"size":20000,"large_room":true}"#, 200, ""),
        (r#"{"size":20001,"large_room":true}"#, 400, "'size'"),
        (r#"{"size":-1}"#, 400, "'size'"),
        (r#"{"size":"10"}"#, 400, "'size'"),
        (r#"{"max_duration_seconds":119}"#, 400, "'max_duration_seconds'"),
        (r#"{"max_duration_seconds":120}"#, 200, ""),
        (r#"{"max_duration_seconds":43200}"#, 200, ""),
        (r#"{"max_duration_seconds":43201}"#, 400, "'max_duration_seconds'"),
        (r#"{"region":"ap"}"#, 400, "'region'"),
        (r#"{"template_id":"123"}"#, 400, "'template_id'"),
        (r#"{"large_room":"yes"}"#, 400, "'large_room'"),
        (r#"{"description":5}"#, 400, "'description'"),
        (r#"[]"#, 400, "object"),
    ];
    for (body, status, needle) in cases {
        let (s, b) = answer(&f.handle(post("/create-room", body)).await);
        assert_eq!(s, status, "{body}: {b}");
        if status != 200 {
            assert!(b["msg"].as_str().unwrap().contains(needle), "{body}: {b}");
        }
    }
    let sent = hms.created.lock().unwrap();
    assert_eq!(sent[1], json!({}), "null fields are not forwarded");
}

#[tokio::test]
async fn a_broken_room_answer_is_502() {
    struct Broken;
    impl hms_shared::hms::HmsApi for Broken {
        async fn create_room(&self, _: &NewRoom) -> Result<Vec<u8>, hms_shared::ApiError> {
            Ok(b"[1,2]".to_vec())
        }
        async fn list_sessions(&self, _: &RoomId, _: u32, _: Option<&str>) -> Result<Vec<u8>, hms_shared::ApiError> {
            Ok(b"{\"data\": 7}".to_vec())
        }
        async fn get_session(&self, _: &SessionId) -> Result<Vec<u8>, hms_shared::ApiError> {
            Ok(b"not json".to_vec())
        }
    }
    let (status, body) = answer(&open(Broken).handle(post("/create-room", "{}")).await);
    assert_eq!((status, body["error"].as_str()), (502, Some("upstream_invalid_response")));
    let f = SessionAnalytics { hms: Broken };
    for ev in [
        get("/session-analytics-by-room", &[("room_id", ROOM)]),
        get("/session-list-by-room", &[("room_id", ROOM)]),
        get("/session-analytics-by-room", &[("room_id", ROOM), ("session_id", ROOM)]),
    ] {
        let (status, body) = answer(&f.handle(ev).await);
        assert_eq!((status, body["error"].as_str()), (502, Some("upstream_invalid_response")), "{body}");
    }
}

#[tokio::test]
async fn configuration_errors_are_json_500_config_and_never_panics() {
    let empty = Config::from_lookup(|_| None);
    let errors = app::create_room(&empty).err().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let (status, body) =
        answer(&handlers::serve::<CreateRoom<app::Hms>>(Err(&errors), event("create-room.json")).await.response);
    assert_eq!((status, body["error"].as_str()), (500, Some("config")));
    assert!(body["msg"].as_str().unwrap().contains("HMS_SECRET_ID"));

    let keys_only = Config::from_lookup(|k| (k == "APP_ACCESS_KEY" || k == "APP_SECRET").then(|| "x".to_string()));
    let errors = app::auth_token(&keys_only).err().unwrap();
    type Auth = AuthToken<hms_shared::credentials::ConfiguredSource>;
    let (status, body) = answer(&handlers::serve::<Auth>(Err(&errors), event("auth-token.json")).await.response);
    assert_eq!((status, body["error"].as_str()), (500, Some("config")), "fails closed without an allow-list");
    assert!(body["msg"].as_str().unwrap().contains("ALLOWED_ROLES"), "{body}");

    let errors = app::session_analytics(&empty).err().unwrap();
    let served = handlers::serve::<SessionAnalytics<app::Hms>>(Err(&errors), event("session-list.json")).await;
    assert_eq!(answer(&served.response).0, 500);

    // The edge and routing still answer a caller's mistake as one.
    let served = handlers::serve::<SessionAnalytics<app::Hms>>(Err(&errors), get("/nope", &[])).await;
    assert_eq!(answer(&served.response).0, 404);
    assert_eq!(served.error.unwrap().code(), "route_not_found");
}

#[tokio::test]
async fn auth_token_user_and_role_rules() {
    let secret = "handlers-test-secret";
    let f = any_role(secret);
    let room = "631a0f990e6ffae22efa610c";
    let long_user = "u".repeat(257);
    let accepted = [
        json!({"room_id": room, "user_id": "u", "role": "any-role"}),
        json!({"room_id": room, "user_id": "u", "role": "x", "extra": 1}),
    ];
    for body in accepted {
        let (s, b) = answer(&f.handle(post("/auth-token", &body.to_string())).await);
        assert_eq!(s, 200, "{body}: {b}");
        let claims = decode(&b, secret);
        assert_eq!((claims["user_id"].as_str(), claims["role"].as_str()), (Some("u"), body["role"].as_str()), "{body}");
    }
    let refused = [
        (json!({"room_id": "short", "user_id": "u", "role": "host"}), "'room_id'"),
        (json!({"room_id": room, "user_id": "", "role": "host"}), "'user_id'"),
        (json!({"room_id": room, "user_id": long_user, "role": "host"}), "'user_id'"),
        (json!({"room_id": room, "user_id": 42, "role": "host"}), "'user_id'"),
        (json!({"room_id": room, "user_id": "u", "role": ""}), "'role'"),
        (json!({"user_id": "u", "role": "host"}), "'room_id'"),
    ];
    for (body, needle) in refused {
        let (s, b) = answer(&f.handle(post("/auth-token", &body.to_string())).await);
        assert_eq!(s, 400, "{body}: {b}");
        assert!(b["msg"].as_str().unwrap().contains(needle), "{body}: {b}");
    }
}

fn decode(body: &Value, secret: &str) -> Value {
    let mut v = Validation::new(Algorithm::HS256);
    v.validate_aud = false;
    let token = body["token"].as_str().unwrap();
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(secret.as_bytes()), &v).unwrap().claims
}

#[tokio::test]
async fn an_upper_case_room_id_is_the_same_room() {
    let secret = "case-secret";
    let (s, b) = answer(
        &any_role(secret)
            .handle(post("/auth-token", r#"{"room_id":"631A0F990E6FFAE22EFA610C","user_id":"u","role":"host"}"#))
            .await,
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(decode(&b, secret)["room_id"], "631a0f990e6ffae22efa610c", "the token names the room 100ms knows");

    let hms = FakeHms::from_examples();
    let f = SessionAnalytics { hms: &hms };
    let (s, b) = answer(&f.handle(get("/session-analytics-by-room", &[("room_id", "631A0F990E6FFAE22EFA610C")])).await);
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["room_id"], "631a0f990e6ffae22efa610c");
}

#[tokio::test]
async fn a_repeated_query_parameter_is_400_naming_it() {
    let hms = FakeHms::from_examples();
    let f = SessionAnalytics { hms: &hms };
    for (path, query) in [
        ("/session-list-by-room", vec![("room_id", ROOM), ("room_id", ROOM)]),
        ("/session-analytics-by-room", vec![("room_id", ROOM), ("session_id", ROOM), ("session_id", ROOM)]),
    ] {
        let (s, b) = answer(&f.handle(get(path, &query)).await);
        assert_eq!((s, b["error"].as_str()), (400, Some("invalid_parameter")), "{path}: {b}");
        let name = query.last().unwrap().0;
        assert!(b["msg"].as_str().unwrap().contains(&format!("'{name}' is given more than once")), "{b}");
    }
    assert!(hms.list_calls.lock().unwrap().is_empty(), "100ms is not asked anything");
}
