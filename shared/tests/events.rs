//! Every file in `events/` goes through the function that serves its path, and its answer is
//! checked. A new event file without an expectation here fails the suite.

use hms_shared::tls::Roots;
use std::collections::BTreeSet;

use hms_shared::auth::{CallerAuth, RoleAllowList};
use hms_shared::credentials::{CredentialStore, Credentials, StaticSource};
use hms_shared::handlers::{AuthToken, CreateRoom, Function, RoomControl, SessionAnalytics, Webhooks};
use hms_shared::hms::{HmsApi, HmsClient};
use hms_shared::input::{Parse, Role};
use hms_shared::owners::RoomAccess;
use hms_shared::tokens::Claims;
use hms_test_support::binaries::workspace_root;
use hms_test_support::{CACHE_AGE, FakeHms, Handle, answer, event, token_claims, webhooks_receiver};
use serde_json::{Value, json};

const SECRET: &str = "events-test-secret-0123456789";
/// The webhook secret the `webhooks-*` events carry (all but the wrong one).
const WEBHOOK_SECRET: &str = "events-webhook-secret-0123456789";

/// Events named `*-jwt*` come through a JWT authorizer; their functions run with caller
/// authentication on, with the local rules (`tools/local-jwt-rules.env`), as scripts/sam-local.sh
/// runs them: admins have `cognito:groups` containing `admins`; creators and `host` tokens are for
/// `teachers`.
fn caller_auth(name: &str) -> CallerAuth {
    if name.contains("-jwt") {
        let rules = hms_test_support::local_jwt_rules();
        let config = hms_shared::config::Config::from_lookup(|k| {
            rules.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        });
        config.caller_auth.expect("the local caller rules parse")
    } else {
        CallerAuth::Open
    }
}

/// Who may run which room, with the owners' table out of reach (as sam-local has it).
fn access(name: &str) -> RoomAccess {
    RoomAccess::new(caller_auth(name), Ok(closed_table()))
}

fn auth_token_fn(name: &str) -> AuthToken<StaticSource> {
    AuthToken {
        credentials: CredentialStore::new(
            StaticSource(Credentials::new("events-access-key".into(), SECRET.into())),
            CACHE_AGE,
        ),
        roles: RoleAllowList::Only([Role::parse("host").unwrap(), Role::parse("guest").unwrap()].into()),
        ttl_seconds: 3600,
        access: access(name),
    }
}

/// Whether `path` is one of room-control's routes (its own list, not a copy).
fn room_control_serves(path: &str) -> bool {
    <RoomControl<HmsClient<StaticSource>> as Function>::ROUTES.iter().any(|r| r.path == path)
}

/// 100ms out of reach (a closed loopback port), as sam-local has it.
fn offline_hms() -> HmsClient<StaticSource> {
    let source = StaticSource(Credentials::new("events-access-key".into(), SECRET.into()));
    HmsClient::new("http://127.0.0.1:9/v2".into(), CredentialStore::new(source, CACHE_AGE), Roots::Compiled)
}

/// `room-control` over `hms`, codes for host and guest.
fn room_control_fn<H: HmsApi>(name: &str, hms: H) -> RoomControl<H> {
    RoomControl {
        hms,
        roles: RoleAllowList::Only([Role::parse("host").unwrap(), Role::parse("guest").unwrap()].into()),
        access: access(name),
        meeting_hosts: Default::default(),
    }
}

/// The events table out of reach (a closed loopback port), as sam-local has it.
fn closed_table() -> std::sync::Arc<hms_shared::store::EventsTable> {
    std::sync::Arc::new(hms_shared::store::EventsTable::new(
        hms_test_support::dynalite::ddb_client("http://127.0.0.1:9"),
        "EventsTable".into(),
    ))
}

/// `webhooks` with the events table out of reach (a closed loopback port), as sam-local runs it:
/// what it refuses comes before the table, and an event it cannot keep is a 5xx.
fn webhooks_fn() -> Webhooks<StaticSource> {
    let creds = Credentials::new("events-access-key".into(), SECRET.into()).with_webhook_secret(WEBHOOK_SECRET.into());
    webhooks_receiver(StaticSource(creds), closed_table())
}

/// Runs an event through the function its file name names, create-room and session-analytics on
/// the in-memory 100ms, room-control with 100ms out of reach (its events show what it refuses
/// before calling 100ms, and that a call it cannot make is a clean 502); returns status and body.
async fn run(name: &str, hms: &FakeHms) -> (u16, Value) {
    serve(name, hms, offline_hms()).await
}

