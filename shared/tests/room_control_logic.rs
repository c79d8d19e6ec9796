//! `room-control`'s handlers over the in-memory 100ms (`FakeHms`): what each route makes of
//! 100ms's answers and failures, which calls it makes and which it does not, without a network.
//! `room_control.rs` runs the same routes with the real client against the emulator.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use hms_shared::ApiError;
use hms_shared::auth::{CallerAuth, ClaimRule, JwtRules, RoleAllowList, RoleClaims};
use hms_shared::handlers::RoomControl;
use hms_shared::handlers::room_control::recordings::{self, MAX_URL_SECONDS, UrlSeconds};
use hms_shared::input::{Parse, Role, RoomId};
use hms_shared::owners::RoomAccess;
use hms_shared::store::{MemoryStore, Owners, SharedOwners};
use hms_test_support::{FakeHms, GARBAGE, Garbled, Handle, answer, get, post, with_claims};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde_json::{Value, json};

const ROOM: &str = "631b2654f771854d9bf633df";
const OTHER_ROOM: &str = "631b2654f771854d9bf633e0";

fn allowed(roles: &[&str]) -> RoleAllowList {
    RoleAllowList::Only(roles.iter().map(|r| Role::parse(r).unwrap()).collect())
}

/// room-control over `hms` on an open API, codes allowed for host and guest.
fn control(hms: &FakeHms) -> RoomControl<&FakeHms> {
    RoomControl {
        hms,
        roles: allowed(&["host", "guest"]),
        access: hms_test_support::open_access(),
        meeting_hosts: Default::default(),
    }
}

async fn call<H: hms_shared::hms::HmsApi>(f: &RoomControl<H>, ev: ApiGatewayV2httpRequest) -> (u16, Value) {
    answer(&f.handle(ev).await)
}

fn body(v: Value) -> String {
    v.to_string()
}

#[tokio::test]
async fn codes_are_made_once_per_role_and_asking_again_gives_the_same() {
    let hms = FakeHms::default();
    let f = control(&hms);
    let (s, first) = call(&f, post("/room-codes", &body(json!({"room_id": ROOM})))).await;
    assert_eq!(s, 200, "{first}");
    let roles: Vec<&str> =
        first["room_codes"].as_array().unwrap().iter().map(|c| c["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["guest", "host"], "each allowed role, one code each");
    let (_, again) = call(&f, post("/room-codes", &body(json!({"room_id": ROOM, "roles": ["host"]})))).await;
    assert_eq!(again["room_codes"][0], first["room_codes"][1], "the host's enabled code is kept");
    assert_eq!(hms.called().iter().filter(|c| **c == "create_room_codes").count(), 2, "{:?}", hms.called());
    let (_, listed) = call(&f, get("/room-codes", &[("room_id", ROOM), ("role", "guest")])).await;
    assert_eq!((listed["count"].as_u64(), &listed["room_codes"][0]), (Some(1), &first["room_codes"][0]));

    let any = RoomControl { roles: RoleAllowList::Any, ..control(&hms) };
    let (_, all) = call(&any, post("/room-codes", &body(json!({"room_id": OTHER_ROOM})))).await;
    assert_eq!(all["count"], 2, "with `*`, 100ms's create-for-all: every role of the template: {all}");
    assert_eq!(hms.called().last(), Some(&"create_room_codes"), "and no list first");
}

#[tokio::test]
async fn enabling_a_code_of_a_role_not_allowed_disables_it_again() {
    let hms = FakeHms::default();
    let any = RoomControl { roles: RoleAllowList::Any, ..control(&hms) };
    let (_, all) = call(&any, post("/room-codes", &body(json!({"room_id": ROOM})))).await;
    let guest = all["room_codes"].as_array().unwrap().iter().find(|c| c["role"] == "guest").unwrap()["code"].clone();
    let only_host = RoomControl { roles: allowed(&["host"]), ..control(&hms) };
    let (s, _) = call(&only_host, post("/room-codes/disable", &body(json!({"code": guest})))).await;
    assert_eq!(s, 200, "disabling is always allowed");
    let (s, b) = call(&only_host, post("/room-codes/enable", &body(json!({"code": guest})))).await;
    assert_eq!((s, b["error"].as_str()), (403, Some("role_not_allowed")), "{b}");
    let stored = hms.codes.lock().unwrap().iter().find(|c| c["code"] == guest).unwrap().clone();
    assert_eq!(stored["enabled"], false, "100ms was told to disable it again");
    let (s, b) = call(&only_host, post("/room-codes/enable", &body(json!({"code": "not-a-code"})))).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("upstream_not_found")), "{b}");
    assert!(b["msg"].as_str().unwrap().contains("100ms: code not found"), "100ms's words are kept: {b}");
}

