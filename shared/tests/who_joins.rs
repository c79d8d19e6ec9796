//! Who may join a room, through the handlers (issue 30): `/auth-token` asks the room (one table
//! operation, none without sign-in), room-control's member routes change what it answers, codes
//! obey the same rules, and a removal with `ban` sticks. On the in-memory store and 100ms
//! (`FakeHms`); the e2e matrix (`e2e/tests/authorization.rs`) runs the same through the binaries.

use std::sync::Arc;

use hms_shared::auth::{CallerAuth, RoleAllowList};
use hms_shared::credentials::{CredentialStore, Credentials, StaticSource};
use hms_shared::handlers::{AuthToken, CreateRoom, RoomControl};
use hms_shared::input::{Parse, Role};
use hms_shared::owners::RoomAccess;
use hms_shared::store::{MemoryStore, Owners, SharedOwners};
use hms_test_support::{FakeHms, Handle, answer, get, post, with_claims};
use serde_json::{Value, json};

const ROOM: &str = "631b2654f771854d9bf633df";
const SECRET: &str = "app-secret-for-tests-0123456789abcdef";

fn roles(names: &[&str]) -> RoleAllowList {
    RoleAllowList::Only(names.iter().map(|r| Role::parse(r).unwrap()).collect())
}

/// The local rules (tools/local-jwt-rules.env): admins in `admins`, creators and host tokens for
/// `teachers`.
fn rules() -> CallerAuth {
    hms_test_support::local_caller_auth()
}

struct Class {
    store: Arc<MemoryStore>,
    hms: FakeHms,
    tokens: AuthToken<StaticSource>,
}

impl Class {
    /// Room ROOM, owned by `teacher`.
    async fn new(auth: CallerAuth) -> Self {
        let store = Arc::new(MemoryStore::default());
        store
            .claim_owner(&hms_shared::input::RoomId::parse(ROOM).unwrap(), "teacher", chrono::Utc::now())
            .await
            .unwrap();
        let tokens = AuthToken {
            credentials: CredentialStore::new(
                StaticSource(Credentials::new("k".into(), SECRET.into())),
                std::time::Duration::from_secs(300),
            ),
            roles: roles(&["host", "guest", "viewer"]),
            ttl_seconds: 3600,
            access: RoomAccess::new(auth, Ok(store.clone() as SharedOwners)),
        };
        Self { store, hms: FakeHms::default(), tokens }
    }

    /// An admin makes `owner` the owner of ROOM.
    async fn give_room_to(&self, owner: &str) {
        let room = hms_shared::input::RoomId::parse(ROOM).unwrap();
        self.store.assign_owner(&room, owner, "ops", chrono::Utc::now()).await.unwrap();
    }

    fn control(&self) -> RoomControl<&FakeHms> {
        RoomControl {
            hms: &self.hms,
            roles: roles(&["host", "guest", "viewer"]),
            access: self.tokens.access.clone(),
            meeting_hosts: Default::default(),
        }
    }

    /// `/auth-token` for `role` as `sub` (in `groups`): the status and the error code ("-" for none).
    async fn token(&self, sub: &str, groups: &str, role: &str) -> (u16, String) {
        let ev = post("/auth-token", &json!({"room_id": ROOM, "role": role}).to_string());
        let (s, b) = answer(&self.tokens.handle(with_claims(ev, &claims(sub, groups))).await);
        (s, b["error"].as_str().unwrap_or("-").to_string())
    }

    /// A room-control call as `sub` (in `groups`).
    async fn run(
        &self,
        sub: &str,
        groups: &str,
        ev: lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest,
    ) -> (u16, Value) {
        answer(&self.control().handle(with_claims(ev, &claims(sub, groups))).await)
    }
}

fn claims<'a>(sub: &'a str, groups: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("sub", sub), ("cognito:groups", groups)]
}

fn ok() -> (u16, String) {
    (200, "-".into())
}

fn refused(code: &str) -> (u16, String) {
    (403, code.into())
}

