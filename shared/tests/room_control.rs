//! `room-control` (and `create-room`'s `room_codes`) with the real 100ms client against the
//! emulator: every route, a class from room codes to a locked room and its recording's link,
//! the admin rule, and which failures are retried (only calls safe to repeat).

use hms_shared::tls::Roots;

use hms_shared::auth::{CallerAuth, ClaimRule, JwtRules, RoleAllowList, RoleClaims};
use hms_shared::credentials::{CredentialStore, Credentials, StaticSource};
use hms_shared::handlers::{CreateRoom, RoomControl};
use hms_shared::hms::HmsClient;
use hms_shared::input::{Parse, Role, RoomId};
use hms_shared::owners::RoomAccess;
use hms_shared::store::EventsTable;
use hms_test_support::dynalite::{create_events_table, ddb_client, dynalite_endpoint};
use hms_test_support::*;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use reqwest::Method;
use serde_json::{Value, json};

const KEY: &str = "key-room-control";

struct Class {
    hms: Hms,
    secret: String,
    control: RoomControl<HmsClient<StaticSource>>,
    create: CreateRoom<HmsClient<StaticSource>>,
}

/// Callers sign in: admins in `admin`, creators in `teachers`; no role needs a claim.
fn teachers_create_rooms() -> CallerAuth {
    CallerAuth::Jwt(JwtRules {
        admin: ClaimRule::parse("cognito:groups=admin").unwrap(),
        creator: Some(ClaimRule::parse("cognito:groups=teachers").unwrap()),
        role_claims: RoleClaims::default(),
        join: Default::default(),
    })
}

fn allowed(roles: &[&str]) -> RoleAllowList {
    RoleAllowList::Only(roles.iter().map(|r| Role::parse(r).unwrap()).collect())
}

impl Class {
    /// The emulator and both functions over it, room codes allowed for host and guest only.
    async fn start(caller_auth: CallerAuth) -> Self {
        let table = match caller_auth {
            CallerAuth::Open => Err(hms_shared::config::ConfigError("no table".into())),
            CallerAuth::Jwt(_) => {
                let table = EventsTable::new(ddb_client(&dynalite_endpoint()), create_events_table().await);
                Ok(std::sync::Arc::new(table) as hms_shared::store::SharedOwners)
            }
        };
        let access = RoomAccess::new(caller_auth, table);
        let secret = fresh_secret();
        let hms = Hms::start(KEY, &secret).await;
        let client = || {
            let source = StaticSource(Credentials::new(KEY.into(), secret.clone()));
            HmsClient::new(hms.api(), CredentialStore::new(source, CACHE_AGE), Roots::Compiled)
        };
        let control = RoomControl {
            hms: client(),
            roles: allowed(&["host", "guest"]),
            access: access.clone(),
            meeting_hosts: Default::default(),
        };
        let create = CreateRoom { hms: client(), access, code_roles: Ok(allowed(&["host", "guest"])) };
        Self { hms, secret, control, create }
    }

    async fn call(&self, ev: ApiGatewayV2httpRequest) -> (u16, Value) {
        answer(&self.control.handle(ev).await)
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(post(path, &body.to_string())).await
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
        self.call(get(path, query)).await
    }

    async fn requests(&self, route: &str) -> u64 {
        self.hms.counters().await["requests"][route].as_u64().unwrap_or(0)
    }

    async fn clock(&self, seconds: i64) {
        self.hms.control(Method::POST, "clock", json!({"advance_seconds": seconds})).await;
    }
}

fn code_of<'a>(codes: &'a Value, role: &str) -> &'a str {
    codes.as_array().unwrap().iter().find(|c| c["role"] == role).unwrap()["code"].as_str().unwrap()
}

