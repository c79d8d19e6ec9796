//! Every upstream fault against every route that calls 100ms with a call safe to repeat (the
//! calls that are not are in tests/room_control.rs), every events-table fault against the routes
//! that use the table, and every credential fault: each gives its
//! documented status and JSON error, never a panic, and the next call succeeds in the same warm
//! function (no cold start).
//!
use hms_shared::tls::Roots;
use std::time::Duration;

use hms_shared::auth::RoleAllowList;
use hms_shared::credentials::{CredentialStore, Credentials, SecretsManagerSource, sdk_config};
use hms_shared::handlers::{CreateRoom, RoomControl, SessionAnalytics};
use hms_shared::hms::HmsClient;
use hms_shared::input::{Parse, Role, RoomId, UserId};
use hms_test_support::forward::{Forward, Mode};
use hms_test_support::*;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug)]
enum Route {
    CreateRoom,
    SessionAnalytics,
    SessionList,
    RoomCodes,
    ActivePeers,
    Recordings,
}

const ROUTES: [Route; 6] = [
    Route::CreateRoom,
    Route::SessionAnalytics,
    Route::SessionList,
    Route::RoomCodes,
    Route::ActivePeers,
    Route::Recordings,
];

impl Route {
    /// The 100ms route the function calls (for the emulator's fault injection).
    fn upstream(self) -> &'static str {
        match self {
            Route::CreateRoom => "POST /rooms",
            Route::SessionAnalytics | Route::SessionList => "GET /sessions",
            Route::RoomCodes => "GET /room-codes/room/{id}",
            Route::ActivePeers => "GET /active-rooms/{id}/peers",
            Route::Recordings => "GET /recordings",
        }
    }
}

enum Fault {
    /// Armed in the emulator for the next `count` requests.
    Emulator(Value, u32),
    /// Nothing listens where 100ms should be.
    Refused,
}

type Client = HmsClient<SecretsManagerSource>;

struct Functions {
    create: CreateRoom<Client>,
    analytics: SessionAnalytics<Client>,
    control: RoomControl<HmsClient<SecretsManagerSource>>,
}

impl Functions {
    fn new(base: &str, secret_id: &str) -> Self {
        let client = || {
            let source = SecretsManagerSource::with_client(secret_id.into(), sm_client(&moto_endpoint()));
            HmsClient::new(format!("{base}/v2"), CredentialStore::new(source, CACHE_AGE), Roots::Compiled)
        };
        Self {
            create: CreateRoom {
                hms: client(),
                access: hms_test_support::open_access(),
                code_roles: Ok(RoleAllowList::Any),
            },
            analytics: hms_test_support::analytics(client()),
            control: RoomControl {
                hms: client(),
                roles: RoleAllowList::Any,
                access: hms_test_support::open_access(),
                meeting_hosts: Default::default(),
            },
        }
    }

