//! The control API under `/_emulator`: clients joining and leaving (which opens and closes
//! sessions), a room's history seeded in bulk, faults armed for the next requests, counters, and
//! a credential rotation.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::verify;
use crate::sessions::{LEFT_BY_CLIENT, Peer, Session};
use crate::{CUSTOMER_ID, DEFAULT_ROLES, Emulator, api_error, new_id, ts};

/// What a fault does to the next matching requests.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer this status with the docs' error body (429 also sends `Retry-After`).
    Status {
        status: u16,
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// Wait, then answer normally.
    Delay { ms: u64 },
    /// Never answer (within any sane client timeout).
    Hang,
    /// Answer 200 with a body that is not JSON.
    Malformed,
    /// Start a 200 answer, then drop the connection mid-body.
    Close,
}

/// A fault armed for the next `count` requests of `route` (`"GET /sessions"`, ... or `"*"`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Fault {
    pub route: String,
    #[serde(flatten)]
    pub kind: FaultKind,
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

fn parse_at(at: Option<&str>) -> Result<DateTime<Utc>, Box<Response>> {
    match at {
        None => Ok(Utc::now()),
        Some(a) => DateTime::parse_from_rfc3339(a)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| Box::new(api_error(StatusCode::BAD_REQUEST, "at must be an RFC 3339 timestamp", &[]))),
    }
}

#[derive(Deserialize)]
pub(crate) struct JoinRequest {
    token: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    at: Option<String>,
}

/// A client joins with an auth token, verified the way 100ms verifies it.
pub(crate) async fn join(State(emu): State<Emulator>, Json(req): Json<JoinRequest>) -> Response {
    let at = match parse_at(req.at.as_deref()) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let mut s = emu.lock();
    let claims = match verify(&req.token, &s.secret, &s.access_key, "app") {
        Ok(c) => c,
        Err(why) => return api_error(StatusCode::UNAUTHORIZED, "Token validation error", &[&why]),
    };
    let (Some(room_id), Some(user_id), Some(role)) = (claims.room_id, claims.user_id, claims.role) else {
        return api_error(
            StatusCode::UNAUTHORIZED,
            "Token validation error",
            &["room_id, user_id and role are required"],
        );
    };
    match s.rooms.iter().find(|r| r.id == room_id) {
        None => return api_error(StatusCode::NOT_FOUND, "room not found", &[]),
        Some(r) if !r.enabled => return api_error(StatusCode::FORBIDDEN, "room is disabled", &[]),
        Some(_) => {}
    }
    if !DEFAULT_ROLES.contains(&role.as_str()) {
        return api_error(StatusCode::FORBIDDEN, "role not found in template", &[&role]);
    }
    let opened = s.live_session(&room_id).is_none();
    let idx = match s.live_session(&room_id) {
        Some(i) => i,
        None => {
            s.sessions.push(Session {
                id: new_id(),
                room_id: room_id.clone(),
                customer_id: CUSTOMER_ID.into(),
                active: true,
                peers: BTreeMap::new(),
                created_at: ts(at),
                updated_at: ts(at),
                created: at,
            });
            s.sessions.len() - 1
        }
    };
    let session = &mut s.sessions[idx];
    let peer_id = uuid::Uuid::new_v4().to_string();
    session.peers.insert(
        peer_id.clone(),
        Peer {
            id: peer_id.clone(),
            session_id: session.id.clone(),
            name: req.name.unwrap_or_else(|| user_id.clone()),
            role,
            user_id,
            joined_at: ts(at),
            left_at: None,
            metadata: String::new(),
            leave: None,
        },
    );
    session.updated_at = ts(at);
    let session_id = session.id.clone();
    if opened {
        let fields = s.session_fields(idx);
        s.emit("session.open.success", at, fields);
    }
    let fields = s.peer_fields(idx, &peer_id);
    s.emit("peer.join.success", at, fields);
    Json(json!({"peer_id": peer_id, "session_id": session_id, "room_id": room_id})).into_response()
}

#[derive(Deserialize)]
pub(crate) struct LeaveRequest {
    peer_id: String,
    #[serde(default)]
    at: Option<String>,
}

/// A client leaves; the last one out closes the session.
pub(crate) async fn leave(State(emu): State<Emulator>, Json(req): Json<LeaveRequest>) -> Response {
    let at = match parse_at(req.at.as_deref()) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let mut s = emu.lock();
    let Some(idx) = s.sessions.iter().position(|x| x.active && x.peers.contains_key(&req.peer_id)) else {
        return api_error(StatusCode::NOT_FOUND, "peer not found in an active session", &[]);
    };
    if !s.leave_peer(idx, &req.peer_id, at, LEFT_BY_CLIENT, "") {
        return api_error(StatusCode::BAD_REQUEST, "peer already left", &[]);
    }
    let session = &s.sessions[idx];
    Json(json!({"session_id": session.id, "active": session.active})).into_response()
}

#[derive(Deserialize)]
pub(crate) struct PeersQuery {
    room_id: String,
}

/// Every peer of the room's sessions, with why it left (`reason`, `message`), oldest session first.
pub(crate) async fn list_peers(State(emu): State<Emulator>, Query(q): Query<PeersQuery>) -> Response {
    let s = emu.lock();
    let peers: Vec<_> = s
        .sessions
        .iter()
        .filter(|x| x.room_id == q.room_id)
        .flat_map(|x| x.peers.values())
        .map(|p| {
            let (reason, message) = p.leave.clone().unzip();
            json!({"id": p.id, "session_id": p.session_id, "user_id": p.user_id, "role": p.role,
                   "joined_at": p.joined_at, "left_at": p.left_at, "reason": reason, "message": message})
        })
        .collect();
    Json(json!({"peers": peers})).into_response()
}