#[tokio::test]
async fn a_class_from_room_codes_to_a_locked_room_and_its_recording() {
    let class = Class::start(CallerAuth::Open).await;
    // The room and its codes in one call, for the allowed roles only.
    let body = json!({"name": "physics-101", "room_codes": true}).to_string();
    let (s, room) = answer(&class.create.handle(post("/create-room", &body)).await);
    assert_eq!(s, 200, "{room}");
    let room_id = room["id"].as_str().unwrap().to_string();
    let codes = room["room_codes"].clone();
    let mut roles: Vec<&str> = codes.as_array().unwrap().iter().map(|c| c["role"].as_str().unwrap()).collect();
    roles.sort();
    assert_eq!(roles, ["guest", "host"], "no code for viewer, which ALLOWED_ROLES leaves out");
    let (s, again) = class.post("/room-codes", json!({"room_id": room_id})).await;
    assert_eq!(s, 200);
    let mut a: Vec<&str> =
        again["room_codes"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    let mut b: Vec<&str> = codes.as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b, "asking again gives the same codes, not more doors");
    let (s, listed) = class.get("/room-codes", &[("room_id", &room_id)]).await;
    assert_eq!((s, listed["count"].as_u64()), (200, Some(2)), "{listed}");

    // The class joins by code, the teacher a minute before the students (the order the list is
    // checked in); the host sees who is in, removes one, and records.
    let minute_ago = (chrono::Utc::now() - chrono::TimeDelta::minutes(1)).to_rfc3339();
    let teacher = class.hms.join_by_code_at(code_of(&codes, "host"), "teacher-1", &minute_ago).await.unwrap();
    let mut students = Vec::new();
    for i in 0..3 {
        students.push(class.hms.join_by_code(code_of(&codes, "guest"), &format!("student-{i}")).await.unwrap());
    }
    let (s, peers) = class.get("/active-peers", &[("room_id", &room_id)]).await;
    assert_eq!((s, peers["count"].as_u64()), (200, Some(4)), "{peers}");
    assert_eq!(peers["peers"][0]["id"], teacher.as_str(), "first joined first");
    assert_eq!(peers["peers"][0]["role"], "host");
    let (s, removed) =
        class.post("/remove-peer", json!({"room_id": room_id, "peer_id": students[0], "reason": "disrupting"})).await;
    assert_eq!((s, removed["message"].as_str()), (200, Some("peer remove request submitted")), "{removed}");
    let (_, peers) = class.get("/active-peers", &[("room_id", &room_id)]).await;
    assert_eq!(peers["count"], 3);
    let history = class.hms.control(Method::GET, &format!("peers?room_id={room_id}"), json!({})).await;
    let kicked = history["peers"].as_array().unwrap().iter().find(|p| p["id"] == students[0].as_str()).unwrap();
    assert_eq!((kicked["reason"].as_str(), kicked["message"].as_str()), (Some("peer kicked"), Some("disrupting")));

    let (s, started) = class
        .post("/recordings/start", json!({"room_id": room_id, "resolution": {"width": 1280, "height": 720}}))
        .await;
    assert_eq!((s, started["recording"]["status"].as_str()), (200, Some("starting")), "{started}");
    class.clock(30).await;
    let (s, listed) = class.get("/recordings", &[("room_id", &room_id)]).await;
    assert_eq!((s, listed["recordings"][0]["status"].as_str()), (200, Some("running")), "{listed}");
    let (s, stopped) = class.post("/recordings/stop", json!({"room_id": room_id})).await;
    assert_eq!((s, stopped["count"].as_u64()), (200, Some(1)), "{stopped}");

    // End with lock: everyone leaves, the room is disabled, a rejoin by code is refused.
    let (s, ended) =
        class.post("/end-room", json!({"room_id": room_id, "reason": "Class has ended", "lock": true})).await;
    assert_eq!((s, &ended["ended"], &ended["locked"]), (200, &json!(true), &json!(true)), "{ended}");
    let (s, none) = class.get("/active-peers", &[("room_id", &room_id)]).await;
    assert_eq!((s, none["error"].as_str()), (404, Some("session_not_found")), "{none}");
    let refused = class.hms.join_by_code(code_of(&codes, "guest"), "student-1").await.unwrap_err();
    assert_eq!((refused.0, refused.1["message"].as_str()), (403, Some("room is disabled")));

    // The recording finishes; its asset ids lead to a fresh link that expires.
    class.clock(120).await;
    let (_, listed) = class.get("/recordings", &[("room_id", &room_id)]).await;
    let recording = &listed["recordings"][0];
    assert_eq!(recording["status"], "completed", "{listed}");
    let assets = recording["assets"].as_array().unwrap();
    let composite = assets.iter().find(|a| a["type"] == "room-composite").unwrap();
    let asset_id = composite["id"].as_str().unwrap();
    let (s, link) = class.get("/recording-url", &[("asset_id", asset_id), ("duration", "600")]).await;
    assert_eq!((s, link["expiry"].as_u64()), (200, Some(600)), "{link}");
    assert!(link["expires_at"].as_str().is_some());
    let url = link["url"].as_str().unwrap();
    assert_eq!(reqwest::get(url).await.unwrap().status(), 200);
    class.clock(601).await;
    assert_eq!(reqwest::get(url).await.unwrap().status(), 403, "the link expired");
}