#[tokio::test]
async fn peers_are_listed_first_joined_first_and_removed_by_id_or_role() {
    let hms = FakeHms::default();
    let f = control(&hms);
    let (s, b) = call(&f, get("/active-peers", &[("room_id", ROOM)])).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("session_not_found")), "nobody in the room: {b}");
    assert!(b["msg"].as_str().unwrap().starts_with(&format!("room {ROOM} has no live session (100ms:")), "{b}");
    hms.join(ROOM, "p-a", "guest", "2024-05-01T10:05:00Z");
    hms.join(ROOM, "p-c", "guest", "2024-05-01T10:00:00Z");
    hms.join(ROOM, "p-b", "host", "2024-05-01T10:00:00Z");
    let (_, b) = call(&f, get("/active-peers", &[("room_id", ROOM)])).await;
    let ids: Vec<&str> = b["peers"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["p-b", "p-c", "p-a"], "by join time, then id (100ms sends them keyed by id)");

    let (s, b) = call(&f, post("/remove-peer", &body(json!({"room_id": ROOM, "peer_id": "p-gone"})))).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("upstream_not_found")), "{b}");
    let (s, b) = call(&f, post("/remove-peer", &body(json!({"room_id": ROOM, "role": "guest"})))).await;
    assert_eq!((s, b["role"].as_str(), b["peer_id"].as_str()), (200, Some("guest"), None), "{b}");
    assert_eq!(b["message"], "peer remove request submitted", "100ms's message is passed on");
    let (_, b) = call(&f, get("/active-peers", &[("room_id", ROOM)])).await;
    assert_eq!(b["count"], 1, "the host stays: {b}");
}

#[tokio::test]
async fn ending_a_room_locks_it_even_when_nobody_is_in_it() {
    let hms = FakeHms::default();
    let f = control(&hms);
    let (s, b) = call(&f, post("/end-room", &body(json!({"room_id": ROOM})))).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("session_not_found")), "no session to end: {b}");
    assert!(hms.disabled.lock().unwrap().is_empty());

    let (s, b) = call(&f, post("/end-room", &body(json!({"room_id": ROOM, "lock": true})))).await;
    assert_eq!((s, b["ended"].as_bool(), b["locked"].as_bool()), (200, Some(false), Some(true)), "{b}");
    assert!(hms.disabled.lock().unwrap().contains(ROOM), "locked all the same");
    assert_eq!(hms.called(), ["end_room", "end_room", "set_room_enabled"]);

    hms.join(OTHER_ROOM, "p-1", "host", "2024-05-01T10:00:00Z");
    hms.calls.lock().unwrap().clear();
    let (s, b) = call(&f, post("/end-room", &body(json!({"room_id": OTHER_ROOM, "lock": true})))).await;
    assert_eq!((s, b["ended"].as_bool(), b["message"].as_str()), (200, Some(true), Some("session is ending")));
    assert_eq!(hms.called(), ["end_room"], "100ms's lock disables the room; nothing more is asked");
    assert!(hms.live.lock().unwrap().is_empty());

    hms.fail_next("end_room", ApiError::UpstreamRejected { status: 403, msg: "room is disabled".into() });
    hms.calls.lock().unwrap().clear();
    let (s, b) = call(&f, post("/end-room", &body(json!({"room_id": ROOM, "lock": true})))).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("upstream_rejected")), "only a 404 means no session: {b}");
    assert_eq!(hms.called(), ["end_room"]);
}

