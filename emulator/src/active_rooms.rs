//! `/v2/active-rooms`: the live session of a room and its peers, removing peers, ending the room.
//!
//! Where the docs are silent, the emulator chooses (docs/room-control.md, "100ms behaviour we assumed"): a room
//! without a live session is a 404 `active room not found`; remove-peers without `peer_id` or
//! `role` is a 400, an unknown `peer_id` a 404, a role nobody has is a 200 that removes nobody;
//! end-room makes every peer leave with reason `peer kicked` and the end's reason as message.
//! 100ms removes asynchronously ("request submitted"); the emulator has removed them when it
//! answers.

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
        .map(|p| {
            let peer = json!({"id": p.id, "name": p.name, "user_id": p.user_id, "metadata": "", "role": p.role,
                              "joined_at": p.joined_at});
            (p.id.clone(), peer)
        })
        .collect();
    Json(json!({"peers": peers})).into_response()
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