#[tokio::test]
async fn host_tokens_are_for_the_rooms_people_and_each_asks_the_table_once() {
    let class = Class::new(rules()).await;
    let before = class.store.operations();
    assert_eq!(class.token("teacher", "teachers", "host").await, ok(), "the owner");
    assert_eq!(class.store.operations() - before, 1, "one table operation per token");
    assert_eq!(
        class.token("teacher-2", "teachers", "host").await,
        refused("role_not_granted"),
        "a teacher, not the owner"
    );
    assert_eq!(class.token("ops", "[admins teachers]", "host").await, ok(), "an admin with the host claim");
    assert_eq!(class.token("ops", "admins", "host").await, refused("role_not_allowed"), "ROLE_CLAIMS bound admins too");
    // A refusal tells nothing of whether the room exists.
    let ev = post("/auth-token", &json!({"room_id": "0123456789abcdef01234567", "role": "host"}).to_string());
    let (_, unknown) = answer(&class.tokens.handle(with_claims(ev, &claims("teacher-2", "teachers"))).await);
    let ev = post("/auth-token", &json!({"room_id": ROOM, "role": "host"}).to_string());
    let (_, known) = answer(&class.tokens.handle(with_claims(ev, &claims("teacher-2", "teachers"))).await);
    assert_eq!(
        unknown["msg"].as_str().unwrap().replace("0123456789abcdef01234567", ROOM),
        known["msg"].as_str().unwrap()
    );

    // The owner grants a co-teacher the host role: the claim still applies on top.
    let grant = json!({"room_id": ROOM, "members": [{"user_id": "teacher-2", "roles": ["host"]}, {"user_id": "s1", "roles": ["host"]}]});
    assert_eq!(class.run("teacher", "teachers", post("/room-members", &grant.to_string())).await.0, 200);
    assert_eq!(class.token("teacher-2", "teachers", "host").await, ok());
    assert_eq!(class.token("s1", "students", "host").await, refused("role_not_allowed"), "granted, but no claim");
}

#[tokio::test]
async fn open_and_members_rooms_and_bans() {
    let class = Class::new(rules()).await;
    assert_eq!(class.token("s1", "", "guest").await, ok(), "open by default");
    let (s, b) = class
        .run("teacher", "teachers", post("/room-access", &json!({"room_id": ROOM, "access": "members"}).to_string()))
        .await;
    assert_eq!((s, &b["access"], &b["codes_disabled"]), (200, &json!("members"), &json!(0)), "{b}");
    assert_eq!(class.token("s1", "", "guest").await, refused("role_not_granted"));
    assert_eq!(class.token("teacher", "teachers", "guest").await, ok(), "the owner");
    let roster = json!({"room_id": ROOM, "members": [{"user_id": "s1", "roles": ["guest"]}]});
    assert_eq!(class.run("teacher", "teachers", post("/room-members", &roster.to_string())).await.0, 200);
    assert_eq!(class.token("s1", "", "guest").await, ok());
    assert_eq!(class.token("s1", "", "viewer").await, refused("role_not_granted"), "only the roles granted");

    // A ban holds in every mode, for every role; unbanning gives the member back.
    let who = json!({"room_id": ROOM, "user_id": "s1"}).to_string();
    let (s, b) = class.run("teacher", "teachers", post("/room-members/ban", &who)).await;
    assert_eq!((s, &b["banned"]), (200, &json!(true)), "{b}");
    assert_eq!(class.token("s1", "", "guest").await, refused("banned"));
    class
        .run("teacher", "teachers", post("/room-access", &json!({"room_id": ROOM, "access": "open"}).to_string()))
        .await;
    assert_eq!(class.token("s1", "", "viewer").await, refused("banned"), "an open room too");
    let (_, page) = class.run("teacher", "teachers", get("/room-members", &[("room_id", ROOM)])).await;
    assert_eq!(page["members"], json!([{"user_id": "s1", "roles": ["guest"], "banned": true}]), "{page}");
    assert_eq!(class.run("teacher", "teachers", post("/room-members/unban", &who)).await.0, 200);
    assert_eq!(class.token("s1", "", "guest").await, ok());
    let (_, removed) = class.run("teacher", "teachers", post("/room-members/remove", &who)).await;
    assert_eq!(removed["removed"], true);
    let (_, page) = class.run("teacher", "teachers", get("/room-members", &[("room_id", ROOM)])).await;
    assert_eq!(page["members"], json!([]), "{page}");
}

