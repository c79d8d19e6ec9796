//! `/v2/sessions`: list (newest first) and get. Sessions are opened and closed by clients joining
//! and leaving ([`crate::control`]).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::auth::guard;
use crate::{Emulator, Inner, ListQuery, api_error, page, parse_limit, ts};

/// Why a peer left (`peer.leave.success`'s `reason`).
pub(crate) const LEFT_BY_CLIENT: &str = "client request";
/// Why a peer removed through the API left.
pub(crate) const LEFT_KICKED: &str = "peer kicked";

impl Inner {
    /// The live session of `room_id`, by index.
    pub(crate) fn live_session(&self, room_id: &str) -> Option<usize> {
        self.sessions.iter().position(|x| x.room_id == room_id && x.active)
    }

    /// Peer `peer_id` of session `idx` leaves at `at` for `reason` (with `message`); the last one
    /// out closes the session, and the room's recordings stop (now, on the emulator's clock). `false` when the peer is
    /// not in the session or already left.
    pub(crate) fn leave_peer(
        &mut self,
        idx: usize,
        peer_id: &str,
        at: DateTime<Utc>,
        reason: &str,
        message: &str,
    ) -> bool {
        let session = &mut self.sessions[idx];
        let Some(peer) = session.peers.get_mut(peer_id).filter(|p| p.left_at.is_none()) else {
            return false;
        };
        peer.left_at = Some(ts(at));
        peer.leave = Some((reason.to_string(), message.to_string()));
        let stayed = crate::time_between(&peer.joined_at, at);
        session.updated_at = ts(at);
        let closed = session.peers.values().all(|p| p.left_at.is_some());
        let mut fields = self.peer_fields(idx, peer_id);
        fields.insert("left_at".into(), serde_json::json!(ts(at)));
        fields.insert("duration".into(), serde_json::json!(stayed));
        fields.insert("reason".into(), serde_json::json!(reason));
        fields.insert("message".into(), serde_json::json!(message));
        self.emit("peer.leave.success", at, fields);
        if closed {
            let session = &mut self.sessions[idx];
            session.active = false;
            let room_id = session.room_id.clone();
            let lasted = crate::time_between(&session.created_at, at);
            // Recordings run on the emulator's clock, whatever time the leave is dated.
            let now = self.now();
            self.stop_recordings(&room_id, now);
            self.stop_live_streams(&room_id, now, crate::live_streams::STOPPED_LAST_PEER_LEFT);
            let mut fields = self.session_fields(idx);
            fields.insert("session_duration".into(), serde_json::json!(lasted));
            fields.insert("session_stopped_at".into(), serde_json::json!(ts(at)));
            self.emit("session.close.success", at, fields);
        }
        true
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Peer {
    pub(crate) id: String,
    pub(crate) session_id: String,
    pub(crate) name: String,
    pub(crate) role: String,
    pub(crate) user_id: String,
    pub(crate) joined_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) left_at: Option<String>,
    /// What `POST /active-rooms/{id}/peers/{peer_id}` set (`""` until then); not in the session
    /// object, as in the docs' examples.
    #[serde(skip)]
    pub(crate) metadata: String,
    /// Why it left and the message passed with it, as `peer.leave.success` would say (not in the
    /// session object; the control API shows them).
    #[serde(skip)]
    pub(crate) leave: Option<(String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) room_id: String,
    pub(crate) customer_id: String,
    pub(crate) active: bool,
    pub(crate) peers: BTreeMap<String, Peer>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    #[serde(skip)]
    pub(crate) created: DateTime<Utc>,
}

pub(crate) async fn list_sessions(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    if let Err(r) = guard(&emu, "GET /sessions", &headers).await {
        return r;
    }
    let limit = match parse_limit(q.limit.as_deref()) {
        Ok(l) => l,
        Err(msg) => return api_error(StatusCode::BAD_REQUEST, msg, &[]),
    };
    let active = match q.active.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return api_error(StatusCode::BAD_REQUEST, "active should be true or false", &[]),
    };
    let s = emu.lock();
    let mut sessions: Vec<&Session> = s
        .sessions
        .iter()
        .filter(|x| q.room_id.as_ref().is_none_or(|r| &x.room_id == r))
        .filter(|x| active.is_none_or(|a| x.active == a))
        .collect();
    sessions.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.id.cmp(&a.id)));
    Json(page(sessions.into_iter().map(|x| (x.id.clone(), x)).collect(), limit, q.start.as_deref())).into_response()
}

pub(crate) async fn get_session(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = guard(&emu, "GET /sessions/{id}", &headers).await {
        return r;
    }
    match emu.lock().sessions.iter().find(|x| x.id == id) {
        Some(x) => Json(x).into_response(),
        None => api_error(StatusCode::NOT_FOUND, "session not found", &[]),
    }
}