#[derive(Deserialize)]
pub(crate) struct ClockRequest {
    advance_seconds: i64,
}

/// Moves the emulator's clock forward (recordings progress by it; presigned URLs expire by it).
pub(crate) async fn advance_clock(State(emu): State<Emulator>, Json(req): Json<ClockRequest>) -> Response {
    if !(0..=30 * 86_400).contains(&req.advance_seconds) {
        return api_error(StatusCode::BAD_REQUEST, "advance_seconds must be from 0 to 2592000", &[]);
    }
    let mut s = emu.lock();
    s.clock_offset += chrono::TimeDelta::seconds(req.advance_seconds);
    // Recordings that finish in the time skipped are finished now (and their webhooks sent).
    s.settle();
    Json(json!({"now": ts(s.now())})).into_response()
}

/// Most peers one seed request may create (all sessions together).
const MAX_SEEDED_PEERS: usize = 2_000_000;

#[derive(Deserialize)]
pub(crate) struct SeedRequest {
    room_id: String,
    /// Ended sessions to add, one a day from `start_at`, each an hour long.
    sessions: usize,
    /// Peers in each session.
    peers: usize,
    /// Distinct user ids among a session's peers (peers take them in turn: a user with several
    /// peers rejoined or used several devices); all distinct when absent.
    #[serde(default)]
    users: Option<usize>,
    #[serde(default)]
    start_at: Option<String>,
}

/// A room's history in one request, as joins and leaves would have made it: `sessions` ended
/// sessions of `peers` peers each, for tests of rooms too big to build a join at a time.
pub(crate) async fn seed_sessions(State(emu): State<Emulator>, Json(req): Json<SeedRequest>) -> Response {
    let start = match parse_at(req.start_at.as_deref().or(Some("2026-01-01T00:00:00Z"))) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let users = req.users.unwrap_or(req.peers).max(1);
    if req.sessions.saturating_mul(req.peers) > MAX_SEEDED_PEERS {
        return api_error(StatusCode::BAD_REQUEST, "too many peers to seed", &[&MAX_SEEDED_PEERS.to_string()]);
    }
    let mut s = emu.lock();
    if !s.rooms.iter().any(|r| r.id == req.room_id) {
        return api_error(StatusCode::NOT_FOUND, "room not found", &[]);
    }
    for n in 0..req.sessions {
        let opened = start + chrono::TimeDelta::days(n as i64);
        let closed = opened + chrono::TimeDelta::hours(1);
        let id = new_id();
        let peers = (0..req.peers)
            .map(|k| {
                let user = k % users;
                let peer_id = format!("{n:08x}-{k:08x}-seeded");
                let joined = opened + chrono::TimeDelta::seconds((k % 1800) as i64);
                let left = closed - chrono::TimeDelta::seconds((k % 600) as i64);
                let peer = Peer {
                    id: peer_id.clone(),
                    session_id: id.clone(),
                    name: format!("Student {user}"),
                    role: "guest".into(),
                    user_id: format!("user-{user:06}"),
                    joined_at: ts(joined),
                    left_at: Some(ts(left)),
                    metadata: String::new(),
                    leave: Some((LEFT_BY_CLIENT.into(), String::new())),
                };
                (peer_id, peer)
            })
            .collect();
        s.sessions.push(Session {
            id,
            room_id: req.room_id.clone(),
            customer_id: CUSTOMER_ID.into(),
            active: false,
            peers,
            created_at: ts(opened),
            updated_at: ts(closed),
            created: opened,
        });
    }
    Json(json!({"room_id": req.room_id, "sessions": req.sessions, "peers": req.peers})).into_response()
}

pub(crate) async fn add_fault(State(emu): State<Emulator>, Json(fault): Json<Fault>) -> Response {
    emu.lock().faults.push(fault.clone());
    Json(fault).into_response()
}

pub(crate) async fn clear_faults(State(emu): State<Emulator>) -> Response {
    emu.lock().faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) async fn counters(State(emu): State<Emulator>) -> Response {
    let s = emu.lock();
    Json(json!({
        "requests": s.requests,
        "management_tokens_seen": s.management_tokens.len(),
        "auth_failures": s.auth_failures,
        "most_delayed_at_once": s.delayed_most,
        "faults_pending": s.faults.iter().map(|f| f.count).sum::<u32>(),
    }))
    .into_response()
}

pub(crate) async fn reset_counters(State(emu): State<Emulator>) -> Response {
    let mut s = emu.lock();
    s.requests.clear();
    s.management_tokens.clear();
    s.auth_failures = 0;
    s.delayed_most = s.delayed_now;
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
pub(crate) struct Credentials {
    access_key: String,
    secret: String,
}

/// Rotates the app's credentials: from now on only the new secret is accepted.
pub(crate) async fn set_credentials(State(emu): State<Emulator>, Json(c): Json<Credentials>) -> Response {
    let mut s = emu.lock();
    s.access_key = c.access_key;
    s.secret = c.secret;
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /_emulator/messages`: every message sent to a room, oldest first, with the peers it
/// reached (`to`).
pub(crate) async fn messages(State(emu): State<Emulator>) -> Response {
    Json(json!({"messages": emu.lock().messages})).into_response()
}