/// Runs an event as scripts/sam-local.sh does: 100ms and the events table out of reach.
async fn run_offline(name: &str) -> (u16, Value) {
    serve(name, offline_hms(), offline_hms()).await
}

async fn serve<H: HmsApi>(name: &str, hms: H, control_hms: HmsClient<StaticSource>) -> (u16, Value) {
    let ev = event(name);
    let resp = if name.starts_with("create-room") || name.starts_with("room-owner") {
        CreateRoom { hms, access: access(name), code_roles: Ok(RoleAllowList::Any) }.handle(ev).await
    } else if name.starts_with("auth-token") {
        auth_token_fn(name).handle(ev).await
    } else if name.starts_with("attendance-history") {
        SessionAnalytics { hms, history: Ok(closed_table()), access: access(name) }.handle(ev).await
    } else if name.starts_with("session-") {
        SessionAnalytics { access: access(name), ..hms_test_support::analytics(hms) }.handle(ev).await
    } else if room_control_serves(ev.raw_path.as_deref().unwrap_or("")) {
        room_control_fn(name, control_hms).handle(ev).await
    } else if name.starts_with("webhooks-") {
        webhooks_fn().handle(ev).await
    } else {
        panic!("{name}: no function serves this event's name")
    };
    answer(&resp)
}

/// The claims of the token in an answer, verified with the app secret.
fn decode(body: &Value) -> Claims {
    token_claims(body, SECRET)
}

fn expect_error(name: &str, status: u16, code: &str, body: &Value, actual: u16, needle: &str) {
    assert_eq!(actual, status, "{name}: {body}");
    assert_eq!(body["success"], false, "{name}");
    assert_eq!(body["error"], code, "{name}: {body}");
    assert!(body["msg"].as_str().unwrap().contains(needle), "{name}: msg should mention {needle:?}: {body}");
}

