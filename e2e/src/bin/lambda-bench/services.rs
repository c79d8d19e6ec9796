//! What every run shares: moto's Secrets Manager with the secret, dynalite with the events table,
//! the emulator with a room whose closed session session-analytics reports on, each function's
//! event, and with `--tls` the TLS endpoints in front of the three and the bundle that trusts them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hms_e2e::{FLOOR, workspace_root};
use hms_shared::credentials::Credentials;
use hms_shared::input::{Parse, Role, RoomId, UserId};
use hms_shared::tokens::{ManagementTokenCache, mint_auth_token};
use hms_test_support::tls::{TestCa, TlsFront};
use hms_test_support::{Backends, moto_endpoint};
use serde_json::{Value, json};

use crate::{FLOOR_TLS, STEP_TIMEOUT, fail};

/// The services every run shares.
pub(crate) struct Services {
    pub(crate) moto: String,
    pub(crate) hms: String,
    pub(crate) dynamodb: String,
    pub(crate) secret_id: String,
    pub(crate) webhook_secret_id: String,
    pub(crate) events_table: String,
    pub(crate) events: HashMap<&'static str, Vec<u8>>,
    pub(crate) tls: Option<Tls>,
}

/// The TLS endpoints in front of the services, and the bundle the processes trust.
pub(crate) struct Tls {
    pub(crate) fronts: Vec<TlsFront>,
    pub(crate) bundle: PathBuf,
}

impl Tls {
    pub(crate) fn handshakes(&self) -> u64 {
        self.fronts.iter().map(TlsFront::handshakes).sum()
    }
}

pub(crate) fn api_event(file: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let path = workspace_root().join("events").join(file);
    let mut event: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut event);
    serde_json::to_vec(&event).unwrap()
}

impl Services {
    pub(crate) async fn start(peers: usize, tls: bool, ca_base: Option<&Path>) -> Self {
        let Backends { hms, access_key, secret, secret_id, webhook_secret, webhook_secret_id } =
            Backends::start("bench").await;
        let events_table = hms_test_support::dynalite::create_events_table().await;
        let hms = hms.base;

        // A room with one closed session of `peers` peers, for session-analytics.
        let creds = Arc::new(Credentials::new(access_key, secret));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        let mgmt = ManagementTokenCache::new().get(&creds, now).unwrap();
        let http = reqwest::Client::builder().timeout(STEP_TIMEOUT).build().unwrap();
        let room: Value = http
            .post(format!("{hms}/v2/rooms"))
            .bearer_auth(&*mgmt)
            .json(&json!({"name": "bench-room"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let room_id = room["id"].as_str().expect("the emulator created a room").to_string();
        let control = |path: &str, body: Value| {
            let req = http.post(format!("{hms}/_emulator/{path}")).json(&body);
            async move { req.send().await.unwrap().error_for_status().unwrap().json::<Value>().await.unwrap() }
        };
        let mut peer_ids = Vec::new();
        for i in 0..peers {
            let (room, user) = (RoomId::parse(&room_id).unwrap(), UserId::parse(&format!("user-{}", i / 2)).unwrap());
            let token = mint_auth_token(&creds, &room, &user, &Role::parse("guest").unwrap(), now, 3600).unwrap().token;
            let at = format!("2026-01-01T10:{:02}:00Z", i % 60);
            let joined = control("join", json!({"token": token, "name": format!("Peer {i}"), "at": at})).await;
            peer_ids.push(joined["peer_id"].as_str().unwrap().to_string());
        }
        for (i, peer) in peer_ids.iter().enumerate() {
            control("leave", json!({"peer_id": peer, "at": format!("2026-01-01T11:{:02}:30Z", i % 60)})).await;
        }

        let with_room = |file: &str| {
            let room_id = room_id.clone();
            api_event(file, move |e| {
                e["rawQueryString"] = json!(format!("room_id={room_id}"));
                e["queryStringParameters"] = json!({"room_id": room_id});
            })
        };
        let floor_event = api_event("create-room.json", |e| {
            e["rawPath"] = json!("/hello-world");
            e["requestContext"]["http"]["path"] = json!("/hello-world");
        });
        let events = HashMap::from([
            (FLOOR_TLS, floor_event.clone()),
            (FLOOR, floor_event),
            ("create-room", api_event("create-room.json", |_| {})),
            ("auth-token", api_event("auth-token.json", |_| {})),
            // A signed-in guest in an open room (no setting, the default): one read of the table.
            (crate::AUTH_TOKEN_JWT, api_event("auth-token-jwt.json", |_| {})),
            ("session-analytics", with_room("session-analytics.json")),
            // The room's codes: a list call to 100ms, as the other functions make one.
            ("room-control", with_room("room-codes-list.json")),
            // One event, delivered again and again: the first is kept, the rest are duplicates,
            // each the same conditional write to the table.
            (
                "webhooks",
                api_event("webhooks-peer-join.json", |e| {
                    e["headers"]["x-100ms-webhook-secret"] = json!(webhook_secret);
                }),
            ),
        ]);
        let (mut moto, mut hms, mut dynamodb) = (moto_endpoint(), hms, hms_test_support::dynalite::dynalite_endpoint());
        let tls = if tls {
            let ca = TestCa::generate();
            let dir = workspace_root().join("target/bench");
            let bundle = dir.join("tls-ca-bundle.pem");
            std::fs::create_dir_all(&dir)
                .and_then(|()| ca.write_bundle(&bundle, ca_base))
                .unwrap_or_else(|e| fail(&format!("writing {}: {e}", bundle.display())));
            let mut fronts = Vec::new();
            for url in [&mut moto, &mut hms, &mut dynamodb] {
                let front = TlsFront::start(&ca, url).await;
                *url = front.url();
                fronts.push(front);
            }
            Some(Tls { fronts, bundle })
        } else {
            None
        };
        Self { moto, hms, dynamodb, secret_id, webhook_secret_id, events_table, events, tls }
    }

    pub(crate) fn handshakes(&self) -> u64 {
        self.tls.as_ref().map_or(0, Tls::handshakes)
    }
}