#[tokio::test]
async fn recordings_start_in_a_live_session_and_stop_what_runs() {
    let hms = FakeHms::default();
    let f = control(&hms);
    let start = || post("/recordings/start", &body(json!({"room_id": ROOM})));
    let (s, b) = call(&f, start()).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("session_not_found")), "{b}");
    let stop = || post("/recordings/stop", &body(json!({"room_id": ROOM})));
    let (s, b) = call(&f, stop()).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("upstream_not_found")), "nothing records: {b}");
    assert!(b["msg"].as_str().unwrap().starts_with(&format!("no recording runs in room {ROOM}")), "{b}");
    hms.join(ROOM, "p-1", "host", "2024-05-01T10:00:00Z");
    let (s, b) = call(&f, start()).await;
    assert_eq!(
        (s, b["recording"]["status"].as_str(), b["recording"]["room_id"].as_str()),
        (200, Some("starting"), Some(ROOM))
    );
    assert!(b["recording"].get("assets").is_none(), "none yet: {b}");
    let (s, b) = call(&f, stop()).await;
    assert_eq!((s, b["count"].as_u64(), b["recordings"][0]["status"].as_str()), (200, Some(1), Some("stopping")));
}

#[tokio::test]
async fn a_recordings_page_fetches_assets_of_completed_ones_only() {
    let hms = FakeHms::default();
    let f = control(&hms);
    let done = hms.completed_recording(ROOM, 1);
    hms.join(ROOM, "p-1", "host", "2024-05-01T10:00:00Z");
    let (_, running) = call(&f, post("/recordings/start", &body(json!({"room_id": ROOM})))).await;
    hms.calls.lock().unwrap().clear();
    let (s, b) = call(&f, get("/recordings", &[("room_id", ROOM), ("limit", "2")])).await;
    assert_eq!(s, 200, "{b}");
    let recs = b["recordings"].as_array().unwrap();
    assert_eq!(
        (recs[0]["id"].clone(), recs[1]["id"].clone()),
        (running["recording"]["id"].clone(), done["id"].clone())
    );
    assert!(recs[0].get("assets").is_none());
    assert_eq!(recs[1]["assets"].as_array().unwrap().len(), 5, "{b}");
    assert_eq!(hms.called(), ["list_recordings", "get_recording"], "one more call, for the completed one");
    assert_eq!(b["next_cursor"], done["id"], "a full page has a next one");
    let (_, next) = call(&f, get("/recordings", &[("room_id", ROOM), ("cursor", done["id"].as_str().unwrap())])).await;
    assert_eq!((next["count"].as_u64(), &next["next_cursor"]), (Some(0), &Value::Null), "{next}");
}

#[tokio::test]
async fn a_recording_link_expires_when_100ms_says_and_never_later_than_a_week() {
    let hms = FakeHms::default();
    let done = hms.completed_recording(ROOM, 2);
    let asset = Parse::parse(done["recording_assets"][0]["id"].as_str().unwrap()).unwrap();
    let now = Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap();
    let reply = recordings::url(&&hms, &asset, UrlSeconds(120), now).await.unwrap();
    let b: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!((b["expiry"].as_u64(), b["expires_at"].as_str()), (Some(120), Some("2024-05-01T10:02:00Z")), "{b}");
    let generous = FakeHms {
        url_expiry: Some(30 * 86_400),
        recordings: hms.recordings.lock().unwrap().clone().into(),
        ..Default::default()
    };
    let week = recordings::url(&&generous, &asset, UrlSeconds(MAX_URL_SECONDS), now).await.unwrap();
    let b: Value = serde_json::from_slice(&week.body).unwrap();
    assert_eq!(
        (b["expiry"].as_u64(), b["expires_at"].as_str()),
        (Some(30 * 86_400), Some("2024-05-08T10:00:00Z")),
        "{b}"
    );
    let unknown = Parse::parse("0000000000000000000000ff").unwrap();
    let err = recordings::url(&&hms, &unknown, UrlSeconds::default(), now).await.unwrap_err();
    assert_eq!(err.code().as_str(), "upstream_not_found");
}

