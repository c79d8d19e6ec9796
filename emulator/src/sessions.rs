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
use crate::{Emulator, ListQuery, api_error, page, parse_limit};

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
