//! A local stand-in for the 100ms v2 REST API, following its public docs: the subset our functions
//! use, authenticated as 100ms does (HS256 management tokens), plus a control API outside `/v2`
//! that simulates clients joining with auth tokens, injects faults, moves the clock and exposes
//! counters.
//!
//! `/v2` routes:
//! - rooms: `POST /rooms` (create-or-update by name), `GET /rooms/{id}`, `POST /rooms/{id}`
//!   (enable/disable, update), `GET /rooms`;
//! - sessions: `GET /sessions` (`room_id`, `active`, `limit`, `start`; newest first),
//!   `GET /sessions/{id}`;
//! - room codes: `POST /room-codes/room/{id}`, `POST /room-codes/room/{id}/role/{role}`,
//!   `GET /room-codes/room/{id}`, `POST /room-codes/code`; and the client SDKs' token by room code,
//!   `POST /v2/token` (auth.100ms.live's path, no management token);
//! - active rooms: `GET /active-rooms/{id}`, `GET /active-rooms/{id}/peers`,
//!   `GET|POST /active-rooms/{id}/peers/{peer_id}`, `POST /active-rooms/{id}/send-message`,
//!   `POST /active-rooms/{id}/remove-peers`, `POST /active-rooms/{id}/end-room`;
//! - recordings: `POST /recordings/room/{id}/start` (with transcription and summary assets),
//!   `POST /recordings/room/{id}/stop`, `POST /recordings/room/{id}/pause|resume`,
//!   `POST /recordings/{id}/stop`, `GET /recordings/{id}`, `GET /recordings`; assets:
//!   `GET /recording-assets`, `GET /recording-assets/{id}`, `GET /recording-assets/{id}/presigned-url`;
//! - live streams: `POST /live-streams/room/{id}/start|stop`, `POST /live-streams/{id}/stop`,
//!   `GET /live-streams/{id}`, `GET /live-streams`, `POST /live-streams/{id}/timed-metadata`,
//!   `POST /live-streams/{id}/pause-recording|resume-recording`.
//!
//! - webhooks: the events themselves go to the configured URL; `GET /analytics/webhooks` (the
//!   delivery log), `POST /analytics/webhooks/replay`, `GET /analytics/webhooks/replay/{id}`.
//!
//! Control routes (`/_emulator`): `POST join`, `POST leave`, `POST sessions` (seed), `GET peers`
//! (every peer with its leave reason), `POST clock` (advance time), `GET assets/{id}` (a presigned
//! URL's target), `GET messages` (what was sent to rooms), `GET recordings/{id}` (whether it is
//! paused), `GET hls/{id}/master.m3u8` (a live stream's playlist, with its timed metadata), `PUT webhook` (where webhooks go), `GET webhooks` (every event sent and its
//! attempts), `POST faults`, `DELETE faults`, `GET counters`, `POST counters/reset`,
//! `PUT credentials`, `GET health`.
//!
//! One module per area: [`rooms`], [`sessions`], [`room_codes`], [`active_rooms`],
//! [`recordings`] (and [`transcription`]), [`live_streams`], [`webhooks`], [`auth`] (tokens, and the faults every `/v2` request passes
//! through first), [`control`] (the `/_emulator` API); the state behind one lock.

// A helper's refusal is the answer to send, an axum `Response` (128 bytes): boxing it would only
// add noise to a test server that answers one request at a time per connection.
#![allow(clippy::result_large_err)]

mod active_rooms;
mod assets;
mod auth;
mod control;
mod live_streams;
mod recordings;
mod room_codes;
mod rooms;
mod sessions;
mod transcription;
mod webhooks;
/// How long one webhook delivery attempt may take before it counts as failed (100ms does not say).
pub use webhooks::ATTEMPT_TIMEOUT as WEBHOOK_ATTEMPT_TIMEOUT;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use assets::Asset;
pub use control::{Fault, FaultKind};
use control::{
    add_fault, advance_clock, clear_faults, counters, join, leave, list_peers, reset_counters, seed_sessions,
    set_credentials,
};
use recordings::Recording;
use room_codes::RoomCode;
use rooms::{Room, create_room, get_room, list_rooms, update_room};
use sessions::{Session, get_session, list_sessions};
pub use webhooks::{RETRY_DELAYS, Target as WebhookTarget};