/// With a JWT: a teacher runs only rooms of theirs. A code or an asset of another room is as
/// unknown as one that does not exist, and nothing changes at 100ms.
#[tokio::test]
async fn an_owner_reaches_codes_and_assets_of_their_rooms_only() {
    let rules = JwtRules {
        admin: ClaimRule::parse("cognito:groups=admin").unwrap(),
        creator: Some(ClaimRule::parse("cognito:groups=teachers").unwrap()),
        role_claims: RoleClaims::default(),
        join: Default::default(),
    };
    let owners = Arc::new(MemoryStore::default());
    let mine = RoomId::parse(ROOM).unwrap();
    assert!(owners.claim_owner(&mine, "teacher-1", Utc::now()).await.unwrap());
    let hms = FakeHms::default();
    let f =
        RoomControl { access: RoomAccess::new(CallerAuth::Jwt(rules), Ok(owners as SharedOwners)), ..control(&hms) };
    let as_owner = |ev| with_claims(ev, &[("sub", "teacher-1"), ("cognito:groups", "[teachers]")]);
    let any = RoomControl { roles: RoleAllowList::Any, ..control(&hms) };
    let (_, theirs) = call(&any, post("/room-codes", &body(json!({"room_id": OTHER_ROOM})))).await;
    let their_code = theirs["room_codes"][0]["code"].clone();
    let their_asset = hms.completed_recording(OTHER_ROOM, 3)["recording_assets"][0]["id"].clone();
    let my_asset = hms.completed_recording(ROOM, 4)["recording_assets"][0]["id"].clone();
    hms.calls.lock().unwrap().clear();

    let (s, b) = call(&f, as_owner(post("/room-codes/disable", &body(json!({"code": their_code}))))).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("missing_field")), "the code's room is named: {b}");
    let misplaced = body(json!({"code": their_code, "room_id": ROOM}));
    let (s, b) = call(&f, as_owner(post("/room-codes/disable", &misplaced))).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("upstream_not_found")), "{b}");
    let (s, b) = call(&f, as_owner(get("/recording-url", &[("asset_id", their_asset.as_str().unwrap())]))).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("upstream_not_found")), "{b}");
    let nowhere = "0000000000000000000000ff";
    let (_, unknown) = call(&f, as_owner(get("/recording-url", &[("asset_id", nowhere)]))).await;
    assert_eq!(b["msg"].as_str().unwrap().replace(their_asset.as_str().unwrap(), nowhere), unknown["msg"], "alike");
    assert_eq!(hms.called(), ["list_room_codes", "get_asset", "get_asset"], "only the lookups the checks need");
    assert!(hms.codes.lock().unwrap().iter().all(|c| c["enabled"] == true), "no code was switched");

    let (s, b) = call(&f, as_owner(get("/recording-url", &[("asset_id", my_asset.as_str().unwrap())]))).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["url"].as_str().unwrap().contains(my_asset.as_str().unwrap()));
}

/// A 2xx from 100ms that is not what its docs describe is a 502 on every route that reads it;
/// removing a peer and ending a room read only 100ms's message, which may be missing.
#[tokio::test]
async fn an_unreadable_answer_is_502_on_every_route_that_reads_one() {
    let asset = "6425320e94091a5af841456f";
    for garbage in GARBAGE {
        let f = hms_test_support::room_control(Garbled(garbage));
        let what = String::from_utf8_lossy(garbage);
        for ev in [
            post("/room-codes", &body(json!({"room_id": ROOM}))),
            get("/room-codes", &[("room_id", ROOM)]),
            post("/room-codes/enable", &body(json!({"code": "abc-defg-hij"}))),
            get("/active-peers", &[("room_id", ROOM)]),
            post("/recordings/start", &body(json!({"room_id": ROOM}))),
            post("/recordings/stop", &body(json!({"room_id": ROOM}))),
            get("/recordings", &[("room_id", ROOM)]),
            get("/recording-url", &[("asset_id", asset)]),
        ] {
            let path = ev.raw_path.clone().unwrap();
            let (s, b) = call(&f, ev).await;
            assert_eq!((s, b["error"].as_str()), (502, Some("upstream_invalid_response")), "{path} on {what}: {b}");
        }
        for ev in [
            post("/remove-peer", &body(json!({"room_id": ROOM, "peer_id": "p-1"}))),
            post("/end-room", &body(json!({"room_id": ROOM}))),
        ] {
            let (s, b) = call(&f, ev).await;
            assert_eq!((s, b["message"].as_str()), (200, Some("")), "{what}: {b}");
        }
    }
}