#[tokio::test]
async fn the_member_routes_are_the_owners_and_admins_and_page_through_a_class() {
    let class = Class::new(rules()).await;
    let students: Vec<Value> = (0..100).map(|i| json!({"user_id": format!("s{i:03}"), "roles": ["guest"]})).collect();
    let roster = json!({"room_id": ROOM, "members": students}).to_string();
    let (s, b) = class.run("teacher-2", "teachers", post("/room-members", &roster)).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("room_not_found")), "another teacher: as if no room");
    let (s, b) = class.run("ops", "admins", post("/room-members", &roster)).await;
    assert_eq!((s, &b["count"]), (200, &json!(100)), "{b}");
    for (sub, groups) in [("teacher-2", "teachers"), ("s001", "")] {
        for ev in [
            get("/room-members", &[("room_id", ROOM)]),
            post("/room-members/remove", &json!({"room_id": ROOM, "user_id": "s001"}).to_string()),
            post("/room-members/ban", &json!({"room_id": ROOM, "user_id": "s001"}).to_string()),
            post("/room-access", &json!({"room_id": ROOM, "access": "members"}).to_string()),
        ] {
            let (s, b) = class.run(sub, groups, ev).await;
            assert_eq!((s, b["error"].as_str()), (404, Some("room_not_found")), "{sub}: {b}");
        }
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let mut query = vec![("room_id", ROOM), ("limit", "40")];
        if let Some(c) = &cursor {
            query.push(("cursor", c.as_str()));
        }
        let (s, page) = class.run("teacher", "teachers", get("/room-members", &query)).await;
        assert_eq!(s, 200, "{page}");
        seen.extend(page["members"].as_array().unwrap().iter().map(|m| m["user_id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 100, "three pages, every member once");
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    let (s, b) = class.run("teacher", "teachers", get("/room-members", &[("room_id", ROOM), ("cursor", "AAAA")])).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_parameter")), "{b}");
    let (s, b) = class.run("teacher", "teachers", get("/room-members", &[("room_id", ROOM), ("limit", "101")])).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_parameter")), "{b}");
}

#[tokio::test]
async fn codes_obey_the_token_rules_and_a_members_room_has_none() {
    let class = Class::new(rules()).await;
    let run = |sub: &'static str, groups: &'static str, path: &'static str, body: Value| {
        let class = &class;
        async move { class.run(sub, groups, post(path, &body.to_string())).await }
    };
    // An owner without the host claim may not make a host code, nor (with no roles named) the
    // codes of every allowed role; nothing reaches 100ms.
    class.give_room_to("plain-owner").await;
    let (s, b) = run("plain-owner", "", "/room-codes", json!({"room_id": ROOM, "roles": ["host"]})).await;
    assert_eq!((s, b["error"].as_str()), (403, Some("role_not_allowed")), "{b}");
    let (s, _) = run("plain-owner", "", "/room-codes", json!({"room_id": ROOM})).await;
    assert_eq!(s, 403);
    assert!(class.hms.called().is_empty(), "{:?}", class.hms.called());
    let (s, b) = run("plain-owner", "", "/room-codes", json!({"room_id": ROOM, "roles": ["guest"]})).await;
    assert_eq!(s, 200, "{b}");
    let guest_code = b["room_codes"][0]["code"].clone();

    // The room's owner (with the claim) makes a host code; the plain owner may not enable it,
    // and is refused before 100ms switches anything.
    class.give_room_to("teacher").await;
    let (_, made) = run("teacher", "teachers", "/room-codes", json!({"room_id": ROOM, "roles": ["host"]})).await;
    let host_code = made["room_codes"][0]["code"].clone();
    run("teacher", "teachers", "/room-codes/disable", json!({"room_id": ROOM, "code": host_code})).await;
    class.give_room_to("plain-owner").await;
    class.hms.calls.lock().unwrap().clear();
    let (s, b) = run("plain-owner", "", "/room-codes/enable", json!({"room_id": ROOM, "code": host_code})).await;
    assert_eq!((s, b["error"].as_str()), (403, Some("role_not_allowed")), "{b}");
    assert_eq!(class.hms.called(), ["list_room_codes"], "the role was known before any switch");

    // Switching to members disables the enabled codes and says how many; then none is made or enabled.
    class.give_room_to("teacher").await;
    let (s, b) = run("teacher", "teachers", "/room-access", json!({"room_id": ROOM, "access": "members"})).await;
    assert_eq!((s, &b["codes_disabled"]), (200, &json!(1)), "the guest code: {b}");
    assert!(class.hms.codes.lock().unwrap().iter().all(|c| c["enabled"] == false));
    let (s, b) = run("teacher", "teachers", "/room-codes", json!({"room_id": ROOM, "roles": ["guest"]})).await;
    assert_eq!((s, b["error"].as_str()), (409, Some("members_only")), "{b}");
    for (sub, groups, body) in [
        ("teacher", "teachers", json!({"room_id": ROOM, "code": guest_code})),
        ("ops", "[admins teachers]", json!({"code": guest_code})),
    ] {
        let (s, b) = run(sub, groups, "/room-codes/enable", body).await;
        assert_eq!((s, b["error"].as_str()), (409, Some("members_only")), "{sub}: {b}");
    }
    assert!(class.hms.codes.lock().unwrap().iter().all(|c| c["enabled"] == false), "an admin's switch is undone");
}

#[tokio::test]
async fn a_removal_with_ban_sticks() {
    let class = Class::new(rules()).await;
    class.hms.join(ROOM, "peer-1", "guest", "2026-12-07T10:00:00Z");
    // FakeHms names peer-1's user "user-peer-1": that user had a token and joined.
    assert_eq!(class.token("user-peer-1", "", "guest").await, ok());
    let body = json!({"room_id": ROOM, "peer_id": "peer-1", "ban": true}).to_string();
    let (s, b) = class.run("teacher", "teachers", post("/remove-peer", &body)).await;
    assert_eq!((s, &b["banned_user_id"]), (200, &json!("user-peer-1")), "{b}");
    assert_eq!(class.hms.called(), ["active_peers", "remove_peers"], "the ban is kept before the removal");
    assert_eq!(class.token("user-peer-1", "", "guest").await, refused("banned"), "back a second later: refused");
    class.hms.join(ROOM, "peer-2", "guest", "2026-12-07T10:01:00Z");
    let body = json!({"room_id": ROOM, "peer_id": "nobody", "ban": true}).to_string();
    let (s, b) = class.run("teacher", "teachers", post("/remove-peer", &body)).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("upstream_not_found")), "{b}");
}

