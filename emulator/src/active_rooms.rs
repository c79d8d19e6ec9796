//! `/v2/active-rooms`: the live session of a room and its peers, one peer (read or changed:
//! role, name, metadata), messages to the room, removing peers, ending the room.
//!
//! Where the docs are silent, the emulator chooses (docs/room-control.md, "100ms behaviour we assumed"): a room
//! without a live session is a 404 `active room not found`; remove-peers without `peer_id` or
//! `role` is a 400, an unknown `peer_id` a 404, a role nobody has is a 200 that removes nobody;
//! end-room makes every peer leave with reason `peer kicked` and the end's reason as message.
//! 100ms removes asynchronously ("request submitted"); the emulator has removed them when it
//! answers. A peer change to a role the template lacks is a 400 `invalid role`; to an unknown or
//! departed peer a 404; a role change sends `role.change.success` without
//! `role_change_requested_by` (as the docs say for a change through the API). A message needs
//! `message`; `peer_id` wins over `role`, neither is everyone; an unknown `peer_id` is a 404;
//! what was sent is kept for the control API (`GET /_emulator/messages`), since no client here
//! receives it.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use crate::auth::guard;
use crate::sessions::LEFT_KICKED;
use crate::{Emulator, ListQuery, api_error};

pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/v2/active-rooms/{id}", get(retrieve))
        .route("/v2/active-rooms/{id}/peers", get(peers))
        .route("/v2/active-rooms/{id}/peers/{peer_id}", get(peer).post(update_peer))
        .route("/v2/active-rooms/{id}/send-message", post(send_message))
        .route("/v2/active-rooms/{id}/remove-peers", post(remove_peers))
        .route("/v2/active-rooms/{id}/end-room", post(end_room))
}

fn not_active() -> Response {
    api_error(StatusCode::NOT_FOUND, "active room not found", &[])
}

/// A JSON object body (an empty body counts as `{}`); `Err` is the 400 to answer.
fn object(body: &Bytes) -> Result<Map<String, Value>, Response> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    serde_json::from_slice(body).map_err(|_| api_error(StatusCode::BAD_REQUEST, "invalid request body", &[]))
}

/// `GET /active-rooms/{id}`: the room and its live session, `session.peers` the ids present.
async fn retrieve(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = guard(&emu, "GET /active-rooms/{id}", &headers).await {
        return r;
    }
    let s = emu.lock();
    let (Some(room), Some(idx)) = (s.rooms.iter().find(|r| r.id == id), s.live_session(&id)) else {
        return not_active();
    };
    let session = &s.sessions[idx];
    let present: Vec<&String> = session.peers.values().filter(|p| p.left_at.is_none()).map(|p| &p.id).collect();
    Json(json!({
        "id": room.id, "name": room.name, "customer_id": crate::CUSTOMER_ID,
        "session": {"id": session.id, "created_at": session.created_at, "peers": present},
    }))
    .into_response()
}

/// `GET /active-rooms/{id}/peers?user_id=&role=`: `{"peers": {<peer_id>: Peer}}`.
async fn peers(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    if let Err(r) = guard(&emu, "GET /active-rooms/{id}/peers", &headers).await {
        return r;
    }
    let s = emu.lock();
    let Some(idx) = s.live_session(&id) else {
        return not_active();
    };
    let peers: Map<String, Value> = s.sessions[idx]
        .peers
        .values()
        .filter(|p| p.left_at.is_none())
        .filter(|p| q.user_id.as_ref().is_none_or(|u| &p.user_id == u))
        .filter(|p| q.role.as_ref().is_none_or(|r| &p.role == r))
        .map(|p| (p.id.clone(), peer_json(p, false)))
        .collect();
    Json(json!({"peers": peers})).into_response()
}

/// A peer as the docs' Peer object; `PeerWithTracks` adds `tracks` (none here: no client sends
/// media).
fn peer_json(p: &crate::sessions::Peer, tracks: bool) -> Value {
    let mut v = json!({"id": p.id, "name": p.name, "user_id": p.user_id, "metadata": p.metadata, "role": p.role,
                       "joined_at": p.joined_at});
    if tracks {
        v["tracks"] = json!({});
    }
    v
}

/// `GET /active-rooms/{id}/peers/{peer_id}`: a peer present now.
async fn peer(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path((id, peer_id)): Path<(String, String)>,
) -> Response {
    if let Err(r) = guard(&emu, "GET /active-rooms/{id}/peers/{peer_id}", &headers).await {
        return r;
    }
    let s = emu.lock();
    let Some(idx) = s.live_session(&id) else {
        return not_active();
    };
    match s.sessions[idx].peers.get(&peer_id).filter(|p| p.left_at.is_none()) {
        Some(p) => Json(peer_json(p, true)).into_response(),
        None => api_error(StatusCode::NOT_FOUND, "peer not found", &[]),
    }
}