    async fn call(&self, route: Route, room_id: &str) -> (u16, Value) {
        let room = [("room_id", room_id)];
        match route {
            Route::CreateRoom => answer(&self.create.handle(post("/create-room", r#"{"name": "matrix"}"#)).await),
            Route::SessionAnalytics => answer(&self.analytics.handle(get("/session-analytics-by-room", &room)).await),
            Route::SessionList => answer(&self.analytics.handle(get("/session-list-by-room", &room)).await),
            Route::RoomCodes => answer(&self.control.handle(get("/room-codes", &room)).await),
            Route::ActivePeers => answer(&self.control.handle(get("/active-peers", &room)).await),
            Route::Recordings => answer(&self.control.handle(get("/recordings", &room)).await),
        }
    }
}

#[tokio::test]
async fn fault_matrix() {
    let Backends { hms, secret, secret_id: id, .. } = Backends::start_with_key("test", "key-matrix").await;
    let mut gate = Forward::to(&hms.base).await;
    let f = Functions::new(&gate.url(), &id);

    // A room with one finished session and one live one, so that every route has a 200 to come
    // back to.
    let (status, room) = f.call(Route::CreateRoom, "").await;
    assert_eq!(status, 200, "{room}");
    let room_id = room["id"].as_str().unwrap().to_string();
    let auth = hms_shared::tokens::mint_auth_token(
        &Credentials::new("key-matrix".into(), secret.clone()),
        &RoomId::parse(&room_id).unwrap(),
        &UserId::parse("u").unwrap(),
        &Role::parse("host").unwrap(),
        chrono::Utc::now().timestamp(),
        600,
    )
    .unwrap()
    .token;
    let peer = hms.join(&auth, "U", "2026-01-01T10:00:00Z").await;
    hms.leave(&peer, "2026-01-01T10:10:00Z").await;
    hms.join(&auth, "U", "2026-01-02T10:00:00Z").await;

    let matrix: Vec<(&str, Fault, u16, &str)> = vec![
        ("401", Fault::Emulator(json!({"kind": "status", "status": 401}), 3), 502, "upstream_auth"),
        ("403", Fault::Emulator(json!({"kind": "status", "status": 403}), 3), 502, "upstream_auth"),
        (
            "429",
            Fault::Emulator(json!({"kind": "status", "status": 429, "retry_after": 1}), 3),
            429,
            "upstream_rate_limited",
        ),
        ("500", Fault::Emulator(json!({"kind": "status", "status": 500}), 3), 502, "upstream_error"),
        ("503", Fault::Emulator(json!({"kind": "status", "status": 503}), 3), 502, "upstream_error"),
        ("hang", Fault::Emulator(json!({"kind": "hang"}), 1), 504, "upstream_timeout"),
        ("malformed JSON", Fault::Emulator(json!({"kind": "malformed"}), 1), 502, "upstream_invalid_response"),
        ("connection refused", Fault::Refused, 502, "upstream_unreachable"),
        ("closed mid-body", Fault::Emulator(json!({"kind": "close"}), 1), 502, "upstream_error"),
    ];
    for (name, fault, status, code) in &matrix {
        for route in ROUTES {
            let sent = |c: Value| c["requests"][route.upstream()].as_u64().unwrap_or(0);
            let before = sent(hms.counters().await);
            match fault {
                Fault::Emulator(kind, count) => {
                    let mut armed = kind.clone();
                    armed["count"] = json!(count);
                    hms.fault(route.upstream(), armed).await;
                }
                Fault::Refused => gate.close().await,
            }
            let (s, body) = f.call(route, &room_id).await;
            assert_eq!((s, body["error"].as_str()), (*status, Some(*code)), "{name} x {route:?}: {body}");
            assert_eq!(body["success"], false);
            assert!(!body["msg"].as_str().unwrap_or("").is_empty(), "{name} x {route:?}: a message for a human");
            if matches!(fault, Fault::Refused) {
                gate.open().await;
            }
            let counters = hms.counters().await;
            assert_eq!(counters["faults_pending"], 0, "{name} x {route:?}: the fault was used up");
            // Every attempt the rules allow was made, and no more: the armed count for a fault
            // 100ms answers (3: all the retries or auth rounds), nothing for a refused connection.
            let reached = match fault {
                Fault::Emulator(_, count) => u64::from(*count),
                Fault::Refused => 0,
            };
            assert_eq!(sent(counters) - before, reached, "{name} x {route:?}: attempts that reached 100ms");
            let (s, body) = f.call(route, &room_id).await;
            assert_eq!(s, 200, "{name} x {route:?}: the next call succeeds: {body}");
        }
    }
}

/// Credentials 100ms refuses cost the first request three calls (a fresh token, then re-read
/// credentials), and each request after it one, not three and a secret read; once 100ms accepts
/// them again the next request succeeds.
#[tokio::test]
async fn refused_credentials_do_not_triple_every_request() {
    let secret = fresh_secret();
    let hms = Hms::start("key-refused", &secret).await;
    let id = create_secret(&secret_json("key-refused", &secret)).await;
    let f = Functions::new(&hms.base, &id);
    let room = "0123456789abcdef01234567";
    let sent = |c: Value| c["requests"]["GET /sessions"].as_u64().unwrap_or(0);
    hms.set_credentials("key-refused", &fresh_secret()).await;
    let before = sent(hms.counters().await);
    let (s, b) = f.call(Route::SessionList, room).await;
    assert_eq!((s, b["error"].as_str()), (502, Some("upstream_auth")), "{b}");
    assert_eq!(sent(hms.counters().await) - before, 3, "the first refusal: token, then re-read credentials");
    for i in 1..=5 {
        let (s, b) = f.call(Route::SessionList, room).await;
        assert_eq!((s, b["error"].as_str()), (502, Some("upstream_auth")), "{b}");
        assert_eq!(sent(hms.counters().await) - before, 3 + i, "one call per request while refused");
    }
    hms.set_credentials("key-refused", &secret).await;
    assert_eq!(f.call(Route::SessionList, room).await.0, 200, "accepted again");
}

#[tokio::test]
async fn credential_faults_are_clear_and_recover_without_a_cold_start() {
    let secret = fresh_secret();
    let hms = Hms::start("key-cred", &secret).await;
    let good = secret_json("key-cred", &secret);

    // Missing secret: 503, then it is created and the same function recovers.
    let name = format!("hms/test/missing-{}", uuid::Uuid::new_v4().simple());
    let f = Functions::new(&hms.base, &name);
    let (s, b) = f.call(Route::CreateRoom, "").await;
    assert_eq!((s, b["error"].as_str()), (503, Some("credentials_unavailable")), "{b}");
    sm_client(&moto_endpoint()).create_secret().name(&name).secret_string(&good).send().await.unwrap();
    assert_eq!(f.call(Route::CreateRoom, "").await.0, 200);

    // Malformed JSON, then keys missing: 500 config (the problem named in the log only); fixed in
    // place: recovers.
    for (content, needle) in [("{not json", "not a JSON object"), (r#"{"APP_ACCESS_KEY":"key-cred"}"#, "APP_SECRET")] {
        let id = create_secret(content).await;
        let f = Functions::new(&hms.base, &id);
        let (s, b) = f.call(Route::SessionList, "0123456789abcdef01234567").await;
        assert_eq!((s, b["error"].as_str()), (500, Some("config")), "{content}: {b}");
        assert!(!b["msg"].as_str().unwrap().contains(needle), "{b}");
        assert!(!b["msg"].as_str().unwrap().contains("key-cred"), "the secret's content is not echoed");
        put_secret(&id, &good).await;
        assert_eq!(f.call(Route::SessionList, "0123456789abcdef01234567").await.0, 200, "{content}: recovered");
    }

    // Slow Secrets Manager: every answer 4.5 s late, past the functions' own timeouts
    // (`sdk_config`: 3 s an attempt, 6 s in all) but within the SDK's stalled-stream guard (5 s), so
    // only those timeouts make it a 503 (without them it is a late 200); once fast, it recovers.
    // Only the credentials are the test's (the functions take theirs from Lambda's environment).
    let id = create_secret(&good).await;
    let slow_sm = Forward::with_mode(&moto_endpoint(), Mode::Delay(Duration::from_millis(4500))).await;
    let functions_own = sdk_config(Some("us-east-1"), Some(&slow_sm.url()), &Roots::Compiled)
        .to_builder()
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    let source = SecretsManagerSource::with_client(id, aws_sdk_secretsmanager::Client::from_conf(functions_own));
    let slow = CreateRoom {
        hms: HmsClient::new(hms.api(), CredentialStore::new(source, CACHE_AGE), Roots::Compiled),
        access: hms_test_support::open_access(),
        code_roles: Ok(RoleAllowList::Any),
    };
    let (s, b) = answer(&slow.handle(post("/create-room", r#"{"name": "slow"}"#)).await);
    assert_eq!((s, b["error"].as_str()), (503, Some("credentials_unavailable")), "{b}");
    slow_sm.set(Mode::Pass);
    assert_eq!(answer(&slow.handle(post("/create-room", r#"{"name": "slow"}"#)).await).0, 200);
}

/// The events table unreachable, dropping connections, or too slow: the two routes that use it
/// answer a 5xx with a JSON error (so 100ms retries a webhook), and recover in the same warm
/// function once it is back, with the event kept.
#[tokio::test]
async fn table_faults_are_5xx_and_recover() {
    use hms_shared::store::{EventsTable, Store};
    use hms_shared::webhooks::DEFAULT_HEADER_NAME;
    use hms_test_support::dynalite::{create_events_table, ddb_client, dynalite_endpoint};

    let name = create_events_table().await;
    let mut gate = Forward::to(&dynalite_endpoint()).await;
    let table = EventsTable::new(ddb_client(&gate.url()), name.clone());
    let creds = Credentials::new("k".into(), "s".into())
        .with_webhook_secret("table-faults-0123456789abcdef0123456789abcdef".into());
    let hooks = webhooks_receiver(hms_shared::credentials::StaticSource(creds), std::sync::Arc::new(table.clone()));
    let fake = FakeHms::from_examples();
    let history = SessionAnalytics { history: Ok(std::sync::Arc::new(table)), ..hms_test_support::analytics(&fake) };
    let room = "6383d1c2e8d7f2a3b4c5d6b0";
    let mut n = 0;
    let mut deliver = || {
        n += 1;
        let body = json!({"id": format!("fault-{n}"), "type": "peer.join.success",
            "data": {"room_id": room, "session_id": "0000000000000000000000f1", "peer_id": "p1", "joined_at": "2026-11-27T10:00:00Z"}});
        let mut ev = post("/webhooks/100ms", &body.to_string());
        ev.headers.insert(DEFAULT_HEADER_NAME, "table-faults-0123456789abcdef0123456789abcdef".parse().unwrap());
        (format!("fault-{n}"), ev)
    };
    let faults: [(&str, Option<Mode>); 3] =
        [("refused", None), ("dropped", Some(Mode::Drop)), ("too slow", Some(Mode::Delay(Duration::from_secs(10))))];
    for (what, mode) in faults {
        gate.close().await;
        if let Some(m) = mode {
            // Reopened: the pooled connections are gone, so the mode meets new ones.
            gate.open().await;
            gate.set(m);
        }
        let (id, ev) = deliver();
        let (s, body) = answer(&hooks.handle(ev.clone()).await);
        assert_eq!((s, body["error"].as_str()), (503, Some("events_table_unavailable")), "webhook, {what}: {body}");
        let (s, body) = answer(&history.handle(get("/attendance-history", &[("room_id", room)])).await);
        assert_eq!((s, body["error"].as_str()), (503, Some("events_table_unavailable")), "history, {what}: {body}");
        if mode.is_none() {
            gate.open().await;
        }
        gate.set(Mode::Pass);
        // 100ms's retry of the same delivery keeps it (a write that reached the table late makes
        // it a duplicate: kept once either way); the history answers again.
        let (s, body) = answer(&hooks.handle(ev).await);
        assert_eq!((s, body["id"].as_str()), (200, Some(id.as_str())), "{what}: {body}");
        let direct = EventsTable::new(ddb_client(&dynalite_endpoint()), name.clone());
        assert!(
            direct.event_body(&id, Some("0000000000000000000000f1")).await.unwrap().is_some(),
            "{what}: the event is kept"
        );
        let (s, body) = answer(&history.handle(get("/attendance-history", &[("room_id", room)])).await);
        assert_eq!(s, 200, "history after {what}: {body}");
    }
}