/// Id of the template every app starts with (the docs' example template id).
pub const DEFAULT_TEMPLATE_ID: &str = "63188115d11d6db790c73c60";
pub const DEFAULT_TEMPLATE_NAME: &str = "default-template";
/// Roles of the default template (roles are case-sensitive in 100ms).
pub const DEFAULT_ROLES: [&str; 3] = ["host", "guest", "viewer"];
pub(crate) const CUSTOMER_ID: &str = "627cdddff2e4e30487862ad1";
pub(crate) const APP_ID: &str = "62510797903d857ab8ec3ba5";
/// Longest a session may last (12 h): the room default when none is given.
pub(crate) const MAX_DURATION_SECONDS: u64 = 43_200;
/// How long a "hang" fault holds a request: far past any client timeout.
pub const HANG: Duration = Duration::from_secs(600);

pub(crate) fn new_id() -> String {
    format!("{:024x}", uuid::Uuid::new_v4().as_u128() & ((1u128 << 96) - 1))
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Whole seconds from `from` (a timestamp as the emulator writes them) to `to`; 0 if unreadable.
pub(crate) fn time_between(from: &str, to: DateTime<Utc>) -> i64 {
    DateTime::parse_from_rfc3339(from).map_or(0, |f| (to - f.with_timezone(&Utc)).num_seconds().max(0))
}

pub(crate) struct Inner {
    pub(crate) access_key: String,
    pub(crate) secret: String,
    pub(crate) rooms: Vec<Room>,
    pub(crate) sessions: Vec<Session>,
    pub(crate) faults: Vec<Fault>,
    pub(crate) requests: BTreeMap<String, u64>,
    pub(crate) management_tokens: HashSet<String>,
    pub(crate) auth_failures: u64,
    /// Requests waiting out a `delay` fault now, and the most at once since the counters were
    /// reset: how many requests a client had in flight together.
    pub(crate) delayed_now: u32,
    pub(crate) delayed_most: u32,
    pub(crate) room_codes: Vec<RoomCode>,
    pub(crate) recordings: Vec<Recording>,
    pub(crate) assets: Vec<Asset>,
    /// Messages sent to rooms (`GET /_emulator/messages`).
    pub(crate) messages: Vec<serde_json::Value>,
    pub(crate) live_streams: Vec<live_streams::LiveStream>,
    /// How far the emulator's clock is ahead of the wall clock (`POST /_emulator/clock`).
    pub(crate) clock_offset: chrono::TimeDelta,
    /// Where webhooks go (none: none are sent).
    pub(crate) webhook: Option<webhooks::Target>,
    /// Every event sent, and how its delivery went.
    pub(crate) webhook_log: Vec<webhooks::Logged>,
    /// The sender task's queue (started with the first target).
    pub(crate) webhook_tx: Option<tokio::sync::mpsc::UnboundedSender<webhooks::Delivery>>,
    pub(crate) workflows: Vec<webhooks::Workflow>,
    /// Where the emulator listens (`http://host:port`), for links in webhooks.
    pub(crate) base_url: Option<String>,
}

impl Inner {
    /// The emulator's time: the wall clock plus the offset the control API added.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.clock_offset
    }
}

/// The emulator's state; clone it freely (it is shared).
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Mutex<Inner>>,
}

