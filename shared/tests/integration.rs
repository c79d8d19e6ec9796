//! The real pieces together, in one process: the functions with the real 100ms client against the
//! emulator (which verifies management tokens as 100ms does), and credentials from moto's Secrets
//! Manager server through aws-sdk-secretsmanager, the secret created through the AWS API.
//!
//! moto is the one `MOTO_ENDPOINT` names, or one the test support starts.

use hms_shared::tls::Roots;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hms_shared::ApiError;
use hms_shared::auth::RoleAllowList;
use hms_shared::credentials::{CredentialStore, Credentials, SecretSource, SecretsManagerSource};
use hms_shared::handlers::AuthToken;
use hms_shared::hms::HmsClient;
use hms_shared::input::{Parse, Role};
use hms_test_support::forward::{Forward, Mode};
use hms_test_support::*;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Counts reads of the secret source it wraps.
struct Counting<S> {
    inner: S,
    reads: Arc<AtomicUsize>,
}

impl<S: SecretSource> SecretSource for Counting<S> {
    async fn fetch(&self) -> Result<Credentials, ApiError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.fetch().await
    }
}

type Client = HmsClient<Counting<SecretsManagerSource>>;

/// A 100ms client reading `secret_id` from Secrets Manager at `sm_endpoint`, and its read count.
fn counted_client(hms: &Hms, secret_id: &str, sm_endpoint: &str) -> (Client, Arc<AtomicUsize>) {
    let reads = Arc::new(AtomicUsize::new(0));
    let source = Counting {
        inner: SecretsManagerSource::with_client(secret_id.into(), sm_client(sm_endpoint)),
        reads: reads.clone(),
    };
    (HmsClient::new(hms.api(), CredentialStore::new(source, CACHE_AGE), Roots::Compiled), reads)
}

use hms_test_support::open_create_room as open;

fn post_json(path: &str, body: Value) -> lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest {
    post(path, &body.to_string())
}