async fn check(name: &str) {
    let hms = FakeHms::from_examples();
    let (status, body) = run(name, &hms).await;
    match name {
        "create-room.json" => {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["name"], "demo-room");
            assert_eq!(body["id"], "631b2654f771854d9bf633df");
            let sent = hms.created.lock().unwrap();
            assert_eq!(
                sent[0],
                json!({"name": "demo-room", "description": "Weekly sync", "template_id": "63188115d11d6db790c73c60", "region": "in"}),
                "only the present fields are forwarded"
            );
        }
        "create-room-large.json" => {
            assert_eq!(status, 200, "{body}");
            let sent = hms.created.lock().unwrap();
            assert_eq!(sent[0]["large_room"], true);
            assert_eq!(sent[0]["size"], 15000);
            assert_eq!(sent[0]["max_duration_seconds"], 7200);
        }
        "create-room-invalid-name.json" => expect_error(name, 400, "invalid_field", &body, status, "'name'"),
        "create-room-unknown-field.json" => expect_error(name, 400, "unknown_field", &body, status, "'recording'"),
        "create-room-bad-base64.json" => expect_error(name, 400, "invalid_base64", &body, status, "base64"),
        "create-room-wrong-method.json" => expect_error(name, 405, "method_not_allowed", &body, status, "POST"),
        "auth-token.json" => {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["msg"], "Token generated successfully!");
            assert_eq!(body["success"], true);
            let claims = decode(&body);
            assert_eq!(claims.access_key, "events-access-key");
            assert_eq!(claims.kind, "app");
            assert_eq!(claims.room_id.as_deref(), Some("631a0f990e6ffae22efa610c"));
            assert_eq!(claims.user_id.as_deref(), Some("alice@example.com"));
            assert_eq!(claims.role.as_deref(), Some("host"));
            assert_eq!(claims.exp - claims.iat, 3600);
            let expires_at = chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap()).unwrap();
            assert_eq!(expires_at.timestamp(), claims.exp, "expires_at is the token's exp: {body}");
            assert!(body["expires_at"].as_str().unwrap().ends_with('Z'), "in UTC: {body}");
        }
        "auth-token-missing-role.json" => expect_error(name, 400, "missing_field", &body, status, "'role'"),
        "auth-token-role-not-allowed.json" => expect_error(name, 403, "role_not_allowed", &body, status, "'admin'"),
        "auth-token-empty-body.json" => expect_error(name, 400, "missing_body", &body, status, "required"),
        "auth-token-binary-body.json" => expect_error(name, 400, "invalid_json", &body, status, "JSON"),
        "auth-token-not-json.json" => expect_error(name, 400, "invalid_json", &body, status, "JSON"),
        "session-analytics.json" => {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["session_id"], "631a0fa23e3d9fdb00832596");
            assert_eq!(body["room_id"], "631a0f990e6ffae22efa610c");
            assert_eq!(body["active"], false);
            // 15:52:02.197 -> 15:52:04.015 is 1.818 s; the one peer stayed 1.815 s.
            assert_eq!(body["session_duration"], 0.03);
            assert_eq!(body["total_peer_duration"], 0.03);
            let rows = body["user_duration_list"].as_array().unwrap();
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0]["user_id"], "Batch1-student1");
            assert_eq!(rows[0]["name"], "asdas");
            assert_eq!(rows[0]["duration_seconds"], 1.82);
        }
        "session-analytics-by-session.json" => {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["session_id"], "63172c2d3e3d9fdb008322e1");
            let rows = body["user_duration_list"].as_array().unwrap();
            assert_eq!(rows[0]["name"], "Nixon K");
            assert_eq!(rows[0]["role"], "backstage");
        }
        "session-analytics-no-session.json" => {
            expect_error(name, 404, "session_not_found", &body, status, "no session")
        }
        "session-analytics-missing-room-id.json" => {
            expect_error(name, 400, "missing_parameter", &body, status, "'room_id'")
        }
        "session-list.json" => {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["count"], 1);
            assert_eq!(body["next_cursor"], Value::Null, "a short page is the last");
            assert_eq!(body["sessions"][0]["id"], "631a0fa23e3d9fdb00832596");
            assert_eq!(body["sessions"][0]["active"], false);
            assert!(body["sessions"][0].get("peers").is_none(), "peers only with peers=true");
        }
        "auth-token-jwt.json" => {
            // With sign-in the room decides (its owner, access, members and bans are in the
            // table): with the table out of reach no token is minted, and the 503 has the app ask
            // again. shared/tests/who_joins.rs and the e2e matrix mint them with the table there.
            expect_error(name, 503, "events_table_unavailable", &body, status, "events table is unavailable")
        }
        "auth-token-jwt-user-mismatch.json" => expect_error(name, 403, "user_mismatch", &body, status, "user_id"),
        "auth-token-jwt-no-sub.json" => expect_error(name, 401, "unauthenticated", &body, status, "sub"),
        "create-room-jwt-admin.json" => {
            // The room is made, but its owner cannot be recorded (the table is out of reach): the
            // create fails and says so, and repeating it (an upsert by name) finishes the job.
            expect_error(name, 503, "events_table_unavailable", &body, status, "owner was not recorded");
            assert_eq!(hms.created.lock().unwrap()[0]["name"], "board-meeting");
        }
        "create-room-jwt-preflight.json" => {
            // A browser's CORS preflight carries no token: answered without one, touching nothing.
            assert_eq!(status, 200, "{body}");
            assert!(hms.created.lock().unwrap().is_empty());
        }
        "create-room-jwt-teacher.json" => {
            // A creator who is not an admin reserves the name in the table before 100ms's create
            // (an upsert by name): with the table out of reach, nothing is created.
            expect_error(name, 503, "events_table_unavailable", &body, status, "events table is unavailable");
            assert!(hms.created.lock().unwrap().is_empty(), "nothing reached 100ms's create");
        }
        "auth-token-jwt-host-not-teacher.json" => {
            expect_error(name, 403, "role_not_allowed", &body, status, "not available to this caller");
            assert!(!body.to_string().contains("cognito") && !body.to_string().contains("teachers"), "{body}");
        }
        "auth-token-jwt-teacher-host.json" => {
            expect_error(name, 503, "events_table_unavailable", &body, status, "events table is unavailable")
        }
        "room-owner-jwt-not-admin.json" => {
            expect_error(name, 403, "admin_required", &body, status, "assigning a room's owner")
        }
        "room-owner-jwt-admin.json" => {
            expect_error(name, 503, "events_table_unavailable", &body, status, "events table is unavailable")
        }
        "session-analytics-jwt-not-owner.json" | "room-codes-jwt-not-owner.json" => {
            // A caller who is not an admin needs the owners' table; without it nothing reaches 100ms.
            expect_error(name, 503, "events_table_unavailable", &body, status, "events table is unavailable");
            assert!(hms.list_calls.lock().unwrap().is_empty(), "{name}: 100ms is not called");
        }
        "create-room-jwt-not-admin.json" => {
            expect_error(name, 403, "admin_required", &body, status, "needs an admin or a room creator");
            assert!(!body.to_string().contains("cognito"), "the answer names no claim: {body}");
            assert!(hms.created.lock().unwrap().is_empty(), "100ms is not called for a refused caller");
        }
        "create-room-with-codes.json" => {
            assert_eq!(status, 200, "{body}");
            let roles: Vec<&str> =
                body["room_codes"].as_array().unwrap().iter().map(|c| c["role"].as_str().unwrap()).collect();
            assert_eq!(roles, ["host", "guest"], "the room's codes come with it: {body}");
            assert!(body["room_codes"][0]["code"].as_str().is_some());
        }
        "room-codes-role-not-allowed.json" => expect_error(name, 403, "role_not_allowed", &body, status, "'viewer'"),
        "remove-peer-both.json" => expect_error(name, 400, "invalid_body", &body, status, "not both"),
        "recordings-start-bad-resolution.json" => expect_error(name, 400, "invalid_field", &body, status, "resolution"),
        "recording-url-bad-duration.json" => expect_error(name, 400, "invalid_parameter", &body, status, "'duration'"),
        "send-message-both.json" => expect_error(name, 400, "invalid_body", &body, status, "not both"),
        "update-peer-nothing.json" => expect_error(name, 400, "missing_field", &body, status, "at least one"),
        "recordings-start-seven-sections.json" => {
            expect_error(name, 400, "invalid_field", &body, status, "transcription.summary.sections")
        }
        "live-streams-timed-metadata-long.json" => expect_error(name, 400, "invalid_field", &body, status, "'payload'"),
        "room-codes.json"
        | "room-codes-list.json"
        | "room-codes-disable.json"
        | "active-peers.json"
        | "remove-peer.json"
        | "end-room.json"
        | "recordings-start.json"
        | "recordings-stop.json"
        | "recordings.json"
        | "recording-url.json"
        | "send-message.json"
        | "update-peer.json"
        | "room-enabled.json"
        | "recordings-pause.json"
        | "recordings-resume.json"
        | "recordings-start-transcription.json"
        | "recording-summary.json"
        | "live-streams.json"
        | "live-streams-start.json"
        | "live-streams-stop.json"
        | "live-streams-timed-metadata.json" => {
            expect_error(name, 502, "upstream_unreachable", &body, status, "100ms could not be reached")
        }
        "webhooks-wrong-secret.json" => {
            assert_eq!(
                (status, body["error"].as_str(), body["msg"].as_str()),
                (401, Some("unauthenticated"), Some("unauthorized"))
            );
        }
        "webhooks-not-json.json" => expect_error(name, 400, "invalid_json", &body, status, "not JSON"),
        "attendance-history-csv.json" => {
            expect_error(name, 503, "events_table_unavailable", &body, status, "events table is unavailable")
        }
        "webhooks-peer-join.json" => {
            expect_error(name, 503, "events_table_unavailable", &body, status, "events table is unavailable")
        }
        other => panic!("events/{other} has no expected answer in tests/events.rs: add one"),
    }
}