#[tokio::test]
async fn codes_are_only_for_allowed_roles_and_a_disallowed_code_stays_disabled() {
    let class = Class::start(CallerAuth::Open).await;
    let (_, room) = answer(&class.create.handle(post("/create-room", r#"{"name":"doors"}"#)).await);
    let room_id = room["id"].as_str().unwrap().to_string();
    assert!(room.get("room_codes").is_none(), "no codes unless asked");
    let before = class.requests("POST /room-codes/room/{id}/role/{role}").await;
    let (s, e) = class.post("/room-codes", json!({"room_id": room_id, "roles": ["viewer"]})).await;
    assert_eq!((s, e["error"].as_str()), (403, Some("role_not_allowed")), "{e}");
    assert_eq!(class.requests("POST /room-codes/room/{id}/role/{role}").await, before, "refused before 100ms");
    let (s, guest) = class.post("/room-codes", json!({"room_id": room_id, "roles": ["guest"]})).await;
    assert_eq!((s, guest["count"].as_u64()), (200, Some(1)));
    let code = guest["room_codes"][0]["code"].as_str().unwrap();

    let (s, off) = class.post("/room-codes/disable", json!({"code": code})).await;
    assert_eq!((s, &off["room_code"]["enabled"]), (200, &json!(false)), "{off}");
    assert!(class.hms.join_by_code(code, "u").await.is_err(), "a disabled code joins nobody");
    let (_, disabled) = class.get("/room-codes", &[("room_id", &room_id), ("enabled", "false")]).await;
    assert_eq!(disabled["count"], 1);
    let (s, on) = class.post("/room-codes/enable", json!({"code": code})).await;
    assert_eq!((s, &on["room_code"]["enabled"]), (200, &json!(true)));
    assert!(class.hms.join_by_code(code, "u").await.is_ok());

    // A viewer code made outside this API (the dashboard makes one per role), then disabled: this
    // API does not enable it again, and leaves it disabled.
    let (_, all) = class.get("/room-codes", &[("room_id", &room_id), ("role", "viewer")]).await;
    assert_eq!(all["count"], 0, "this API made no viewer code");
    let token = hms_shared::tokens::sign(
        &hms_shared::tokens::Claims::management(KEY, chrono::Utc::now().timestamp()),
        class.secret.as_bytes(),
    )
    .unwrap();
    let v2 = |path: &str, body: Value| {
        reqwest::Client::new().post(format!("{}{path}", class.hms.api())).bearer_auth(&token).json(&body).send()
    };
    let viewer: Value =
        v2(&format!("/room-codes/room/{room_id}/role/viewer"), json!({})).await.unwrap().json().await.unwrap();
    let viewer = viewer["code"].as_str().unwrap();
    v2("/room-codes/code", json!({"code": viewer, "enabled": false})).await.unwrap();
    let (s, e) = class.post("/room-codes/enable", json!({"code": viewer})).await;
    assert_eq!((s, e["error"].as_str()), (403, Some("role_not_allowed")), "{e}");
    let (_, listed) = class.get("/room-codes", &[("room_id", &room_id), ("role", "viewer")]).await;
    assert_eq!(listed["room_codes"][0]["enabled"], false, "it stays disabled");
    assert!(class.hms.join_by_code(viewer, "u").await.is_err());
    let (s, e) = class.post("/room-codes/enable", json!({"code": "nop-nope-nop"})).await;
    assert_eq!((s, e["error"].as_str()), (404, Some("upstream_not_found")), "{e}");
}

#[tokio::test]
async fn every_route_answers_its_failures_as_json() {
    let class = Class::start(CallerAuth::Open).await;
    let (_, room) = answer(&class.create.handle(post("/create-room", r#"{"name":"empty-room"}"#)).await);
    let room_id = room["id"].as_str().unwrap().to_string();
    let unknown = "0123456789abcdef01234567";
    let posts = [
        ("/room-codes", json!({"room_id": unknown}), 404, "upstream_not_found"),
        ("/room-codes", json!({"room_id": room_id, "extra": 1}), 400, "unknown_field"),
        ("/room-codes/disable", json!({"code": "nop-nope-nop"}), 404, "upstream_not_found"),
        ("/room-codes/enable", json!({}), 400, "missing_field"),
        (
            "/remove-peer",
            json!({"room_id": room_id, "peer_id": "fd9e87d8-5c7b-4750-932f-d8d2ff18b70b"}),
            404,
            "upstream_not_found",
        ),
        ("/remove-peer", json!({"room_id": room_id}), 400, "missing_field"),
        ("/end-room", json!({"room_id": room_id}), 404, "session_not_found"),
        ("/end-room", json!({"room_id": room_id, "lock": "yes"}), 400, "invalid_field"),
        ("/recordings/start", json!({"room_id": room_id}), 404, "session_not_found"),
        (
            "/recordings/start",
            json!({"room_id": room_id, "resolution": {"width": 99, "height": 99}}),
            400,
            "invalid_field",
        ),
        ("/recordings/stop", json!({"room_id": room_id}), 404, "upstream_not_found"),
    ];
    for (path, body, status, code) in posts {
        let (s, b) = class.post(path, body.clone()).await;
        assert_eq!((s, b["error"].as_str()), (status, Some(code)), "{path} {body}: {b}");
        assert_eq!(b["success"], false);
    }
    type Query<'a> = Vec<(&'a str, &'a str)>;
    let gets: [(&str, Query, u16, &str); 9] = [
        ("/room-codes", vec![], 400, "missing_parameter"),
        ("/room-codes", vec![("room_id", unknown)], 404, "upstream_not_found"),
        ("/room-codes", vec![("room_id", &room_id), ("enabled", "yes")], 400, "invalid_parameter"),
        ("/active-peers", vec![("room_id", &room_id)], 404, "session_not_found"),
        ("/active-peers", vec![("room_id", "nothex")], 400, "invalid_parameter"),
        ("/recordings", vec![("room_id", &room_id), ("limit", "21")], 400, "invalid_parameter"),
        ("/recording-url", vec![("asset_id", unknown)], 404, "upstream_not_found"),
        ("/recording-url", vec![("asset_id", unknown), ("duration", "604801")], 400, "invalid_parameter"),
        ("/recording-url", vec![], 400, "missing_parameter"),
    ];
    for (path, query, status, code) in gets {
        let (s, b) = class.get(path, &query).await;
        assert_eq!((s, b["error"].as_str()), (status, Some(code)), "{path} {query:?}: {b}");
    }
    let (s, empty) = class.get("/recordings", &[("room_id", &room_id)]).await;
    assert_eq!((s, empty["count"].as_u64(), &empty["next_cursor"]), (200, Some(0), &Value::Null), "{empty}");
    // Locking a room nobody is in disables it all the same.
    let (s, locked) = class.post("/end-room", json!({"room_id": room_id, "lock": true})).await;
    assert_eq!((s, &locked["ended"], &locked["locked"]), (200, &json!(false), &json!(true)), "{locked}");
    let (s, e) = class.post("/room-codes", json!({"room_id": room_id})).await;
    assert_eq!((s, e["error"].as_str()), (400, Some("upstream_rejected")), "a disabled room gets no codes: {e}");
    assert!(e["msg"].as_str().unwrap().contains("room is disabled"), "{e}");
    let (s, e) = class.call(get("/end-room", &[])).await;
    assert_eq!((s, e["error"].as_str()), (405, Some("method_not_allowed")));
}

/// With a JWT: a teacher creates a room and owns it; every route of it is for the owner and
/// admins; another teacher hears 404 for it (as for a room that does not exist), and nothing of
/// theirs reaches 100ms beyond the lookups the check needs.
#[tokio::test]
async fn with_jwt_every_route_is_for_the_rooms_owner_and_admins() {
    let class = Class::start(teachers_create_rooms()).await;
    let owner = [("sub", "teacher-1"), ("cognito:groups", "[teachers]")];
    let other = [("sub", "teacher-2"), ("cognito:groups", "[teachers]")];
    let admin = [("sub", "ops"), ("cognito:groups", "[admin]")];
    let class = &class;
    let create = |claims: &[(&str, &str)], body: Value| {
        let ev = with_claims(post("/create-room", &body.to_string()), claims);
        async move { answer(&class.create.handle(ev).await) }
    };
    let (s, room) = create(&owner, json!({"name": "owned-class"})).await;
    assert_eq!(s, 200, "{room}");
    let room = room["id"].as_str().unwrap().to_string();
    let (s, b) = create(&other, json!({"name": "OWNED-class", "description": "hijack"})).await;
    assert_eq!((s, b["error"].as_str()), (409, Some("name_taken")), "names are case-insensitive: {b}");
    let (s, _) = create(&admin, json!({"name": "owned-class", "description": "by an admin"})).await;
    assert_eq!(s, 200, "an admin may update any room");
    let (s, _) = create(&owner, json!({"name": "owned-class"})).await;
    assert_eq!(s, 200, "the admin's update left the owner as it was");
    let (s, b) = create(&[("sub", "student")], json!({"name": "mine"})).await;
    assert_eq!((s, b["error"].as_str()), (403, Some("admin_required")), "{b}");
    let (_, codes) = class.call(with_claims(post("/room-codes", &json!({"room_id": room}).to_string()), &owner)).await;
    let code = code_of(&codes["room_codes"], "guest").to_string();

    // Each route with what the owner and an admin hear: its success, or, where nobody is in the
    // room, the 404 that says so (100ms's answer for a room without a live session).
    let no_session = (404, Some("session_not_found"));
    let nothing_there = (404, Some("upstream_not_found"));
    let events = [
        (post("/room-codes", &json!({"room_id": room}).to_string()), (200, None)),
        (get("/room-codes", &[("room_id", &room)]), (200, None)),
        (post("/room-codes/disable", &json!({"code": code, "room_id": room}).to_string()), (200, None)),
        (post("/room-codes/enable", &json!({"code": code, "room_id": room}).to_string()), (200, None)),
        (get("/active-peers", &[("room_id", &room)]), no_session),
        (post("/remove-peer", &json!({"room_id": room, "role": "guest"}).to_string()), nothing_there),
        (post("/end-room", &json!({"room_id": room}).to_string()), no_session),
        (post("/recordings/start", &json!({"room_id": room}).to_string()), no_session),
        (post("/recordings/stop", &json!({"room_id": room}).to_string()), nothing_there),
        (get("/recordings", &[("room_id", &room)]), (200, None)),
    ];
    for (ev, expected) in events {
        let path = ev.raw_path.clone().unwrap();
        class.hms.reset_counters().await;
        let (s, b) = class.call(with_claims(ev.clone(), &other)).await;
        assert_eq!((s, b["error"].as_str()), (404, Some("room_not_found")), "{path}: {b}");
        assert_eq!(b["msg"], format!("room {room} not found"), "{path}");
        let reached = class.hms.counters().await["requests"].as_object().map_or(0, |r| r.len());
        assert_eq!(reached, 0, "{path}: nothing of a refused call reached 100ms");
        let (s, _) = class.call(with_claims(ev.clone(), &[])).await;
        assert_eq!(s, 401, "{path}: no verified caller");
        for who in [&owner[..], &admin[..]] {
            let (s, b) = class.call(with_claims(ev.clone(), who)).await;
            assert_eq!((s, b["error"].as_str()), expected, "{path} {who:?}: {b}");
        }
    }
    let (s, b) = class.call(with_claims(post("/room-codes/enable", &json!({"code": code}).to_string()), &owner)).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("missing_field")), "a non-admin names the code's room: {b}");
    let (s, _) = class.call(with_claims(post("/room-codes/enable", &json!({"code": code}).to_string()), &admin)).await;
    assert_eq!(s, 200, "an admin need not");
    let (s, other_room) = create(&other, json!({"name": "other-class"})).await;
    assert_eq!(s, 200);
    let other_room = other_room["id"].as_str().unwrap().to_string();
    let misplaced = json!({"code": code, "room_id": other_room}).to_string();
    let (s, b) = class.call(with_claims(post("/room-codes/disable", &misplaced), &other)).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("upstream_not_found")), "a code of another room: {b}");
    let (s, b) = class.call(with_claims(get("/recording-url", &[("asset_id", &room)]), &other)).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("upstream_not_found")), "{b}");
}