#[tokio::test]
async fn without_sign_in_rooms_decide_nothing_and_no_table_is_read() {
    let class = Class::new(CallerAuth::Open).await;
    let ev = post("/auth-token", &json!({"room_id": ROOM, "user_id": "u1", "role": "host"}).to_string());
    let before = class.store.operations();
    let (s, b) = answer(&class.tokens.handle(ev).await);
    assert_eq!(s, 200, "{b}");
    assert_eq!(class.store.operations(), before, "no table operation");
}

/// A create that is refused reserves no name: the next creator gets it.
#[tokio::test]
async fn a_refused_create_reserves_no_name() {
    let class = Class::new(rules()).await;
    let create = CreateRoom { hms: &class.hms, access: class.tokens.access.clone(), code_roles: Ok(roles(&["guest"])) };
    let ask = |sub: &'static str, body: Value| {
        let ev = with_claims(post("/create-room", &body.to_string()), &claims(sub, "teachers"));
        let create = &create;
        async move { answer(&create.handle(ev).await) }
    };
    let (s, b) = ask("teacher-a", json!({"name": "algebra", "room_codes": true, "access": "members"})).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_body")), "{b}");
    // FakeHms answers every create with room ROOM, which `teacher` owns.
    let (s, b) = ask("teacher", json!({"name": "algebra"})).await;
    assert_eq!(s, 200, "the name was not reserved by the refused request: {b}");
    let (s, b) = ask("teacher-a", json!({"name": "algebra"})).await;
    assert_eq!((s, b["error"].as_str()), (409, Some("name_taken")), "{b}");
}