fn in_room(room_id: &str) -> [(&'static str, &str); 1] {
    [("room_id", room_id)]
}

async fn app_with_secret(key: &str) -> (Hms, String, String) {
    let b = Backends::start_with_key("test", key).await;
    (b.hms, b.secret, b.secret_id)
}

/// 401 -> a fresh management token -> 401 again -> the credentials re-read -> success, against
/// the in-process emulator, with no Secrets Manager at all.
#[tokio::test]
async fn a_rotation_is_survived_by_refreshing_the_token_then_rereading_the_credentials() {
    let (key, old, new) = ("key-swap", fresh_secret(), fresh_secret());
    let hms = Hms::start(key, &old).await;
    let source = SwappableSource::new(Credentials::new(key.into(), old));
    let f = open(HmsClient::new(hms.api(), CredentialStore::new(source.clone(), CACHE_AGE), Roots::Compiled));
    assert_eq!(answer(&f.handle(post_json("/create-room", json!({"name": "before"}))).await).0, 200);
    assert_eq!(hms.counters().await["management_tokens_seen"], 1);

    source.swap(Credentials::new(key.into(), new.clone()));
    hms.set_credentials(key, &new).await;
    let (status, body) = answer(&f.handle(post_json("/create-room", json!({"name": "after"}))).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(source.reads(), 2, "read at first, then once after a fresh token failed too");
    let c = hms.counters().await;
    assert_eq!(c["auth_failures"], 2, "the cached token, then a fresh one signed with the old secret");
    assert_eq!(c["requests"]["POST /rooms"], 4, "one before; three after: cached, re-signed, re-read");
    assert_eq!(c["management_tokens_seen"], 3);
}

#[tokio::test]
async fn five_creates_read_the_secret_once_and_send_one_management_token() {
    let (hms, _, id) = app_with_secret("key-five").await;
    let (client, reads) = counted_client(&hms, &id, &moto_endpoint());
    let f = open(client);
    for i in 0..5 {
        let (status, body) = answer(&f.handle(post_json("/create-room", json!({"name": format!("room-{i}")}))).await);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["name"], format!("room-{i}"));
        assert_eq!(body["template_id"], hms_emulator::DEFAULT_TEMPLATE_ID);
    }
    assert_eq!(reads.load(Ordering::SeqCst), 1, "the secret is read once per container");
    let c = hms.counters().await;
    assert_eq!(c["requests"]["POST /rooms"], 5);
    assert_eq!(c["management_tokens_seen"], 1, "one management token for all five calls");
    assert_eq!(c["auth_failures"], 0);
}

#[tokio::test]
async fn a_rejected_management_token_is_replaced_and_the_call_succeeds() {
    let (hms, _, id) = app_with_secret("key-401").await;
    let (client, reads) = counted_client(&hms, &id, &moto_endpoint());
    let f = open(client);
    assert_eq!(answer(&f.handle(post_json("/create-room", json!({"name": "a"}))).await).0, 200);
    hms.fault("POST /rooms", json!({"kind": "status", "status": 401})).await;
    let (status, body) = answer(&f.handle(post_json("/create-room", json!({"name": "b"}))).await);
    assert_eq!(status, 200, "{body}");
    let c = hms.counters().await;
    assert_eq!(c["requests"]["POST /rooms"], 3, "one success, one 401, one retry");
    assert_eq!(c["management_tokens_seen"], 2, "a fresh token after the 401");
    assert_eq!(reads.load(Ordering::SeqCst), 1, "a fresh token alone fixed it: no re-read");
    // The fresh token is then reused.
    assert_eq!(answer(&f.handle(post_json("/create-room", json!({"name": "c"}))).await).0, 200);
    assert_eq!(hms.counters().await["management_tokens_seen"], 2);
}

#[tokio::test]
async fn a_rotated_secret_is_picked_up_without_a_restart() {
    let old = fresh_secret();
    let hms = Hms::start("key-rot", &old).await;
    let id = create_secret(&secret_json("key-rot", &old)).await;
    let (client, reads) = counted_client(&hms, &id, &moto_endpoint());
    let f = open(client);
    assert_eq!(answer(&f.handle(post_json("/create-room", json!({"name": "before"}))).await).0, 200);
    // Rotate: Secrets Manager gets the new value, 100ms accepts only the new secret.
    let new = fresh_secret();
    put_secret(&id, &secret_json("key-rot", &new)).await;
    hms.set_credentials("key-rot", &new).await;
    let (status, body) = answer(&f.handle(post_json("/create-room", json!({"name": "after"}))).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(reads.load(Ordering::SeqCst), 2, "re-read once after a fresh token was rejected too");
    let c = hms.counters().await;
    assert_eq!(c["auth_failures"], 2, "old token, then a fresh one with the old secret");
}

#[tokio::test]
async fn wrong_credentials_everywhere_end_in_a_clean_502() {
    let hms = Hms::start("key-x", &fresh_secret()).await;
    let id = create_secret(&secret_json("key-x", "not-the-secret-100ms-knows-0123456789")).await;
    let (client, reads) = counted_client(&hms, &id, &moto_endpoint());
    let f = open(client);
    let (status, body) = answer(&f.handle(post_json("/create-room", json!({}))).await);
    assert_eq!((status, body["error"].as_str()), (502, Some("upstream_auth")), "{body}");
    assert_eq!(reads.load(Ordering::SeqCst), 2);
    assert_eq!(hms.counters().await["requests"]["POST /rooms"], 3, "exactly three tries, then stop");
}

#[tokio::test]
async fn secrets_manager_down_is_503_then_recovers_without_a_restart() {
    let (hms, _, id) = app_with_secret("key-down").await;
    let switch = Forward::with_mode(&moto_endpoint(), Mode::Drop).await;
    let (client, reads) = counted_client(&hms, &id, &switch.url());
    let f = open(client);
    let (status, body) = answer(&f.handle(post_json("/create-room", json!({"name": "x"}))).await);
    assert_eq!((status, body["error"].as_str()), (503, Some("credentials_unavailable")), "{body}");
    assert_eq!(hms.counters().await["requests"].get("POST /rooms"), None, "100ms is not called without credentials");
    switch.set(Mode::Pass);
    let (status, body) = answer(&f.handle(post_json("/create-room", json!({"name": "x"}))).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(reads.load(Ordering::SeqCst), 2, "the failed read was not cached");
}

#[tokio::test]
async fn missing_and_malformed_secrets_are_clear_errors() {
    let hms = Hms::start("k", "s").await;
    let (client, _) = counted_client(&hms, "hms/does-not-exist", &moto_endpoint());
    let (status, body) = answer(&open(client).handle(post_json("/create-room", json!({}))).await);
    assert_eq!((status, body["error"].as_str()), (503, Some("credentials_unavailable")), "{body}");
    // What failed (Secrets Manager's words, which can name accounts and ARNs) is for the log only.
    assert!(!body["msg"].as_str().unwrap().contains("does-not-exist"), "a generic answer: {body}");

    for (content, needle) in [("not json at all", "not a JSON object"), (r#"{"APP_SECRET":"s"}"#, "APP_ACCESS_KEY")] {
        let id = create_secret(content).await;
        let (client, _) = counted_client(&hms, &id, &moto_endpoint());
        let (status, body) = answer(&open(client).handle(post_json("/create-room", json!({}))).await);
        assert_eq!((status, body["error"].as_str()), (500, Some("config")), "{body}");
        // What is wrong with the secret is for the log only (app.rs's tests read it there).
        assert!(!body["msg"].as_str().unwrap().contains(needle), "{body}");
    }
}

#[tokio::test]
async fn upstream_errors_map_to_clean_answers_and_the_next_call_succeeds() {
    let (hms, _, id) = app_with_secret("key-f").await;
    let (client, _) = counted_client(&hms, &id, &moto_endpoint());
    let create = open(client);
    let (status, room) = answer(&create.handle(post_json("/create-room", json!({"name": "faults"}))).await);
    assert_eq!(status, 200);
    let room_id = room["id"].as_str().unwrap().to_string();

    // 100ms's own 4xx message reaches the caller.
    let (status, body) =
        answer(&create.handle(post_json("/create-room", json!({"template_id": "0123456789abcdef01234567"}))).await);
    assert_eq!((status, body["error"].as_str()), (400, Some("upstream_rejected")), "{body}");
    assert!(body["msg"].as_str().unwrap().contains("template not found"), "{body}");

    let (client, _) = counted_client(&hms, &id, &moto_endpoint());
    let f = hms_test_support::analytics(client);
    let cases = [
        (json!({"kind": "status", "status": 500, }), 3, 502, "upstream_error"),
        (json!({"kind": "status", "status": 503}), 3, 502, "upstream_error"),
        (json!({"kind": "status", "status": 429, "retry_after": 1}), 3, 429, "upstream_rate_limited"),
        (json!({"kind": "malformed"}), 1, 502, "upstream_invalid_response"),
        (json!({"kind": "close"}), 1, 502, "upstream_error"),
        (json!({"kind": "status", "status": 404}), 1, 404, "upstream_not_found"),
    ];
    for (kind, count, status, code) in cases {
        let mut fault = kind.clone();
        fault["count"] = json!(count);
        hms.fault("GET /sessions", fault).await;
        let (s, body) = answer(&f.handle(get("/session-analytics-by-room", &in_room(&room_id))).await);
        assert_eq!((s, body["error"].as_str()), (status, Some(code)), "{kind}: {body}");
        assert_eq!(hms.counters().await["faults_pending"], 0, "{kind}: every injected fault was consumed");
        let (s, body) = answer(&f.handle(get("/session-analytics-by-room", &in_room(&room_id))).await);
        assert_eq!((s, body["error"].as_str()), (404, Some("session_not_found")), "recovered after {kind}: {body}");
    }

    // A transient 503 is retried away on a GET.
    hms.fault("GET /sessions", json!({"kind": "status", "status": 503, "count": 1})).await;
    let (s, _) = answer(&f.handle(get("/session-list-by-room", &in_room(&room_id))).await);
    assert_eq!(s, 200);

    // A hang ends in a 504 `upstream_timeout`, which only our request timeout gives (the emulator
    // would answer its own 504 "hung" long after), and the next call works.
    hms.fault("GET /sessions", json!({"kind": "hang"})).await;
    let (s, body) = answer(&f.handle(get("/session-list-by-room", &in_room(&room_id))).await);
    assert_eq!((s, body["error"].as_str()), (504, Some("upstream_timeout")), "{body}");
    assert_eq!(answer(&f.handle(get("/session-list-by-room", &in_room(&room_id))).await).0, 200);
}

#[tokio::test]
async fn unreachable_100ms_is_a_clean_502() {
    let secret = fresh_secret();
    let id = create_secret(&secret_json("k", &secret)).await;
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v2", dead.local_addr().unwrap());
    drop(dead);
    let source = SecretsManagerSource::with_client(id, sm_client(&moto_endpoint()));
    let f = open(HmsClient::new(base, CredentialStore::new(source, CACHE_AGE), Roots::Compiled));
    let (status, body) = answer(&f.handle(post_json("/create-room", json!({"name": "x"}))).await);
    assert_eq!((status, body["error"].as_str()), (502, Some("upstream_unreachable")), "{body}");
}

#[tokio::test]
async fn rooms_tokens_joins_and_attendance_end_to_end() {
    let (hms, _, id) = app_with_secret("key-flow").await;
    let (client, _) = counted_client(&hms, &id, &moto_endpoint());
    let create = open(client);
    let (status, room) =
        answer(&create.handle(post_json("/create-room", json!({"name": "standup", "region": "eu"}))).await);
    assert_eq!(status, 200, "{room}");
    let room_id = room["id"].as_str().unwrap().to_string();

    let auth = AuthToken {
        credentials: CredentialStore::new(
            SecretsManagerSource::with_client(id.clone(), sm_client(&moto_endpoint())),
            CACHE_AGE,
        ),
        roles: RoleAllowList::Only([Role::parse("host").unwrap(), Role::parse("guest").unwrap()].into()),
        ttl_seconds: 3600,
        access: hms_shared::owners::RoomAccess::open(),
    };
    let token = |user: &'static str, role: &'static str| {
        let ev = post_json("/auth-token", json!({"room_id": room_id, "user_id": user, "role": role}));
        let auth = &auth;
        async move {
            let (status, body) = answer(&auth.handle(ev).await);
            assert_eq!(status, 200, "{body}");
            body["token"].as_str().unwrap().to_string()
        }
    };
    let alice = token("alice", "host").await;
    let bob = token("bob", "guest").await;
    let carol = token("carol", "guest").await;

    let day = "2026-11-20T";
    let a1 = hms.join(&alice, "Alice (phone)", &format!("{day}10:00:00Z")).await;
    let b1 = hms.join(&bob, "Bob", &format!("{day}10:00:00Z")).await;
    let c1 = hms.join(&carol, "Carol", &format!("{day}10:05:00.5Z")).await;
    let a2 = hms.join(&alice, "Alice (laptop)", &format!("{day}10:10:00Z")).await;
    hms.leave(&b1, &format!("{day}10:10:00Z")).await;
    hms.leave(&c1, &format!("{day}10:15:00.5Z")).await;
    hms.leave(&a2, &format!("{day}10:20:00Z")).await;
    hms.leave(&a1, &format!("{day}10:30:00Z")).await;
    // The room is empty: the session closed. Bob comes back and opens a second session.
    let b2 = hms.join(&bob, "Bob", &format!("{day}10:40:00Z")).await;
    hms.leave(&b2, &format!("{day}10:50:00Z")).await;

    let (client, _) = counted_client(&hms, &id, &moto_endpoint());
    let f = hms_test_support::analytics(client);
    let (status, list) = answer(&f.handle(get("/session-list-by-room", &in_room(&room_id))).await);
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["count"], 2);
    let first_session = list["sessions"][1]["id"].as_str().unwrap().to_string();

    // Latest session: Bob alone, 10 minutes.
    let (status, latest) = answer(&f.handle(get("/session-analytics-by-room", &in_room(&room_id))).await);
    assert_eq!(status, 200, "{latest}");
    assert_eq!(latest["session_duration"], 10.0);
    assert_eq!(latest["user_duration_list"].as_array().unwrap().len(), 1);

    // The first session, chosen by id.
    let ev = get("/session-analytics-by-room", &[("room_id", &room_id), ("session_id", &first_session)]);
    let (status, first) = answer(&f.handle(ev).await);
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["session_id"], first_session);
    assert_eq!(first["active"], false);
    assert_eq!(first["session_duration"], 30.0);
    let rows: Vec<(String, f64, String)> = first["user_duration_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (r["user_id"].as_str().unwrap().into(), r["duration"].as_f64().unwrap(), r["name"].as_str().unwrap().into())
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("alice".into(), 30.0, "Alice (laptop)".into()),
            ("bob".into(), 10.0, "Bob".into()),
            ("carol".into(), 10.0, "Carol".into()),
        ]
    );
    assert_eq!(first["total_peer_duration"], 50.0);
}