/// `POST /active-rooms/{id}/peers/{peer_id} {name?, role?, metadata?}`: the peer after the change.
async fn update_peer(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path((id, peer_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Err(r) = guard(&emu, "POST /active-rooms/{id}/peers/{peer_id}", &headers).await {
        return r;
    }
    let body = match object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut fields = [None, None, None];
    for (i, k) in ["name", "role", "metadata"].iter().enumerate() {
        match body.get(*k) {
            None | Some(Value::Null) => {}
            Some(Value::String(v)) => fields[i] = Some(v.clone()),
            Some(_) => {
                return api_error(
                    StatusCode::BAD_REQUEST,
                    "invalid request body",
                    &[&format!("{k} should be a string")],
                );
            }
        }
    }
    let [name, role, metadata] = fields;
    if role.as_ref().is_some_and(|r| !crate::DEFAULT_ROLES.contains(&r.as_str())) {
        return api_error(StatusCode::BAD_REQUEST, "invalid role", &["role not found in the room's template"]);
    }
    let mut s = emu.lock();
    let Some(idx) = s.live_session(&id) else {
        return not_active();
    };
    let at = s.now();
    let Some(p) = s.sessions[idx].peers.get_mut(&peer_id).filter(|p| p.left_at.is_none()) else {
        return api_error(StatusCode::NOT_FOUND, "peer not found", &[]);
    };
    let previous = p.role.clone();
    if let Some(name) = name {
        p.name = name;
    }
    if let Some(metadata) = metadata {
        p.metadata = metadata;
    }
    let changed_role = role.filter(|r| *r != previous);
    if let Some(role) = &changed_role {
        p.role = role.clone();
    }
    let answer = peer_json(p, true);
    if changed_role.is_some() {
        let mut fields = s.peer_fields(idx, &peer_id);
        fields.insert("previous_role".into(), json!(previous));
        fields.insert("role_changed_at".into(), json!(crate::ts(at)));
        s.emit("role.change.success", at, fields);
    }
    Json(answer).into_response()
}

/// `POST /active-rooms/{id}/send-message {message, peer_id?, role?, type?}`.
async fn send_message(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = guard(&emu, "POST /active-rooms/{id}/send-message", &headers).await {
        return r;
    }
    let body = match object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).filter(|v| !v.is_empty()).map(String::from);
    let Some(message) = text("message") else {
        return api_error(StatusCode::BAD_REQUEST, "invalid request body", &["message is required"]);
    };
    let (peer_id, role, kind) = (text("peer_id"), text("role"), text("type"));
    let mut s = emu.lock();
    let Some(idx) = s.live_session(&id) else {
        return not_active();
    };
    let present = |pid: &String| s.sessions[idx].peers.get(pid).is_some_and(|p| p.left_at.is_none());
    if peer_id.as_ref().is_some_and(|pid| !present(pid)) {
        return api_error(StatusCode::NOT_FOUND, "peer not found", &[]);
    }
    let to: Vec<String> = s.sessions[idx]
        .peers
        .values()
        .filter(|p| p.left_at.is_none())
        .filter(|p| match (&peer_id, &role) {
            (Some(pid), _) => &p.id == pid,
            (None, Some(r)) => &p.role == r,
            (None, None) => true,
        })
        .map(|p| p.id.clone())
        .collect();
    let at = crate::ts(s.now());
    s.messages.push(json!({"room_id": id, "message": message, "peer_id": peer_id, "role": role,
                           "type": kind.unwrap_or_else(|| "chat".into()), "to": to, "at": at}));
    Json(json!({"message": "message sent"})).into_response()
}

/// `POST /active-rooms/{id}/remove-peers {peer_id? | role?, reason?}`: `peer_id` wins over
/// `role`; each removed peer leaves with reason `peer kicked` and `reason` as its message.
async fn remove_peers(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = guard(&emu, "POST /active-rooms/{id}/remove-peers", &headers).await {
        return r;
    }
    let body = match object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).filter(|v| !v.is_empty()).map(String::from);
    let (peer_id, role, reason) = (text("peer_id"), text("role"), text("reason").unwrap_or_default());
    if peer_id.is_none() && role.is_none() {
        return api_error(StatusCode::BAD_REQUEST, "peer_id or role is required", &[]);
    }
    let mut s = emu.lock();
    let Some(idx) = s.live_session(&id) else {
        return not_active();
    };
    let at = s.now();
    let targets: Vec<String> = s.sessions[idx]
        .peers
        .values()
        .filter(|p| p.left_at.is_none())
        .filter(|p| match &peer_id {
            Some(pid) => &p.id == pid,
            None => role.as_ref().is_some_and(|r| &p.role == r),
        })
        .map(|p| p.id.clone())
        .collect();
    if peer_id.is_some() && targets.is_empty() {
        return api_error(StatusCode::NOT_FOUND, "peer not found", &[]);
    }
    for peer in targets {
        s.leave_peer(idx, &peer, at, LEFT_KICKED, &reason);
    }
    Json(json!({"message": "peer remove request submitted"})).into_response()
}

/// `POST /active-rooms/{id}/end-room {reason?, lock?}`: every peer leaves, the session ends,
/// and with `lock` the room is disabled so later joins are refused.
async fn end_room(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    if let Err(r) = guard(&emu, "POST /active-rooms/{id}/end-room", &headers).await {
        return r;
    }
    let body = match object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let lock = match body.get("lock") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return api_error(StatusCode::BAD_REQUEST, "invalid request body", &["lock should be a bool"]),
    };
    let reason = body.get("reason").and_then(Value::as_str).unwrap_or_default().to_string();
    let mut s = emu.lock();
    let Some(idx) = s.live_session(&id) else {
        return not_active();
    };
    let at = s.now();
    let mut fields = s.session_fields(idx);
    fields.insert("lock_room".into(), json!(lock));
    fields.insert("reason".into(), json!(reason));
    // Ended through the API: no peer ended it (what 100ms names the source then is not documented).
    fields.insert("source".into(), json!("api"));
    s.emit("room.end.success", at, fields);
    let now = s.now();
    s.stop_live_streams(&id, now, crate::live_streams::STOPPED_ROOM_ENDED);
    let present: Vec<String> =
        s.sessions[idx].peers.values().filter(|p| p.left_at.is_none()).map(|p| p.id.clone()).collect();
    for peer in present {
        s.leave_peer(idx, &peer, at, LEFT_KICKED, &reason);
    }
    if lock && let Some(room) = s.rooms.iter_mut().find(|r| r.id == id) {
        room.enabled = false;
    }
    Json(json!({"message": "session is ending"})).into_response()
}