/// Which calls are repeated after a 503: those safe to repeat, and no other.
#[tokio::test]
async fn only_calls_safe_to_repeat_are_retried() {
    let class = Class::start(CallerAuth::Open).await;
    let (_, room) = answer(&class.create.handle(post("/create-room", r#"{"name":"retries"}"#)).await);
    let room_id = room["id"].as_str().unwrap().to_string();
    let (_, codes) = class.post("/room-codes", json!({"room_id": room_id})).await;
    let guest = code_of(&codes["room_codes"], "guest").to_string();
    let mut peers = Vec::new();
    for i in 0..4 {
        peers.push(class.hms.join_by_code(&guest, &format!("s{i}")).await.unwrap());
    }
    let cases: Vec<(&str, &str, ApiGatewayV2httpRequest, bool)> = vec![
        ("GET /room-codes/room/{id}", "list codes", get("/room-codes", &[("room_id", &room_id)]), true),
        (
            "POST /room-codes/code",
            "disable a code",
            post("/room-codes/disable", &json!({"code": guest}).to_string()),
            true,
        ),
        (
            "POST /room-codes/room/{id}/role/{role}",
            "create a code",
            post("/room-codes", &json!({"room_id": room_id, "roles": ["guest"]}).to_string()),
            false,
        ),
        ("GET /active-rooms/{id}/peers", "list peers", get("/active-peers", &[("room_id", &room_id)]), true),
        (
            "POST /active-rooms/{id}/remove-peers",
            "remove one peer",
            post("/remove-peer", &json!({"room_id": room_id, "peer_id": peers[0]}).to_string()),
            true,
        ),
        (
            "POST /active-rooms/{id}/remove-peers",
            "remove a role",
            post("/remove-peer", &json!({"room_id": room_id, "role": "viewer"}).to_string()),
            false,
        ),
        (
            "POST /recordings/room/{id}/start",
            "start recording",
            post("/recordings/start", &json!({"room_id": room_id}).to_string()),
            false,
        ),
        ("GET /recordings", "list recordings", get("/recordings", &[("room_id", &room_id)]), true),
        (
            "POST /active-rooms/{id}/end-room",
            "end the room",
            post("/end-room", &json!({"room_id": room_id}).to_string()),
            false,
        ),
    ];
    for (route, what, ev, retried) in cases {
        class.hms.fault(route, json!({"kind": "status", "status": 503})).await;
        let before = class.requests(route).await;
        let (s, b) = class.call(ev).await;
        let sent = class.requests(route).await - before;
        if retried {
            assert_eq!((s, sent), (200, 2), "{what} is repeated after a 503: {b}");
        } else {
            assert_eq!((s, b["error"].as_str(), sent), (502, Some("upstream_error"), 1), "{what} is not repeated: {b}");
        }
    }
    // A rejected management token is replaced and the call made again, for any call: 100ms did not
    // act on a request it refused.
    class.hms.fault("POST /active-rooms/{id}/end-room", json!({"kind": "status", "status": 401})).await;
    let (s, b) = class.post("/end-room", json!({"room_id": room_id})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(class.hms.counters().await["auth_failures"], 0, "the 401 was the injected one");
}

/// Two creators racing for one new room name, 25 times over: each time exactly one makes the
/// room and owns it, the other hears 409 `name_taken`, and 100ms's create (an upsert by name) is
/// called once, so the room is configured once, with the winner's settings.
#[tokio::test]
async fn racing_creators_one_owner_one_create() {
    let class = Class::start(teachers_create_rooms()).await;
    class.hms.reset_counters().await;
    let class = &class;
    let races = (0..25).map(|i| async move {
        let name = format!("raced-{i}-{}", uuid::Uuid::new_v4().simple());
        let attempt = |who: &'static str| {
            let body = json!({"name": name, "description": who}).to_string();
            let ev = with_claims(post("/create-room", &body), &[("sub", who), ("cognito:groups", "[teachers]")]);
            async move { (who, answer(&class.create.handle(ev).await)) }
        };
        let (a, b) = tokio::join!(attempt("teacher-a"), attempt("teacher-b"));
        (name, [a, b])
    });
    let results = futures_util::future::join_all(races).await;
    let owners = class.create.access.owners().unwrap();
    for (name, answers) in &results {
        let won: Vec<_> = answers.iter().filter(|(_, (s, _))| *s == 200).collect();
        let lost: Vec<_> = answers.iter().filter(|(_, (s, b))| *s == 409 && b["error"] == "name_taken").collect();
        assert_eq!((won.len(), lost.len()), (1, 1), "{name}: {answers:?}");
        let (winner, (_, room)) = won[0];
        assert_eq!(room["description"], *winner, "{name}: the room has the winner's settings");
        let id = RoomId::parse(room["id"].as_str().unwrap()).unwrap();
        assert_eq!(owners.owner_of(&id).await.unwrap().as_deref(), Some(*winner), "{name}");
    }
    assert_eq!(class.requests("POST /rooms").await, 25, "one create at 100ms per name");
}