impl Emulator {
    /// An emulator of one app with these credentials and no rooms.
    pub fn new(access_key: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                access_key: access_key.into(),
                secret: secret.into(),
                rooms: Vec::new(),
                sessions: Vec::new(),
                faults: Vec::new(),
                requests: BTreeMap::new(),
                management_tokens: HashSet::new(),
                auth_failures: 0,
                delayed_now: 0,
                delayed_most: 0,
                room_codes: Vec::new(),
                recordings: Vec::new(),
                assets: Vec::new(),
                messages: Vec::new(),
                live_streams: Vec::new(),
                clock_offset: chrono::TimeDelta::zero(),
                webhook: None,
                webhook_log: Vec::new(),
                webhook_tx: None,
                workflows: Vec::new(),
                base_url: None,
            })),
        }
    }

    /// Sends webhooks to `target` from now on (none: stops sending). Starts the sender task the
    /// first time, so it must be called within a Tokio runtime.
    pub fn set_webhook(&self, target: Option<webhooks::Target>) {
        let started = self.lock().webhook_tx.is_some();
        let tx = (!started && target.is_some()).then(|| webhooks::start_sender(self));
        let mut s = self.lock();
        if let Some(tx) = tx {
            s.webhook_tx = Some(tx);
        }
        s.webhook = target;
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The HTTP app: `/v2` and `/_emulator`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v2/rooms", post(create_room).get(list_rooms))
            .route("/v2/rooms/{id}", get(get_room).post(update_room))
            .route("/v2/sessions", get(list_sessions))
            .route("/v2/sessions/{id}", get(get_session))
            .merge(room_codes::routes())
            .merge(active_rooms::routes())
            .merge(recordings::routes())
            .merge(assets::routes())
            .merge(live_streams::routes())
            .merge(webhooks::routes())
            .route("/_emulator/health", get(|| async { Json(json!({"ok": true})) }))
            .route("/_emulator/join", post(join))
            .route("/_emulator/leave", post(leave))
            .route("/_emulator/sessions", post(seed_sessions))
            .route("/_emulator/peers", get(list_peers))
            .route("/_emulator/clock", post(advance_clock))
            .route("/_emulator/assets/{id}", get(assets::download))
            .route("/_emulator/messages", get(control::messages))
            .route("/_emulator/recordings/{id}", get(recordings::pause_state))
            .route("/_emulator/hls/{id}/master.m3u8", get(live_streams::playlist))
            .route("/_emulator/faults", post(add_fault).delete(clear_faults))
            .route("/_emulator/counters", get(counters))
            .route("/_emulator/counters/reset", post(reset_counters))
            .route("/_emulator/credentials", axum::routing::put(set_credentials))
            .fallback(|| async { api_error(StatusCode::NOT_FOUND, "route not found", &[]) })
            .with_state(self.clone())
    }

    /// Serves on `listener` until the process ends.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        self.lock().base_url = listener.local_addr().ok().map(|a| format!("http://{a}"));
        axum::serve(listener, self.router()).await
    }
}

/// The docs' error body: `{"code", "message", "details"}`.
pub(crate) fn api_error(status: StatusCode, message: &str, details: &[&str]) -> Response {
    (status, Json(json!({"code": status.as_u16(), "message": message, "details": details}))).into_response()
}

/// The query of a list route (each route reads the parameters it knows).
#[derive(Deserialize)]
pub(crate) struct ListQuery {
    pub(crate) room_id: Option<String>,
    pub(crate) active: Option<String>,
    pub(crate) limit: Option<String>,
    pub(crate) start: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) role: Option<String>,
    pub(crate) enabled: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) status: Option<String>,
}

/// A `true`/`false` query filter; `Err` is the 400 to answer.
pub(crate) fn parse_bool(name: &str, value: Option<&str>) -> Result<Option<bool>, Response> {
    match value {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(api_error(
            StatusCode::BAD_REQUEST,
            "invalid query parameter",
            &[&format!("{name} should be true or false")],
        )),
    }
}

pub(crate) fn parse_limit(limit: Option<&str>) -> Result<usize, &'static str> {
    match limit {
        None => Ok(10),
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err("limit should be between 1 and 100"),
        },
    }
}

/// One page of `items` (already in list order) after the `start` id, as 100ms pages them.
pub(crate) fn page<T: Serialize>(items: Vec<(String, T)>, limit: usize, start: Option<&str>) -> Page<T> {
    let from = match start {
        Some(start) => items.iter().position(|(id, _)| id == start).map_or(items.len(), |i| i + 1),
        None => 0,
    };
    let data: Vec<(String, T)> = items.into_iter().skip(from).take(limit).collect();
    let last = data.last().map(|(id, _)| id.clone());
    let data: Vec<T> = data.into_iter().map(|(_, t)| t).collect();
    Page { limit, data: (!data.is_empty()).then_some(data), last }
}

/// One page of a list, as 100ms writes it: `data` is null when empty, `last` absent then.
/// Serialized straight from the items (a session of 100,000 peers is not copied into a tree).
#[derive(Serialize)]
pub(crate) struct Page<T> {
    limit: usize,
    data: Option<Vec<T>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last: Option<String>,
}