#[tokio::test]
async fn every_event_file_gives_its_expected_answer() {
    let names: BTreeSet<String> = std::fs::read_dir(workspace_root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert!(names.len() >= 38, "events/ lost files: {names:?}");
    for name in &names {
        check(name).await;
    }
}

/// `events/expected.tsv` (what scripts/sam-local.sh checks each event against, with 100ms and the
/// events table out of reach) names every event once, with the function its path is served by,
/// and the status and error code the function gives here with both out of reach.
#[tokio::test]
async fn the_offline_manifest_covers_every_event_and_agrees() {
    let manifest = std::fs::read_to_string(workspace_root().join("events/expected.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
        .collect();
    let names: BTreeSet<String> = std::fs::read_dir(workspace_root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    let listed: BTreeSet<String> = rows.iter().map(|r| r[0].to_string()).collect();
    assert_eq!(listed, names, "events/expected.tsv must list each event file once");
    assert_eq!(rows.len(), names.len(), "an event listed twice");
    for row in rows {
        let [name, function, status, error] = row[..] else { panic!("4 tab-separated columns: {row:?}") };
        let path = event(name).raw_path.unwrap();
        let served_by = match path.as_str() {
            "/create-room" | "/room-owner" => "CreateRoomFunction",
            "/auth-token" => "AuthTokenFunction",
            _ if path.starts_with("/session-") || path == "/attendance-history" => "SessionAnalyticsFunction",
            _ if room_control_serves(&path) => "RoomControlFunction",
            "/webhooks/100ms" => "WebhooksFunction",
            other => panic!("{name}: no function serves {other}"),
        };
        assert_eq!(function, served_by, "{name}");
        let (actual, body) = run_offline(name).await;
        let got = (actual.to_string(), body["error"].as_str().unwrap_or("-").to_string());
        assert_eq!((got.0.as_str(), got.1.as_str()), (status, error), "{name}: {body}");
    }
}
